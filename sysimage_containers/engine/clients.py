"""Which build back end a container client gives, decided from the client alone (no daemon needed), so that
`generate`, `build --dry-run` and `build` render for the client that will run; and where on the machine a client
that can build with BuildKit is, for the advice when the one in use cannot.

A docker client from 23 on builds with BuildKit only through the buildx plugin; without it `docker build` is the
classic builder (measured here with the Docker 28 client, FIELD-NOTES "buildx on this kind of machine"). Clients
before 23 have BuildKit built in (DOCKER_BUILDKIT=1).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass

from sysimage_containers.engine.types import (
    BACKEND_BUILDX,
    BACKEND_DOCKER_BUILDKIT,
    BACKEND_DOCKER_CLASSIC,
    BACKEND_PODMAN,
    NATIVE_BUILDKIT_BEFORE,
)

BUILDKIT_BACKENDS = (BACKEND_BUILDX, BACKEND_DOCKER_BUILDKIT)
# places docker clients are installed besides PATH (Debian's docker.io, Docker's static binaries)
WELL_KNOWN = ("/usr/bin/docker", "/usr/local/bin/docker")


def major(version: str | None) -> int:
    try:
        return int((version or "").split(".")[0])
    except ValueError:
        return NATIVE_BUILDKIT_BEFORE


def choose_backend(requested: str, client_version: str | None, has_buildx: bool, is_podman: bool) -> str:
    """The back end a build takes: podman; buildx when asked or (auto) installed; else the client's own BuildKit
    before 23, the classic builder from 23 on. (`--engine buildx` without the plugin is refused by Engine.)"""
    if is_podman:
        return BACKEND_PODMAN
    if requested == "buildx" or (requested == "auto" and has_buildx):
        return BACKEND_BUILDX
    return BACKEND_DOCKER_BUILDKIT if major(client_version) < NATIVE_BUILDKIT_BEFORE else BACKEND_DOCKER_CLASSIC


@dataclass(frozen=True)
class Client:
    path: str
    version: str | None  # None: it could not be run
    buildx: bool

    def backend(self, requested: str = "auto") -> str:
        return choose_backend(requested, self.version, self.buildx, False)

    @property
    def label(self) -> str:
        how = "with buildx" if self.buildx else "its own BuildKit"
        return f"{self.path} ({self.version}, {how})"


class Survey:
    """Clients asked for their version and buildx plugin, each once. Each answer is a Go program's start-up (50 ms
    or more): `generate` and `build --dry-run` ask as soon as the configuration names the client (`begin`), and the
    answers arrive on another core while the project is read; the no-BuildKit advice asks the machine's other
    docker clients at the same time, all at once."""

    def __init__(self) -> None:
        self._asked: dict[str, tuple[subprocess.Popen[str] | None, subprocess.Popen[str] | None]] = {}
        self._known: dict[str, Client] = {}

    def begin(self, engine: str, docker_client: str | None, buildkit: bool) -> None:
        """Ask what rendering will want to know: the configured docker client (not podman, which is asked
        nothing) and, for the advice should it lack BuildKit, the machine's other docker clients."""
        path, is_podman = configured_client(engine, docker_client)
        if buildkit and path is not None and not is_podman:
            self.ask([path, *docker_clients(exclude=path)])

    def ask(self, paths: list[str]) -> None:
        for path in paths:
            if path not in self._asked and path not in self._known:
                self._asked[path] = (_start([path, "version", "--format", "{{.Client.Version}}"]),
                                     _start([path, "buildx", "version"]))

    def clients(self, paths: list[str]) -> list[Client]:
        self.ask(paths)
        for path in paths:
            if path in self._asked:
                self._known[path] = _client(path, *self._asked.pop(path))
        return [self._known[path] for path in paths]

    def close(self) -> None:
        """Stop what was asked and never needed (or asked before an error)."""
        for procs in self._asked.values():
            for proc in procs:
                if proc is not None and proc.poll() is None:
                    proc.kill()
                if proc is not None:
                    proc.communicate()
        self._asked.clear()


def _client(path: str, asked_version: subprocess.Popen[str] | None,
            asked_buildx: subprocess.Popen[str] | None) -> Client:
    version, buildx = _finish(asked_version), _finish(asked_buildx)
    if version is None:
        return Client(path, None, False)
    text = version[1].strip()
    return Client(path, text.splitlines()[0] if text else None, buildx is not None and buildx[0] == 0)


def inspect_clients(paths: list[str], survey: Survey | None = None) -> list[Client]:
    """Each client's own version (printed even when no daemon answers) and whether its buildx plugin runs, all
    asked at once (or earlier, by `survey`)."""
    if survey is not None:
        return survey.clients(paths)
    survey = Survey()
    try:
        return survey.clients(paths)
    finally:
        survey.close()


def _start(cmd: list[str]) -> subprocess.Popen[str] | None:
    try:
        return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    except OSError:
        return None


def _finish(proc: subprocess.Popen[str] | None) -> tuple[int, str] | None:
    """(exit status, output); None when it could not be run or did not answer in 30 s."""
    if proc is None:
        return None
    try:
        out, _ = proc.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        return None
    return proc.returncode, out


def configured_client(engine: str, docker_client: str | None) -> tuple[str | None, bool]:
    """The client binary a build would run (as Engine resolves it) and whether it is podman; None: none found."""
    binary = docker_client or ("podman" if engine == "podman" else "docker")
    path = shutil.which(binary)
    if path is None and docker_client is None and engine == "auto":
        path = shutil.which("podman")
    if path is None:
        return None, False
    return path, engine == "podman" or os.path.basename(path).startswith("podman")


def rendering_backend(engine: str, docker_client: str | None,
                      survey: Survey | None = None) -> tuple[str | None, str | None]:
    """(back end, client path) the configured client gives, without asking the daemon; (None, None) without a
    client (then the rendering stays as configured)."""
    path, is_podman = configured_client(engine, docker_client)
    if path is None:
        return None, None
    if is_podman:
        return BACKEND_PODMAN, path
    client = inspect_clients([path], survey)[0]
    if client.version is None:
        return None, path
    return client.backend(engine), path


def docker_clients(exclude: str | None = None) -> list[str]:
    """Docker clients on this machine (on PATH first, then the usual places), each once, `exclude` not."""
    seen = {os.path.realpath(exclude)} if exclude else set()
    paths = []
    candidates = [os.path.join(d, "docker") for d in os.environ.get("PATH", "").split(os.pathsep) if d]
    for path in [*candidates, *WELL_KNOWN]:
        real = os.path.realpath(path)
        if real in seen or not os.access(path, os.X_OK) or os.path.isdir(path):
            continue
        seen.add(real)
        paths.append(path)
    return paths


def buildkit_clients(exclude: str | None, survey: Survey | None = None) -> list[Client]:
    """Docker clients on this machine that build with BuildKit (on PATH first, then the usual places)."""
    return [client for client in inspect_clients(docker_clients(exclude), survey)
            if client.version is not None and client.backend() in BUILDKIT_BACKENDS]


def no_buildkit_advice(backend: str, client: str | None, survey: Survey | None = None) -> str:
    """What to do when the back end in use has no BuildKit: a BuildKit-capable client on this machine, if any."""
    if backend == BACKEND_PODMAN:
        return ""
    better = buildkit_clients(client, survey)
    if better:
        return (f"; {better[0].label} builds with BuildKit: --docker-client {better[0].path} "
                "(or SYSIMAGE_DOCKER_DOCKER_CLIENT)")
    return "; install buildx (docker-buildx) for cache mounts and faster rebuilds"


def no_buildkit_warning(backend: str, client: str | None, survey: Survey | None = None) -> str:
    return (f"{backend} has no BuildKit ({client}): rendering without cache mounts (downloads are not cached across "
            f"builds){no_buildkit_advice(backend, client, survey)}")


def build_command(backend: str | None, client: str | None, directory: str, buildkit: bool) -> str:
    """A command that builds a written context with the client that will run (`backend` None: no client here)."""
    # the bare name when it is the client PATH finds first, else the full path
    docker = os.path.basename(client) if client and shutil.which(os.path.basename(client)) == client else client
    docker = docker or "docker"
    if backend == BACKEND_BUILDX:
        return f"{docker} buildx build {directory}"
    if backend == BACKEND_DOCKER_BUILDKIT:
        return f"DOCKER_BUILDKIT=1 {docker} build {directory}"
    if backend == BACKEND_DOCKER_CLASSIC:
        return f"{docker} build {directory}"
    if backend == BACKEND_PODMAN:
        return f"{docker if client else 'podman'} build {directory}"
    if not buildkit:
        return f"docker build {directory} or podman build {directory}"
    return (f"docker buildx build {directory}, or DOCKER_BUILDKIT=1 docker build {directory} with a docker client "
            "before 23")
