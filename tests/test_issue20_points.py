"""Adoption points of issue 20 that need no engine: --resolve on a project without dependencies, a path
dependency in a git submodule that is not checked out, and the runtime PATH rendering."""

from __future__ import annotations

import shutil
from pathlib import Path

from conftest import EXAMPLES


def test_resolve_without_dependencies_says_so(tmp_path: Path, cli) -> None:
    project = tmp_path / "empty"
    project.mkdir()
    (project / "Project.toml").write_text('name = "Empty"\nuuid = "5f0c8e7a-3d0b-4c51-9a44-2c6f1f0e8b1e"\n')
    (project / "main.jl").write_text('println("hi")\n')
    result = cli("generate", project, "--resolve", "--script", "main.jl")
    assert result.code == 0, result.err
    assert ("sysimage-docker: warning: resolve = true, but Project.toml has no [deps]: there is nothing to resolve, "
            "and the sysimage holds no package") in result.err


def test_a_path_dependency_in_a_missing_submodule_is_named(tmp_path: Path, cli) -> None:
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    (repo / ".gitmodules").write_text('[submodule "libs/Lib"]\n\tpath = libs/Lib\n\turl = https://example.com/Lib.git\n')
    (repo / "libs" / "Lib").mkdir(parents=True)  # git leaves the directory empty until `submodule update`
    project = shutil.copytree(EXAMPLES / "hello", repo / "app")
    with (project / "Manifest.toml").open("a") as fh:
        fh.write('\n[[deps.Lib]]\npath = "../libs/Lib"\nuuid = "00000000-0000-4000-8000-000000000009"\n')
    result = cli("generate", project)
    assert result.code == 2
    assert result.err == (f"sysimage-docker: error: Manifest.toml: path dependency Lib at '../libs/Lib': no "
                          f"Project.toml in {repo / 'libs' / 'Lib'}: it is a git submodule that is not checked out "
                          "(git submodule update --init)\n")
    # without the .gitmodules entry, no such claim
    (repo / ".gitmodules").write_text("")
    assert "submodule" not in cli("generate", project).err


def test_julia_goes_in_front_of_the_base_path(cli) -> None:
    out = cli("generate", EXAMPLES / "hello").out
    assert ('ENV PATH="/usr/local/julia/bin:${PATH:-/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin}" \\'
            in out)
    assert 'PATH="/opt/app/bin:${PATH:-' in cli("generate", EXAMPLES / "cli-tool", "--mode", "app").out
