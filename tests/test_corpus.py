"""The 22 real projects of tests/corpus: each generates, or fails with its specific, correct error."""

from __future__ import annotations

import hashlib
import tomllib
from pathlib import Path

import pytest
from conftest import CORPUS, tree_files
from corpus_expectations import ERRORS, GENERATES

from sysimage_containers import boundary
from sysimage_containers.pkg_compat import project_hash
from sysimage_containers.project import manifest_julia_version, read_manifest, read_project


@pytest.mark.parametrize("project", sorted([*ERRORS, *GENERATES]))
def test_corpus_files_are_the_recorded_bytes(project: str) -> None:
    """Each copied file is byte for byte what its SOURCE.toml recorded from the source repository (the corpus is
    data: an edit, a line-ending conversion or a stray file would change what the tests mean)."""
    root = CORPUS / project
    checksums = _source(project)["checksums"]
    assert sorted(checksums) == sorted(_source(project)["files"])
    present = sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())
    assert present == sorted([*checksums, "SOURCE.toml"])
    for name, facts in checksums.items():
        data = (root / name).read_bytes()
        assert len(data) == facts["bytes"] and hashlib.sha256(data).hexdigest() == facts["sha256"], name


def test_expectations_cover_the_whole_corpus() -> None:
    assert sorted(p.name for p in CORPUS.iterdir() if p.is_dir()) == sorted([*ERRORS, *GENERATES])


@pytest.mark.parametrize("project", sorted(GENERATES))
def test_corpus_project_generates(cli, project: str, tmp_path: Path) -> None:
    julia, manifest, pc = GENERATES[project]
    out = tmp_path / "ctx"
    result = cli("generate", CORPUS / project, "-o", out)
    assert result.code == 0, result.err
    text = (out / "Dockerfile").read_text()
    assert f"FROM julia:{julia} AS tools" in text
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
    outside, inside = ERRORS[project]
    expected = inside if boundary.repository_top((CORPUS / project).resolve()) else outside
    assert result.err.startswith(f"sysimage-docker: error: {expected}")
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


def _source(project: str) -> dict:
    return tomllib.loads((CORPUS / project / "SOURCE.toml").read_text())


def _hashed_manifests() -> list[tuple[str, str]]:
    return [(p.name, m) for p in sorted(CORPUS.iterdir()) if p.is_dir()
            for m, facts in _source(p.name).get("manifests", {}).items() if "project_hash_matches" in facts]


@pytest.mark.parametrize(("project", "manifest_name"), _hashed_manifests())
def test_project_hash_agrees_with_pkg(project: str, manifest_name: str) -> None:
    """The corpus records whether each manifest's project_hash matches (recomputed with Pkg): so must we."""
    expected = _source(project)["manifests"][manifest_name]["project_hash_matches"]
    julia_project = read_project(CORPUS / project)
    manifest = read_manifest(julia_project, manifest_name)
    writer = manifest_julia_version(manifest)
    assert writer is not None and manifest.project_hash is not None
    computed = project_hash(julia_project.hash_inputs[0], julia_project.hash_inputs[1:], (writer.major, writer.minor))
    assert (computed == manifest.project_hash) is expected


def test_hash_checks_cover_every_pkg_generation() -> None:
    writers = {tomllib.loads((CORPUS / p / m).read_text())["julia_version"][:4] for p, m in _hashed_manifests()}
    assert {"1.8.", "1.9.", "1.10", "1.11", "1.12"} <= writers


@pytest.mark.parametrize("project", sorted(GENERATES))
def test_out_of_sync_manifest_warns(cli, project: str) -> None:
    manifest = GENERATES[project][1]
    facts = _source(project).get("manifests", {}).get(manifest, {})
    result = cli("generate", CORPUS / project)
    assert result.code == 0
    warned = f"{manifest}: its project_hash does not match" in result.err
    assert warned is (facts.get("project_hash_matches") is False)
