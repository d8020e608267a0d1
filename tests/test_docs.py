"""README, --help and the options table stay true."""

from __future__ import annotations

import os
import re

from conftest import REPO

from sysimage_containers.errors import EXIT_CODES
from sysimage_containers.options import OPTIONS
from sysimage_containers.options_doc import markdown_table


def test_readme_options_table_is_generated_from_the_option_table() -> None:
    assert markdown_table() in (REPO / "README.md").read_text()


def test_every_flag_is_in_help(cli) -> None:
    generate = cli("generate", "--help").out
    build = cli("build", "--help").out
    def flags(text: str) -> set[str]:
        return set(re.findall(r"(?<![\w-])--[a-z][a-z-]*", text))

    for option in OPTIONS:
        if option.flag is None:
            continue
        assert option.flag in flags(build)
        assert (option.flag in flags(generate)) == (option.scope == "image")


def test_exit_codes_documented(cli) -> None:
    text = cli("--help").out
    readme = (REPO / "README.md").read_text()
    for code in EXIT_CODES:
        assert f"  {code}  " in text
        assert f"| {code} |" in readme


def test_readme_names_the_test_command() -> None:
    readme = (REPO / "README.md").read_text()
    assert ".venv/bin/python -m pytest" in readme
    assert ".venv/bin/python -m pytest" in (REPO / ".ci" / "run").read_text()


def test_build_dry_run_needs_no_engine(cli) -> None:
    result = cli("build", REPO / "examples" / "hello", "--dry-run",
                 env={"SYSIMAGE_DOCKER_DOCKER_CLIENT": "/nonexistent/docker"})
    assert result.code == 0, result.err
    assert result.out.startswith("# plan: hello:latest; Julia 1.11.5 (julia_version of Manifest.toml); ")
    assert "# baked: Dates@stdlib Printf@stdlib" in result.out
    assert "FROM julia:1.11.5 AS tools" in result.out


def test_the_quick_start_runs_as_written_after_the_install_step(tmp_path) -> None:
    """The Quick start's lines, in a shell whose PATH has no sysimage-docker, from a clone-like directory (its
    .venv is this checkout's, installed as the Install step does), up to the first one that needs an engine."""
    import shutil
    import subprocess

    import pytest

    venv = REPO / ".venv"
    if not (venv / "bin" / "sysimage-docker").exists():
        message = f"no {venv} with sysimage-docker installed (the Install step) to run the Quick start with"
        if os.environ.get("CI"):  # .ci/run installs it there: under CI its absence is a failure
            pytest.fail(message)
        pytest.skip(message)
    readme = (REPO / "README.md").read_text()
    block = readme.split("## Quick start", 1)[1].split("```sh\n", 1)[1].split("```", 1)[0]
    lines = [line.split("  #")[0].strip() for line in block.splitlines() if line.strip()]
    offline = lines[: next(i for i, line in enumerate(lines) if line == "sysimage-docker build .")]
    assert offline[0] == ". .venv/bin/activate" and "sysimage-docker generate ." in offline
    (tmp_path / ".venv").symlink_to(venv)
    shutil.copytree(REPO / "examples" / "http-service", tmp_path / "examples" / "http-service")
    done = subprocess.run(["bash", "-c", "set -e\n" + "\n".join(offline)], cwd=tmp_path, capture_output=True,
                          text=True, timeout=120, env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)})
    assert done.returncode == 0, done.stderr
    assert "FROM " in done.stdout and (tmp_path / "examples" / "http-service" / "build" / "Dockerfile").is_file()
def test_options_lists_each_option_with_its_env_flag_and_default(cli) -> None:
    result = cli("options")
    assert result.code == 0
    lines = result.out.splitlines()
    for line in ("julia_version  (env SYSIMAGE_DOCKER_JULIA_VERSION, flag --julia-version, default auto)",
                 "warmup  (env -, flag -, default none)", "build_env  (env -, flag --build-env, default none)",
                 "context_warn_mb  (env SYSIMAGE_DOCKER_CONTEXT_WARN_MB, flag -, default 100)"):
        assert line in lines
