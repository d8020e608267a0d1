"""Opt-in end-to-end test with the real official julia images and network access:
SYSIMAGE_DOCKER_E2E=1 python -m pytest e2e -s

It builds the examples for real (PackageCompiler runs), checks that the sysimage is loaded with its packages,
that the service answers, and prints the start-up time with and without the sysimage. It cannot run where no
registry is reachable, so it lives outside tests/ (CI does not collect it) and is skipped unless asked for.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(os.environ.get("SYSIMAGE_DOCKER_E2E") != "1",
                                reason="opt-in: set SYSIMAGE_DOCKER_E2E=1 (needs network and the julia images)")
CLI = [sys.executable, "-m", "sysimage_containers"]
EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
DOCKER = os.environ.get("SYSIMAGE_DOCKER_DOCKER_CLIENT") or shutil.which("docker") or "docker"


def build(project: Path, tag: str) -> None:
    result = subprocess.run([*CLI, "build", str(project), "-t", tag, "--progress", "plain"], text=True,
                            stderr=subprocess.PIPE, timeout=3600)
    assert result.returncode == 0, result.stderr[-4000:]


def first_json(url: str, deadline: float) -> dict:
    """The first JSON answer of a starting service (it refuses connections until it listens)."""
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5) as reply:
                return dict(json.load(reply))
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(1)


def docker(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run([DOCKER, *args], capture_output=True, text=True, check=check, timeout=600)


@pytest.fixture(scope="module")
def images():
    suffix = uuid.uuid4().hex[:8]
    tags = {name: f"sysimage-docker-e2e/{name}:{suffix}" for name in ("hello", "http-service", "cli-tool")}
    for name, tag in tags.items():
        build(EXAMPLES / name, tag)
    yield tags
    docker("image", "rm", "--force", *tags.values(), check=False)


def test_hello_runs(images) -> None:
    out = docker("run", "--rm", images["hello"], "/app/bin/hello.jl", "e2e").stdout
    assert out.startswith("Hello, e2e! It is ")


def test_sysimage_is_loaded_with_its_packages(images) -> None:
    http = 'Base.PkgId(Base.UUID("cd3eb016-35fb-5094-929b-558a96fad6f3"), "HTTP")'
    script = f"println(unsafe_string(Base.JLOptions().image_file)); println({http} in keys(Base.loaded_modules))"
    out = docker("run", "--rm", images["http-service"], "-e", script).stdout.split()
    assert out == ["/usr/local/julia/lib/julia/sys.so", "true"]


def test_service_answers_and_is_healthy(images) -> None:
    name = f"sysimage-docker-e2e-{uuid.uuid4().hex[:8]}"
    docker("run", "-d", "--name", name, "-p", "127.0.0.1:18080:8080", images["http-service"])
    try:
        deadline = time.monotonic() + 180
        assert first_json("http://127.0.0.1:18080/greet/e2e", deadline)["greeting"] == "Hello, e2e!"
        while docker("inspect", "--format", "{{.State.Health.Status}}", name).stdout.strip() == "starting":
            assert time.monotonic() < deadline + 120
            time.sleep(2)
        assert docker("inspect", "--format", "{{.State.Health.Status}}", name).stdout.strip() == "healthy"
    finally:
        docker("rm", "--force", name, check=False)


def test_cli_tool_julia_main(images, tmp_path: Path) -> None:
    (tmp_path / "text.txt").write_text("the cat and the hat")
    out = docker("run", "--rm", "-v", f"{tmp_path}:/data:ro", images["cli-tool"],
                 "/opt/sysimage-docker/julia/run_main.jl", "WordStats", "/data/text.txt").stdout
    assert json.loads(out)["words"] == 5


def compiled_after(image: str, command: str, *mounts: str) -> list[str]:
    """Run `command` (a shell line using $ENTRY, the image's own entrypoint) as the image's user, then list
    what the start compiled into the writable user depot: it must be nothing."""
    entry = " ".join(json.loads(docker("image", "inspect", "--format", "{{json .Config.Entrypoint}}", image).stdout))
    script = f"ENTRY='{entry}'; {command} >/dev/null && find /home/julia/.julia/compiled -type f 2>/dev/null; true"
    return docker("run", "--rm", *mounts, "--entrypoint", "/bin/sh", image, "-c", script).stdout.split()


def test_a_start_compiles_nothing(images, tmp_path: Path) -> None:
    # issue 11: run_main.jl loads no stdlib outside the sysimage, the app was precompiled under the custom one
    (tmp_path / "text.txt").write_text("a b c")
    assert compiled_after(images["cli-tool"], "$ENTRY /opt/sysimage-docker/julia/run_main.jl WordStats /data/text.txt",
                          "-v", f"{tmp_path}:/data:ro") == []
    assert compiled_after(images["hello"], "$ENTRY /app/bin/hello.jl e2e") == []


def test_cache_flags_in_julia_args_do_not_recompile_at_start(tmp_path: Path) -> None:
    # JSON3 left out of the sysimage loads from the baked depot: its cache must match -O3 --check-bounds=no
    tag, result = build_variant(tmp_path, "http-service", "", "--exclude", "JSON3",
                                "--julia-arg", "-O3", "--julia-arg", "--check-bounds=no")
    try:
        assert result.returncode == 0, result.stderr[-3000:]
        assert compiled_after(tag, "$ENTRY -e 'using JSON3'") == []
    finally:
        docker("image", "rm", "--force", tag, check=False)


def test_one_sysimage_and_plain_julia_uses_it(images) -> None:
    http = 'Base.PkgId(Base.UUID("cd3eb016-35fb-5094-929b-558a96fad6f3"), "HTTP")'
    script = f"println(unsafe_string(Base.JLOptions().image_file)); println({http} in keys(Base.loaded_modules))"
    out = docker("run", "--rm", "--entrypoint", "/usr/local/julia/bin/julia", images["http-service"],
                 "--startup-file=no", "-e", script).stdout.split()
    assert out == ["/usr/local/julia/lib/julia/sys.so", "true"]
    found = docker("run", "--rm", "--entrypoint", "/bin/sh", images["http-service"], "-c",
                   "find / -xdev -name 'sys*.so' -size +1M 2>/dev/null").stdout.split()
    assert found == ["/usr/local/julia/lib/julia/sys.so"]


def test_startup_time_with_and_without_sysimage(images) -> None:
    def timed(*julia_args: str) -> float:
        start = time.monotonic()
        docker("run", "--rm", "--entrypoint", "/usr/local/julia/bin/julia", images["http-service"], *julia_args,
               "--project=/app", "--startup-file=no", "-e", "using HTTP, JSON3")
        return time.monotonic() - start

    with_sysimage = min(timed("-J/usr/local/julia/lib/julia/sys.so") for _ in range(3))
    without = min(timed() for _ in range(3))
    print(f"\n`using HTTP, JSON3` incl. container start: {with_sysimage:.2f} s with the sysimage, "
          f"{without:.2f} s without")
    assert with_sysimage < without


def test_verify_the_real_image(images) -> None:
    result = subprocess.run([*CLI, "verify", images["http-service"], "--json"], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["ok"] and report["sysimage"] == "/usr/local/julia/lib/julia/sys.so"
    assert {p["name"] for p in report["baked"]} >= {"HTTP", "JSON3"}
    assert report["missing_artifacts"] == []


def build_variant(tmp_path: Path, name: str, config_extra: str, *flags: str) -> tuple[str, subprocess.CompletedProcess]:
    project = tmp_path / name
    shutil.copytree(EXAMPLES / name, project)
    config = project / "sysimage-docker.toml"
    config.write_text(config_extra + config.read_text())
    tag = f"sysimage-docker-e2e/{name}-variant:{uuid.uuid4().hex[:8]}"
    result = subprocess.run([*CLI, "build", str(project), "-t", tag, "--progress", "plain", *flags], text=True,
                            stderr=subprocess.PIPE, timeout=3600)
    return tag, result


def test_warmup_and_a_failing_warmup_request(tmp_path: Path) -> None:
    tag, ok = build_variant(tmp_path, "http-service", 'warmup = [{ path = "/health" }, { path = "/greet/x" }]\n')
    try:
        assert ok.returncode == 0, ok.stderr[-3000:]
        assert "warm-up GET /health -> 200" in ok.stderr
    finally:
        docker("image", "rm", "--force", tag, check=False)
    tag, bad = build_variant(tmp_path / "bad", "http-service", 'warmup = [{ path = "/nope", status = 200 }]\n')
    docker("image", "rm", "--force", tag, check=False)
    assert bad.returncode == 1
    assert "warm-up request GET /nope answered 404, expected 200" in bad.stderr


def test_test_suite_workload_pkgimage_and_app_modes(tmp_path: Path) -> None:
    tags = []
    try:
        tag, tests = build_variant(tmp_path / "t", "cli-tool", "test_workload = true\n")
        tags.append(tag)
        assert tests.returncode == 0, tests.stderr[-3000:]
        tag, pkgimage = build_variant(tmp_path / "p", "hello", "", "--mode", "pkgimage")
        tags.append(tag)
        assert pkgimage.returncode == 0, pkgimage.stderr[-3000:]
        assert docker("run", "--rm", tag, "/app/bin/hello.jl", "pkgimage").stdout.startswith("Hello, pkgimage!")
        tag, app = build_variant(tmp_path / "a", "cli-tool", "", "--mode", "app")
        tags.append(tag)
        assert app.returncode == 0, app.stderr[-3000:]
        (tmp_path / "words.txt").write_text("a b a")
        out = docker("run", "--rm", "-v", f"{tmp_path}:/data:ro", tag, "/data/words.txt").stdout
        assert json.loads(out)["distinct"] == 2
    finally:
        docker("image", "rm", "--force", *tags, check=False)


def test_pycall_app_uses_the_system_python(tmp_path: Path) -> None:
    # system_packages (python3 in both stages), build_env PYTHON and the Pkg.build hook, for real
    tag, built = build_variant(tmp_path, "pycall-app", "")
    try:
        assert built.returncode == 0, built.stderr[-3000:]
        assert "hooks: after_instantiate /app/deploy/build_pycall.jl ran" in built.stderr
        out = docker("run", "--rm", tag, "/app/bin/main.jl", "5", "1", "3").stdout
        assert out.strip() == "median: 3.0"
        env = docker("image", "inspect", "--format", "{{json .Config.Env}}", tag).stdout
        assert "PYTHON=" not in env  # build_env stays in the builder
        assert compiled_after(tag, "$ENTRY /app/bin/main.jl 1 2") == []
    finally:
        docker("image", "rm", "--force", tag, check=False)


def test_genie_app_serves_and_writes_its_log(tmp_path: Path) -> None:
    tag, built = build_variant(tmp_path, "genie-app", "")
    name = f"sysimage-docker-e2e-{uuid.uuid4().hex[:8]}"
    try:
        assert built.returncode == 0, built.stderr[-3000:]
        docker("run", "-d", "--name", name, "-p", "127.0.0.1:18000:8000", tag)
        assert first_json("http://127.0.0.1:18000/health", time.monotonic() + 180)["status"] == "ok"
        # writable_paths: Genie may write its log as the unprivileged user; the time zone is set
        probe = "touch /app/log/probe && echo writable; date +%Z"
        out = docker("exec", name, "sh", "-c", probe).stdout.split()
        assert out[0] == "writable" and out[1] in ("CET", "CEST")
    finally:
        docker("rm", "--force", name, check=False)
        docker("image", "rm", "--force", tag, check=False)


def os_codename(image: str) -> str:
    return docker("run", "--rm", "--entrypoint", "/bin/sh", image, "-c",
                  ". /etc/os-release && echo $VERSION_CODENAME").stdout.strip()


def test_builder_and_runtime_are_the_same_debian_release(images) -> None:
    # issue 18 point 7: the default runtime base follows the default builder (julia:<version>)'s release
    from sysimage_containers.debian_release import release_of

    for tag in images.values():
        labels = json.loads(docker("image", "inspect", "--format", "{{json .Config.Labels}}", tag).stdout)
        builder = f"julia:{labels['dev.sysimage-docker.julia-version']}"
        docker("pull", builder)
        expected = os_codename(builder)
        assert expected == release_of(builder), f"{builder} is {expected}: update debian_release.OFFICIAL_JULIA"
        assert os_codename(tag) == expected
        assert labels["org.opencontainers.image.base.name"] == f"debian:{expected}-slim"


SOCRATES = "43563e7631a7eafae1f9f8d9d332e3de44ad7239"
LAZY_PROJECT = {
    # no manifest: resolve = true resolves Artifacts and LazyArtifacts (stdlibs) in the builder
    "Project.toml": '[deps]\nArtifacts = "56f22d72-fd6d-98f1-02f0-08ddc0907c33"\n'
                    'LazyArtifacts = "4af54fe1-eca0-43a8-85a7-787d91b784e3"\n\n[compat]\njulia = "1.11"\n',
    # the lazy artifact of Pkg's own documentation (docs/src/artifacts.md), downloaded only when first used
    "Artifacts.toml": f'[socrates]\ngit-tree-sha1 = "{SOCRATES}"\nlazy = true\n\n'
                      '    [[socrates.download]]\n'
                      '    url = "https://github.com/staticfloat/small_bin/raw/master/socrates.tar.gz"\n'
                      '    sha256 = "e65d2f13f2085f2c279830e863292312a72930fee5ba3c792b14c33ce5c5cc58"\n',
    "bin/socrates.jl": 'using LazyArtifacts\nprint(read(joinpath(artifact"socrates", "bin", "socrates"), String))\n',
    # the test suite is the workload: it runs after the source (and Artifacts.toml) is copied, from test/, so a
    # relative path works as under Pkg.test (point 11), and it touches the lazy artifact (point 10)
    "test/fixture.txt": "fixture\n",
    "test/runtests.jl": 'using LazyArtifacts\n@assert read("fixture.txt", String) == "fixture\\n"\n'
                        '@assert isfile(joinpath(artifact"socrates", "bin", "socrates"))\n',
    "sysimage-docker.toml": 'script = "bin/socrates.jl"\ntest_workload = true\nresolve = true\n',
}


def test_a_lazy_artifact_the_test_suite_downloads_ships_and_works_offline(tmp_path: Path) -> None:
    # issue 18 points 10 and 11: the test suite runs from test/ in the tracer and downloads the artifact there; the
    # image must hold it, or the app downloads it at start, and fails without a network. (The same for
    # PackageCompiler's own depot in the sysimage step is proven with the stand-in: tests/test_modes_engine.py.)
    project = tmp_path / "lazy"
    for name, text in LAZY_PROJECT.items():
        (project / name).parent.mkdir(parents=True, exist_ok=True)
        (project / name).write_text(text)
    tag = f"sysimage-docker-e2e/lazy-artifact:{uuid.uuid4().hex[:8]}"
    result = subprocess.run([*CLI, "build", str(project), "-t", tag, "--progress", "plain"], text=True,
                            stderr=subprocess.PIPE, timeout=3600)
    try:
        assert result.returncode == 0, result.stderr[-3000:]
        assert f"artifact {SOCRATES}, installed while the step ran, kept in" in result.stderr
        offline = docker("run", "--rm", "--network", "none", tag, check=False)
        assert offline.returncode == 0 and offline.stdout.strip(), offline.stderr[-2000:]
        assert "Downloading" not in offline.stderr
        listed = docker("run", "--rm", "--entrypoint", "/bin/ls", tag, "/opt/julia/depot/artifacts").stdout.split()
        assert SOCRATES in listed
    finally:
        docker("image", "rm", "--force", tag, check=False)


def build_on_julia(tmp_path: Path, name: str, julia: str, config: str, source: tuple[str, str] | None = None,
                   edit: Callable[[Path], object] | None = None) -> tuple[str, subprocess.CompletedProcess]:
    """The example built with another Julia than its manifest's: the manifest is left out and the versions are
    resolved in the builder (resolve = true), as the examples' manifests are Julia 1.11.5's. `source`: a
    (file, text) to add to a source file, before its module's last line; `edit`: called with the copy."""
    project = tmp_path / name
    shutil.copytree(EXAMPLES / name, project)
    if edit is not None:
        edit(project)
    (project / "Manifest.toml").unlink()
    if source is not None:
        path = project / source[0]
        text = path.read_text()
        end = text.rindex("end # module")
        path.write_text(text[:end] + source[1] + text[end:])
    (project / "sysimage-docker.toml").write_text(f'julia_version = "{julia}"\nresolve = true\n{config}')
    tag = f"sysimage-docker-e2e/{name}-{julia}:{uuid.uuid4().hex[:8]}"
    result = subprocess.run([*CLI, "build", str(project), "-t", tag, "--progress", "plain"], text=True,
                            stderr=subprocess.PIPE, timeout=3600)
    return tag, result


@pytest.mark.parametrize("julia", ["1.11", "1.12"])
def test_a_package_project_builds_with_its_source_after_the_sysimage(images, julia: str, tmp_path: Path) -> None:
    # issue 18 point 1: create_sysimage precompiles the project's own package before its source is copied; Julia
    # 1.10.8+ refuses a package without src/<Name>.jl, so the sysimage step has a stub that must not ship
    if julia == "1.11":  # the example as it is (its manifest is Julia 1.11.5's)
        tag = images["cli-tool"]
    else:
        tag, built = build_on_julia(tmp_path, "cli-tool", julia, 'julia_main = true\n'
                                    'precompile_files = ["precompile/workload.jl"]\n')
        assert built.returncode == 0, built.stderr[-4000:]
    try:
        source = docker("run", "--rm", "--entrypoint", "/bin/cat", tag, "/app/src/WordStats.jl").stdout
        assert source == (EXAMPLES / "cli-tool" / "src" / "WordStats.jl").read_text()
        (tmp_path / "text.txt").write_text("the cat and the hat")
        out = docker("run", "--rm", "-v", f"{tmp_path}:/data:ro", tag, "/opt/sysimage-docker/julia/run_main.jl",
                     "WordStats", "/data/text.txt").stdout
        assert json.loads(out)["words"] == 5
        assert compiled_after(tag, "$ENTRY /opt/sysimage-docker/julia/run_main.jl WordStats /data/text.txt",
                              "-v", f"{tmp_path}:/data:ro") == []
    finally:
        if julia != "1.11":
            docker("image", "rm", "--force", tag, check=False)


def test_an_entryfile_package_on_1_12(tmp_path: Path) -> None:
    # Julia 1.12 loads a package from Project.toml's entryfile: the sysimage step's stub stands there too, and the
    # image runs the real source from it
    def move_source(project: Path) -> None:
        (project / "lib").mkdir()
        (project / "src" / "WordStats.jl").rename(project / "lib" / "WordStats.jl")
        (project / "src").rmdir()
        text = (project / "Project.toml").read_text()
        (project / "Project.toml").write_text('entryfile = "lib/WordStats.jl"\n' + text)

    tag, built = build_on_julia(tmp_path, "cli-tool", "1.12", 'precompile_files = ["precompile/workload.jl"]\n',
                                edit=move_source)
    assert built.returncode == 0, built.stderr[-4000:]
    try:
        (tmp_path / "text.txt").write_text("the cat and the hat")
        out = docker("run", "--rm", "-v", f"{tmp_path}:/data:ro", tag, "/opt/sysimage-docker/julia/run_main.jl",
                     "WordStats", "/data/text.txt").stdout
        assert json.loads(out)["words"] == 5
        assert docker("run", "--rm", "--entrypoint", "/bin/sh", tag, "-c", "ls /app/src", check=False).returncode != 0
    finally:
        docker("image", "rm", "--force", tag, check=False)


def test_julia_module_on_1_12(tmp_path: Path) -> None:
    # issue 18 point 2: `julia -m` is a Julia 1.12 option; its module's @main runs the service
    tag, built = build_on_julia(tmp_path, "http-service", "1.12", 'julia_module = "GreetService"\nports = [8080]\n'
                                'precompile_files = ["precompile/workload.jl"]\n',
                                source=("src/GreetService.jl", "(@main)(args) = main()\n\n"))
    name = f"sysimage-docker-e2e-{uuid.uuid4().hex[:8]}"
    try:
        assert built.returncode == 0, built.stderr[-4000:]
        assert json.loads(docker("image", "inspect", "--format", "{{json .Config.Cmd}}", tag).stdout) == [
            "-m", "GreetService"]
        docker("run", "-d", "--name", name, "-p", "127.0.0.1:18081:8080", tag)
        assert first_json("http://127.0.0.1:18081/greet/e2e", time.monotonic() + 180)["greeting"] == "Hello, e2e!"
    finally:
        docker("rm", "--force", name, check=False)
        docker("image", "rm", "--force", tag, check=False)


def test_no_stock_stdlib_caches_and_a_stdlib_outside_the_sysimage_is_baked_in_the_depot(images,
                                                                                      tmp_path: Path) -> None:
    # issue 18 point 5: the stock share/julia/compiled is rejected by a custom sysimage, so it does not ship; a
    # stdlib the app uses but the sysimage lacks is compiled into the baked depot by the app precompile
    listing = docker("run", "--rm", "--entrypoint", "/bin/sh", images["http-service"], "-c",
                     "ls /usr/local/julia/share/julia/compiled 2>&1; true").stdout
    assert "No such file" in listing
    # and a stdlib the script loads without declaring it: the app precompile compiles it too
    project = tmp_path / "hello"
    shutil.copytree(EXAMPLES / "hello", project)
    script = project / "bin" / "hello.jl"
    script.write_text("using Test: @test\n" + script.read_text())
    tag = f"sysimage-docker-e2e/hello-stdlibs:{uuid.uuid4().hex[:8]}"
    built = subprocess.run([*CLI, "build", str(project), "-t", tag, "--progress", "plain", "--exclude", "Dates"],
                           text=True, stderr=subprocess.PIPE, timeout=3600)
    try:
        assert built.returncode == 0, built.stderr[-3000:]
        assert "loads the stdlib Test, which is not in [deps]: compiling it too" in built.stderr
        assert compiled_after(tag, "$ENTRY /app/bin/hello.jl e2e") == []
        assert docker("run", "--rm", tag, "/app/bin/hello.jl", "e2e").stdout.startswith("Hello, e2e! It is ")
    finally:
        docker("image", "rm", "--force", tag, check=False)
