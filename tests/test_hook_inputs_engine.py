"""hook_inputs and depot_dirs on a real engine (stand-in julia; the hooks here are shell scripts that run as
they are): a hook reads a project file before the source is copied, only its inputs re-run it, and depot
directories a hook wrote ship when named and are named in the summary when not."""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path

import pytest
from conftest import EXAMPLES

pytestmark = pytest.mark.docker

SETUP = ("#!/bin/sh\nset -e\nmkdir -p /opt/models && cp requirements.txt /opt/models/\n"
         "mkdir -p /opt/julia/depot/conda/3 /opt/julia/depot/datadeps/corpus\n"
         "echo \"conda prefix made with $(cat requirements.txt)\" > /opt/julia/depot/conda/3/marker\n"
         "echo data > /opt/julia/depot/datadeps/corpus/data.txt\n")


@pytest.fixture(scope="module")
def built(docker_env, tmp_path_factory) -> tuple[Path, str, str]:
    project = shutil.copytree(EXAMPLES / "http-service", tmp_path_factory.mktemp("hook-inputs") / "p")
    (project / "deploy").mkdir()
    # unique per run: an engine that built this test before would report the hook "cached" (seen in CI)
    (project / "deploy" / "setup.sh").write_text(SETUP + f"# run {uuid.uuid4()}\n")
    (project / "deploy" / "setup.sh").chmod(0o755)
    (project / "requirements.txt").write_text("numpy\n")
    config = project / "sysimage-docker.toml"
    config.write_text('hook_inputs = ["requirements.txt"]\nruntime_paths = ["/opt/models"]\ndepot_dirs = ["conda"]\n'
                      'hooks = { after_instantiate = ["deploy/setup.sh"] }\n' + config.read_text())
    tag = docker_env.unique_tag("hook-inputs")
    result = docker_env.build(project, "-t", tag)
    assert result.returncode == 0, result.stderr[-3000:]
    return project, tag, result.stderr


def test_a_hook_reads_its_input_before_the_source_is_copied(docker_env, built) -> None:
    _, tag, _ = built
    assert docker_env.sh(tag, "cat /opt/models/requirements.txt").strip() == "numpy"


def test_depot_dirs_ship_and_the_rest_is_named(docker_env, built) -> None:
    _, tag, log = built
    assert docker_env.sh(tag, "cat /opt/julia/depot/conda/3/marker").strip() == "conda prefix made with numpy"
    assert docker_env.sh(tag, "ls /opt/julia/depot").split() == ["artifacts", "compiled", "conda", "packages"]
    assert ("warning: the build wrote depot directories that the image does not ship: datadeps "
            '(depot_dirs = ["datadeps"] ships them)') in log


def test_only_the_hook_inputs_re_run_the_hook(docker_env, built) -> None:
    project, tag, _ = built
    with (project / "src" / "GreetService.jl").open("a") as fh:
        fh.write(f"# edited {uuid.uuid4()}\n")
    (project / "README.md").write_text("not an input\n")
    result = docker_env.build(project, "-t", tag)
    assert result.returncode == 0, result.stderr[-3000:]
    hooks = next(line for line in result.stderr.splitlines() if line.startswith("hooks: "))
    assert hooks == "hooks: after_instantiate /app/deploy/setup.sh cached"
    (project / "requirements.txt").write_text("numpy\nscipy\n")
    result = docker_env.build(project, "-t", tag)
    assert result.returncode == 0, result.stderr[-3000:]
    hooks = next(line for line in result.stderr.splitlines() if line.startswith("hooks: "))
    assert hooks.startswith("hooks: after_instantiate /app/deploy/setup.sh ran (")
    assert docker_env.sh(tag, "cat /opt/models/requirements.txt").split() == ["numpy", "scipy"]


def test_the_sysimage_step_leaves_what_a_hook_input_or_a_hook_put_under_src(docker_env, tmp_path) -> None:
    # the source stub goes only where no file is, and only the step's own stubs and empty directories go again:
    # src/ as a hook input (its real source copied before the step) and a file a hook writes under src/ both stay
    project = shutil.copytree(EXAMPLES / "cli-tool", tmp_path / "p")
    (project / "src" / "extra.jl").write_text("# read by the hook\n")
    (project / "deploy").mkdir()
    (project / "deploy" / "gen.sh").write_text(f"#!/bin/sh\nset -e\necho generated > /app/src/generated.txt\n"
                                               f"# run {uuid.uuid4()}\n")
    (project / "deploy" / "gen.sh").chmod(0o755)
    config = project / "sysimage-docker.toml"
    config.write_text('hook_inputs = ["src"]\nhooks = { after_instantiate = ["deploy/gen.sh"] }\n' + config.read_text())
    tag = docker_env.unique_tag("stub-hook-inputs")
    result = docker_env.build(project, "-t", tag)
    assert result.returncode == 0, result.stderr[-3000:]
    assert docker_env.sh(tag, "cat /app/src/WordStats.jl") == (project / "src" / "WordStats.jl").read_text()
    assert docker_env.sh(tag, "ls /app/src").split() == ["WordStats.jl", "extra.jl", "generated.txt"]
