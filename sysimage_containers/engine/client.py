"""The Engine facade: detection, dispatch to the back-end modules, images and containers.

Back ends, in the order `auto` tries them: buildx; the docker CLI's own BuildKit (clients before 23, e.g.
Debian's docker.io 20.10, with DOCKER_BUILDKIT=1); the classic builder; podman. Failures are classified into
the exit statuses of errors.py: no client / no daemon / no permission is EngineUnavailable (3), a failed
step is BuildFailed (1), asking a back end for what it cannot do is UsageError (2).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, cast

from python_on_whales import ClientNotFoundError, DockerClient
from python_on_whales.exceptions import DockerException
from python_on_whales.utils import run as run_cli

from sysimage_containers import failures, imageref
from sysimage_containers.engine import buildx, cli, clients, podman
from sysimage_containers.engine.types import (
    BACKEND_BUILDX,
    BACKEND_PODMAN,
    BuildRequest,
    EngineInfo,
    ImageInfo,
)
from sysimage_containers.errors import BuildFailed, EngineUnavailable, UsageError
from sysimage_containers.urls import strip_credentials


def _classify(exc: DockerException, client: str, endpoint: str | None = None) -> EngineUnavailable | None:
    """`endpoint`: where the client tried (DOCKER_HOST or the context's host), named in the message."""
    text = f"{exc.stderr or ''}{exc.stdout or ''}".lower()
    if "permission denied" in text and ("docker.sock" in text or "daemon socket" in text):
        return EngineUnavailable(
            f"permission denied on the Docker socket: add your user to the docker group or run as root ({client})")
    # about the daemon's own socket only: a registry that refuses a connection during a build is not the daemon
    daemon = ".sock" in text or "daemon" in text or "docker_host" in text
    if "cannot connect" in text or "is the docker daemon running" in text \
            or (daemon and ("connection refused" in text or "no such file or directory" in text)):
        return EngineUnavailable(_no_daemon(client, endpoint))
    return None


def _no_daemon(client: str, endpoint: str | None) -> str:
    where = f" at {endpoint}" if endpoint else ""
    # DOCKER_HOST already set is what was tried: saying "set DOCKER_HOST" would send the user in a circle
    other = ("check DOCKER_HOST, which names that address" if os.environ.get("DOCKER_HOST")
             else "point DOCKER_HOST (or --context) at a running engine")
    return (f"no Docker daemon answers{where} ({client}): start it (e.g. `sudo systemctl start docker` or `dockerd`), "
            f"or {other}")


class Engine:
    @classmethod
    def from_config(cls, cfg: Any) -> Engine:
        return cls(cfg.engine, cfg.docker_client, cfg.docker_context)

    def __init__(self, engine: str = "auto", client: str | None = None, context: str | None = None) -> None:
        self.requested = engine
        self.context = context
        binary = client or ("podman" if engine == "podman" else "docker")
        path = shutil.which(binary)
        if path is None and client is None and engine == "auto":
            binary, path = "docker", shutil.which("podman")  # auto: podman comes last
        if path is None:
            raise EngineUnavailable(f"no container client: `{binary}` is not installed or not on PATH "
                                    "(install Docker or podman, or pass --docker-client PATH)")
        self.client = path
        self.is_podman = engine == "podman" or os.path.basename(path).startswith("podman")
        self.docker = DockerClient(client_call=[path], client_type="podman" if self.is_podman else "docker",
                                   context=context)

    @property
    def _client_cmd(self) -> list[str]:
        return [*map(str, self.docker.client_config.docker_cmd)]

    # -- detection --------------------------------------------------------------------------------------
    def detect(self, builder: str | None = None) -> EngineInfo:
        """`builder`: the buildx builder a build names (--builder); its driver decides what buildx can do."""
        try:
            version = self.docker.version()
        except ClientNotFoundError:
            raise EngineUnavailable(f"the container client {self.client} cannot be run") from None
        except DockerException as exc:
            endpoint = self._endpoint()[0]
            raise (_classify(exc, self.client, endpoint) or EngineUnavailable(
                f"the engine{f' at {endpoint}' if endpoint else ''} does not answer: {_first_line(exc)}")) from None
        client_version = _version_text(getattr(version, "client", None))
        server = getattr(version, "server", None)
        if server is None and not self.is_podman:
            raise EngineUnavailable(_no_daemon(self.client, self._endpoint()[0]))
        # podman without a service: the client is the engine
        server_version = _version_text(server) if server is not None else client_version
        mem_total = docker_root = architecture = None
        try:
            if self.is_podman:
                mem_total, docker_root, architecture = podman.facts(
                    cast(str, run_cli([*self._client_cmd, "info", "--format", "json"])))
            else:
                info = self.docker.system.info()
                mem_total = info.mem_total
                docker_root = str(info.docker_root_dir) if info.docker_root_dir else None
                architecture = info.architecture
        except DockerException:
            pass
        endpoint, context = self._endpoint()
        backend = self._backend(client_version)
        builder_name, driver = (buildx.builder_driver(self._client_cmd, builder) if backend == BACKEND_BUILDX
                                else (None, None))
        return EngineInfo(backend=backend, client=self.client,
                          client_version=client_version, server_version=server_version,
                          mem_total=mem_total, docker_root=docker_root, architecture=architecture,
                          endpoint=endpoint, context=context, builder=builder_name, driver=driver)

    def _endpoint(self) -> tuple[str | None, str | None]:
        """The engine's address: the current context's host, which DOCKER_HOST overrides (`docker context
        inspect` reports it that way)."""
        if self.is_podman:
            return None, None
        try:
            out = cast(str, run_cli([*self._client_cmd, "context", "inspect", "--format",
                                     "{{.Name}}\t{{.Endpoints.docker.Host}}"]))
        except DockerException:
            host = os.environ.get("DOCKER_HOST", "")
            return strip_credentials(host) or None, self.context
        name, _, host = out.strip().partition("\t")
        # shown and written to the metadata only (the client connects by itself): a tcp://user:pass@ host loses both
        return strip_credentials(host) or None, (name if name and name != "default" else None)

    def _backend(self, client_version: str) -> str:
        if self.is_podman:
            return BACKEND_PODMAN
        has_buildx = self.docker.buildx.is_installed()
        if self.requested == "buildx" and not has_buildx:
            raise UsageError(f"engine buildx: the buildx plugin is not installed for {self.client} "
                             "(install docker-buildx, or use --engine docker)")
        return clients.choose_backend(self.requested, client_version, has_buildx, False)

    # -- building -----------------------------------------------------------------------------------------
    def check_capabilities(self, info: EngineInfo, request: BuildRequest) -> None:
        """Refuse up front what the back end cannot do, with the way out."""
        needs_buildx = {  # --push is not here: the other back ends push after the build (push_image)
            "--cache-to": bool(request.cache_to) and info.backend != BACKEND_PODMAN,  # podman: buildah's layer cache
            "--builder": request.builder is not None,
            "several --platform values": len(request.platforms) > 1,
            "--sbom (BuildKit's attestation)": request.attest_sbom,
            "--provenance (BuildKit's attestation)": request.attest_provenance,
        }
        for what, asked in needs_buildx.items():
            if asked and info.backend != BACKEND_BUILDX:
                raise UsageError(f"{what} needs buildx, and {info.backend} is in use ({self.client}): install the "
                                 "buildx plugin (docker-buildx) or leave it out")
        if info.docker_driver:
            buildx.check_docker_driver(info, request)
        needs_buildkit = {"--secret": bool(request.secrets), "--ssh": bool(request.ssh),
                          "--output": request.output is not None}
        for what, asked in needs_buildkit.items():
            if asked and not info.buildkit:
                raise UsageError(f"{what} needs BuildKit, which {info.backend} lacks: use buildx, or a docker "
                                 "client before 23 with its own BuildKit")

    def build(self, info: EngineInfo, request: BuildRequest, on_line: Callable[[str], None]) -> str | None:
        """Run the build, each output line to `on_line`; returns the digest buildx pushed (None otherwise)."""
        if info.backend != BACKEND_BUILDX:
            self._stream(cli.build_lines(self._client_cmd, info.backend, request), on_line)
            return None
        with tempfile.TemporaryDirectory() as tmp:
            metadata = Path(tmp) / "buildx-metadata.json"
            self._stream(buildx.build_lines(self.docker, request, metadata), on_line)
            return buildx.pushed_digest(metadata) if request.push else None

    def _stream(self, lines: Iterator[str], on_line: Callable[[str], None]) -> None:
        try:
            for line in lines:
                on_line(line)
        except DockerException as exc:
            unavailable = _classify(exc, self.client)
            if unavailable is not None:
                raise unavailable from None
            raise BuildFailed(f"exit {exc.return_code}") from None
        except KeyboardInterrupt:
            _interrupt_children()
            raise

    def push_image(self, tag: str) -> str:
        """Push a built image with the engine's own credentials (`docker login` / `podman login`); returns its
        digest. None of the credentials passes through here."""
        with tempfile.TemporaryDirectory() as tmp:
            digest_file = Path(tmp) / "digest"
            cmd = (podman.push_command(self._client_cmd, tag, digest_file) if self.is_podman
                   else [*self._client_cmd, "push", tag])
            done = subprocess.run(cmd, capture_output=True, text=True)
            if done.returncode != 0:
                text = (done.stderr or done.stdout).strip()
                last = text.splitlines() or [f"exit {done.returncode}"]
                registry = imageref.registry(tag)
                raise BuildFailed(f"push of {tag} to {registry} failed: {last[-1].strip()} "
                                  f"({failures.registry_hint(text, registry, os.path.basename(self.client))})")
            if digest_file.is_file():
                return digest_file.read_text().strip()
        match = re.search(r"digest: (sha256:[0-9a-f]{64})", done.stdout)
        return match.group(1) if match else "unknown"

    def has_network(self, name: str) -> bool:
        # `network ls`, not python-on-whales' exists(): it raises instead of answering False on Docker 20.10
        try:
            out = cast(str, run_cli([*map(str, self.docker.client_config.docker_cmd), "network", "ls",
                                     "--format", "{{.Name}}"]))
        except DockerException:
            return True  # cannot tell: leave the engine's default alone
        return name in out.split()

    def pull(self, reference: str) -> tuple[bool, str]:
        """Pull an image; (pulled, what the client said)."""
        done = subprocess.run([*self._client_cmd, "pull", "--quiet", reference], capture_output=True, text=True)
        return done.returncode == 0, done.stderr + done.stdout

    # -- images and containers ----------------------------------------------------------------------------
    def layers(self, reference: str) -> tuple[str, ...]:
        """The image's layer diff ids; none when the engine does not have it."""
        done = subprocess.run([*self._client_cmd, "image", "inspect", "--format", "{{json .RootFS.Layers}}",
                               reference], capture_output=True, text=True)
        if done.returncode != 0:
            return ()
        try:
            return tuple(json.loads(done.stdout) or ())
        except ValueError:
            return ()

    def inspect(self, reference: str) -> ImageInfo:
        try:
            image = self.docker.image.inspect(reference)
        except DockerException as exc:
            raise (_classify(exc, self.client) or UsageError(f"no image {reference!r} in the engine")) from None
        config = image.config
        return ImageInfo(
            id=image.id, size=image.size or 0, tags=tuple(image.repo_tags or ()),
            labels=dict(config.labels or {}), entrypoint=tuple(config.entrypoint or ()),
            cmd=tuple(config.cmd or ()), user=config.user or "", env=tuple(config.env or ()),
            exposed_ports=tuple(config.exposed_ports or ()),
        )

    def layer_sizes(self, reference: str) -> list[tuple[int, str]]:
        """(bytes, instruction) per layer; python-on-whales has no `history` yet, so its runner calls the CLI."""
        if self.is_podman:
            return podman.layer_sizes(cast(str, run_cli([*self._client_cmd, "history", "--format", "json",
                                                         reference])))
        out = cast(str, run_cli([*map(str, self.docker.client_config.docker_cmd), "history", "--human=false",
                                 "--no-trunc", "--format", "{{.Size}}\t{{.CreatedBy}}", reference]))
        layers = []
        for line in out.splitlines():
            size, _, created = line.partition("\t")
            if size.isdigit():
                layers.append((int(size), created))
        return layers

    def image_exists(self, reference: str) -> bool:
        return self.docker.image.exists(reference)

    def ensure_local(self, reference: str) -> bool:
        """The image in the engine, pulled when it is not there yet (a CI job verifying what buildx pushed without
        loading it); False when neither the engine nor the registry has it. Pulled with the engine's own login."""
        if self.image_exists(reference):
            return True
        done = subprocess.run([*self._client_cmd, "pull", "--quiet", reference], capture_output=True, text=True)
        return done.returncode == 0

    def run(self, image: str, args: Sequence[str], *, ports: Sequence[int] = (), env: Sequence[tuple[str, str]] = (),
            network: str | None = None, interactive: bool = False) -> int:
        """Run a container in the foreground with the terminal's streams; returns its exit status."""
        # an init reaps zombies and forwards signals; podman's needs catatonit, which may be missing
        init = ["--init"] if not self.is_podman or podman.has_init() else []
        cmd = [*self._client_cmd, "run", "--rm", *init]
        if interactive:  # a TTY only for a terminal: piped stdin (a stdio server) has none to give
            cmd.append("-it" if sys.stdin.isatty() else "-i")
        if network:
            cmd += ["--network", network]
        for port in ports:
            cmd += ["--publish", f"127.0.0.1:{port}:{port}"]
        for key, value in env:
            cmd += ["--env", f"{key}={value}"]
        cmd += [image, *args]
        try:
            return subprocess.call(cmd)
        except KeyboardInterrupt:
            return 130

    def run_timed(self, image: str, args: Sequence[str], *, env: Sequence[tuple[str, str]] = (),
                  network: str | None = None) -> tuple[int, float, str]:
        """Run the image's own entrypoint to its exit: (status, wall seconds from `run` to exit, stderr)."""
        import time

        cmd = [*self._client_cmd, "run", "--rm"]
        if network:
            cmd += ["--network", network]
        for key, value in env:
            cmd += ["--env", f"{key}={value}"]
        started = time.perf_counter()
        done = subprocess.run([*cmd, image, *args], capture_output=True, text=True)
        return done.returncode, time.perf_counter() - started, done.stderr

    def time_service(self, image: str, port: int, path: str, *, env: Sequence[tuple[str, str]] = (),
                     timeout: float = 600) -> float:
        """Start a service and time it to its first HTTP answer on 127.0.0.1:PORT (any status: it is up); it is
        then removed. The port is published, or, on an engine without a bridge network, the host's network used."""
        import time
        import urllib.error
        import urllib.request
        import uuid

        name = f"sysimage-docker-bench-{uuid.uuid4().hex[:10]}"
        net = ["--publish", f"127.0.0.1:{port}:{port}"] if self.has_network("bridge") else ["--network", "host"]
        cmd = [*self._client_cmd, "run", "--detach", "--name", name, *net]
        for key, value in env:
            cmd += ["--env", f"{key}={value}"]
        started = time.perf_counter()
        done = subprocess.run([*cmd, image], capture_output=True, text=True)
        try:
            if done.returncode != 0:
                raise BuildFailed(f"{image} did not start: {(done.stderr.strip().splitlines() or ['?'])[-1]}")
            while True:
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=2):
                        break
                except urllib.error.HTTPError:
                    break  # an answer, whatever its status
                except OSError:
                    if time.perf_counter() - started > timeout:
                        raise BuildFailed(f"{image} did not answer on port {port} within {timeout:g} s") from None
                    time.sleep(0.02)
            return time.perf_counter() - started
        finally:
            subprocess.run([*self._client_cmd, "rm", "--force", name], capture_output=True)

    def run_capture(self, image: str, entrypoint: str, args: Sequence[str], network: str | None = None
                    ) -> tuple[int, str, str]:
        """Run a one-off container with another entrypoint; returns (status, stdout, stderr)."""
        cmd = [*map(str, self.docker.client_config.docker_cmd), "run", "--rm", "--entrypoint", entrypoint]
        if network:
            cmd += ["--network", network]
        done = subprocess.run([*cmd, image, *args], capture_output=True, text=True)
        return done.returncode, done.stdout, done.stderr


def _version_text(part: object) -> str:
    return str(getattr(part, "version", None) or "unknown")


def _first_line(exc: DockerException) -> str:
    text = (exc.stderr or exc.stdout or "").strip() or f"exit {exc.return_code}"
    return text.splitlines()[0]


def _interrupt_children() -> None:
    """Stop the client process we spawned (it shares our process group only on a terminal)."""
    me = str(os.getpid())
    proc = Path("/proc")
    if not proc.is_dir():
        return
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        if stat.rsplit(")", 1)[-1].split()[1] == me:
            with contextlib.suppress(OSError):
                os.kill(int(entry.name), signal.SIGINT)
