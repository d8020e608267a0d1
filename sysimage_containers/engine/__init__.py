"""The container engine: the only package that imports python_on_whales (in its back-end modules; `types` and
`clients` are free of it). One module per back end behind the Engine facade: buildx, the build CLI (docker's
BuildKit or classic builder, and podman), podman's differences.

The facade is loaded on first use (PEP 562 `__getattr__`): python_on_whales takes a noticeable part of a second to
import, and `generate` only asks the client which back end it gives (`clients`)."""

from typing import TYPE_CHECKING, Any

from sysimage_containers.engine.types import (
    BACKEND_BUILDX,
    BACKEND_DOCKER_BUILDKIT,
    BACKEND_DOCKER_CLASSIC,
    BACKEND_PODMAN,
    NATIVE_BUILDKIT_BEFORE,
    BuildRequest,
    EngineInfo,
    ImageInfo,
)

if TYPE_CHECKING:
    from sysimage_containers.engine.buildx import cache_spec
    from sysimage_containers.engine.client import Engine, _classify

__all__ = ["BACKEND_BUILDX", "BACKEND_DOCKER_BUILDKIT", "BACKEND_DOCKER_CLASSIC", "BACKEND_PODMAN",
           "NATIVE_BUILDKIT_BEFORE", "BuildRequest",
           "Engine", "EngineInfo", "ImageInfo", "_classify", "cache_spec"]


def __getattr__(name: str) -> Any:
    if name in ("Engine", "_classify"):
        from sysimage_containers.engine import client

        return getattr(client, name)
    if name == "cache_spec":
        from sysimage_containers.engine.buildx import cache_spec

        return cache_spec
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
