"""The registry cache (`cache_repo`): what a build reads from it and what it pushes there afterwards.

BuildKit's inline cache records only the layers of the image it exports, so one image would carry the runtime
stage's cache and nothing of the heavy steps before it (measured: after a source edit every heavy step ran again).
With the docker CLI's own BuildKit the stages holding the heavy steps are therefore tagged REPO:<stage> with
inline cache metadata and pushed; the next build pulls them and reads each in a build of its own (`warming`):
given two of these images at once, BuildKit races them (`combinedCacheManager.Query` in moby/buildkit
solver/combinedcache.go keeps a cache key from whichever importer answers first; the runtime image knows the
builder's keys too, without their layers), and a step then ran again in about 1 of 3 cold builds under load.
buildx exports everything to one REPO:buildcache (`mode=max`), except on its `docker` driver (the daemon's own
BuildKit, which exports no registry cache): there the stage images are used as with the docker CLI. podman
(buildah) pushes every layer to REPO during the build and looks them up there (`--cache-from/--cache-to REPO`).
The classic builder has no registry cache: `cache_repo` is refused there.
"""

from __future__ import annotations

from dataclasses import replace

from sysimage_containers.engine.types import (
    BACKEND_BUILDX,
    BACKEND_DOCKER_BUILDKIT,
    BACKEND_PODMAN,
    BuildRequest,
    EngineInfo,
)
from sysimage_containers.errors import UsageError
from sysimage_containers.plan import BuildPlan

INLINE_CACHE_ARG = ("BUILDKIT_INLINE_CACHE", "1")


def stages(plan: BuildPlan) -> tuple[str, ...]:
    """The stages whose images carry every step's cache records, in the order they are read: the tools stage
    (compiler, system packages, PackageCompiler: read alone first, so that its steps are in the local cache
    whole when a manifest edit changes the steps after them; read with the builder, a cold build re-ran
    PackageCompiler's install in about 1 of 10 runs under load), with a trace the tracer, the builder (which is
    `FROM deps`, itself `FROM tools`, so its inline metadata covers the steps before it too), and the runtime
    stage: without its records a cold runner copies the Julia tree, the sysimage and the depot again into new
    layers, which differ from the last ones (measured: every COPY layer had a new digest), so every run pushed
    them all again."""
    return ("tools", *(("tracer",) if plan.trace else ()), "builder", "runtime")


def stage_refs(repo: str, plan: BuildPlan) -> tuple[str, ...]:
    return tuple(f"{repo}:{stage}" for stage in stages(plan))


def uses_stage_images(info: EngineInfo) -> bool:
    """The cache is stage images with inline metadata, pulled before the build and pushed after it."""
    return info.backend == BACKEND_DOCKER_BUILDKIT or info.docker_driver


def reading(request: BuildRequest, info: EngineInfo, repo: str, plan: BuildPlan) -> BuildRequest:
    """The user's build reading the cache (and, with buildx, writing it). With stage images it reads only the last
    stage's: the stages before it are in the local cache by then (`warming`), which BuildKit prefers to any
    importer (`c == cm.main` in combinedcache.go)."""
    if info.backend == BACKEND_BUILDX and not info.docker_driver:
        ref = f"{repo}:buildcache"
        return replace(request, cache_from=(*request.cache_from, f"type=registry,ref={ref}"),
                       cache_to=(*request.cache_to, f"type=registry,ref={ref},mode=max"))
    if info.backend == BACKEND_PODMAN:
        return replace(request, cache_from=(*request.cache_from, repo), cache_to=(*request.cache_to, repo))
    if not uses_stage_images(info):
        raise UsageError(f"cache_repo needs a registry cache, which {info.backend} lacks: use buildx, a docker "
                         "client before 23 with its own BuildKit, or podman")
    return replace(request, cache_from=(*request.cache_from, stage_refs(repo, plan)[-1]))


def _stage_request(request: BuildRequest, stage: str, ref: str) -> BuildRequest:
    """The build of one stage as its cache image: tagged REPO:<stage>, with inline cache metadata, not pushed by the
    engine. Only these images carry inline metadata, not the user's tags (which would be one more importer)."""
    return replace(request, target=stage, tags=(ref,), push=False, output=None, cache_to=(),
                   build_args=(*request.build_args, INLINE_CACHE_ARG))


def warming(request: BuildRequest, info: EngineInfo, repo: str, plan: BuildPlan
            ) -> tuple[tuple[str, BuildRequest], ...]:
    """Before the user's build (given the request before `reading`): one build per stage before the last, in
    Dockerfile order, each reading only its own stage image, whose steps then sit in the local cache; each also
    makes that stage's new cache image. None with buildx or podman, which read their cache in the build itself."""
    if not uses_stage_images(info):
        return ()
    return tuple((ref, replace(_stage_request(request, stage, ref), cache_from=(*request.cache_from, ref)))
                 for stage, ref in zip(stages(plan)[:-1], stage_refs(repo, plan)[:-1], strict=True))


def stage_requests(request: BuildRequest, info: EngineInfo, repo: str, plan: BuildPlan
                   ) -> tuple[tuple[str, BuildRequest], ...]:
    """After the user's build: the last stage's cache image, built from the local cache the build just filled
    (the others were made by `warming`); none with buildx or podman, which exported the cache during the build."""
    if not uses_stage_images(info):
        return ()
    last, ref = stages(plan)[-1], stage_refs(repo, plan)[-1]
    return ((ref, _stage_request(request, last, ref)),)
