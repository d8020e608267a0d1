"""The 22 real projects of ../shared/corpus: each generates, or fails with its specific, correct error."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import CORPUS, tree_files
from corpus_expectations import ERRORS, GENERATES


def test_expectations_cover_the_whole_corpus() -> None:
    assert sorted(p.name for p in CORPUS.iterdir() if p.is_dir()) == sorted([*ERRORS, *GENERATES])


@pytest.mark.parametrize("project", sorted(GENERATES))
def test_corpus_project_generates(cli, project: str, tmp_path: Path) -> None:
    julia, manifest, pc = GENERATES[project]
    out = tmp_path / "ctx"
    result = cli("generate", CORPUS / project, "-o", out)
    assert result.code == 0, result.err
    text = (out / "Dockerfile").read_text()
    assert f"FROM julia:{julia} AS deps" in text
    assert f'COPY ["app/{manifest}", "/app/{manifest}"]' in text
    assert f"ENV SYSIMAGE_DOCKER_PACKAGECOMPILER={pc}" in text
    # only the manifest Julia loads is in the context: a stale one must not be picked up later
    manifests = [f for f in tree_files(out / "app") if "/" not in f and "Manifest" in f]
    assert manifests == [manifest]


@pytest.mark.parametrize("project", sorted(ERRORS))
def test_corpus_project_fails_with_specific_error(cli, project: str, tmp_path: Path) -> None:
    out = tmp_path / "ctx"
    result = cli("generate", CORPUS / project, "-o", out)
    assert result.code == 2
    assert result.err.startswith(f"sysimage-docker: error: {ERRORS[project]}")
    assert result.err.count("\n") == 1
    assert not out.exists()


def test_stale_plain_manifest_is_not_used_for_its_missing_deps(cli) -> None:
    # 01's Manifest.toml lacks AWS & co.; Julia 1.11 loads Manifest-v1.11.toml, so that one decides
    result = cli("generate", CORPUS / "01-open-AIMS--ReefGuideAPI.jl")
    assert result.code == 0 and "AWS@" in result.out


def test_asking_for_the_stale_manifest_julia_fails_with_the_fix(cli) -> None:
    result = cli("generate", CORPUS / "01-open-AIMS--ReefGuideAPI.jl", "--julia-version", "1.10")
    assert result.code == 2
    assert result.err == (
        "sysimage-docker: error: Manifest.toml is out of sync with Project.toml: it lacks AWS, AWSS3, "
        "ExtendableSparse, Minio; re-resolve (julia --project -e 'using Pkg; Pkg.resolve()') or set resolve = true\n"
    )


def test_workspace_members_and_path_deps_are_copied_before_instantiate(cli) -> None:
    result = cli("generate", CORPUS / "02-Deltares--Ribasim")
    assert result.code == 0
    text = result.out
    before_instantiate = text[: text.index("instantiate.jl")]
    assert 'COPY ["app/core/Project.toml", "/app/core/Project.toml"]' in before_instantiate
    assert 'COPY ["app/core/test/Project.toml", "/app/core/test/Project.toml"]' in before_instantiate
    assert 'COPY ["app/core", "/app/core"]' in before_instantiate
    # the workspace's own package (a path dep) is a dependency here, so it is baked
    assert "Ribasim@path" in text


def test_prerelease_julia_from_manifest_warns(cli) -> None:
    result = cli("generate", CORPUS / "20-New-Earth-Lab--ImgCalibService.jl")
    assert result.code == 0
    assert "warning: Julia 1.11.0-rc3 (from Manifest.toml) is not in the known-release table" in result.err
