"""The pure planner: layer order, path dependencies, CPU targets, entrypoint; no docker, no templates."""

from __future__ import annotations

import shutil
from pathlib import Path

import dockerfile
import pytest
from conftest import EXAMPLES, tree_files

from sysimage_containers.pipeline import prepare
from sysimage_containers.plan import TRACE_FILE


def steps(text: str) -> list[str]:
    return [f"{c.cmd} {' '.join(c.value)}" for c in dockerfile.parse_string(text)]


def index_of(lines: list[str], needle: str) -> int:
    return next(i for i, line in enumerate(lines) if needle in line)


def test_layer_order_for_rebuild_speed() -> None:
    lines = steps(prepare(EXAMPLES / "http-service").files["Dockerfile"])
    order = [
        index_of(lines, "install_packagecompiler.jl"),
        index_of(lines, "COPY app/Manifest.toml"),
        index_of(lines, "instantiate.jl"),
        index_of(lines, "COPY app/precompile/workload.jl"),
        index_of(lines, "build_sysimage.jl"),
        index_of(lines, "COPY app/ /app/"),
        index_of(lines, "precompile_app.jl"),
    ]
    assert order == sorted(order)
    # the app source (src/) reaches the builder only after the sysimage
    assert index_of(lines, "COPY app/ /app/") > index_of(lines, "build_sysimage.jl")


X86_3 = "generic;sandybridge,-xsaveopt,clone_all;haswell,-rdrnd,base(1)"
# julia-buildkite #540 (2026-05-30) on release-1.10 to 1.13: neoverse-512tvb without rand and fpac
ARM_NEW = "generic;cortex-a57;thunderx2t99;carmel,clone_all;apple-m1,base(3);neoverse-512tvb,-rand,-fpac,base(3)"


@pytest.mark.parametrize(("julia", "amd64", "arm64"), [
    ("1.12", X86_3 + ";x86-64-v4,-rdrnd,base(1)", ARM_NEW),
    ("1.11", X86_3 + ";x86-64-v4,-rdrnd,base(1)", ARM_NEW),
    ("1.10", X86_3, ARM_NEW),
    ("1.9", X86_3, "generic;cortex-a57;thunderx2t99;carmel"),
    ("1.6", X86_3, "generic;cortex-a57;thunderx2t99;carmel"),
])
def test_portable_cpu_targets_follow_the_official_builds_of_each_version(julia: str, amd64: str, arm64: str,
                                                                         tmp_path: Path) -> None:
    project = tmp_path / "p"
    shutil.copytree(EXAMPLES / "hello", project)
    manifest = project / "Manifest.toml"
    manifest.write_text("".join(line for line in manifest.read_text().splitlines(keepends=True)
                                if not line.startswith("julia_version")))
    plan = prepare(project, cli={"julia_version": julia}).plan
    assert plan.julia_version.startswith(julia + ".")
    assert plan.cpu_targets == (("amd64", amd64), ("arm64", arm64))
    # the tracer records as PackageCompiler does; --pkgimages exists from Julia 1.9
    assert plan.tracer_flags == (("--compile=all", "--pkgimages=no") if julia != "1.6" else ("--compile=all",))
    assert prepare(EXAMPLES / "hello", cli={"cpu_target": "native"}).plan.cpu_targets == (("default", "native"),)


def test_app_package_is_never_baked_by_default() -> None:
    plan = prepare(EXAMPLES / "cli-tool").plan
    assert [p.name for p in plan.baked] == ["JSON3"]
    assert plan.cmd == ("/opt/sysimage-docker/julia/run_main.jl", "WordStats")  # the name travels as an argument


def test_entrypoint_and_depot_paths() -> None:
    plan = prepare(EXAMPLES / "http-service").plan
    assert plan.entrypoint[:4] == ("/usr/local/julia/bin/julia", "-J/usr/local/julia/lib/julia/sys.so",
                                   "--project=/app", "--startup-file=no")
    assert plan.depot_path_builder == "/opt/julia/depot:"
    # a writable per-user depot stacked in front of the read-only baked one
    assert ("JULIA_DEPOT_PATH", "/home/julia/.julia:/opt/julia/depot:") in plan.runtime_env
    assert plan.builder_data()["packages"] == ["HTTP", "JSON3"]


def test_monorepo_path_dependency_outside_the_project(tmp_path: Path, cli) -> None:
    repo = tmp_path / "repo"
    shutil.copytree(EXAMPLES / "hello", repo / "apps" / "hello")
    (repo / ".git").mkdir()  # the repository is the root path dependencies may come from
    lib = repo / "libs" / "Greeter"
    (lib / "src").mkdir(parents=True)
    (lib / "Project.toml").write_text('name = "Greeter"\nuuid = "1b7c2f0e-2a43-4b44-9a0e-3f4d5e6a7b8c"\n')
    (lib / "src" / "Greeter.jl").write_text("module Greeter\nend\n")
    project = repo / "apps" / "hello"
    greeter = '[deps]\nGreeter = "1b7c2f0e-2a43-4b44-9a0e-3f4d5e6a7b8c"'
    text = (project / "Project.toml").read_text().replace("[deps]", greeter)
    (project / "Project.toml").write_text(text)
    with (project / "Manifest.toml").open("a") as fh:
        fh.write('\n[[deps.Greeter]]\npath = "../../libs/Greeter"\nuuid = "1b7c2f0e-2a43-4b44-9a0e-3f4d5e6a7b8c"\n'
                 'version = "0.1.0"\n')
    out = tmp_path / "ctx"
    result = cli("generate", project, "-o", out)
    assert result.code == 0, result.err
    assert "path dependency Greeter (../../libs/Greeter) copied into the context as app/libs/Greeter/" in result.err
    files = tree_files(out / "app")
    assert "libs/Greeter/src/Greeter.jl" in files and "apps/hello/bin/hello.jl" in files
    dockerfile_text = (out / "Dockerfile").read_text()
    # the relative path in the manifest still holds in the image: /app/apps/hello/../../libs/Greeter
    assert 'COPY ["app/libs/Greeter", "/app/libs/Greeter"]' in dockerfile_text
    assert '"--project=/app/apps/hello"' in dockerfile_text


def test_context_holds_only_what_the_image_needs(tmp_path: Path, example, cli) -> None:
    project = example("http-service")
    (project / ".git").mkdir()
    (project / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    # a stale versioned manifest of an older Julia: the plain one (1.11.5) is newer and wins
    (project / "Manifest-v1.10.toml").write_text('julia_version = "1.10.4"\nmanifest_format = "2.0"\n')
    (project / "data").mkdir()
    (project / "data" / "big.csv").write_text("a,b\n")
    out = tmp_path / "ctx"
    result = cli("generate", project, "-o", out, env={})
    assert result.code == 0, result.err
    files = tree_files(out)
    assert ".git" not in " ".join(files)
    assert "app/Manifest-v1.10.toml" not in files  # Julia 1.11 would not load it
    assert "app/data/big.csv" in files
    assert {"Dockerfile", ".dockerignore", "sysimage-docker/plan.toml", "sysimage-docker/julia/build_sysimage.jl",
            "app/src/GreetService.jl", "app/precompile/workload.jl"} <= set(files)
    # context_exclude leaves data out
    out2 = tmp_path / "ctx2"
    assert cli("generate", project, "-o", out2, env={"SYSIMAGE_DOCKER_CONTEXT_EXCLUDE": "data"}).code == 0
    assert not any(f.startswith("app/data") for f in tree_files(out2))


def test_regenerating_into_an_earlier_output_replaces_it(tmp_path: Path, cli) -> None:
    out = tmp_path / "ctx"
    assert cli("generate", EXAMPLES / "hello", "-o", out).code == 0
    (out / "stale.txt").write_text("old")
    assert cli("generate", EXAMPLES / "hello", "-o", out).code == 0
    assert not (out / "stale.txt").exists()


@pytest.mark.parametrize(("mode", "sysimages"), [
    ("sysimage", ["COPY --from=builder /opt/sysimage-docker/build/sys.so /usr/local/julia/lib/julia/sys.so"]),
    ("pkgimage", []),
])
def test_exactly_one_sysimage_as_julias_default(mode: str, sysimages: list[str]) -> None:
    text = prepare(EXAMPLES / "hello", cli={"mode": mode}).files["Dockerfile"]
    runtime = text[text.index("AS runtime"):]
    assert [line for line in runtime.splitlines() if line.startswith("COPY") and "sys.so" in line] == sysimages
    # the Julia tree comes without the stock sysimage only where the custom one replaces it
    tree = "COPY --from=builder /opt/sysimage-docker/julia-runtime /usr/local/julia"
    assert (tree in runtime) == (mode == "sysimage")
    assert ("-J/usr/local/julia/lib/julia/sys.so" in runtime) == (mode == "sysimage")


def test_app_mode_runtime_has_a_writable_depot_and_only_the_bundle() -> None:
    plan = prepare(EXAMPLES / "cli-tool", cli={"mode": "app"}).plan
    text = prepare(EXAMPLES / "cli-tool", cli={"mode": "app"}).files["Dockerfile"]
    runtime = text[text.index("AS runtime"):]
    assert ("JULIA_DEPOT_PATH", "/home/julia/.julia") in plan.runtime_env
    assert [line for line in runtime.splitlines() if line.startswith("COPY")] == [
        "COPY --from=builder /opt/sysimage-docker/app /opt/app",
        "COPY --from=builder /opt/sysimage-docker/homes/ /home/",
        'COPY ["sysimage-docker/sbom.cdx.json", "/opt/sysimage-docker/sbom.cdx.json"]']
    assert "WORKDIR /home/julia" in runtime


def test_workload_kinds_reach_the_scripts_data() -> None:
    data = prepare(EXAMPLES / "http-service", cli={
        "allow_workload_errors": True, "trace": True, "statements_files": ["precompile/workload.jl"],
    }).plan.builder_data()
    assert data["allow_workload_errors"] is True
    assert data["run_workloads"] is False  # the trace stage runs them; the sysimage step gets statements
    assert data["statements_files"] == ["/app/precompile/workload.jl", TRACE_FILE]
    assert data["precompile_files"] == ["/app/precompile/workload.jl"]
    plain = prepare(EXAMPLES / "http-service").plan.builder_data()
    assert plain["run_workloads"] is True and plain["statements_files"] == []


def test_warmup_requests_in_the_data_file(example, tmp_path: Path) -> None:
    project = example("http-service")
    config = project / "sysimage-docker.toml"
    warmup = 'warmup = [{ path = "/health" }, { method = "post", path = "/greet/x", body = "{}", status = 201 }]\n'
    config.write_text(warmup + config.read_text())
    prepared = prepare(project)
    assert prepared.plan.trace  # implied
    assert prepared.plan.builder_data()["warmup"] == [
        {"method": "GET", "path": "/health", "body": "", "status": 200},
        {"method": "POST", "path": "/greet/x", "body": "{}", "status": 201},
    ]
    assert 'script = "/app/bin/server.jl"' in prepared.files["sysimage-docker/plan.toml"]
    # the tracer stage needs the app source; the builder's sysimage step does not
    text = prepared.files["Dockerfile"]
    tracer = text[text.index("AS tracer"):text.index("AS trace\n")]
    builder = text[text.index("AS builder"):text.index("AS runtime")]
    assert 'COPY ["app/", "/app/"]' in tracer
    assert builder.index("build_sysimage.jl") < builder.index('COPY ["app/", "/app/"]')


def test_app_mode_has_no_julia_installation_in_the_runtime() -> None:
    text = prepare(EXAMPLES / "cli-tool", cli={"mode": "app", "precompile_files": None}).files["Dockerfile"]
    runtime = text[text.index("AS runtime"):]
    assert "/usr/local/julia" not in runtime and "/opt/julia/depot" not in runtime
    assert 'ENTRYPOINT ["/opt/app/bin/WordStats"]' in runtime


def test_earlier_outputs_inside_the_project_are_not_copied(example, cli) -> None:
    project = example("hello")
    assert cli("generate", project, "-o", project / "build-a").code == 0
    assert cli("generate", project, "-o", project / "build-b").code == 0
    files = tree_files(project / "build-b")
    assert not any(f.startswith("app/build-a") for f in files)
    assert "app/bin/hello.jl" in files


def test_a_project_path_with_a_space_stays_one_shell_word(tmp_path: Path, cli) -> None:
    import shlex

    repo = tmp_path / "repo"
    shutil.copytree(EXAMPLES / "hello", repo / "apps" / "my app")
    (repo / ".git").mkdir()  # the repository is the root path dependencies may come from
    shutil.copytree(EXAMPLES / "hello", repo / "libs" / "Greeter")  # a path dependency outside the project
    project = repo / "apps" / "my app"
    (repo / "libs" / "Greeter" / "Project.toml").write_text(
        'name = "Greeter"\nuuid = "1b7c2f0e-2a43-4b44-9a0e-3f4d5e6a7b8c"\n')
    uuid = "1b7c2f0e-2a43-4b44-9a0e-3f4d5e6a7b8c"
    text = (project / "Project.toml").read_text().replace("[deps]", f'[deps]\nGreeter = "{uuid}"')
    (project / "Project.toml").write_text(text)
    with (project / "Manifest.toml").open("a") as fh:
        fh.write(f'\n[[deps.Greeter]]\npath = "../../libs/Greeter"\nuuid = "{uuid}"\n')
    result = cli("generate", project)
    assert result.code == 0, result.err
    runs = [c.value[0] for c in dockerfile.parse_string(result.out) if c.cmd == "RUN" and "--project=/app/" in
            c.value[0]]
    assert len(runs) == 2  # instantiate and the app precompile
    for run in runs:
        assert "--project=/app/apps/my app" in shlex.split(run.replace("\\\n", " "))


@pytest.mark.parametrize("name", ["LocalPreferences.toml", "JuliaLocalPreferences.toml"])
def test_local_preferences_arrive_before_instantiate_and_the_sysimage(example, name: str) -> None:
    # Julia reads the first of JuliaLocalPreferences.toml / LocalPreferences.toml beside the project file
    # (base/loading.jl preferences_names); packages baked into the sysimage must see them when compiled
    project = example("http-service")
    (project / name).write_text('[HTTP]\nuse_openssl = false\n')
    lines = steps(prepare(project).files["Dockerfile"])
    copied = index_of(lines, f"COPY app/{name} /app/{name}")
    assert copied < index_of(lines, "instantiate.jl") < index_of(lines, "build_sysimage.jl")


def test_hook_and_package_layers_keep_the_rebuild_order(example) -> None:
    project = example("pycall-app")
    lines = steps(prepare(project).files["Dockerfile"])
    order = [
        index_of(lines, "install_packages.sh python3"),
        index_of(lines, "ENV PYTHON"),
        index_of(lines, "install_packagecompiler.jl"),
        index_of(lines, "instantiate.jl"),
        index_of(lines, "deploy/build_pycall.jl"),
        index_of(lines, "build_sysimage.jl"),
        index_of(lines, "COPY app/ /app/"),
        index_of(lines, "precompile_app.jl"),
    ]
    assert order == sorted(order)


def test_dry_run_json_is_the_plan(cli) -> None:
    import json

    result = cli("build", EXAMPLES / "pycall-app", "--dry-run", "--json", "-t", "reg.example.com/py:1")
    assert result.code == 0, result.err
    plan = json.loads(result.out)
    assert plan["schema"] == "sysimage-docker/plan/1" and plan["tags"] == ["reg.example.com/py:1"]
    assert plan["packages"] == [{"name": "PyCall", "version": "1.96.4"}]
    assert plan["system_packages"] == ["python3"] and plan["hooks"] == {"after_instantiate": ["deploy/build_pycall.jl"]}
    assert plan["cmd"] == ["/app/bin/main.jl"] and plan["julia_version"] == "1.11.7"


def test_the_project_license_becomes_the_oci_label(example) -> None:
    project = example("http-service")
    text = (project / "Project.toml").read_text()
    (project / "Project.toml").write_text(text.replace('version = "0.1.0"', 'version = "0.1.0"\nlicense = "MIT"'))
    assert 'org.opencontainers.image.licenses="MIT"' in prepare(project).files["Dockerfile"]


def hello_on(tmp_path: Path, julia: str) -> Path:
    """examples/hello with its manifest's julia_version removed, so `julia_version` decides."""
    project = tmp_path / "p"
    shutil.copytree(EXAMPLES / "hello", project)
    manifest = project / "Manifest.toml"
    manifest.write_text("".join(line for line in manifest.read_text().splitlines(keepends=True)
                                if not line.startswith("julia_version")))
    return project


# docker-library/julia's history: bookworm under the bare tags from 1.9.1 to 1.11.5 (and 1.10.9), trixie since
# 25081b4 (2025-08-08) for 1.10.10+, 1.11.6+ and 1.12
@pytest.mark.parametrize(("julia", "builder", "runtime"), [
    ("1.11.5", "julia:1.11.5", "debian:bookworm-slim"),
    ("1.11.6", "julia:1.11.6", "debian:trixie-slim"),
    ("1.12", "julia:1.12.", "debian:trixie-slim"),
    ("1.10.9", "julia:1.10.9", "debian:bookworm-slim"),
    ("1.9.0", "julia:1.9.0", "debian:bullseye-slim"),
])
def test_the_default_runtime_is_the_default_builders_debian_release(julia: str, builder: str, runtime: str,
                                                                     tmp_path: Path) -> None:
    prepared = prepare(hello_on(tmp_path, julia), cli={"julia_version": julia})
    plan = prepared.plan
    assert plan.builder_image.startswith(builder) and plan.runtime_image == runtime
    assert f"\nFROM {runtime} AS runtime\n" in prepared.files["Dockerfile"]
    assert dict(plan.labels)["org.opencontainers.image.base.name"] == runtime
    assert not [w for w in plan.warnings if "Debian" in w]


@pytest.mark.parametrize(("builder", "runtime"), [
    ("julia:1.12.7-bookworm", "debian:bookworm-slim"),   # a tag that names its release decides
    ("julia:1.10-bookworm", "debian:bookworm-slim"),
    ("127.0.0.1:5000/mirror/julia:1.11.7-trixie", "debian:trixie-slim"),
    ("python:3.12-slim-bullseye", "debian:bullseye-slim"),
    ("debian:12", "debian:bookworm-slim"),
    ("registry.example.com/team/julia:1.11.5", "debian:trixie-slim"),  # not the official image: unknown
])
def test_a_builder_image_decides_the_runtime_release(builder: str, runtime: str) -> None:
    plan = prepare(EXAMPLES / "hello", cli={"builder_image": builder}).plan
    assert plan.runtime_image == runtime


def test_a_set_runtime_image_is_kept() -> None:
    plan = prepare(EXAMPLES / "hello", cli={"runtime_image": "ubuntu:24.04"}).plan
    assert plan.runtime_image == "ubuntu:24.04"


@pytest.mark.parametrize(("cli", "warning"), [
    ({"runtime_image": "debian:trixie-slim"},
     "builder julia:1.11.5 (Debian bookworm) and runtime debian:trixie-slim (Debian trixie) are different Debian "
     "releases, with system_packages: a library path or soname a build step records (PyCall's libpython, RCall, "
     "GDAL) may be missing at run time; use images of one release (an unset runtime_image follows the builder's)"),
    ({"runtime_image": "ubuntu:24.04"},
     "builder julia:1.11.5 (Debian bookworm) and runtime ubuntu:24.04 (release unknown) may not be the same Debian "
     "release, with system_packages: a library path or soname a build step records (PyCall's libpython, RCall, "
     "GDAL) may be missing at run time; use images of one release (an unset runtime_image follows the builder's)"),
    ({"builder_image": "registry.example.com/julia:1.11.5"},
     "builder registry.example.com/julia:1.11.5 (release unknown) and runtime debian:trixie-slim (Debian trixie) "
     "may not be the same Debian release, with system_packages: "),
])
def test_images_of_different_releases_with_system_packages_warn_in_one_line(cli: dict[str, str], warning: str,
                                                                              tmp_path: Path) -> None:
    project = tmp_path / "p"
    shutil.copytree(EXAMPLES / "hello", project)
    (project / "sysimage-docker.toml").write_text('system_packages = ["libgomp1"]\n')
    warnings = [w for w in prepare(project, cli=cli).plan.warnings if "Debian" in w]
    assert len(warnings) == 1 and warnings[0].startswith(warning) and "\n" not in warnings[0]
    # no system packages and no build hooks: nothing a build step records, no warning
    (project / "sysimage-docker.toml").write_text("")
    assert not [w for w in prepare(project, cli=cli).plan.warnings if "Debian" in w]


def test_same_release_images_and_build_hooks_do_not_warn_but_different_ones_do(tmp_path: Path) -> None:
    project = tmp_path / "p"
    shutil.copytree(EXAMPLES / "pycall-app", project)  # python3 and an after_instantiate hook
    same = prepare(project, cli={"runtime_image": "debian:13-slim"}).plan
    assert not [w for w in same.warnings if "Debian" in w]
    (project / "sysimage-docker.toml").write_text(
        (project / "sysimage-docker.toml").read_text().replace('system_packages = ["python3"]\n', ""))
    other = prepare(project, cli={"runtime_image": "debian:bookworm-slim"}).plan
    assert [w for w in other.warnings if "Debian" in w] == [
        "builder julia:1.11.7-trixie (Debian trixie) and runtime debian:bookworm-slim (Debian bookworm) are "
        "different Debian releases, with build hooks: a library path or soname a build step records (PyCall's "
        "libpython, RCall, GDAL) may be missing at run time; use images of one release (an unset runtime_image "
        "follows the builder's)"]


def test_the_release_warning_is_one_stderr_line_of_generate(cli, tmp_path: Path) -> None:
    project = tmp_path / "p"
    shutil.copytree(EXAMPLES / "pycall-app", project)  # python3 in system_packages, julia:1.11.7-trixie
    result = cli("generate", project, env={"SYSIMAGE_DOCKER_RUNTIME_IMAGE": "debian:bookworm-slim"})
    assert result.code == 0 and "FROM debian:bookworm-slim AS runtime" in result.out
    lines = [line for line in result.err.splitlines() if "Debian" in line]
    assert lines == ["sysimage-docker: warning: builder julia:1.11.7-trixie (Debian trixie) and runtime "
                     "debian:bookworm-slim (Debian bookworm) are different Debian releases, with system_packages and "
                     "build hooks: a library path or soname a build step records (PyCall's libpython, RCall, GDAL) "
                     "may be missing at run time; use images of one release (an unset runtime_image follows the "
                     "builder's)"]
    assert not [line for line in cli("generate", project).err.splitlines() if "Debian" in line]
def test_the_sysimage_step_gets_a_stub_source_only_when_the_source_comes_later(tmp_path: Path) -> None:
    # create_sysimage precompiles the project's own package (Julia 1.10.8+ refuses it without src/<Name>.jl), and
    # the source is copied after that step: a stub stands in, made and removed in the step's own RUN
    plan = prepare(EXAMPLES / "cli-tool").plan
    assert (plan.source_stubs, plan.source_stub_dirs, plan.source_stub_rmdirs) == (
        ("/app/src/WordStats.jl",), ("/app/src",), ("/app/src",))
    lines = steps(prepare(EXAMPLES / "cli-tool").files["Dockerfile"])
    step = " ".join(lines[index_of(lines, "build_sysimage.jl")].split())
    assert step.startswith("RUN ") and (
        "mkdir -p /app/src && { [ -e /app/src/WordStats.jl ] || { printf 'module %s\\nend\\n' WordStats > "
        "/app/src/WordStats.jl && : > /app/src/WordStats.jl.sysimage-docker-stub; }; } && ") in step
    assert step.index("/app/src/WordStats.jl") < step.index("build_sysimage.jl") < step.index(
        "rm /app/src/WordStats.jl /app/src/WordStats.jl.sysimage-docker-stub; } && "
        "{ rmdir /app/src 2>/dev/null || :; }")
    # no stub: the source is there already (include_project, app), no sysimage step, not a package
    for cli in ({"include_project": True}, {"mode": "app"}, {"mode": "pkgimage"}):
        assert prepare(EXAMPLES / "cli-tool", cli=cli).plan.source_stubs == (), cli
    assert prepare(EXAMPLES / "hello").plan.source_stubs == ()
    # a workload under src/: the directory exists before the step, so only the stub is removed
    project = tmp_path / "cli-tool"
    shutil.copytree(EXAMPLES / "cli-tool", project)
    shutil.copy(project / "precompile" / "workload.jl", project / "src" / "workload.jl")
    plan = prepare(project, cli={"precompile_files": ["src/workload.jl"]}).plan
    assert (plan.source_stubs, plan.source_stub_rmdirs) == (("/app/src/WordStats.jl",), ())
    assert "rmdir" not in steps(prepare(project, cli={"precompile_files": ["src/workload.jl"]}
                                            ).files["Dockerfile"])[index_of(lines, "build_sysimage.jl")]


def test_an_entryfile_gets_its_own_stub(tmp_path: Path) -> None:
    # Julia 1.12 reads the package from Project.toml's entryfile (julia #53939): a stub there too, besides
    # src/<Name>.jl, whichever a version looks for; the directories the step makes are removed, deepest first
    project = tmp_path / "cli-tool"
    shutil.copytree(EXAMPLES / "cli-tool", project)
    text = (project / "Project.toml").read_text()
    (project / "Project.toml").write_text('entryfile = "./lib/core//WordStats.jl"\n' + text)
    plan = prepare(project).plan
    assert plan.source_stubs == ("/app/src/WordStats.jl", "/app/lib/core/WordStats.jl")
    assert plan.source_stub_dirs == ("/app/src", "/app/lib/core")
    assert plan.source_stub_rmdirs == ("/app/lib/core", "/app/lib", "/app/src")
    step = steps(prepare(project).files["Dockerfile"])
    step = " ".join(step[index_of(step, "build_sysimage.jl")].split())
    assert "mkdir -p /app/src /app/lib/core && { [ -e /app/src/WordStats.jl ] || " in step
    assert "; } && { [ -e /app/lib/core/WordStats.jl ] || { printf 'module %s\\nend\\n' WordStats > " \
           "/app/lib/core/WordStats.jl && : > /app/lib/core/WordStats.jl.sysimage-docker-stub; }; } && " in step
    assert step.endswith("{ [ ! -e /app/lib/core/WordStats.jl.sysimage-docker-stub ] || rm /app/lib/core/WordStats.jl "
                         "/app/lib/core/WordStats.jl.sysimage-docker-stub; } && "
                         "{ rmdir /app/lib/core /app/lib /app/src 2>/dev/null || :; }")
    # the entryfile is src/<Name>.jl itself, or a workload copy already: one stub, or none for it
    (project / "Project.toml").write_text('entryfile = "src/WordStats.jl"\n' + text)
    assert prepare(project).plan.source_stubs == ("/app/src/WordStats.jl",)
    (project / "Project.toml").write_text('entryfile = "precompile/workload.jl"\n' + text)
    plan = prepare(project).plan
    assert (plan.source_stubs, plan.source_stub_rmdirs) == (("/app/src/WordStats.jl",), ("/app/src",))
    # inside a directory copied before the step (a path dependency): no stub that would replace, then remove, a file
    # of it; and none at src/ itself, a directory of the other stub
    local = project / "deps" / "Local"
    (local / "src").mkdir(parents=True)
    (local / "Project.toml").write_text('name = "Local"\nuuid = "00000000-0000-4000-8000-000000000077"\n')
    (local / "src" / "Local.jl").write_text("module Local end\n")
    with (project / "Manifest.toml").open("a") as fh:
        fh.write('\n[[deps.Local]]\npath = "deps/Local"\nuuid = "00000000-0000-4000-8000-000000000077"\n')
    (project / "Project.toml").write_text('entryfile = "deps/Local/src/Local.jl"\n' + text)
    plan = prepare(project).plan
    assert any(c.dest == "/app/deps/Local" for c in plan.dependency_copies)
    assert plan.source_stubs == ("/app/src/WordStats.jl",)
    (project / "Project.toml").write_text('entryfile = "src"\n' + text)
    assert prepare(project).plan.source_stubs == ("/app/src/WordStats.jl",)
    # `path`, the older spelling, is what Julia reads first
    (project / "Project.toml").write_text('entryfile = "lib/A.jl"\npath = "lib/B.jl"\n' + text)
    assert prepare(project).plan.source_stubs == ("/app/src/WordStats.jl", "/app/lib/B.jl")


def test_cache_flags_and_the_sysimage_build_args() -> None:
    args = ["--threads=auto", "-O3", "--pkgimages=no", "--check-bounds=no", "-g2", "--inline=no"]
    prepared = prepare(EXAMPLES / "http-service", cli={"julia_args": args, "trace": True})
    plan = prepared.plan
    # jl_match_cache_flags: pkgimages, check-bounds, inline, debug and optimisation levels
    assert plan.cache_flags == ("-O3", "--pkgimages=no", "--check-bounds=no", "-g2", "--inline=no")
    # what changes generated code also builds the sysimage (create_sysimage's sysimage_build_args)
    assert plan.codegen_flags == ("-O3", "--check-bounds=no", "-g2", "--inline=no")
    assert plan.builder_data()["sysimage_build_args"] == ["-O3", "--check-bounds=no", "-g2", "--inline=no"]
    lines = steps(prepared.files["Dockerfile"])
    assert "-O3 --pkgimages=no --check-bounds=no -g2 --inline=no --startup-file=no" in lines[
        index_of(lines, "precompile_app.jl")]
    # the tracer records with package images off, as PackageCompiler does, whatever julia_args say
    assert "--compile=all --pkgimages=no -O3 --check-bounds=no -g2 --inline=no --startup-file=no" in lines[
        index_of(lines, "--trace-compile")]


@pytest.mark.parametrize(("julia", "warned"), [("1.10", True), ("1.11", False)])
def test_coverage_flags_before_1_11_warn(julia: str, warned: bool, tmp_path: Path) -> None:
    # Julia 1.11 NEWS (#52123): before it, code coverage and allocation tracking stop package caches from being used
    project = tmp_path / "p"
    shutil.copytree(EXAMPLES / "hello", project)
    manifest = project / "Manifest.toml"
    manifest.write_text(manifest.read_text().replace('julia_version = "1.11.5"', f'julia_version = "{julia}.0"'))
    plan = prepare(project, cli={"julia_args": ["--code-coverage=user", "--track-allocation"]}).plan
    expected = (f"julia_args: --code-coverage, --track-allocation stops Julia {julia}.0 from using package caches "
                "(fixed in Julia 1.11): every package outside the sysimage is compiled again at each start")
    assert (expected in plan.warnings) == warned

def test_the_scripts_get_the_first_port_or_0_for_none() -> None:
    assert prepare(EXAMPLES / "http-service").plan.builder_data()["port"] == 8080
    assert prepare(EXAMPLES / "hello").plan.builder_data()["port"] == 0


def test_a_timezone_installs_tzdata_once() -> None:
    # timezone needs tzdata in the runtime image: added when missing, not again when listed (pinned or not)
    plan = prepare(EXAMPLES / "hello", cli={"timezone": "Europe/Berlin"}).plan
    assert plan.system_packages.count("tzdata") == 1
    for listed in ("tzdata", "tzdata=2025b-1"):
        plan = prepare(EXAMPLES / "hello", cli={"timezone": "Europe/Berlin", "system_packages": [listed]}).plan
        assert [p for p in plan.system_packages if p.startswith("tzdata")] == [listed]
    assert "tzdata" not in prepare(EXAMPLES / "hello").plan.system_packages
