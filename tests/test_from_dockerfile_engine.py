"""`init --from-dockerfile` on a real engine: each fixture's Dockerfile is migrated, the result is built with the
stand-in julia (tests/standin/julia: it records calls and implements no Julia semantics) on busybox bases whose
stand-in apt-get records what it installs, and the image is inspected for what the hand-written Dockerfile gave
its image: ports, environment, volumes, system packages, user and the program it starts. What a real Julia would
do at those entry points is for the e2e test."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from dockerenv import ensure_image
from test_from_dockerfile import BASES, fixture_project

pytestmark = pytest.mark.docker

JULIA = "/usr/local/julia/bin/julia"
SYSIMAGE = "-J/usr/local/julia/lib/julia/sys.so"
GENIE_CMD = ["-e", 'using Genie; Genie.loadapp(); up(8000, "0.0.0.0"; async=false)']
PLUTO_CMD = ["-e", 'import Pluto; Pluto.run(host="0.0.0.0", port=1234, launch_browser=false, '
                   'require_secret_for_access=false)']

# What each Dockerfile gave its image, read off the Dockerfile by hand: EXPOSE, ENV (the app's own variables),
# VOLUME (at its place in /app when it was inside the Dockerfile's project directory), packages installed in the
# final stage (build tools excepted), the program after julia's flags, and julia flags the Dockerfile passed.
HAD: dict[str, dict] = {
    "genie": {"ports": [8000], "env": {"GENIE_ENV": "prod", "HOST": "0.0.0.0", "PORT": "8000", "EARLYBIND": "true"},
              "volumes": [], "packages": [], "cmd": GENIE_CMD, "flags": []},
    "oxygen": {"ports": [8080], "env": {"JULIA_NUM_THREADS": "auto", "PORT": "8080"}, "volumes": [], "packages": [],
               "cmd": ["/app/src/server.jl"], "flags": ["--threads=auto"]},
    "http": {"ports": [8080], "env": {"LANG": "C.UTF-8", "TZ": "Europe/Berlin"}, "volumes": [],
             "packages": ["ca-certificates", "curl", "tzdata"], "cmd": ["/app/bin/server.jl"],
             "flags": ["--threads=auto"], "user": "1000:1000", "health": "/health"},
    "pluto": {"ports": [1234], "env": {"JULIA_PKG_PRECOMPILE_AUTO": "0"}, "volumes": ["/app/notebooks"],
              "packages": [], "cmd": PLUTO_CMD, "flags": []},
    "pycall-conda": {"ports": [], "env": {"PYTHON": "", "CONDA_JL_VERSION": "3", "JULIA_NUM_THREADS": "2"},
                     "volumes": [], "packages": [], "cmd": ["/app/bin/main.jl"], "flags": []},
    "cuda": {"ports": [], "env": {"NVIDIA_VISIBLE_DEVICES": "all", "NVIDIA_DRIVER_CAPABILITIES": "compute,utility",
                                  "JULIA_CUDA_MEMORY_POOL": "none"},
             "volumes": [], "packages": ["ca-certificates", "curl"], "cmd": ["/app/bin/hello.jl"], "flags": []},
    "multistage": {"ports": [8080], "env": {"LANG": "C.UTF-8"}, "volumes": [],
                   "packages": ["ca-certificates", "libgomp1"], "cmd": ["/app/bin/server.jl"], "flags": []},
    "cli": {"ports": [], "env": {}, "volumes": ["/work"], "packages": [],
            "cmd": ["-e", "using WordStats; exit(WordStats.julia_main())", "--", "--help"], "flags": []},
}


@pytest.fixture(scope="module")
def apt_env(docker_env) -> dict[str, str]:
    return {"SYSIMAGE_DOCKER_BUILDER_IMAGE": ensure_image(docker_env.client, "builder-apt"),
            "SYSIMAGE_DOCKER_RUNTIME_IMAGE": ensure_image(docker_env.client, "runtime-apt")}


def test_every_fixture_is_built() -> None:
    assert sorted(HAD) == sorted(BASES)


@pytest.mark.parametrize("name", sorted(BASES))
def test_migrated_image_has_what_the_dockerfile_gave(name: str, docker_env, apt_env, tmp_path: Path) -> None:
    project = fixture_project(name, tmp_path / name)
    init = docker_env.cli("init", project, "--from-dockerfile")
    assert init.returncode == 0, init.stderr
    tag = docker_env.unique_tag(f"migrated-{name}")
    result = docker_env.build(project, "-t", tag, **apt_env)
    assert result.returncode == 0, result.stderr[-3000:]
    had = HAD[name]
    config = json.loads(docker_env.docker("image", "inspect", "--format", "{{json .Config}}", tag).stdout)
    assert sorted(config.get("ExposedPorts") or {}) == sorted(f"{p}/tcp" for p in had["ports"])
    env = dict(item.split("=", 1) for item in config["Env"])
    for key, value in had["env"].items():
        assert env.get(key) == value, (key, env)
    assert sorted(config.get("Volumes") or {}) == sorted(had["volumes"])
    assert config["Entrypoint"] == [JULIA, SYSIMAGE, "--project=/app", "--startup-file=no", *had["flags"]]
    assert config["Cmd"] == had["cmd"]
    assert config["User"] == had.get("user", "1000:1000")
    installed = docker_env.sh(tag, "ls /usr/share/doc 2>/dev/null").split()
    assert installed == sorted(had["packages"])
    if "health" in had:
        assert config["Healthcheck"]["Test"][-1] == had["health"]
    # the entry point starts: the stand-in prints the argv it was given
    if name != "genie":
        run = docker_env.run(tag)
        assert run.stdout.strip().startswith(f"julia-standin argv: {SYSIMAGE} --project=/app"), run.stdout


def test_migrated_hook_runs_in_the_builder(docker_env, apt_env, tmp_path: Path) -> None:
    project = fixture_project("pycall-conda", tmp_path / "p")
    assert docker_env.cli("init", project, "--from-dockerfile").returncode == 0
    builder = docker_env.unique_tag("migrated-hook-builder")
    result = docker_env.build(project, "-t", builder, "--target", "builder", **apt_env)
    assert result.returncode == 0, result.stderr[-3000:]
    calls = [c for c in docker_env.sh(builder, "cat /var/log/julia-standin/*").split("argv:") if c.strip()]
    hook = [c for c in calls if "/app/deploy/hook-1.jl" in c]
    assert len(hook) == 1, calls
    # the single-stage Dockerfile's ENV before its Julia step reached that step (build_env): PyCall's own Conda
    assert re.search(r"^  PYTHON=$", hook[0], re.MULTILINE)
    assert re.search(r"^  CONDA_JL_VERSION=3$", hook[0], re.MULTILINE)
