"""The docker side of the tests: a local engine, base images made from Debian's busybox-static, cleanup.

No registry is reachable where the tests run, so the builder and runtime base images are assembled here as
tarballs and `docker import`ed, tagged by a hash of their contents so later runs reuse them.
"""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import signal
import subprocess
import sys
import tarfile
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path

import pytest

STANDIN = Path(__file__).resolve().parent / "standin"
BUSYBOX = Path("/bin/busybox")
APPLETS = (
    "sh", "ash", "ls", "cat", "cp", "mkdir", "rm", "env", "echo", "grep", "sed", "wc", "sort", "chmod", "mv", "ln",
    "head", "tail", "id", "tr", "printf", "test", "[", "basename", "dirname", "kill", "sleep", "find", "stat",
    "touch", "true", "false", "which", "du", "xargs", "chown", "cut", "md5sum",
)
# The Julia version the stand-in plays unless a test asks for another: the examples' manifests are Julia 1.11.5's.
JULIA_VERSION = "1.11.5"
PATH_ENV = "ENV PATH=/usr/local/julia/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


@dataclass
class DockerEnv:
    client: str
    builder_image: str
    runtime_image: str
    created: list[str] = field(default_factory=list)

    def docker(self, *args: str, check: bool = True, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run([self.client, *args], capture_output=True, text=True, check=check, timeout=timeout)

    def unique_tag(self, name: str) -> str:
        tag = f"sysimage-docker-test/{name}:{uuid.uuid4().hex[:10]}"
        self.created.append(tag)
        return tag

    def env(self, **extra: str) -> dict[str, str]:
        """Environment for a `sysimage-docker build` against the local engine and images."""
        base = {k: v for k, v in os.environ.items() if not k.startswith("SYSIMAGE_DOCKER_")}
        base.update({
            "SYSIMAGE_DOCKER_DOCKER_CLIENT": self.client,
            # the docker CLI's own BuildKit even where a buildx plugin is installed (test_buildx_engine runs buildx)
            "SYSIMAGE_DOCKER_ENGINE": "docker",
            "SYSIMAGE_DOCKER_NETWORK": "none",
            "SYSIMAGE_DOCKER_BUILDER_IMAGE": self.builder_image,
            "SYSIMAGE_DOCKER_RUNTIME_IMAGE": self.runtime_image,
        })
        base.update(extra)
        return base

    def cli(self, *args: str, timeout: float = 300, **env: str) -> subprocess.CompletedProcess[str]:
        """`sysimage-docker ARGS` as a real process against the local engine and images."""
        return subprocess.run([sys.executable, "-m", "sysimage_containers", *map(str, args)], capture_output=True,
                              text=True, env=self.env(**env), timeout=timeout)

    def build(self, project: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
        return self.cli("build", project, "--progress", "plain", *args, **env)

    def run(self, image: str, *args: str, entrypoint: str | None = None) -> subprocess.CompletedProcess[str]:
        cmd = ["run", "--rm", "--network", "none"]
        if entrypoint is not None:
            cmd += ["--entrypoint", entrypoint]
        return self.docker(*cmd, image, *args, check=False)

    def sh(self, image: str, script: str) -> str:
        """Run a shell script in the image (as root) and return its stdout."""
        result = self.docker("run", "--rm", "--network", "none", "--user", "0:0", "--entrypoint", "/bin/sh",
                             image, "-c", script, check=False)
        return result.stdout


def _tar(files: dict[str, tuple[bytes, int]], links: dict[str, str], dirs: dict[str, int]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name, mode in sorted(dirs.items()):
            info = tarfile.TarInfo(name)
            info.type, info.mode = tarfile.DIRTYPE, mode
            tar.addfile(info)
        for name, (data, mode) in sorted(files.items()):
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(data), mode
            tar.addfile(info, io.BytesIO(data))
        for name, target in sorted(links.items()):
            info = tarfile.TarInfo(name)
            info.type, info.linkname = tarfile.SYMTYPE, target
            tar.addfile(info)
    return buffer.getvalue()


# An apt-get for a retired Debian suite: `update` fails until the sources point at archive.debian.org; `install`
# puts the stand-in tool in place of each package's command.
RETIRED_APT = b"""#!/bin/sh
case "$1" in
    update) grep -q archive.debian.org /etc/apt/sources.list && exit 0; echo "E: Release file not found"; exit 100 ;;
    -o) [ "$3" = update ] && grep -q archive.debian.org /etc/apt/sources.list && exit 0; exit 100 ;;
    install) cp /usr/local/bin/tool /usr/local/bin/g++; echo "installed g++ (stand-in)"; exit 0 ;;
esac
exit 0
"""


def standin_julia(julia_version: str) -> bytes:
    """tests/standin/julia playing Julia `julia_version` (its version travels with it into the runtime image)."""
    return (STANDIN / "julia").read_bytes().replace(b"@JULIA_VERSION@", julia_version.encode())


def base_image_tar(kind: str, julia_version: str = JULIA_VERSION) -> bytes:
    dirs = {d: 0o755 for d in ("bin", "etc", "usr", "usr/local", "usr/local/bin", "var", "var/log", "root")}
    dirs["tmp"] = 0o1777
    files = {
        "bin/busybox": (BUSYBOX.read_bytes(), 0o755),
        "etc/passwd": (b"root:x:0:0:root:/root:/bin/sh\n", 0o644),
        "etc/group": (b"root:x:0:\n", 0o644),
    }
    links = {f"bin/{a}": "busybox" for a in APPLETS}
    if kind.startswith("builder"):
        series = "v" + ".".join(julia_version.split(".")[:2])
        compiled = "usr/local/julia/share/julia/compiled"
        for d in ("usr/local/julia", "usr/local/julia/bin", "usr/local/julia/lib", "usr/local/julia/lib/julia",
                  "usr/local/julia/share", "usr/local/julia/share/julia", compiled, f"{compiled}/{series}",
                  f"{compiled}/{series}/Dates"):
            dirs[d] = 0o755
        files["usr/local/julia/bin/julia"] = (standin_julia(julia_version), 0o755)
        files["usr/local/julia/lib/julia/sys.so"] = (b"stock sysimage (stand-in)\n", 0o644)
        # the stdlib caches an official Julia ships, compiled for its stock sysimage
        files[f"{compiled}/{series}/Dates/stock.ji"] = (b"stock stdlib cache\n", 0o644)
        tools = ("g++", "git", "ssh") if kind in ("builder", "builder-apt") else ("git", "ssh")
        for tool in tools:
            files[f"usr/local/bin/{tool}"] = ((STANDIN / "tool").read_bytes(), 0o755)
        if kind == "builder-retired-apt":  # no g++; an old Debian suite that left the mirrors
            files["usr/local/bin/tool"] = ((STANDIN / "tool").read_bytes(), 0o755)
            files["usr/bin/apt-get"] = (RETIRED_APT, 0o755)
            dirs["etc/apt"] = dirs["usr/bin"] = 0o755
            files["etc/apt/sources.list"] = (b"deb http://deb.debian.org/debian buster main\n"
                                             b"deb http://deb.debian.org/debian buster-updates main\n", 0o644)
        # "builder-bare": no g++ and no package manager at all
    if kind in ("builder-apt", "runtime-apt"):  # Debian-like: the stand-in apt-get records what it installs
        dirs["usr/bin"] = dirs["var/lib"] = 0o755
        files["usr/bin/apt-get"] = ((STANDIN / "apt-get").read_bytes(), 0o755)
    if kind == "runtime-apk":  # an Alpine-like base
        dirs["sbin"] = 0o755
        files["sbin/apk"] = ((STANDIN / "apk").read_bytes(), 0o755)
    return _tar(files, links, dirs)


def ensure_image(client: str, kind: str, env: dict[str, str] | None = None, julia_version: str = JULIA_VERSION) -> str:
    """The base image of this kind in the engine (`env`: e.g. DOCKER_HOST of another engine); builders carry the
    stand-in julia playing `julia_version`, with JULIA_VERSION set as the official images set it."""
    data = base_image_tar(kind, julia_version)
    tag = f"sysimage-docker-test-{kind}:{hashlib.sha256(data + PATH_ENV.encode()).hexdigest()[:12]}"
    env = {**os.environ, **(env or {})}
    exists = subprocess.run([client, "image", "inspect", tag], capture_output=True, env=env)
    if exists.returncode != 0:
        changes = ["--change", PATH_ENV]
        if kind.startswith("builder"):
            # a base that sets threads, as some do: the sysimage step must run without it (PackageCompiler hangs)
            changes += ["--change", "ENV JULIA_NUM_THREADS=4", "--change", f"ENV JULIA_VERSION={julia_version}"]
        subprocess.run([client, "import", *changes, "-", tag], input=data, capture_output=True, check=True, env=env)
    return tag


def find_client() -> str | None:
    # Debian's 20.10 client has BuildKit built in; a newer client without buildx can only use the classic builder
    for candidate in ("/usr/bin/docker", shutil.which("docker")):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return None


def engine_or_skip() -> DockerEnv:
    required = os.environ.get("SYSIMAGE_DOCKER_REQUIRE_DOCKER") == "1"
    client = find_client()
    reason = None
    if client is None:
        reason = "no docker client installed"
    elif not BUSYBOX.exists():
        reason = "busybox-static is not installed (/bin/busybox), needed for the test base images"
    else:
        ping = subprocess.run([client, "version", "--format", "{{.Server.Version}}"], capture_output=True, text=True)
        if ping.returncode != 0:
            reason = f"no Docker daemon answers: {ping.stderr.strip().splitlines()[-1] if ping.stderr else ''}"
    if reason is not None:
        if required:
            pytest.fail(f"SYSIMAGE_DOCKER_REQUIRE_DOCKER=1 but {reason}")
        pytest.skip(f"docker tests need an engine: {reason}")
    assert client is not None
    return DockerEnv(client=client, builder_image=ensure_image(client, "builder"),
                     runtime_image=ensure_image(client, "runtime"))


@dataclass
class PrivateEngine:
    """A dockerd the tests started themselves: the only engine a test may prune, reset or empty."""

    client: str
    host: str
    root: Path
    builder_image: str = ""
    runtime_image: str = ""

    def env(self) -> dict[str, str]:
        return {**os.environ, "DOCKER_HOST": self.host}

    def docker(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run([self.client, *args], capture_output=True, text=True, check=check, env=self.env(),
                              timeout=300)

    def make_cold(self) -> None:
        """What a fresh CI runner has: no build cache and no image but the base images (a runner pulls those
        from their own registry)."""
        self.docker("builder", "prune", "--all", "--force")
        keep = {self.builder_image, self.runtime_image}
        listed = self.docker("image", "ls", "--format", "{{.Repository}}:{{.Tag}}").stdout.split()
        doomed = [ref for ref in listed if ref not in keep and not ref.endswith(":<none>")]
        if doomed:
            self.docker("image", "rm", "--force", *doomed)
        self.docker("image", "prune", "--force")


@contextmanager
def private_dockerd(client: str) -> Iterator[PrivateEngine]:
    """A second dockerd on its own unix socket, data root and exec root (needs root, as CI runs), with the test
    base images imported; stopped by its PID and its directories removed afterwards. Starts in a few seconds."""
    dockerd = shutil.which("dockerd")
    if dockerd is None or os.geteuid() != 0:
        if os.environ.get("SYSIMAGE_DOCKER_REQUIRE_DOCKER") == "1":
            pytest.fail("a private dockerd needs dockerd and root")
        pytest.skip("a private dockerd needs dockerd and root")
    root = Path(tempfile.mkdtemp(prefix="sd2-", dir="/tmp"))  # short: unix socket paths are limited
    engine = PrivateEngine(client=client, host=f"unix://{root}/docker.sock", root=root)
    log = (root / "dockerd.log").open("w")
    proc = subprocess.Popen([dockerd, "--bridge=none", "--iptables=false", "--ip-masq=false",
                             "--data-root", str(root / "data"), "--exec-root", str(root / "exec"),
                             "--pidfile", str(root / "docker.pid"), "-H", engine.host],
                            stdout=log, stderr=subprocess.STDOUT)
    try:
        for _ in range(60):
            if engine.docker("version", check=False).returncode == 0:
                break
            time.sleep(0.5)
        else:
            pytest.fail("the private dockerd did not start: " + (root / "dockerd.log").read_text()[-2000:])
        images = [ensure_image(client, kind, {"DOCKER_HOST": engine.host}) for kind in ("builder", "runtime")]
        yield replace(engine, builder_image=images[0], runtime_image=images[1])
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
        subprocess.run(["umount", "-R", str(root / "data")], capture_output=True)
        shutil.rmtree(root, ignore_errors=True)
