"""The registry cache's mapping onto build requests, per back end (no engine needed; the cold-runner behaviour
itself is tested on a real engine and registry in test_registry_engine.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import EXAMPLES

from sysimage_containers import regcache
from sysimage_containers.engine import (
    BACKEND_BUILDX,
    BACKEND_DOCKER_BUILDKIT,
    BACKEND_DOCKER_CLASSIC,
    BACKEND_PODMAN,
    BuildRequest,
    EngineInfo,
)
from sysimage_containers.errors import UsageError
from sysimage_containers.pipeline import prepare

REPO = "127.0.0.1:5000/team/app-cache"


def info(backend: str) -> EngineInfo:
    return EngineInfo(backend=backend, client="docker", client_version="20.10", server_version="20.10")


def request() -> BuildRequest:
    return BuildRequest(context=Path("."), tags=("app:1",), cache_from=("mine:1",), build_args=(("A", "1"),))


def test_docker_buildkit_reads_each_stage_image_in_a_build_of_its_own() -> None:
    """BuildKit races two importers holding the same cache keys (combinedcache.go), so the tools stage's image and
    then the builder's are each read by a build of that stage alone, and the user's build reads only the runtime
    stage's image."""
    plan = prepare(EXAMPLES / "hello").plan
    warm = regcache.warming(request(), info(BACKEND_DOCKER_BUILDKIT), REPO, plan)
    inline = (("A", "1"), ("BUILDKIT_INLINE_CACHE", "1"))
    assert [(ref, r.target, r.tags, r.push, r.cache_from, r.build_args) for ref, r in warm] == [
        (f"{REPO}:{stage}", stage, (f"{REPO}:{stage}",), False, ("mine:1", f"{REPO}:{stage}"), inline)
        for stage in ("tools", "builder")]
    read = regcache.reading(request(), info(BACKEND_DOCKER_BUILDKIT), REPO, plan)
    assert read.cache_from == ("mine:1", f"{REPO}:runtime")
    assert read.build_args == (("A", "1"),)  # the user's image carries no inline metadata: one importer less
    assert read.cache_to == () and read.tags == ("app:1",) and read.target is None
    stages = regcache.stage_requests(read, info(BACKEND_DOCKER_BUILDKIT), REPO, plan)
    assert [(ref, r.target, r.tags, r.push, r.build_args) for ref, r in stages] == [
        (f"{REPO}:runtime", "runtime", (f"{REPO}:runtime",), False, inline)]


def test_buildx_on_the_docker_driver_uses_the_stage_images_too() -> None:
    """The docker driver exports no registry cache (`type=registry` in --cache-to fails there)."""
    plan = prepare(EXAMPLES / "hello").plan
    docker_driver = EngineInfo(backend=BACKEND_BUILDX, client="docker", client_version="20.10",
                               server_version="20.10", builder="default", driver="docker")
    assert [ref for ref, _ in regcache.warming(request(), docker_driver, REPO, plan)] == [f"{REPO}:tools",
                                                                                       f"{REPO}:builder"]
    read = regcache.reading(request(), docker_driver, REPO, plan)
    assert read.cache_from == ("mine:1", f"{REPO}:runtime")
    assert read.cache_to == () and ("BUILDKIT_INLINE_CACHE", "1") not in read.build_args
    stages = regcache.stage_requests(read, docker_driver, REPO, plan)
    assert [ref for ref, _ in stages] == [f"{REPO}:runtime"]
    assert all(("BUILDKIT_INLINE_CACHE", "1") in r.build_args for _, r in stages)


def test_a_trace_adds_the_tracer_stage() -> None:
    plan = prepare(EXAMPLES / "http-service", cli={"trace": True}).plan
    assert regcache.stage_refs(REPO, plan) == (f"{REPO}:tools", f"{REPO}:tracer", f"{REPO}:builder",
                                               f"{REPO}:runtime")
    # the tracer's image holds the deps keys too: the tools image is read alone, then the tracer's, then the
    # builder's, each in Dockerfile order
    warm = regcache.warming(request(), info(BACKEND_DOCKER_BUILDKIT), REPO, plan)
    assert [(r.target, r.cache_from) for _, r in warm] == [("tools", ("mine:1", f"{REPO}:tools")),
                                                           ("tracer", ("mine:1", f"{REPO}:tracer")),
                                                           ("builder", ("mine:1", f"{REPO}:builder"))]


def test_buildx_exports_one_cache_with_mode_max() -> None:
    plan = prepare(EXAMPLES / "hello").plan
    read = regcache.reading(request(), info(BACKEND_BUILDX), REPO, plan)
    assert read.cache_from == ("mine:1", f"type=registry,ref={REPO}:buildcache")
    assert read.cache_to == (f"type=registry,ref={REPO}:buildcache,mode=max",)
    assert regcache.stage_requests(read, info(BACKEND_BUILDX), REPO, plan) == ()
    assert regcache.warming(request(), info(BACKEND_BUILDX), REPO, plan) == ()


def test_the_classic_builder_is_refused() -> None:
    with pytest.raises(UsageError, match=f"cache_repo needs a registry cache, which {BACKEND_DOCKER_CLASSIC} lacks"):
        regcache.reading(request(), info(BACKEND_DOCKER_CLASSIC), REPO, prepare(EXAMPLES / "hello").plan)


def test_podman_uses_buildahs_layer_cache_in_the_repository() -> None:
    plan = prepare(EXAMPLES / "hello").plan
    read = regcache.reading(request(), info(BACKEND_PODMAN), REPO, plan)
    assert read.cache_from == ("mine:1", REPO) and read.cache_to == (REPO,)
    assert regcache.stage_requests(read, info(BACKEND_PODMAN), REPO, plan) == ()  # pushed during the build
    assert regcache.warming(request(), info(BACKEND_PODMAN), REPO, plan) == ()


def test_cache_repo_is_a_repository(cli) -> None:
    result = cli("build", EXAMPLES / "hello", "--dry-run", "--cache-repo", "reg.example.com/cache:v1")
    assert (result.code, result.err) == (2, "sysimage-docker: error: --cache-repo: 'reg.example.com/cache:v1' names "
                                            "a tag; give the repository only (e.g. registry.example.com/team/"
                                            "app-cache): the stage tags are derived from it\n")
    assert cli("build", EXAMPLES / "hello", "--dry-run", "--cache-repo", "127.0.0.1:5000/team/cache").code == 0
