"""Build metadata (`--metadata-file`, `--json`) against the built image, on a real engine with the stand-in julia
(which implements no Julia semantics: the heavy steps' verdicts come from the engine's cache, not from Julia)."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest

pytestmark = pytest.mark.docker

HEAVY = ("PackageCompiler install", "instantiate", "sysimage", "app precompile")


def inspect(docker_env, tag: str) -> dict:
    return json.loads(docker_env.docker("image", "inspect", tag).stdout)[0]


def test_metadata_matches_the_image_and_the_cache_verdicts(docker_env, example, tmp_path: Path) -> None:
    project = example("http-service")
    tag = docker_env.unique_tag("metadata")
    meta = tmp_path / "out" / "build.json"
    first = docker_env.build(project, "-t", tag, "--no-cache", "--metadata-file", str(meta))
    assert first.returncode == 0, first.stderr
    data = json.loads(meta.read_text())
    image = inspect(docker_env, tag)
    assert data["schema"] == "sysimage-docker/build-metadata/1" and data["error"] is None
    assert (data["image_id"], data["size"], data["tags"], data["pushed"]) == (image["Id"], image["Size"], [tag], [])
    labels = image["Config"]["Labels"]
    assert " ".join(f"{p['name']}@{p['version']}" for p in data["packages"]) == labels["dev.sysimage-docker.packages"]
    assert (data["julia_version"], data["mode"], data["cpu_target"]) == (
        labels["dev.sysimage-docker.julia-version"], labels["dev.sysimage-docker.mode"],
        labels["dev.sysimage-docker.cpu-target"])
    assert data["heavy_steps"] == dict.fromkeys(HEAVY, "ran")
    assert set(data["heavy_step_seconds"]) == set(HEAVY)
    assert set(data["stages"]) == {"tools", "deps", "builder", "runtime"} and data["seconds"] > 0
    assert data["sysimage_size"] > 0 and data["engine"]["backend"] == "docker-buildkit"
    # no change: every heavy step cached, in the file and in the human summary alike
    again = docker_env.build(project, "-t", tag, "--metadata-file", str(meta))
    assert json.loads(meta.read_text())["heavy_steps"] == dict.fromkeys(HEAVY, "cached")
    assert ("heavy steps: " + ", ".join(f"{h} cached" for h in HEAVY)) in again.stderr
    # a source edit: only the app precompile ran; --json prints the same object on stdout instead of the summary
    with (project / "src" / "GreetService.jl").open("a") as fh:
        fh.write(f"# edited {uuid.uuid4()}\n")
    edited = docker_env.build(project, "-t", tag, "--json")
    assert edited.returncode == 0, edited.stderr
    printed = json.loads(edited.stdout)
    assert printed["heavy_steps"] == {**dict.fromkeys(HEAVY, "cached"), "app precompile": "ran"}
    assert printed["image_id"] == inspect(docker_env, tag)["Id"]
    assert "heavy steps: " not in edited.stderr and "[builder]" in edited.stderr  # progress stays on stderr


def test_a_failed_build_writes_its_error(docker_env, example, tmp_path: Path) -> None:
    project = example("hello")
    (project / "precompile" / "workload.jl").write_text("error(\"boom\")  # STANDIN_FAIL\n")
    meta = tmp_path / "build.json"
    result = docker_env.build(project, "-t", docker_env.unique_tag("failing-meta"), "--metadata-file", str(meta))
    assert result.returncode == 1
    data = json.loads(meta.read_text())
    assert data["error"].startswith("build failed at [builder] (sysimage) RUN")
    assert "ERROR: LoadError: workload failed" in data["error"]
    assert data["heavy_steps"]["sysimage"] == "failed" and data["image_id"] is None


def test_bad_input_writes_no_metadata(docker_env, example, tmp_path: Path) -> None:
    meta = tmp_path / "build.json"
    result = docker_env.build(example("hello"), "--port", "70000", "--metadata-file", str(meta))
    assert result.returncode == 2 and not meta.exists()
