"""What the engine package takes and gives: back-end names, the build request, engine and image facts.

No python_on_whales here, so that the plan-side modules (regcache) can name these without loading a client.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

# the build back ends, by the names users see (the summary, doctor, the metadata's engine.backend)
BACKEND_BUILDX = "buildx"
BACKEND_DOCKER_BUILDKIT = "docker-buildkit"  # the docker CLI's own BuildKit (it sets DOCKER_BUILDKIT=1)
BACKEND_DOCKER_CLASSIC = "docker-classic"
BACKEND_PODMAN = "podman"
NATIVE_BUILDKIT_BEFORE = 23  # from Docker 23 the CLI builds with BuildKit only through buildx

@dataclass(frozen=True)
class EngineInfo:
    backend: str
    client: str
    client_version: str
    server_version: str
    mem_total: int | None = None
    docker_root: str | None = None
    architecture: str | None = None  # the engine's, as `docker info` says it (x86_64, aarch64)
    endpoint: str | None = None  # where the engine listens (DOCKER_HOST or the context's host)
    context: str | None = None  # the Docker context in use
    builder: str | None = None  # buildx: the builder instance the build goes to, and its driver
    driver: str | None = None

    @property
    def docker_driver(self) -> bool:
        """buildx on the `docker` driver: the daemon's own BuildKit, which cannot export a registry cache, build
        several platforms or attach attestations (buildx 0.13 `driver/docker`)."""
        return self.backend == BACKEND_BUILDX and self.driver == "docker"

    @property
    def where(self) -> str:
        """The engine as a user names it: its endpoint and context."""
        if self.endpoint is None:
            return "the local engine"
        return self.endpoint + (f" (context {self.context})" if self.context else "")

    @property
    def buildkit(self) -> bool:
        return self.backend in (BACKEND_BUILDX, BACKEND_DOCKER_BUILDKIT)


@dataclass(frozen=True)
class BuildRequest:
    """The one build request: the command line's engine options (`build` makes it), completed by build.py with
    the context, the default tag, the network, provenance labels and the registry cache, and read by each back end.
    """

    context: Path = Path(".")
    tags: tuple[str, ...] = ()
    build_args: tuple[tuple[str, str], ...] = ()
    target: str | None = None
    network: str | None = None
    no_cache: bool = False
    pull: bool = False
    platforms: tuple[str, ...] = ()
    push: bool = False
    load: bool = True
    cache_from: tuple[str, ...] = ()
    cache_to: tuple[str, ...] = ()
    secrets: tuple[str, ...] = ()
    ssh: tuple[str, ...] = ()
    builder: str | None = None
    output: str | None = None  # BuildKit --output, e.g. type=local,dest=DIR
    labels: tuple[tuple[str, str], ...] = ()  # build-time labels (provenance), on top of the Dockerfile's
    attest_sbom: bool = False  # BuildKit's own attestations (buildx)
    attest_provenance: bool = False


@dataclass(frozen=True)
class ImageInfo:
    id: str
    size: int
    tags: tuple[str, ...]
    labels: dict[str, str] = field(default_factory=dict)
    entrypoint: tuple[str, ...] = ()
    cmd: tuple[str, ...] = ()
    user: str = ""
    env: tuple[str, ...] = ()
    exposed_ports: tuple[str, ...] = ()  # "8080/tcp"
