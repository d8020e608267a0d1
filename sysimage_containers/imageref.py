"""Image references, read with the grammar the distribution registry itself uses (docker-image-py): an optional
registry host with a port (`127.0.0.1:5000/team/app:1`), lower-case path components, a tag, and for base images
a digest. The one place tags, base images and cache references are checked."""

from __future__ import annotations

from typing import Any

from sysimage_containers.errors import UsageError


def check(value: str, where: str, *, digest: bool = True) -> str:
    """`value` if it is a valid reference; a tag (`digest=False`) names no digest, since nothing can be pushed to
    one."""
    try:
        parsed = _parse(value)
    except Exception as exc:  # the library raises one class per grammar rule, all with a readable message
        raise UsageError(f"{where}: {value!r} is not a valid image reference ({exc})") from None
    if not digest and parsed["digest"] is not None:
        raise UsageError(f"{where}: {value!r} names a digest; a tag is NAME[:TAG], e.g. "
                         "registry.example.com:5000/team/app:1.0")
    return value


def check_repository(value: str, where: str) -> str:
    """A repository (no tag, no digest): tags are derived from it."""
    check(value, where, digest=False)
    if _parse(value)["tag"] is not None:
        raise UsageError(f"{where}: {value!r} names a tag; give the repository only (e.g. "
                         "registry.example.com/team/app-cache): the stage tags are derived from it")
    return value


def registry(value: str) -> str:
    """The registry a reference lives in (`docker.io` when it names none)."""
    return str(_reference().Reference.parse_normalized_named(value).domain())


def parts(value: str) -> tuple[str, str | None, str | None]:
    """The normalized name (`julia` is `docker.io/library/julia`), tag and digest of a valid reference."""
    parsed = _parse(value)
    name = str(_reference().Reference.parse_normalized_named(value)["name"])
    return name, parsed["tag"], parsed["digest"]


def _parse(value: str) -> Any:
    return _reference().Reference.parse(value)


def _reference() -> Any:
    # imported on first use: compiling the library's grammar costs ~0.1 s, and most `generate` runs name no image
    from docker_image import reference

    return reference
