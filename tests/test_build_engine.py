"""`sysimage-docker build`/`run` on a real engine, with local busybox base images and the stand-in julia
(tests/standin/julia, which records its calls and implements no Julia semantics)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from conftest import EXAMPLES

pytestmark = pytest.mark.docker
CLI = [sys.executable, "-m", "sysimage_containers"]
# Julia 1.11+
PORTABLE_AMD64 = "generic;sandybridge,-xsaveopt,clone_all;haswell,-rdrnd,base(1);x86-64-v4,-rdrnd,base(1)"


def build(docker_env, project: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return docker_env.build(project, *args, **(env or {}))


def inspect(docker_env, tag: str, fmt: str) -> str:
    return docker_env.docker("image", "inspect", "--format", fmt, tag).stdout.strip()


@pytest.fixture(scope="module")
def service_image(docker_env) -> str:
    tag = docker_env.unique_tag("service")
    result = build(docker_env, EXAMPLES / "http-service", "-t", tag)
    assert result.returncode == 0, result.stderr
    return tag


def test_runtime_entrypoint_and_user(docker_env, service_image: str) -> None:
    assert inspect(docker_env, service_image, "{{json .Config.Entrypoint}}") == (
        '["/usr/local/julia/bin/julia","-J/usr/local/julia/lib/julia/sys.so","--project=/app","--startup-file=no",'
        '"--threads=auto"]')
    assert inspect(docker_env, service_image, "{{json .Config.Cmd}}") == '["/app/bin/server.jl"]'
    assert inspect(docker_env, service_image, "{{.Config.User}}") == "1000:1000"
    run = docker_env.run(service_image)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == ("julia-standin argv: -J/usr/local/julia/lib/julia/sys.so --project=/app "
                                  "--startup-file=no --threads=auto /app/bin/server.jl")
    assert docker_env.run(service_image, entrypoint="id").stdout.split()[0] == "uid=1000"


def test_runtime_layout(docker_env, service_image: str) -> None:
    sh = docker_env.sh
    # exactly one custom sysimage, holding the planned packages and the portable target
    found = sh(service_image, "find / -xdev -type f -exec grep -lx 'standin sysimage' {} + 2>/dev/null").split()
    assert found == ["/usr/local/julia/lib/julia/sys.so"]
    sysimage = sh(service_image, "cat /usr/local/julia/lib/julia/sys.so")
    assert "packages: HTTP JSON3" in sysimage and f'amd64 = "{PORTABLE_AMD64}"' in sysimage
    # the depot has only what the app needs at run time
    assert sh(service_image, "ls /opt/julia/depot").split() == ["artifacts", "compiled", "packages"]
    assert sh(service_image, "ls /opt/julia/depot/packages").split() == ["HTTP", "JSON3"]
    assert sh(service_image, "ls /opt/julia/depot/artifacts").split() == ["standin0"]
    # the app's caches were compiled against the custom sysimage; stock-sysimage caches stayed behind
    assert sh(service_image, "ls /opt/julia/depot/compiled/v1").split() == ["GreetService"]
    cache = sh(service_image, "cat /opt/julia/depot/compiled/v1/GreetService/standin.ji").splitlines()
    assert cache[0] == "compiled against /opt/sysimage-docker/build/sys.so" and cache[2] == "flags: "
    # the stock stdlib caches, which the custom sysimage rejects, stay behind (the builder has them)
    assert "No such file" in sh(service_image, "ls /usr/local/julia/share/julia/compiled 2>&1")
    for tool in ("g++", "gcc", "cc", "c++", "git", "ssh"):
        assert sh(service_image, f"command -v {tool} || echo none").strip() == "none", tool
    assert sh(service_image, "stat -c %u /home/julia/.julia").strip() == "1000"


def test_labels_and_env(docker_env, service_image: str) -> None:
    labels = inspect(docker_env, service_image, "{{json .Config.Labels}}")
    for expected in ('"dev.sysimage-docker.packages":"HTTP@1.10.16 JSON3@1.14.2"',
                     '"dev.sysimage-docker.julia-version":"1.11.5"', '"org.opencontainers.image.title":"GreetService"',
                     '"org.opencontainers.image.description":"Greets people over HTTP"'):
        assert expected in labels
    env = inspect(docker_env, service_image, "{{json .Config.Env}}")
    assert '"JULIA_DEPOT_PATH=/home/julia/.julia:/opt/julia/depot:"' in env
    assert inspect(docker_env, service_image, "{{json .Config.ExposedPorts}}") == '{"8080/tcp":{}}'
    assert "healthcheck.jl" in inspect(docker_env, service_image, "{{json .Config.Healthcheck}}")


def test_builder_stage_records(docker_env, example) -> None:
    # the stand-in julia records each call's argv and environment; it compiles nothing
    project = example("http-service")
    config = project / "sysimage-docker.toml"
    config.write_text(config.read_text().replace('julia_args = ["--threads=auto"]',
                                                 'julia_args = ["--threads=auto", "-O3", "--check-bounds=no"]'))
    tag = docker_env.unique_tag("service-builder")
    result = build(docker_env, project, "-t", tag, "--target", "builder")
    assert result.returncode == 0, result.stderr
    # same baked depot path as the runtime stage
    assert '"JULIA_DEPOT_PATH=/opt/julia/depot:"' in inspect(docker_env, tag, "{{json .Config.Env}}")
    calls = docker_env.sh(tag, "cat /var/log/julia-standin/*")
    sysimage_call = next(c for c in calls.split("argv:") if "build_sysimage.jl" in c)
    assert "JULIA_NUM_THREADS" not in sysimage_call  # removed although the base image sets it
    assert "JULIA_DEPOT_PATH=/opt/sysimage-docker/pc-depot:/opt/julia/depot:" in sysimage_call
    assert "--project=/opt/sysimage-docker/pc-env" in sysimage_call
    app_call = next(c for c in calls.split("argv:") if "precompile_app.jl" in c)
    assert "-J/opt/sysimage-docker/build/sys.so" in app_call and "--project=/app" in app_call
    # the cache flags of julia_args (not --threads), and the sysimage's CPU target from process start
    argv = app_call.split("cwd:")[0].split()
    assert argv[:3] == ["-J/opt/sysimage-docker/build/sys.so", "-O3", "--check-bounds=no"]
    assert f"JULIA_CPU_TARGET={PORTABLE_AMD64}" in app_call
    # the sysimage step sees the registry the instantiate step fetched (a BuildKit cache mount)
    assert "registries: General" in docker_env.sh(tag, "cat /opt/sysimage-docker/build/sys.so")
    assert "/usr/local/bin/g++" in docker_env.sh(tag, "command -v g++")


SYSIMAGE_MARKERS = ("standin sysimage", "stock sysimage (stand-in)")


@pytest.mark.parametrize(("mode", "expected"), [
    ("sysimage", {"/usr/local/julia/lib/julia/sys.so": "standin sysimage"}),
    ("pkgimage", {"/usr/local/julia/lib/julia/sys.so": "stock sysimage (stand-in)"}),
    ("app", {"/opt/app/lib/julia/sys.so": "standin sysimage"}),
])
def test_exactly_one_sysimage_in_each_mode(docker_env, example, mode: str, expected: dict[str, str]) -> None:
    # the stand-in julia writes its "sysimages" as text files; the base image carries a stock one
    tag = docker_env.unique_tag(f"one-sysimage-{mode}")
    result = build(docker_env, example("cli-tool"), "-t", tag, "--mode", mode, "--no-cache")
    assert result.returncode == 0, result.stderr
    found = {}
    for marker in SYSIMAGE_MARKERS:
        for path in docker_env.sh(tag, f"find / -xdev -type f -exec grep -l '^{marker}' {{}} + 2>/dev/null").split():
            found[path] = marker
    assert found == expected
    stock = len("stock sysimage (stand-in)\n")
    summary = f"stock sysimage left out of the runtime image: {stock / 1e3:.1f} kB (one sysimage ships)"
    # in sysimage mode the one sysimage is lib/julia/sys.so, the file a plain `julia` (docker exec) loads
    assert (summary in result.stderr) == (mode == "sysimage")


def test_no_buildkit_rendering_builds_on_the_classic_builder(docker_env, example) -> None:
    tag = docker_env.unique_tag("hello-classic")
    result = build(docker_env, example("hello"), "-t", tag, "--no-buildkit")
    assert result.returncode == 0, result.stderr
    assert f"building {tag} with docker-classic" in result.stderr
    assert ("[builder] (sysimage) RUN sh /opt/sysimage-docker/keep_artifacts.sh /opt/julia/depot/artifacts"
            in result.stderr)
    assert docker_env.run(tag).stdout.startswith("julia-standin argv: -J/usr/local/julia/lib/julia/sys.so")


def heavy(result: subprocess.CompletedProcess[str]) -> str:
    return next(line for line in result.stderr.splitlines() if line.startswith("heavy steps: "))


def test_rebuilds_reuse_the_heavy_layers(docker_env, example) -> None:
    project = example("http-service")
    tag = docker_env.unique_tag("rebuild")
    assert build(docker_env, project, "-t", tag).returncode == 0
    again = build(docker_env, project, "-t", tag)
    assert heavy(again) == ("heavy steps: PackageCompiler install cached, instantiate cached, sysimage cached, "
                            "app precompile cached")
    with (project / "src" / "GreetService.jl").open("a") as fh:
        fh.write(f"# edited {uuid.uuid4()}\n")
    edited = build(docker_env, project, "-t", tag)
    assert heavy(edited).startswith("heavy steps: PackageCompiler install cached, instantiate cached, "
                                    "sysimage cached, app precompile ran")
    with (project / "Manifest.toml").open("a") as fh:
        fh.write(f"# re-resolved {uuid.uuid4()}\n")
    resolved = build(docker_env, project, "-t", tag)
    summary = heavy(resolved)
    assert "instantiate ran" in summary and "sysimage ran" in summary and "PackageCompiler install cached" in summary


def test_failing_workload_names_the_step(docker_env, example) -> None:
    project = example("hello")
    (project / "precompile" / "workload.jl").write_text("error(\"boom\")  # STANDIN_FAIL\n")
    result = build(docker_env, project, "-t", docker_env.unique_tag("failing"))
    assert result.returncode == 1
    assert "sysimage-docker: error: build failed at [builder] (sysimage) RUN --mount=type=cache" in result.stderr
    assert "build_sysimage.jl" in result.stderr
    assert "ERROR: LoadError: workload failed" in result.stderr
    assert "in expression starting at /app/precompile/workload.jl:1" in result.stderr
    assert "Traceback" not in result.stderr


def test_run_after_a_failed_build_refuses_the_older_image(docker_env, example) -> None:
    project = example("hello")
    tag = docker_env.unique_tag("stale")
    assert build(docker_env, project, "-t", tag).returncode == 0
    assert docker_env.cli("run", project, "-t", tag).returncode == 0
    (project / "precompile" / "workload.jl").write_text("error(\"boom\")  # STANDIN_FAIL\n")
    assert build(docker_env, project, "-t", tag).returncode == 1
    refused = docker_env.cli("run", project, "-t", tag)
    assert refused.returncode == 2 and refused.stdout == ""  # nothing started
    assert f"the last build of {project} ({tag}) failed at " in refused.stderr
    assert docker_env.cli("run", tag).returncode == 0  # by name, the older image still runs
    (project / "precompile" / "workload.jl").write_text("# fixed\n")
    assert build(docker_env, project, "-t", tag).returncode == 0
    assert docker_env.cli("run", project, "-t", tag).returncode == 0


def test_out_of_memory_kill_is_named(docker_env, example) -> None:
    project = example("hello")
    (project / "precompile" / "workload.jl").write_text("# STANDIN_OOM\n")
    result = build(docker_env, project, "-t", docker_env.unique_tag("oom"))
    assert result.returncode == 1
    assert "killed for lack of memory (exit 137 / ProcessSignaled(9))" in result.stderr


def test_ctrl_c_leaves_no_context_behind(docker_env, example, tmp_path: Path) -> None:
    project = example("http-service")
    # unique, so that the sysimage step runs (an engine that ran this test before holds it cached)
    (project / "precompile" / "workload.jl").write_text(f"# STANDIN_SLEEP {uuid.uuid4().hex}\n")
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    env = docker_env.env(TMPDIR=str(tmpdir))
    # SIGINT as a terminal's Ctrl-C delivers it: a suite started as a background job of a non-interactive shell
    # ignores SIGINT, and its children would inherit that
    proc = subprocess.Popen([*CLI, "build", str(project), "--progress", "plain", "-t",
                             docker_env.unique_tag("interrupted")], stderr=subprocess.PIPE, text=True, env=env,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    assert proc.stderr is not None
    deadline = time.monotonic() + 120
    for line in proc.stderr:
        if "(sysimage) RUN" in line or time.monotonic() > deadline:
            break
    assert list(tmpdir.glob("sysimage-docker-ctx-*")), "the build context should exist during the build"
    time.sleep(1)
    proc.send_signal(signal.SIGINT)
    rest = proc.communicate(timeout=60)[1]
    assert proc.returncode == 130, rest
    assert "sysimage-docker: error: interrupted" in rest
    assert not list(tmpdir.glob("sysimage-docker-ctx-*"))


def test_run_streams_output_and_propagates_exit_code(docker_env, example, tmp_path: Path) -> None:
    name = f"hello-{uuid.uuid4().hex[:8]}"
    project = tmp_path / name
    shutil.copytree(EXAMPLES / "hello", project)
    docker_env.created.append(f"{name}:latest")
    assert build(docker_env, project).returncode == 0  # default tag: <name>:<version>
    ok = subprocess.run([*CLI, "run", str(project), "--", "Grace"], capture_output=True, text=True,
                        env=docker_env.env())
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.strip().endswith("/app/bin/hello.jl Grace")
    failing = subprocess.run([*CLI, "run", f"{name}:latest", "-e", "JULIA_STANDIN_EXIT=3"], capture_output=True,
                             text=True, env=docker_env.env())
    assert failing.returncode == 3


def test_missing_image_for_run(docker_env) -> None:
    result = subprocess.run([*CLI, "run", "sysimage-docker-test/none:missing"], capture_output=True, text=True,
                            env=docker_env.env())
    assert result.returncode == 2
    assert result.stderr == ("sysimage-docker: error: no image 'sysimage-docker-test/none:missing': build it first "
                             "(sysimage-docker build sysimage-docker-test/none:missing)\n")


@pytest.mark.parametrize(("flags", "message"), [
    (["--platform", "linux/amd64", "--platform", "linux/arm64"], "several --platform values needs buildx"),
    (["--cache-to", "type=local,dest=/tmp/x"], "--cache-to needs buildx"),
])
def test_capabilities_are_checked_up_front(docker_env, flags: list[str], message: str) -> None:
    result = build(docker_env, EXAMPLES / "hello", "-t", docker_env.unique_tag("cap"), *flags)
    assert result.returncode == 2
    assert result.stderr.splitlines()[-1].startswith(f"sysimage-docker: error: {message}, and docker-buildkit")


def test_secret_on_the_classic_builder_is_refused(docker_env, tmp_path: Path) -> None:
    secret = tmp_path / "token"
    secret.write_text("s3cret")
    result = build(docker_env, EXAMPLES / "hello", "--no-buildkit", "--secret", f"id=token,src={secret}")
    assert result.returncode == 2
    assert "--secret needs BuildKit, which docker-classic lacks" in result.stderr


def test_stopped_daemon_exits_3(docker_env) -> None:
    # an engine socket that nobody serves is what a stopped daemon looks like to the client
    env = {"DOCKER_HOST": "unix:///tmp/sysimage-docker-no-daemon.sock"}
    result = build(docker_env, EXAMPLES / "hello", env=env)
    assert result.returncode == 3
    assert result.stderr.startswith("sysimage-docker: error: no Docker daemon answers")
    assert result.stderr.count("\n") == 1


def test_missing_client_exits_3(docker_env) -> None:
    result = build(docker_env, EXAMPLES / "hello", env={"SYSIMAGE_DOCKER_DOCKER_CLIENT": "/nonexistent/docker"})
    assert (result.returncode, result.stderr) == (3, "sysimage-docker: error: no container client: "
                                                  "`/nonexistent/docker` is not installed or not on PATH (install "
                                                  "Docker or podman, or pass --docker-client PATH)\n")


def test_doctor_reports_the_back_end(docker_env) -> None:
    result = subprocess.run([*CLI, "doctor"], capture_output=True, text=True, env={**docker_env.env(),
                            "COLUMNS": "200"})
    assert result.returncode == 0, result.stderr
    assert "docker-buildkit" in result.stderr and "engine memory" in result.stderr


def test_the_local_base_images_are_in_the_engine(docker_env) -> None:
    listed = docker_env.docker("image", "ls", "--format", "{{.Repository}}:{{.Tag}}").stdout.split()
    assert docker_env.builder_image in listed and docker_env.runtime_image in listed
    assert os.environ.get("SYSIMAGE_DOCKER_REQUIRE_DOCKER") in (None, "0", "1")


def test_a_retired_debian_builder_gets_its_compiler_from_the_archive(docker_env, example) -> None:
    # the builder image's apt-get is a stand-in: `update` works only once the sources name archive.debian.org
    from dockerenv import ensure_image

    builder = ensure_image(docker_env.client, "builder-retired-apt")
    tag = docker_env.unique_tag("retired-builder")
    result = build(docker_env, example("hello"), "-t", tag, "--target", "builder", "--no-cache",
                   env={"SYSIMAGE_DOCKER_BUILDER_IMAGE": builder})
    assert result.returncode == 0, result.stderr
    # the sources now name the archive (and no -updates suite), and the compiler came from it
    assert docker_env.sh(tag, "cat /etc/apt/sources.list").splitlines() == [
        "deb http://archive.debian.org/debian buster main"]
    assert docker_env.sh(tag, "command -v g++").strip() == "/usr/local/bin/g++"


def test_a_builder_without_a_package_manager_fails_in_one_line(docker_env, example) -> None:
    from dockerenv import ensure_image

    builder = ensure_image(docker_env.client, "builder-bare")
    result = build(docker_env, example("hello"), "-t", docker_env.unique_tag("bare-builder"),
                   env={"SYSIMAGE_DOCKER_BUILDER_IMAGE": builder})
    assert result.returncode == 1
    assert (f"sysimage-docker: cannot install g++ in builder_image {builder} (it has no apt-get, apk, microdnf or "
            "dnf): use a builder_image that has them, or set JULIA_CC to a C compiler the image has") in result.stderr


@pytest.mark.parametrize("renderer", ["--buildkit", "--no-buildkit"])
def test_a_base_image_that_cannot_be_fetched_is_named_with_the_engines_words(docker_env, example,
                                                                             renderer: str) -> None:
    # a registry that refuses connections: the engine's own line and the way out, not "no daemon answers"
    result = build(docker_env, example("hello"), "-t", docker_env.unique_tag("no-base"), renderer,
                   env={"SYSIMAGE_DOCKER_BUILDER_IMAGE": "127.0.0.1:1/nope/julia:1.11.5"})
    assert result.returncode == 1, result.stderr
    lines = result.stderr.splitlines()
    # BuildKit fails before any step ("the engine said: ..."); the classic builder fails its FROM step
    said = next(line for line in lines if "connection refused" in line)
    assert "127.0.0.1:1" in said
    where = ("build failed at [tools] FROM 127.0.0.1:1/nope/julia:1.11.5 AS tools" if renderer == "--no-buildkit"
             else "build failed before any step ran")
    assert f"sysimage-docker: error: {where}" in lines
    # the cause's own way out: a refused connection is not a login problem
    assert ("hint: the base image 127.0.0.1:1/nope/julia:1.11.5 could not be fetched: nothing answers at "
            "127.0.0.1:1: is the registry running, and are the host and port right?; or choose another with "
            "--builder-image / --runtime-image") in lines
    assert "no Docker daemon answers" not in result.stderr and "Traceback" not in result.stderr


def test_an_engine_without_a_bridge_network_builds_on_the_host_network(docker_env, example) -> None:
    # this engine runs with --bridge=none: BuildKit's RUN steps would fail with "network bridge not found"
    assert "bridge" not in docker_env.docker("network", "ls", "--format", "{{.Name}}").stdout.split()
    result = build(docker_env, example("hello"), "-t", docker_env.unique_tag("no-bridge"),
                   env={"SYSIMAGE_DOCKER_NETWORK": ""})
    assert result.returncode == 0, result.stderr
    assert "the engine has no bridge network: RUN steps use --network host (set network to choose)" in result.stderr
