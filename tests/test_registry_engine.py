"""Pushing to real registries (Debian's docker-registry on 127.0.0.1, started by the tests): a tag with a
host:port, `--push` on the Docker CLI's BuildKit back end (no buildx here), digests in the summary, a clean pull
that runs and verifies, and basic auth with the engine's own login. The images hold the stand-in julia."""

from __future__ import annotations

import json
import subprocess
import uuid
from pathlib import Path

import pytest
from dockerenv import PrivateEngine, private_dockerd
from registry import running_registry

pytestmark = pytest.mark.docker


def test_push_to_a_registry_with_a_port_then_pull_run_and_verify(docker_env, example, tmp_path: Path) -> None:
    with running_registry(tmp_path) as registry:
        tag = f"{registry.host}/sysimage-docker-test/hello:{uuid.uuid4().hex[:8]}"
        docker_env.created.append(tag)
        meta = tmp_path / "build.json"
        result = docker_env.build(example("hello"), "-t", tag, "--push", "--metadata-file", str(meta))
        assert result.returncode == 0, result.stderr
        pushed = [line for line in result.stderr.splitlines() if line.startswith("pushed ")]
        assert len(pushed) == 1 and pushed[0].startswith(f"pushed {tag}@sha256:") and len(pushed[0]) == len(
            f"pushed {tag}@sha256:") + 64
        # the metadata names the same digest
        assert json.loads(meta.read_text())["pushed"] == [{"tag": tag, "digest": pushed[0].split("@", 1)[1]}]
        assert "sysimage-docker-test/hello" in registry.catalog()
        # a clean state: only what the registry holds
        docker_env.docker("image", "rm", "--force", tag)
        docker_env.docker("pull", tag)
        run = docker_env.run(tag, "/app/bin/hello.jl", "Ada")
        assert run.stdout.strip().startswith("julia-standin argv: -J/usr/local/julia/lib/julia/sys.so")
        verify = docker_env.cli("verify", tag)
        assert verify.returncode == 0, verify.stderr


def test_an_authenticating_registry_takes_the_engines_own_login(docker_env, example, tmp_path: Path) -> None:
    password = f"pw-{uuid.uuid4().hex}"
    config = tmp_path / "docker-config"  # the test's own login, not the machine's
    config.mkdir()
    with running_registry(tmp_path / "reg", auth=("ci", password)) as registry:
        tag = f"{registry.host}/team/hello:1"
        docker_env.created.append(tag)
        project = example("hello")
        refused = docker_env.build(project, "-t", tag, "--push", DOCKER_CONFIG=str(config))
        assert refused.returncode == 1
        last = refused.stderr.splitlines()[-1]
        assert last.startswith(f"sysimage-docker: error: push of {tag} to {registry.host} failed: ")
        assert last.endswith(f"(log in with `docker login {registry.host}`)")
        assert registry.catalog() == []
        login = subprocess.run([docker_env.client, "login", "-u", "ci", "--password-stdin", registry.host],
                               input=password, capture_output=True, text=True, env={"DOCKER_CONFIG": str(config),
                                                                                    "PATH": "/usr/bin:/bin"})
        assert login.returncode == 0, login.stderr
        pushed = docker_env.build(project, "-t", tag, "--push", DOCKER_CONFIG=str(config))
        assert pushed.returncode == 0, pushed.stderr
        assert f"pushed {tag}@sha256:" in pushed.stderr
        assert registry.catalog() == ["team/hello"]
        assert password not in pushed.stdout + pushed.stderr + refused.stderr


def heavy_steps(stderr: str) -> dict[str, str]:
    line = next(x for x in stderr.splitlines() if x.startswith("heavy steps: "))
    verdicts = {}  # "sysimage ran (1.2 s)" -> sysimage: ran
    for part in line[len("heavy steps: "):].split(", "):
        name, _, state = part.split(" (")[0].rpartition(" ")
        verdicts[name] = state
    return verdicts


def cold_runner(engine: PrivateEngine, *images: str) -> None:
    """What a fresh CI runner has: no build cache and none of the images built or pulled before (the local base
    images stay, as a runner pulls those from their own registry). Only on a dockerd this test started: pruning
    the shared engine would wipe its user's whole build cache."""
    engine.docker("builder", "prune", "--all", "--force")
    engine.docker("image", "rm", "--force", *images, check=False)


HEAVY = ("PackageCompiler install", "instantiate", "sysimage", "app precompile")


def test_the_registry_cache_survives_a_cold_runner_and_a_source_edit(docker_env, example, tmp_path: Path) -> None:
    with running_registry(tmp_path) as registry, private_dockerd(docker_env.client) as engine:
        repo = f"{registry.host}/team/app-cache"
        project = example("http-service")
        tag = f"sysimage-docker-test/cached:{uuid.uuid4().hex[:10]}"  # on the private engine, gone with it
        stage_image = f"{repo}:builder"

        def cold_build(*cache: str) -> dict[str, str]:
            """A build on a fresh runner; the heavy steps' verdicts from its summary."""
            cold_runner(engine, tag, stage_image)
            result = docker_env.build(project, "-t", tag, *cache, DOCKER_HOST=engine.host)
            assert result.returncode == 0, result.stderr
            # pushed, or, when nothing in the stage changed, left as the registry has it
            assert (f"cache: pushed {stage_image}@sha256:" in result.stderr
                    or f"cache: {stage_image} unchanged, not pushed" in result.stderr) == bool(cache)
            return heavy_steps(result.stderr)

        with_cache = ("--cache-repo", repo)
        assert cold_build(*with_cache) == dict.fromkeys(HEAVY, "ran")
        assert registry.catalog() == ["team/app-cache"]
        # a stage image each: the tools stage (PackageCompiler's install) is read alone, before the builder's
        assert registry.tags("team/app-cache") == {"tools", "builder", "runtime"}
        # no change: every heavy step comes from the registry
        assert cold_build(*with_cache) == dict.fromkeys(HEAVY, "cached")
        # a source edit: only the app precompile runs
        source = project / "src" / "GreetService.jl"
        source.write_text(source.read_text() + "\n# edited\n")
        assert cold_build(*with_cache) == {**dict.fromkeys(HEAVY, "cached"), "app precompile": "ran"}
        # a manifest edit: PackageCompiler's own install stays cached
        manifest = project / "Manifest.toml"
        manifest.write_text(manifest.read_text() + "\n# edited\n")
        assert cold_build(*with_cache) == {**dict.fromkeys(HEAVY, "ran"), "PackageCompiler install": "cached"}
        # control: the same cold build without the registry cache runs every heavy step
        assert cold_build() == dict.fromkeys(HEAVY, "ran")
