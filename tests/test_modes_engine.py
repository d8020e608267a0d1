"""Modes, workload kinds and `verify` on a real engine (local images; tests/standin/julia records, it does not
compile: what is checked is the Dockerfile, the stages, the data the scripts get, and the images' layout)."""

from __future__ import annotations

import json
import re
import subprocess
import uuid
from pathlib import Path

import pytest
from conftest import EXAMPLES

pytestmark = pytest.mark.docker
TRACE = "/opt/sysimage-docker/trace/precompile_statements.jl"


def cli(docker_env, *args: str) -> subprocess.CompletedProcess[str]:
    return docker_env.cli(*args)


def build(docker_env, project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    result = docker_env.build(project, *args)
    assert result.returncode == 0, result.stderr
    return result


def heavy(result: subprocess.CompletedProcess[str]) -> str:
    return next(line for line in result.stderr.splitlines() if line.startswith("heavy steps: "))


def test_pkgimage_mode(docker_env, example) -> None:
    tag = docker_env.unique_tag("pkgimage")
    result = build(docker_env, example("hello"), "-t", tag, "--mode", "pkgimage")
    assert "mode = pkgimage builds no sysimage: precompile_files is not used" in result.stderr
    entry = docker_env.docker("image", "inspect", "--format", "{{json .Config.Entrypoint}}", tag).stdout.strip()
    assert entry == '["/usr/local/julia/bin/julia","--project=/app","--startup-file=no"]'
    assert docker_env.sh(tag, "find / -xdev -type f -exec grep -lx 'standin sysimage' {} + 2>/dev/null; echo end"
                         ).strip() == "end"
    # no sysimage: every dependency is precompiled into the depot, under the stock sysimage and its stdlib caches
    assert docker_env.sh(tag, "ls /opt/julia/depot/compiled/v1").split() == ["Dates", "Printf"]
    assert docker_env.sh(tag, "head -n 1 /opt/julia/depot/compiled/v1/Dates/standin.ji").strip() == "compiled against"
    assert docker_env.sh(tag, "ls /usr/local/julia/share/julia/compiled/v1.11").split() == ["Dates"]
    assert "heavy steps: instantiate" in heavy(result) and "sysimage" not in heavy(result)


def test_app_mode(docker_env, example) -> None:
    tag = docker_env.unique_tag("app")
    result = build(docker_env, example("cli-tool"), "-t", tag, "--mode", "app")
    assert any(line.startswith("app bundle size: ") for line in result.stderr.splitlines())
    config = json.loads(docker_env.docker("image", "inspect", "--format", "{{json .Config}}", tag).stdout)
    assert config["Entrypoint"] == ["/opt/app/bin/WordStats"] and config["Cmd"] in (None, [])
    # a writable user depot comes first (the bundle's wrapper appends its own share/julia)
    assert "JULIA_DEPOT_PATH=/home/julia/.julia" in config["Env"] and config["WorkingDir"] == "/home/julia"
    assert config["Labels"]["dev.sysimage-docker.mode"] == "app"
    sh = docker_env.sh
    # only the bundle (and the SBOM): no Julia installation, no baked depot, no scripts, plan or sources
    gone = sh(tag, "ls /usr/local/julia /opt/julia /app 2>&1 | grep -c 'No such file'")
    assert gone.strip() == "3"
    assert sh(tag, "ls /opt/sysimage-docker").split() == ["sbom.cdx.json"]
    probe = docker_env.docker("run", "--rm", "--network", "none", "--entrypoint", "/bin/sh", tag, "-c",
                              "id -u && mkdir -p $JULIA_DEPOT_PATH/scratchspaces && echo writable", check=False)
    assert probe.stdout.split() == ["1000", "writable"], probe.stderr
    assert sh(tag, "head -n 2 /opt/app/lib/julia/sys.so").split("\n")[1] == "app bundle of WordStats"
    assert docker_env.run(tag, "notes.txt").stdout.strip() == "app-bundle-standin WordStats notes.txt"


def test_non_incremental_and_filtered_stdlibs_reach_the_sysimage_step(docker_env, example) -> None:
    tag = docker_env.unique_tag("nonincr")
    build(docker_env, example("hello"), "-t", tag, "--no-incremental", "--filter-stdlibs")
    sysimage = docker_env.sh(tag, "cat /usr/local/julia/lib/julia/sys.so")
    assert "incremental: false" in sysimage and "filter_stdlibs: true" in sysimage


def test_trace_stage_feeds_the_sysimage_and_is_exported(docker_env, example, tmp_path: Path) -> None:
    project = example("http-service")
    tag = docker_env.unique_tag("trace")
    first = build(docker_env, project, "-t", tag, "--trace")
    assert "(trace) RUN sh /opt/sysimage-docker/keep_artifacts.sh /opt/sysimage-docker/trace/artifacts" in first.stderr
    sysimage = docker_env.sh(tag, "cat /usr/local/julia/lib/julia/sys.so")
    assert f"statements_files: {TRACE}" in sysimage
    out = tmp_path / "statements"
    build(docker_env, project, "--trace", "--target", "trace", "-o", f"type=local,dest={out}")
    assert (out / "precompile_statements.jl").read_text().startswith("precompile(")
    again = build(docker_env, project, "-t", tag, "--trace")
    assert "trace cached" in heavy(again) and "sysimage cached" in heavy(again)
    with (project / "precompile" / "workload.jl").open("a") as fh:
        fh.write(f"# changed {uuid.uuid4()}\n")
    changed = build(docker_env, project, "-t", tag, "--trace")
    assert "trace ran" in heavy(changed) and "sysimage ran" in heavy(changed)


def test_test_suite_workload(docker_env, example) -> None:
    tag = docker_env.unique_tag("tests-tracer")
    result = build(docker_env, example("cli-tool"), "-t", tag, "--test-workload", "--target", "tracer")
    assert "test environment ran" in heavy(result) or "test environment cached" in heavy(result)
    calls = docker_env.sh(tag, "cat /var/log/julia-standin/*").split("argv:")
    assert any("test_env.jl" in c for c in calls)
    trace_call = next(c for c in calls if "run_workloads.jl" in c and "--test-suite" not in c)
    assert f"--trace-compile={TRACE}" in trace_call
    # the test suite is its own run, started in test/ as Pkg.test runs it (the stand-in records its cwd)
    suite_call = next(c for c in calls if "run_workloads.jl" in c and "--test-suite" in c)
    assert "\ncwd: /app/test\n" in suite_call
    assert "--trace-compile=/opt/sysimage-docker/trace/test_statements.jl" in suite_call
    assert "cwd: /app/test" not in trace_call
    plan = docker_env.sh(tag, "cat /opt/sysimage-docker/plan.toml")
    assert "test_workload = true" in plan and 'test_env = "/opt/sysimage-docker/test-env"' in plan
    # the tracer stage had the test suite (the project source) when it ran
    assert docker_env.sh(tag, "ls /app/test").split() == ["runtests.jl"]


LAZY = "/opt/julia/depot/artifacts/5a1e5a1e5a1e5a1e5a1e5a1e5a1e5a1e5a1e5a1e/lazy.txt"


@pytest.mark.parametrize(("mode", "flags", "shipped"), [
    ("sysimage", [], LAZY),
    ("trace", ["--trace"], LAZY),
    ("app", ["--mode", "app"], "/opt/app/share/julia/artifacts/5a1e5a1e5a1e5a1e5a1e5a1e5a1e5a1e5a1e5a1e/lazy.txt"),
    ("app-trace", ["--mode", "app", "--trace"],
     "/opt/app/share/julia/artifacts/5a1e5a1e5a1e5a1e5a1e5a1e5a1e5a1e5a1e5a1e/lazy.txt"),
])
def test_a_lazy_artifact_a_workload_installs_ships(docker_env, example, mode: str, flags: list[str],
                                                   shipped: str) -> None:
    # The stand-in installs a "lazy artifact" into the first depot when a workload has STANDIN_LAZY_ARTIFACT, as
    # Pkg does: PackageCompiler's depot in the sysimage/app step, the tracer's depot with --trace. Neither ships
    # by itself; the runtime image must hold it, or the app downloads it at every start (and fails offline).
    project = example("cli-tool" if mode.startswith("app") else "http-service")
    with (project / "precompile" / "workload.jl").open("a") as fh:
        fh.write("# STANDIN_LAZY_ARTIFACT\n")
    tag = docker_env.unique_tag(f"lazy-{mode}")
    build(docker_env, project, "-t", tag, *flags)
    assert docker_env.sh(tag, f"cat {shipped}").strip() == "lazy artifact"


def test_include_project_bakes_the_package_and_source_edits_rebuild(docker_env, example) -> None:
    project = example("cli-tool")
    tag = docker_env.unique_tag("include-project")
    build(docker_env, project, "-t", tag, "--include-project")
    assert "packages: JSON3 WordStats" in docker_env.sh(tag, "cat /usr/local/julia/lib/julia/sys.so")
    with (project / "src" / "WordStats.jl").open("a") as fh:
        fh.write(f"# edit {uuid.uuid4()}\n")
    assert "sysimage ran" in heavy(build(docker_env, project, "-t", tag, "--include-project"))


def test_verify_reports_and_catches_a_version_mismatch(docker_env, tmp_path: Path) -> None:
    tag = docker_env.unique_tag("verify")
    result = build(docker_env, EXAMPLES / "http-service", "-t", tag, "--verify")
    # what --verify itself printed (the build summary names the packages too, so look for its own lines)
    assert f"{tag}: sysimage /usr/local/julia/lib/julia/sys.so, Julia standin, CPU target " in result.stderr
    assert "load from the depot (not in the sysimage): none" in result.stderr
    assert "missing artifacts: none" in result.stderr
    size = next(line for line in result.stderr.splitlines() if line.startswith("sysimage size: "))
    assert re.fullmatch(r"sysimage size: [\d.]+ kB \(sysimage step (cached|ran \([\d.]+ s\))\)", size), size
    report = cli(docker_env, "verify", tag, "--json")
    assert report.returncode == 0, report.stderr
    data = json.loads(report.stdout)
    assert data["ok"] is True and data["sysimage"] == "/usr/local/julia/lib/julia/sys.so"
    assert {p["name"]: p["baked"] for p in data["baked"]} == {"HTTP": "1.10.16", "JSON3": "1.14.2"}
    # a manifest moved on after the build: the sysimage still runs the old HTTP
    planted = docker_env.unique_tag("verify-planted")
    dockerfile = (f"FROM {tag}\nUSER 0:0\nRUN sed -i 's/^version = \"1.10.16\"$/version = \"1.10.17\"/' "
                  "/app/Manifest.toml\nUSER 1000:1000\n")
    subprocess.run([docker_env.client, "build", "--network", "none", "-t", planted, "-"], input=dockerfile,
                   text=True, check=True, capture_output=True)
    mismatch = cli(docker_env, "verify", planted)
    assert mismatch.returncode == 1
    assert "MISMATCH" in mismatch.stdout
    assert mismatch.stderr.startswith(f"sysimage-docker: error: {planted}: baked versions differ from the manifest "
                                      "for HTTP")
