"""The buildx back end on a real engine: Debian trixie's docker-buildx plugin (`.ci/run` installs it) with Docker
20.10's own BuildKit through buildx's `docker` driver. Build and load, `--metadata-file`, `--push` to a loopback
registry (digest checked against the registry), what the docker driver cannot do, refused in one line, and
doctor; `cache_repo` and `--cache-from` on a cold runner are in test_cold_runner_engine.py. The images hold the
stand-in julia.

Each test runs with its own DOCKER_CONFIG whose cli-plugins directory holds the plugin, so buildx's own state
(builders, activity) stays in the test's directory."""

from __future__ import annotations

import json
import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from registry import running_registry
from test_registry_engine import HEAVY

pytestmark = pytest.mark.docker

# where Debian's package and Docker's own packages put CLI plugins; SYSIMAGE_DOCKER_TEST_BUILDX names another
PLUGIN_DIRS = ("/usr/libexec/docker/cli-plugins", "/usr/lib/docker/cli-plugins",
               "/usr/local/libexec/docker/cli-plugins", "/usr/local/lib/docker/cli-plugins")


def find_plugin() -> str | None:
    given = os.environ.get("SYSIMAGE_DOCKER_TEST_BUILDX")
    if given:
        return given if os.access(given, os.X_OK) else None
    for directory in PLUGIN_DIRS:
        path = os.path.join(directory, "docker-buildx")
        if os.access(path, os.X_OK):
            return path
    return None


@pytest.fixture
def buildx(tmp_path: Path) -> Iterator[dict[str, str]]:
    """The environment of a build on buildx: a DOCKER_CONFIG of the test's own with the plugin in it."""
    plugin = find_plugin()
    if plugin is None:
        message = "the buildx tests need the docker-buildx plugin (.ci/run installs Debian trixie's)"
        pytest.fail(message) if os.environ.get("SYSIMAGE_DOCKER_REQUIRE_DOCKER") == "1" else pytest.skip(message)
    config = tmp_path / "docker-config"
    (config / "cli-plugins").mkdir(parents=True)
    (config / "cli-plugins" / "docker-buildx").symlink_to(plugin)
    yield {"DOCKER_CONFIG": str(config), "SYSIMAGE_DOCKER_ENGINE": "buildx"}
    shutil.rmtree(config, ignore_errors=True)


def test_build_loads_the_image_and_writes_the_metadata(docker_env, buildx, example, tmp_path: Path) -> None:
    tag = docker_env.unique_tag("buildx")
    meta = tmp_path / "build.json"
    result = docker_env.build(example("hello"), "-t", tag, "--metadata-file", str(meta), **buildx)
    assert result.returncode == 0, result.stderr
    assert f"building {tag} with buildx (/usr/bin/docker " in result.stderr
    data = json.loads(meta.read_text())
    assert data["engine"]["backend"] == "buildx"
    assert (data["engine"]["builder"], data["engine"]["driver"]) == ("default", "docker")
    assert data["error"] is None and data["pushed"] == []
    # loaded: the engine has it, with the id and size the metadata gives
    inspected = json.loads(docker_env.docker("image", "inspect", tag).stdout)[0]
    assert data["image_id"] == inspected["Id"] and data["size"] == inspected["Size"]
    run = docker_env.run(tag, "/app/bin/hello.jl", "Ada")
    assert run.stdout.strip().startswith("julia-standin argv: -J/usr/local/julia/lib/julia/sys.so")
    assert set(data["heavy_steps"]) == set(HEAVY)


def test_push_reports_the_digest_the_registry_holds(docker_env, buildx, example, tmp_path: Path) -> None:
    with running_registry(tmp_path / "reg") as registry:
        tag = f"{registry.host}/team/hello:{uuid.uuid4().hex[:8]}"
        docker_env.created.append(tag)
        meta = tmp_path / "build.json"
        result = docker_env.build(example("hello"), "-t", tag, "--push", "--metadata-file", str(meta), **buildx)
        assert result.returncode == 0, result.stderr
        digest = registry.manifest_digest("team/hello", tag.rsplit(":", 1)[1])
        assert f"pushed {tag}@{digest}" in result.stderr.splitlines()
        data = json.loads(meta.read_text())
        assert data["pushed"] == [{"tag": tag, "digest": digest}]
        # the docker driver stores what it pushes in the engine too: the summary has its id and size
        assert data["image_id"] == json.loads(docker_env.docker("image", "inspect", tag).stdout)[0]["Id"]


@pytest.mark.parametrize(("args", "what"), [
    (("--cache-to", "type=registry,ref=127.0.0.1:1/x:cache"), "--cache-to type=registry,ref=127.0.0.1:1/x:cache"),
    (("--platform", "linux/amd64", "--platform", "linux/arm64"), "several --platform values"),
    (("--sbom",), "--sbom (BuildKit's attestation)"),
    (("--provenance",), "--provenance (BuildKit's attestation)"),
])
def test_what_the_docker_driver_cannot_do_is_one_line(docker_env, buildx, example, args, what) -> None:
    tag = docker_env.unique_tag("refused")
    result = docker_env.build(example("hello"), "-t", tag, *args, **buildx)
    assert result.returncode == 2
    assert result.stderr.splitlines()[-1] == (
        f"sysimage-docker: error: {what}: the buildx builder default uses the docker driver, which cannot do that; "
        "use a docker-container builder (`docker buildx create --driver docker-container --use`) or a remote one "
        "(--builder NAME)")
    assert docker_env.docker("image", "inspect", tag, check=False).returncode != 0


def test_doctor_names_the_builder_its_driver_and_what_it_can_do(docker_env, buildx) -> None:
    result = docker_env.cli("doctor", COLUMNS="300", **buildx)
    assert result.returncode == 0, result.stderr
    assert "default (driver docker)" in result.stderr
    assert "BuildKit via buildx on the docker driver:" in result.stderr
    assert "not several platforms, a registry --cache-to or attestations" in result.stderr
    assert "multi-platform" not in result.stderr
