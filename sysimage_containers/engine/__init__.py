"""The container engine: the only package that imports python_on_whales (in its back-end modules; `types` is
free of it). One module per back end behind the Engine facade: buildx, the build CLI (docker's BuildKit or
classic builder, and podman), podman's differences."""

from sysimage_containers.engine.buildx import cache_spec
from sysimage_containers.engine.client import Engine, _classify
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

__all__ = ["BACKEND_BUILDX", "BACKEND_DOCKER_BUILDKIT", "BACKEND_DOCKER_CLASSIC", "BACKEND_PODMAN",
           "NATIVE_BUILDKIT_BEFORE", "BuildRequest",
           "Engine", "EngineInfo", "ImageInfo", "_classify", "cache_spec"]
