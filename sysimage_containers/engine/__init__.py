"""The container engine: the only package that imports python_on_whales (in its back-end modules; `types` is
free of it). One module per back end behind the Engine facade: buildx, the build CLI (docker's BuildKit or
classic builder, and podman), podman's differences."""

from sysimage_containers.engine.buildx import cache_spec
from sysimage_containers.engine.client import Engine, _classify
from sysimage_containers.engine.types import (
    BUILDX,
    DOCKER_BUILDKIT,
    DOCKER_CLASSIC,
    NATIVE_BUILDKIT_BEFORE,
    PODMAN,
    BuildRequest,
    EngineInfo,
    ImageInfo,
)

__all__ = ["BUILDX", "DOCKER_BUILDKIT", "DOCKER_CLASSIC", "NATIVE_BUILDKIT_BEFORE", "PODMAN", "BuildRequest",
           "Engine", "EngineInfo", "ImageInfo", "_classify", "cache_spec"]
