"""A cold CI runner pushes only what changed: with `cache_repo` and `--push`, three builds of the http-service
example on a runner made cold before each (a private dockerd, or podman's own temporary storage), and the blobs
the loopback registry receives counted from its storage. The README's pipeline section quotes the numbers (run
with -s to see them). The images hold the stand-in julia, so the bytes are small; what the test proves is which
layers are sent again."""

from __future__ import annotations

import gzip
import io
import json
import tarfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from dockerenv import PrivateEngine, private_dockerd
from registry import Registry, running_registry
from test_buildx_engine import find_plugin
from test_podman_engine import Podman, podman  # noqa: F401 (the fixture)
from test_registry_engine import HEAVY, heavy_steps

pytestmark = pytest.mark.docker

# what must never be sent again when only the app's source changed: Julia, the sysimage, the depot's packages and
# artifacts (hundreds of MB with a real Julia)
HEAVY_PATHS = ("usr/local/julia/", "opt/julia/depot/packages/", "opt/julia/depot/artifacts/", "sys.so")


def new_layers(registry: Registry, before: dict[str, int]) -> tuple[list[list[str]], int, int]:
    """The layers the registry received since `before` (each as its file names), their bytes, and the bytes of
    the other new blobs (image configs and manifests)."""
    assert registry.data is not None
    layers, layer_bytes, other = [], 0, 0
    for digest, size in registry.blobs().items():
        if digest in before:
            continue
        algorithm, hexdigest = digest.split(":")
        blob = registry.data / "docker/registry/v2/blobs" / algorithm / hexdigest[:2] / hexdigest / "data"
        data = blob.read_bytes()
        if data[:2] != b"\x1f\x8b":  # not a gzip layer: a config or a manifest
            json.loads(data)
            other += size
            continue
        with tarfile.open(fileobj=io.BytesIO(gzip.decompress(data))) as tar:
            layers.append(tar.getnames())
        layer_bytes += size
    return layers, layer_bytes, other


def three_builds(project: Path, registry: Registry, build: Callable[[], str], backend: str) -> None:
    def counted(label: str) -> tuple[dict[str, str], list[list[str]]]:
        before = registry.blobs()
        heavy = heavy_steps(build())
        layers, layer_bytes, other = new_layers(registry, before)
        print(f"{backend}: {label}: {len(layers)} new layers, {layer_bytes} bytes; configs and manifests "
              f"{other} bytes; heavy steps {heavy}")
        return heavy, layers

    assert counted("first build")[0] == dict.fromkeys(HEAVY, "ran")
    heavy, layers = counted("no change")
    assert heavy == dict.fromkeys(HEAVY, "cached")
    assert layers == []  # the runtime stage came from the registry cache too
    source = project / "src" / "GreetService.jl"
    source.write_text(source.read_text() + "\n# edited\n")
    heavy, layers = counted("src/ edit")
    assert heavy == {**dict.fromkeys(HEAVY, "cached"), "app precompile": "ran"}
    sent = [name for names in layers for name in names]
    assert any(name.endswith("GreetService.jl") for name in sent)  # the edited source went
    assert not [name for name in sent if any(heavy_path in name + "/" for heavy_path in HEAVY_PATHS)]


@pytest.fixture(scope="module")
def cold(docker_env) -> Iterator[PrivateEngine]:
    with private_dockerd(docker_env.client) as engine:
        yield engine


@pytest.mark.parametrize("backend", ["docker", "buildx"])
def test_a_cold_docker_runner_pushes_only_what_changed(docker_env, cold: PrivateEngine, example, tmp_path: Path,
                                                       backend: str) -> None:
    """The docker CLI's BuildKit and buildx's docker driver (stage images with inline cache; `--cache-from` of
    the user's goes along)."""
    env = {"DOCKER_HOST": cold.host, "SYSIMAGE_DOCKER_ENGINE": backend, "DOCKER_CONFIG": str(tmp_path / "config"),
           "SYSIMAGE_DOCKER_BUILDER_IMAGE": cold.builder_image, "SYSIMAGE_DOCKER_RUNTIME_IMAGE": cold.runtime_image}
    if backend == "buildx":
        plugin = find_plugin()
        if plugin is None:
            pytest.skip("no docker-buildx plugin (.ci/run installs it)")
        (tmp_path / "config" / "cli-plugins").mkdir(parents=True)
        (tmp_path / "config" / "cli-plugins" / "docker-buildx").symlink_to(plugin)
    project = example("http-service")
    with running_registry(tmp_path / "reg") as registry:
        repo, tag = f"{registry.host}/team/app-cache", f"{registry.host}/team/app:1"

        def build() -> str:
            cold.make_cold()
            result = docker_env.build(project, "-t", tag, "--push", "--cache-repo", repo, "--cache-from", tag, **env)
            assert result.returncode == 0, result.stderr
            assert f" with {'buildx' if backend == 'buildx' else 'docker-buildkit'} " in result.stderr
            return result.stderr

        three_builds(project, registry, build, backend)


def test_a_cold_podman_runner_pushes_only_what_changed(podman: Podman, example, tmp_path: Path) -> None:  # noqa: F811
    project = example("http-service")
    with running_registry(tmp_path / "reg") as registry:
        podman.insecure(registry.host)
        repo, tag = f"{registry.host}/team/app-cache", f"{registry.host}/team/app:1"

        def build() -> str:
            podman.cold_runner()
            result = podman.cli("build", project, "-t", tag, "--progress", "plain", "--push", "--cache-repo", repo)
            assert result.returncode == 0, result.stderr
            return result.stderr

        three_builds(project, registry, build, "podman")
