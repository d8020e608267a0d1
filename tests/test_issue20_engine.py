"""Adoption fixes on a real engine (stand-in julia): Julia's bin in front of the runtime base's own PATH, a
runtime path that is also writable handed to the user with its contents, `run -i` with piped stdin, and a
runtime path that nothing created named in one line."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import EXAMPLES

pytestmark = pytest.mark.docker

HOOK = "#!/bin/sh\nset -e\nmkdir -p /opt/conda/envs\necho base > /opt/conda/envs/base.txt\n"


@pytest.fixture(scope="module")
def cuda_like_base(docker_env, tmp_path_factory) -> str:
    """The test runtime base with a PATH of its own in front, as nvidia/cuda images set /usr/local/cuda/bin."""
    directory = tmp_path_factory.mktemp("cuda-base")
    (directory / "Dockerfile").write_text(f"FROM {docker_env.runtime_image}\nENV PATH=/usr/local/cuda/bin:$PATH\n")
    tag = docker_env.unique_tag("cuda-like-base")
    docker_env.docker("build", "-q", "-t", tag, str(directory), timeout=300)
    return tag


@pytest.fixture(scope="module")
def built(docker_env, cuda_like_base, tmp_path_factory) -> tuple[Path, str]:
    project = shutil.copytree(EXAMPLES / "hello", tmp_path_factory.mktemp("issue20") / "hello")
    (project / "deploy").mkdir()
    (project / "deploy" / "conda.sh").write_text(HOOK)
    (project / "deploy" / "conda.sh").chmod(0o755)
    with (project / "sysimage-docker.toml").open("a") as fh:
        fh.write('runtime_paths = ["/opt/conda"]\nwritable_paths = ["/opt/conda"]\n'
                 '[hooks]\nafter_instantiate = ["deploy/conda.sh"]\n')
    tag = docker_env.unique_tag("issue20")
    result = docker_env.build(project, "-t", tag, SYSIMAGE_DOCKER_RUNTIME_IMAGE=cuda_like_base)
    assert result.returncode == 0, result.stderr[-3000:]
    return project, tag


def test_julia_goes_in_front_of_the_base_images_path(docker_env, built) -> None:
    _, tag = built
    env = docker_env.docker("image", "inspect", "--format", "{{json .Config.Env}}", tag).stdout
    path = next(item for item in __import__("json").loads(env) if item.startswith("PATH="))
    assert path.startswith("PATH=/usr/local/julia/bin:/usr/local/cuda/bin:"), path


def test_a_writable_runtime_path_is_writable_with_its_contents(docker_env, built) -> None:
    _, tag = built
    probe = ("echo more >> /opt/conda/envs/base.txt && touch /opt/conda/envs/new && mkdir /opt/conda/pkgs && "
             "cat /opt/conda/envs/base.txt && stat -c %u /opt/conda /opt/conda/envs /opt/conda/envs/base.txt")
    result = docker_env.docker("run", "--rm", "--network", "none", "--user", "1000:1000", "--entrypoint", "/bin/sh",
                               tag, "-c", probe, check=False)
    assert result.stdout.split() == ["base", "more", "1000", "1000", "1000"], result.stderr


def test_run_interactive_with_piped_stdin_needs_no_tty(docker_env, built) -> None:
    _, tag = built
    result = subprocess.run([sys.executable, "-m", "sysimage_containers", "run", tag, "-i", "--", "from-a-pipe"],
                            input="a line on stdin\n", capture_output=True, text=True, env=docker_env.env(),
                            timeout=120)
    assert "not a TTY" not in result.stderr
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith("/app/bin/hello.jl from-a-pipe")


def test_a_runtime_path_nothing_created_is_named(docker_env, example) -> None:
    project = example("hello")
    with (project / "sysimage-docker.toml").open("a") as fh:
        fh.write('runtime_paths = ["/opt/models"]\n')
    result = docker_env.build(project, "-t", docker_env.unique_tag("no-runtime-path"))
    assert result.returncode == 1
    assert ("sysimage-docker: runtime_paths: /opt/models: nothing in the build created it (a hook after_instantiate "
            "or after_source must)") in result.stderr
    assert "Traceback" not in result.stderr
