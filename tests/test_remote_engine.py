"""Remote engines: DOCKER_HOST and `--context NAME` reach every command. The remote engine is a second dockerd
that this module starts on its own unix socket, data root and exec root (as root, as CI runs), and stops by PID."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from dockerenv import private_dockerd

pytestmark = pytest.mark.docker


@dataclass
class SecondEngine:
    host: str
    docker_config: str  # a DOCKER_CONFIG holding the context `second`, so ~/.docker is left alone
    root: Path


@pytest.fixture(scope="module")
def second(docker_env) -> Iterator[SecondEngine]:
    with private_dockerd(docker_env.client) as engine:
        config = engine.root / "docker-config"
        subprocess.run([docker_env.client, "context", "create", "second", "--docker", f"host={engine.host}"],
                       check=True, capture_output=True, env={**os.environ, "DOCKER_CONFIG": str(config)})
        yield SecondEngine(host=engine.host, docker_config=str(config), root=engine.root)


def images_in(docker_env, host: str | None) -> set[str]:
    env = {**os.environ, **({"DOCKER_HOST": host} if host else {})}
    out = subprocess.run([docker_env.client, "image", "ls", "--format", "{{.Repository}}:{{.Tag}}"],
                         capture_output=True, text=True, env=env, check=True).stdout
    return set(out.split())


def test_doctor_names_the_engine_it_talked_to(docker_env, second: SecondEngine) -> None:
    # the table goes to stderr; wide enough that no cell wraps
    by_host = docker_env.cli("doctor", DOCKER_HOST=second.host, COLUMNS="250")
    assert by_host.returncode == 0, by_host.stderr
    assert f" at {second.host} " in by_host.stderr
    by_context = docker_env.cli("doctor", "--context", "second", DOCKER_CONFIG=second.docker_config, COLUMNS="250")
    assert by_context.returncode == 0, by_context.stderr
    assert f" at {second.host} (context second) " in by_context.stderr
    local = docker_env.cli("doctor", COLUMNS="250")
    assert local.returncode == 0 and second.host not in local.stderr and " at unix:///var/run/docker.sock " in (
        local.stderr)


@pytest.mark.parametrize("how", ["DOCKER_HOST", "--context"])
def test_build_and_run_on_the_remote_engine(docker_env, second: SecondEngine, example, how: str) -> None:
    tag = f"sysimage-docker-test/remote:{how.strip('-').lower()}"
    args, env = ((), {"DOCKER_HOST": second.host}) if how == "DOCKER_HOST" else (
        ("--context", "second"), {"DOCKER_CONFIG": second.docker_config})
    result = docker_env.build(example("hello"), "-t", tag, *args, **env)
    assert result.returncode == 0, result.stderr
    assert f"at {second.host}" in result.stderr  # the build line names the engine
    assert tag in images_in(docker_env, second.host) and tag not in images_in(docker_env, None)
    run = docker_env.cli("run", tag, *args, "--", "remote", **env)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == ("julia-standin argv: -J/usr/local/julia/lib/julia/sys.so --project=/app "
                                  "--startup-file=no /app/bin/hello.jl remote")
