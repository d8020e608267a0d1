"""Adoption points of issue 20 that need no engine: --resolve on a project without dependencies, a path
dependency in a git submodule that is not checked out, and the runtime PATH rendering."""

from __future__ import annotations

import shutil
from pathlib import Path

from conftest import EXAMPLES


def test_resolve_without_dependencies_says_so(tmp_path: Path, cli) -> None:
    project = tmp_path / "empty"
    project.mkdir()
    (project / "Project.toml").write_text('name = "Empty"\nuuid = "5f0c8e7a-3d0b-4c51-9a44-2c6f1f0e8b1e"\n')
    (project / "main.jl").write_text('println("hi")\n')
    result = cli("generate", project, "--resolve", "--script", "main.jl")
    assert result.code == 0, result.err
    assert ("sysimage-docker: warning: resolve = true, but Project.toml has no [deps]: there is nothing to resolve, "
            "and the sysimage holds no package") in result.err


def test_a_path_dependency_in_a_missing_submodule_is_named(tmp_path: Path, cli) -> None:
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    (repo / ".gitmodules").write_text('[submodule "libs/Lib"]\n\tpath = libs/Lib\n\turl = https://example.com/Lib.git\n')
    (repo / "libs" / "Lib").mkdir(parents=True)  # git leaves the directory empty until `submodule update`
    project = shutil.copytree(EXAMPLES / "hello", repo / "app")
    with (project / "Manifest.toml").open("a") as fh:
        fh.write('\n[[deps.Lib]]\npath = "../libs/Lib"\nuuid = "00000000-0000-4000-8000-000000000009"\n')
    result = cli("generate", project)
    assert result.code == 2
    assert result.err == (f"sysimage-docker: error: Manifest.toml: path dependency Lib at '../libs/Lib': no "
                          f"Project.toml in {repo / 'libs' / 'Lib'}: it is a git submodule that is not checked out "
                          "(git submodule update --init)\n")
    # without the .gitmodules entry, no such claim
    (repo / ".gitmodules").write_text("")
    assert "submodule" not in cli("generate", project).err


def test_julia_goes_in_front_of_the_base_path(cli) -> None:
    out = cli("generate", EXAMPLES / "hello").out
    assert ('ENV PATH="/usr/local/julia/bin:${PATH:-/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin}" \\'
            in out)
    assert 'PATH="/opt/app/bin:${PATH:-' in cli("generate", EXAMPLES / "cli-tool", "--mode", "app").out


def _warmup_project(tmp_path: Path, entry: str) -> Path:
    project = shutil.copytree(EXAMPLES / "http-service", tmp_path / "p")
    config = project / "sysimage-docker.toml"
    config.write_text(config.read_text().replace('script = "bin/server.jl"', entry)
                      .replace("ports = [8080]", 'ports = [8080]\nwarmup = [{ path = "/health" }]'))
    if entry.startswith("julia_module"):  # `julia -m` is Julia 1.12's
        manifest = project / "Manifest.toml"
        manifest.write_text(manifest.read_text().replace('julia_version = "1.11.5"', 'julia_version = "1.12.1"'))
    return project


def test_warmup_starts_a_command_or_a_module_as_the_container_would(tmp_path: Path, cli) -> None:
    import tomllib

    cases = {
        'command = ["-e", "using GreetService; GreetService.main(8080)", "--verbose"]':
            {"kind": "eval", "value": "using GreetService; GreetService.main(8080)", "args": ["--verbose"]},
        'julia_module = "GreetService"': {"kind": "module", "value": "GreetService", "args": []},
        'command = ["bin/server.jl", "--port", "8080"]':
            {"kind": "script", "value": "/app/bin/server.jl", "args": ["--port", "8080"]},
        'script = "bin/server.jl"': {"kind": "script", "value": "/app/bin/server.jl", "args": []},
    }
    for index, (entry, expected) in enumerate(cases.items()):
        project = _warmup_project(tmp_path / str(index), entry)
        out = tmp_path / str(index) / "out"
        result = cli("generate", project, "-o", out)
        assert result.code == 0, result.err
        plan = tomllib.loads((out / "sysimage-docker" / "plan.toml").read_text())
        assert plan["warmup_entry"] == expected and plan["warmup"] == [
            {"method": "GET", "path": "/health", "body": "", "status": 200}]
        # the trace stage runs it with the app's source
        assert "FROM deps AS tracer" in (out / "Dockerfile").read_text()


def test_code_to_run_first_goes_in_julia_args_not_a_startup_file(cli) -> None:
    # the documented way in for a startup.jl: the fixed --startup-file=no stays, -L loads the file first
    out = cli("generate", EXAMPLES / "hello", "--julia-arg=-L", "--julia-arg=/app/startup.jl").out
    assert ('ENTRYPOINT ["/usr/local/julia/bin/julia", "-J/usr/local/julia/lib/julia/sys.so", "--project=/app", '
            '"--startup-file=no", "-L", "/app/startup.jl"]') in out


def test_plain_init_points_at_a_dockerfile(example, cli) -> None:
    project = example("hello")
    (project / "sysimage-docker.toml").unlink()
    (project / "Dockerfile").write_text("FROM julia:1.11.5\n")
    result = cli("init", project)
    assert result.err.rstrip().endswith("; a Dockerfile is here: `init --from-dockerfile` maps it")
