"""`run PATH` after a build that failed, or when the tag was last built from another folder: it refuses, naming the
way out, instead of silently starting an image that is not this project's last build. (The engine tests show a
real failed build leading there; these use the record directly, with no engine.)"""

from __future__ import annotations

import shutil
from pathlib import Path

from conftest import EXAMPLES

from sysimage_containers import last_build


def copy_hello(root: Path) -> Path:
    root.parent.mkdir(parents=True, exist_ok=True)
    shutil.copytree(EXAMPLES / "hello", root)
    return root


def test_run_refuses_after_a_failed_build(cli, tmp_path: Path) -> None:
    project = copy_hello(tmp_path / "app")
    last_build.record("app:latest", project, failed=True)
    result = cli("run", project, "-t", "app:latest")
    assert result.code == 2
    assert result.err.startswith(f"sysimage-docker: error: the last build of {project} (app:latest) failed at ")
    assert result.err.endswith(": the image under app:latest is an older build; fix the build, or run that image "
                               "by name: sysimage-docker run app:latest\n")


def test_run_refuses_an_image_of_another_folder_with_the_same_name(cli, tmp_path: Path) -> None:
    mine, theirs = copy_hello(tmp_path / "a" / "app"), copy_hello(tmp_path / "b" / "app")
    last_build.record("app:latest", theirs, failed=False)
    result = cli("run", mine, "-t", "app:latest")
    assert (result.code, result.err) == (2, (
        f"sysimage-docker: error: app:latest was last built from {theirs}, not from {mine}: give this project its "
        "own tag (name and version in Project.toml, or build and run with -t), or run that image by name: "
        "sysimage-docker run app:latest\n"))


def test_a_successful_build_clears_the_refusal(tmp_path: Path) -> None:
    project = copy_hello(tmp_path / "app")
    last_build.record("app:1", project, failed=True)
    last_build.record("app:1", project, failed=False)
    last_build.check_runnable("app:1", project)  # no refusal
    assert last_build.find("app:2") is None
    last_build.check_runnable("app:2", project)  # never built here: nothing to say
