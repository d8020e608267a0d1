"""A private dockerd for the tests that need a cold runner: its own unix socket, data root and exec root (as root,
as CI runs), started and stopped by PID. Its build cache and images may be pruned: nothing else uses it, unlike
the shared engine, which the tests never prune."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from dockerenv import ensure_image


@dataclass(frozen=True)
class PrivateEngine:
    host: str  # unix:///tmp/.../docker.sock
    client: str
    builder_image: str
    runtime_image: str

    def docker(self, *args: str, check: bool = True, **env: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([self.client, *args], capture_output=True, text=True, check=check, timeout=300,
                              env={**os.environ, **env, "DOCKER_HOST": self.host})

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
    dockerd = shutil.which("dockerd")
    if dockerd is None or os.geteuid() != 0:
        message = "a private dockerd needs dockerd and root"
        pytest.fail(message) if os.environ.get("SYSIMAGE_DOCKER_REQUIRE_DOCKER") == "1" else pytest.skip(message)
    root = Path(tempfile.mkdtemp(prefix="sdp-", dir="/tmp"))  # short: unix socket paths are limited
    host = f"unix://{root}/docker.sock"
    log = (root / "dockerd.log").open("w")
    proc = subprocess.Popen([dockerd, "--bridge=none", "--iptables=false", "--ip-masq=false",
                             "--data-root", str(root / "data"), "--exec-root", str(root / "exec"),
                             "--pidfile", str(root / "docker.pid"), "-H", host],
                            stdout=log, stderr=subprocess.STDOUT)
    try:
        env = {**os.environ, "DOCKER_HOST": host}
        for _ in range(60):
            if subprocess.run([client, "version"], capture_output=True, env=env).returncode == 0:
                break
            time.sleep(0.5)
        else:
            pytest.fail("the private dockerd did not start: " + (root / "dockerd.log").read_text()[-2000:])
        yield PrivateEngine(host=host, client=client,
                            builder_image=ensure_image(client, "builder", {"DOCKER_HOST": host}),
                            runtime_image=ensure_image(client, "runtime", {"DOCKER_HOST": host}))
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
