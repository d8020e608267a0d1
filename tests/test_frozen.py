"""What flows from project reading to the engine is frozen data: once the plan is made, nothing downstream (the
renderer, the context writer, the engine) can change a fact the others already used. Every dataclass (and
NamedTuple) instance reachable from a prepared build of the examples, and the engine's request and facts, refuses
assignment."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import EXAMPLES

from sysimage_containers.build import Connected
from sysimage_containers.engine.types import BuildRequest, EngineInfo, ImageInfo
from sysimage_containers.pipeline import prepare


def is_named_tuple(value: Any) -> bool:
    return isinstance(value, tuple) and hasattr(type(value), "_fields")


def reachable(value: Any, seen: set[int] | None = None) -> Iterator[Any]:
    """Every dataclass and NamedTuple instance in `value`, through fields, tuples, lists, sets and dict values."""
    seen = set() if seen is None else seen
    if id(value) in seen:
        return
    seen.add(id(value))
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        yield value
        for field in dataclasses.fields(value):
            yield from reachable(getattr(value, field.name), seen)
    elif is_named_tuple(value):  # a manifest's entries: a tuple, whose fields refuse assignment by construction
        yield value
        for item in value:
            yield from reachable(item, seen)
    elif isinstance(value, (tuple, list, set, frozenset)):
        for item in value:
            yield from reachable(item, seen)
    elif isinstance(value, dict):
        for item in value.values():
            yield from reachable(item, seen)


def refuses_assignment(obj: Any) -> bool:
    name = type(obj)._fields[0] if is_named_tuple(obj) else dataclasses.fields(obj)[0].name
    try:
        setattr(obj, name, getattr(obj, name))
    except dataclasses.FrozenInstanceError:
        return True
    except AttributeError:  # a NamedTuple's field: "can't set attribute"
        return is_named_tuple(obj)
    return False


# what the walk must reach, so that a type dropping out of the graph is noticed rather than silently unchecked
EXPECTED = {"Prepared", "Environment", "JuliaProject", "Manifest", "ManifestEntry", "Config", "BuildPlan",
            "BakedPackage", "Copy", "Hook", "Listing", "ContextFile"}


@pytest.mark.parametrize("name", ["hello", "http-service", "pycall-app", "cli-tool"])
def test_a_prepared_build_is_frozen_all_the_way_down(name: str) -> None:
    found = list(reachable(prepare(EXAMPLES / name)))
    mutable = sorted({type(obj).__name__ for obj in found if not refuses_assignment(obj)})
    assert mutable == []
    if name == "pycall-app":  # hooks and system packages: the widest graph of the examples
        assert {type(obj).__name__ for obj in found} >= EXPECTED


def test_a_monorepo_path_dependency_is_frozen() -> None:
    from sysimage_containers.plan import ExternalDependency

    assert refuses_assignment(ExternalDependency(name="Kora", written="../Kora.jl", context_path="external/Kora"))


def test_the_engine_request_and_facts_are_frozen() -> None:
    info = EngineInfo(backend="docker-buildkit", client="docker", client_version="20.10", server_version="20.10")
    objects = [BuildRequest(context=Path(".")), info, ImageInfo(id="sha256:1", size=1, tags=()),
               Connected(engine=None, info=info, prepared=prepare(EXAMPLES / "hello"))]  # type: ignore[arg-type]
    assert [refuses_assignment(obj) for obj in objects] == [True, True, True, True]
