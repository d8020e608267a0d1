"""Shared helpers: run the CLI in-process and capture its streams, exit code and written files."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import settings

from sysimage_containers.cli import main

# CI replays the same examples every run (a red CI must mean a change broke something); developers' runs
# explore new random inputs, and whatever they find becomes a fixed @example.
settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")

REPO = Path(__file__).resolve().parent.parent
EXAMPLES = REPO / "examples"
# real projects' Project/Manifest files, verbatim, with their provenance (tests/corpus/README.md)
CORPUS = REPO / "tests" / "corpus"
NO_CLIENT = "/nonexistent/sysimage-docker-test-client"


@dataclass
class Result:
    code: int
    out: str
    err: str


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch):
    """Call `sysimage-docker ARGS...` in-process; env vars given are set for that call only."""

    def run(*args: str, env: dict[str, str | None] | None = None) -> Result:
        for key in list(os.environ):
            if key.startswith("SYSIMAGE_DOCKER_") and key not in ("SYSIMAGE_DOCKER_REQUIRE_DOCKER",):
                monkeypatch.delenv(key)
        # `generate` renders for the client a build would run: with none, as configured (BuildKit by default),
        # whatever docker clients this machine has (test_clients.py gives it stand-in clients)
        monkeypatch.setenv("SYSIMAGE_DOCKER_DOCKER_CLIENT", NO_CLIENT)
        for key, value in (env or {}).items():
            if value is None:  # unset, e.g. SYSIMAGE_DOCKER_DOCKER_CLIENT: the machine's own client
                monkeypatch.delenv(key, raising=False)
            else:
                monkeypatch.setenv(key, value)
        capsys.readouterr()
        try:
            main([str(a) for a in args])
            code = 0
        except SystemExit as exc:
            code = int(exc.code or 0)
        captured = capsys.readouterr()
        return Result(code=code, out=captured.out, err=captured.err)

    return run


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    # a refreshed release list in the developer's cache must not change what tests see
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("cache")))


@pytest.fixture
def example(tmp_path: Path) -> Iterator[callable]:
    """Copy an example project to a temporary directory (tests may edit it)."""

    def copy(name: str) -> Path:
        dest = tmp_path / name
        shutil.copytree(EXAMPLES / name, dest)
        return dest

    yield copy


def require_git() -> None:
    """Skip without git, except under CI, where .ci/run installs it: there a missing git is a failure."""
    if shutil.which("git") is None:
        if os.environ.get("CI"):
            pytest.fail("git is not installed")
        pytest.skip("git is not installed")


def tree_files(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*"))


@pytest.fixture(scope="session")
def docker_env():
    """A reachable engine with the local base images; removes the images the tests tagged."""
    from dockerenv import engine_or_skip

    env = engine_or_skip()
    yield env
    if env.created:
        env.docker("image", "rm", "--force", *env.created, check=False)
