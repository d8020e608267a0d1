"""The podman back end without a service (podman 4.x, rootful, as Debian 12 ships it): build, run, verify, push
and the registry cache, with the same progress lines and summary as Docker. Its own storage (a temporary graph
root), containers.conf (the rlimits this machine's podman run needs) and registries.conf (the test registry is
plain HTTP) are the test's; the stand-in julia implements no Julia semantics."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from dockerenv import ensure_image
from registry import running_registry
from test_registry_engine import HEAVY, heavy_steps

pytestmark = pytest.mark.docker


@dataclass
class Podman:
    binary: str
    root: Path
    env: dict[str, str]
    images: dict[str, str] = field(default_factory=dict)

    def __call__(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run([self.binary, *args], capture_output=True, text=True, check=check, timeout=300,
                              env={**os.environ, **self.env})

    def bases(self) -> None:
        for kind in ("builder", "runtime"):
            self.images[kind] = ensure_image(self.binary, kind, self.env)

    def insecure(self, host: str) -> None:
        (self.root / "registries.conf").write_text(f'[[registry]]\nlocation = "{host}"\ninsecure = true\n')

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("SYSIMAGE_DOCKER_")}
        env.update(self.env, SYSIMAGE_DOCKER_ENGINE="podman", SYSIMAGE_DOCKER_DOCKER_CLIENT=self.binary,
                   SYSIMAGE_DOCKER_NETWORK="none", SYSIMAGE_DOCKER_BUILDER_IMAGE=self.images["builder"],
                   SYSIMAGE_DOCKER_RUNTIME_IMAGE=self.images["runtime"])
        import sys

        return subprocess.run([sys.executable, "-m", "sysimage_containers", *map(str, args)], capture_output=True,
                              text=True, env=env, timeout=300)

    def cold_runner(self) -> None:
        """A fresh runner: nothing built or pulled before, no layer cache. The base images stay (a runner pulls
        the same ones from their registry; imported again they would get new ids, and every cache key with them)."""
        keep = {self("image", "inspect", "--format", "{{.Id}}", ref).stdout.strip() for ref in self.images.values()}
        listed = self("images", "--all", "--no-trunc", "--format", "{{.ID}}").stdout.split()
        doomed = [i.removeprefix("sha256:") for i in dict.fromkeys(listed) if i.removeprefix("sha256:") not in keep]
        if doomed:
            self("rmi", "--force", *doomed, check=False)


@pytest.fixture
def podman(tmp_path_factory) -> Iterator[Podman]:
    binary = shutil.which("podman")
    if binary is None:
        message = "the podman tests need podman (Debian: podman)"
        if os.environ.get("SYSIMAGE_DOCKER_REQUIRE_DOCKER") == "1":
            pytest.fail(message)
        pytest.skip(message)
    root = tmp_path_factory.mktemp("podman")
    (root / "containers.conf").write_text('[containers]\ndefault_ulimits = ["nofile=1024:1024", '
                                          '"nproc=1024:1024"]\n')
    (root / "storage.conf").write_text(f'[storage]\ndriver = "overlay"\ngraphroot = "{root}/graph"\n'
                                       f'runroot = "{root}/run"\n')
    (root / "registries.conf").write_text("")
    engine = Podman(binary, root, {"CONTAINERS_CONF": str(root / "containers.conf"),
                                   "CONTAINERS_STORAGE_CONF": str(root / "storage.conf"),
                                   "CONTAINERS_REGISTRIES_CONF": str(root / "registries.conf")})
    engine.bases()
    yield engine
    engine("rmi", "--all", "--force", check=False)
    engine("system", "reset", "--force", check=False)


def test_podman_builds_runs_and_verifies_without_a_service(podman: Podman, example) -> None:
    project = example("hello")
    first = podman.cli("build", project, "-t", "hello-podman:1", "--progress", "plain")
    assert first.returncode == 0, first.stderr
    err = first.stderr
    assert "with podman (" in err
    assert "[deps] (instantiate) RUN SYSIMAGE_DOCKER_INSTANTIATE=" in err  # step lines with stage and heavy step
    assert re.search(r"^image sha256:[0-9a-f]{12}  hello-podman:1  ", err, re.M)
    assert f"sysimage-docker: warning: podman has no BuildKit ({podman.binary}): rendering without cache mounts " \
           "(downloads are not cached across builds)\n" in err
    per_stage = re.search(r"^built in [\d.]+ s; per stage: (.*)$", err, re.M)
    assert per_stage is not None  # podman runs stages side by side: in the order they started
    assert {part.split()[0] for part in per_stage.group(1).split(", ")} == {"tools", "deps", "builder", "runtime"}
    assert heavy_steps(err) == dict.fromkeys(HEAVY, "ran")
    assert re.search(r"^sysimage size: [\d.]+ kB \(sysimage step ran", err, re.M)
    again = podman.cli("build", project, "-t", "hello-podman:1", "--progress", "plain")
    assert heavy_steps(again.stderr) == dict.fromkeys(HEAVY, "cached")
    # run: no --init, which needs catatonit (absent here); the exit status comes back
    run = podman.cli("run", "hello-podman:1", "--", "Ada")  # ARGS follow the image's CMD (the script)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == ("julia-standin argv: -J/usr/local/julia/lib/julia/sys.so --project=/app "
                                  "--startup-file=no /app/bin/hello.jl Ada")
    verify = podman.cli("verify", "hello-podman:1")
    assert verify.returncode == 0, verify.stderr
    assert "Dates" in verify.stdout and "missing artifacts: none" in verify.stdout


def test_podman_pushes_and_its_registry_cache_survives_a_cold_runner(podman: Podman, example, tmp_path: Path) -> None:
    with running_registry(tmp_path / "registry") as registry:
        podman.insecure(registry.host)
        repo = f"{registry.host}/team/app-cache"
        tag = f"{registry.host}/team/app:{uuid.uuid4().hex[:8]}"
        project = example("http-service")

        def cold_build(*args: str) -> subprocess.CompletedProcess[str]:
            podman.cold_runner()
            result = podman.cli("build", project, "-t", tag, "--progress", "plain", *args)
            assert result.returncode == 0, result.stderr
            return result

        first = cold_build("--push", "--cache-repo", repo)
        assert heavy_steps(first.stderr) == dict.fromkeys(HEAVY, "ran")
        pushed = [line for line in first.stderr.splitlines() if line.startswith("pushed ")]
        assert len(pushed) == 1 and re.fullmatch(rf"pushed {re.escape(tag)}@sha256:[0-9a-f]{{64}}", pushed[0])
        assert sorted(registry.catalog()) == ["team/app", "team/app-cache"]
        # no change: every heavy step comes from the registry
        assert heavy_steps(cold_build("--cache-repo", repo).stderr) == dict.fromkeys(HEAVY, "cached")
        # a source edit: only the app precompile runs
        source = project / "src" / "GreetService.jl"
        source.write_text(source.read_text() + "\n# edited\n")
        assert heavy_steps(cold_build("--cache-repo", repo).stderr) == {**dict.fromkeys(HEAVY, "cached"),
                                                                        "app precompile": "ran"}
        # control: without the registry cache a cold runner runs every heavy step
        assert heavy_steps(cold_build().stderr) == dict.fromkeys(HEAVY, "ran")
