"""Each contract of tests/standin/CONTRACTS.md, shown to catch the bug it guards: with the fix the image builds and
starts, with the fix reverted (the plan monkeypatched, or the written Dockerfile edited back) the stand-in julia
refuses the way Julia would. What these tests prove depends on the stand-in modelling each contract as the table
says; they do not run Julia."""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import EXAMPLES
from dockerenv import ensure_image

from sysimage_containers import plan as plan_module

NO_STUB = ((), (), ())  # plan._source_stub: no stubs, no directories

pytestmark = pytest.mark.docker
REVERTED_CACHE_FLAGS = ("-O", "--optimize", "--check-bounds", "-g", "--inline")  # before --pkgimages was added


def build_context(docker_env, context: Path, tag: str) -> subprocess.CompletedProcess[str]:
    """`docker build` of a context written by `generate -o`, as the tool's docker-buildkit back end runs it."""
    docker_env.created.append(tag)
    return subprocess.run([docker_env.client, "build", "--network", "none", "--progress", "plain", "-t", tag,
                           str(context)], capture_output=True, text=True, timeout=600,
                          env={**os.environ, "DOCKER_BUILDKIT": "1"})


@pytest.fixture
def written(cli, docker_env, tmp_path: Path) -> Callable[..., Path]:
    """`generate PROJECT -o DIR` in-process (so monkeypatches of the plan apply), against the local base images."""

    def write(project: Path, *args: str, builder: str | None = None, runtime: str | None = None) -> Path:
        out = tmp_path / f"ctx-{uuid.uuid4().hex[:8]}"
        result = cli("generate", project, "-o", out, *args,
                     env={"SYSIMAGE_DOCKER_BUILDER_IMAGE": builder or docker_env.builder_image,
                          "SYSIMAGE_DOCKER_RUNTIME_IMAGE": runtime or docker_env.runtime_image})
        assert result.code == 0, result.err
        return out

    return write


def apt_images(docker_env) -> dict[str, str]:
    return {"builder": ensure_image(docker_env.client, "builder-apt"),
            "runtime": ensure_image(docker_env.client, "runtime-apt")}


# --- contract: a package project without src/<Name>.jl cannot be precompiled or sysimage-built (Julia 1.10.8+) ---

@pytest.mark.parametrize("name", ["cli-tool", "http-service", "pycall-app"])
def test_the_sysimage_step_needs_the_stub_source(docker_env, written, monkeypatch: pytest.MonkeyPatch,
                                                 name: str) -> None:
    images = apt_images(docker_env) if name == "pycall-app" else {}
    tag = docker_env.unique_tag(f"stub-{name}")
    fixed = build_context(docker_env, written(EXAMPLES / name, **images), tag)
    assert fixed.returncode == 0, fixed.stderr[-3000:]
    # the stub was there for the sysimage step only: the image has the real source
    package = {"cli-tool": "WordStats", "http-service": "GreetService", "pycall-app": "PyStats"}[name]
    real = (EXAMPLES / name / "src" / f"{package}.jl").read_text()
    shown = docker_env.sh(tag, f"cat /app/src/{package}.jl")
    assert shown == real
    # reverted: no stub, and the stand-in refuses the sysimage step as Julia 1.11.5 does
    monkeypatch.setattr(plan_module, "_source_stub", lambda *a: NO_STUB)
    reverted = build_context(docker_env, written(EXAMPLES / name, **images), docker_env.unique_tag(f"nostub-{name}"))
    assert reverted.returncode != 0
    assert f"Error: Missing source file for {package} [" in reverted.stderr
    assert "build_sysimage.jl" in reverted.stderr


def test_pkg_before_1_10_8_skipped_the_missing_source(docker_env, written, monkeypatch: pytest.MonkeyPatch) -> None:
    # the stand-in knows its version: Pkg up to 1.10.7 (src/API.jl) left a project without src/<Name>.jl out
    monkeypatch.setattr(plan_module, "_source_stub", lambda *a: NO_STUB)
    old = ensure_image(docker_env.client, "builder", julia_version="1.10.7")
    result = build_context(docker_env, written(EXAMPLES / "cli-tool", builder=old),
                           docker_env.unique_tag("pkg-1-10-7"))
    assert result.returncode == 0, result.stderr[-3000:]


def test_the_app_precompile_needs_the_real_source(docker_env, example, written) -> None:
    # a package project whose source has no src/<Name>.jl fails where Julia fails: the app precompile
    project = example("cli-tool")
    (project / "src" / "WordStats.jl").rename(project / "src" / "Main.jl")
    result = build_context(docker_env, written(project), docker_env.unique_tag("no-source"))
    assert result.returncode != 0
    assert "Error: Missing source file for WordStats [" in result.stderr and "precompile_app.jl" in result.stderr


# --- contract: Julia 1.12 takes a package from Project.toml's entryfile ---

def test_an_entryfile_package_builds_on_1_12(docker_env, example, written, monkeypatch: pytest.MonkeyPatch) -> None:
    project = example("cli-tool")
    (project / "lib").mkdir()
    (project / "src" / "WordStats.jl").rename(project / "lib" / "WordStats.jl")
    (project / "src").rmdir()
    (project / "Project.toml").write_text('entryfile = "lib/WordStats.jl"\n' + (project / "Project.toml").read_text())
    manifest = project / "Manifest.toml"
    manifest.write_text(manifest.read_text().replace('julia_version = "1.11.5"', 'julia_version = "1.12.7"'))
    builder = ensure_image(docker_env.client, "builder", julia_version="1.12.7")
    fixed = docker_env.unique_tag("entryfile")
    result = build_context(docker_env, written(project, builder=builder), fixed)
    assert result.returncode == 0, result.stderr[-3000:]
    # the stubs were there for the sysimage step only: the image has the real source and no src/ of the stubs'
    assert docker_env.sh(fixed, "cat /app/lib/WordStats.jl") == (project / "lib" / "WordStats.jl").read_text()
    assert docker_env.sh(fixed, "ls /app/src 2>&1 || true").strip().endswith("No such file or directory")
    # reverted: a stub at src/WordStats.jl only, as before entryfile was read: Julia 1.12 looks in lib/
    monkeypatch.setattr(plan_module, "_source_stub", lambda env, cfg, app_dir, copies: (
        (f"{app_dir}/src/WordStats.jl",), (f"{app_dir}/src",), (f"{app_dir}/src",)))
    reverted = build_context(docker_env, written(project, builder=builder), docker_env.unique_tag("entryfile-src"))
    assert reverted.returncode != 0
    assert "Error: Missing source file for WordStats [" in reverted.stderr and "build_sysimage.jl" in reverted.stderr


# --- contract: -m/--module is a Julia 1.12 option ---

def test_julia_module_runs_on_1_12_and_is_an_unknown_option_on_1_11(docker_env, example) -> None:
    project = example("http-service")
    config = project / "sysimage-docker.toml"
    config.write_text(config.read_text().replace('script = "bin/server.jl"', 'julia_module = "GreetService"')
                      .replace('healthcheck_path = "/health"\n', ""))
    manifest = project / "Manifest.toml"
    manifest.write_text(manifest.read_text().replace('julia_version = "1.11.5"', 'julia_version = "1.12.7"'))
    builders = {v: ensure_image(docker_env.client, "builder", julia_version=v) for v in ("1.12.7", "1.11.5")}
    good = docker_env.unique_tag("module-1-12")
    assert docker_env.build(project, "-t", good, SYSIMAGE_DOCKER_BUILDER_IMAGE=builders["1.12.7"]).returncode == 0
    run = docker_env.run(good)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip().endswith("--threads=auto -m GreetService")
    # the bug this guards: a Julia 1.11 image given -m (what julia_module allowed from 1.11) fails at every start
    bad = docker_env.unique_tag("module-1-11")
    assert docker_env.build(project, "-t", bad, SYSIMAGE_DOCKER_BUILDER_IMAGE=builders["1.11.5"]).returncode == 0
    failed = docker_env.run(bad)
    assert (failed.returncode, failed.stderr.strip()) == (1, "julia: unknown option `-m`")


# --- contract: caches compiled with flags the entrypoint would reject are compiled again at start ---

def test_pkgimages_flag_reaches_the_app_precompile(docker_env, example, written,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    project = example("http-service")
    args = ("--julia-arg", "--threads=auto", "--julia-arg", "--pkgimages=no")
    fixed = docker_env.unique_tag("pkgimages")
    assert build_context(docker_env, written(project, *args), fixed).returncode == 0
    run = docker_env.run(fixed)
    assert run.returncode == 0, run.stderr
    assert docker_env.sh(fixed, "sed -n 's/^flags: //p' /opt/julia/depot/compiled/v1/GreetService/standin.ji"
                         ).strip() == "--pkgimages=no"
    # reverted: --pkgimages not a cache flag; the app's cache was made with pkgimages on, the entrypoint turns them
    # off, and Julia would compile GreetService at every start
    monkeypatch.setattr(plan_module, "CACHE_FLAG_PREFIXES", REVERTED_CACHE_FLAGS)
    reverted = docker_env.unique_tag("pkgimages-reverted")
    assert build_context(docker_env, written(project, *args), reverted).returncode == 0
    failed = docker_env.run(reverted)
    assert failed.returncode == 1
    assert failed.stderr.startswith("julia-standin: GreetService would be compiled at this start: no cache for this "
                                    "sysimage and flags [--pkgimages=no]")


def test_the_sysimage_is_built_with_the_codegen_flags(docker_env, example) -> None:
    tag = docker_env.unique_tag("build-args")
    project = example("http-service")
    result = docker_env.build(project, "-t", tag, "--julia-arg", "-O3", "--julia-arg", "--check-bounds=no",
                              "--julia-arg", "--pkgimages=no")
    assert result.returncode == 0, result.stderr
    sysimage = docker_env.sh(tag, "cat /usr/local/julia/lib/julia/sys.so")
    assert "sysimage_build_args: -O3 --check-bounds=no" in sysimage.splitlines()
    assert docker_env.run(tag).returncode == 0


# --- contract: a package the program loads must be installed, and baked or cached ---

def test_a_package_left_out_of_the_sysimage_is_loaded_from_the_depot(docker_env, example, written) -> None:
    project = example("http-service")
    (project / "bin" / "server.jl").write_text("using GreetService, JSON3\n\nGreetService.main()\n")
    context = written(project, "--exclude", "JSON3")
    fixed = docker_env.unique_tag("excluded")
    assert build_context(docker_env, context, fixed).returncode == 0
    assert docker_env.run(fixed).returncode == 0
    # reverted: a runtime stage without the depot's packages
    dockerfile = context / "Dockerfile"
    dockerfile.write_text("".join(line for line in dockerfile.read_text().splitlines(keepends=True)
                                  if not line.startswith("COPY --from=builder /opt/julia/depot/packages")))
    reverted = docker_env.unique_tag("excluded-no-depot")
    assert build_context(docker_env, context, reverted).returncode == 0
    failed = docker_env.run(reverted)
    assert (failed.returncode, failed.stderr.splitlines()[0]) == (
        1, "ERROR: LoadError: ArgumentError: Package JSON3 not found in current path (the image does not have it)")


def test_the_stock_stdlib_caches_ship_only_without_a_custom_sysimage(docker_env, example) -> None:
    project = example("hello")
    for mode, present in (("sysimage", False), ("pkgimage", True)):
        tag = docker_env.unique_tag(f"stdlib-caches-{mode}")
        assert docker_env.build(project, "-t", tag, "--mode", mode).returncode == 0
        listing = docker_env.sh(tag, "ls /usr/local/julia/share/julia/compiled/v1.11 2>&1")
        assert (listing.split() == ["Dates"]) == present, (mode, listing)
