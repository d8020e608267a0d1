"""A real registry for the tests: Debian's docker-registry (the CNCF distribution server) on 127.0.0.1 with a
free port, optionally behind basic auth (an htpasswd file with a bcrypt entry). Started and stopped by PID."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

BINARY = "/usr/bin/docker-registry"


@dataclass(frozen=True)
class Registry:
    host: str  # 127.0.0.1:PORT: Docker treats loopback registries as insecure, so plain HTTP works
    user: str | None = None
    password: str | None = None
    data: Path | None = None  # the registry's storage root

    def blobs(self) -> dict[str, int]:
        """Every blob the registry holds (layers, configs, manifests): digest -> bytes, from its storage."""
        assert self.data is not None
        found = {}
        for path in (self.data / "docker/registry/v2/blobs").glob("*/*/*/data"):
            found[f"{path.parent.parent.parent.name}:{path.parent.name}"] = path.stat().st_size
        return found

    def manifest_digest(self, repository: str, tag: str) -> str:
        """The digest the registry gives for REPOSITORY:TAG (Docker-Content-Digest of the manifest)."""
        accept = ", ".join(("application/vnd.docker.distribution.manifest.v2+json",
                            "application/vnd.docker.distribution.manifest.list.v2+json",
                            "application/vnd.oci.image.manifest.v1+json", "application/vnd.oci.image.index.v1+json"))
        request = urllib.request.Request(f"http://{self.host}/v2/{repository}/manifests/{tag}", method="HEAD",
                                         headers={"Accept": accept})
        with urllib.request.urlopen(request, timeout=10) as reply:
            return str(reply.headers["Docker-Content-Digest"])

    def _get(self, path: str) -> dict:
        request = urllib.request.Request(f"http://{self.host}{path}")
        if self.user:
            import base64

            token = base64.b64encode(f"{self.user}:{self.password}".encode()).decode()
            request.add_header("Authorization", f"Basic {token}")
        with urllib.request.urlopen(request, timeout=10) as reply:
            import json

            return dict(json.load(reply))

    def catalog(self) -> list[str]:
        return list(self._get("/v2/_catalog")["repositories"])

    def tags(self, repository: str) -> set[str]:
        """The tags of a repository; none when the registry does not know it."""
        try:
            return set(self._get(f"/v2/{repository}/tags/list").get("tags") or ())
        except urllib.error.HTTPError:
            return set()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def running_registry(directory: Path, auth: tuple[str, str] | None = None) -> Iterator[Registry]:
    required = os.environ.get("SYSIMAGE_DOCKER_REQUIRE_DOCKER") == "1"
    missing = [tool for tool in (BINARY, "htpasswd" if auth else None) if tool and shutil.which(tool) is None]
    if missing:
        message = f"the registry tests need {', '.join(missing)} (Debian: docker-registry, apache2-utils)"
        pytest.fail(message) if required else pytest.skip(message)
    directory.mkdir(parents=True, exist_ok=True)
    port = _free_port()
    config = [
        "version: 0.1",
        "log: {level: error}",
        f"storage: {{filesystem: {{rootdirectory: {directory / 'data'}}}}}",
        f"http: {{addr: '127.0.0.1:{port}'}}",
    ]
    if auth:
        entry = subprocess.run(["htpasswd", "-Bbn", *auth], capture_output=True, text=True, check=True).stdout
        (directory / "htpasswd").write_text(entry)
        config.append(f"auth: {{htpasswd: {{realm: sysimage-docker-test, path: {directory / 'htpasswd'}}}}}")
    (directory / "config.yml").write_text("\n".join(config) + "\n")
    log = (directory / "registry.log").open("w")
    proc = subprocess.Popen([BINARY, "serve", str(directory / "config.yml")], stdout=log, stderr=log)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/v2/", timeout=2)
                break
            except urllib.error.HTTPError:
                break  # 401 from the auth registry: it answers
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    output = (directory / "registry.log").read_text()
                    raise RuntimeError(f"docker-registry did not start: {output}") from None
                time.sleep(0.2)
        yield Registry(f"127.0.0.1:{port}", *(auth or (None, None)), data=directory / "data")
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
