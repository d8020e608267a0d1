"""`sysimage-docker init`: detection, a commented file, and re-runs that only add missing keys."""

from __future__ import annotations

import tomllib

from sysimage_containers.options import OPTIONS


def test_init_detects_service_settings(example, cli) -> None:
    project = example("http-service")
    (project / "sysimage-docker.toml").unlink()
    result = cli("init", project)
    assert result.code == 0, result.err
    assert 'detected: script = "bin/server.jl", precompile_files = ["precompile/workload.jl"]' in result.err
    data = tomllib.loads((project / "sysimage-docker.toml").read_text())
    assert data == {"script": "bin/server.jl", "precompile_files": ["precompile/workload.jl"], "ports": [8080],
                    "healthcheck_path": "/health"}
    text = (project / "sysimage-docker.toml").read_text()
    for option in OPTIONS:  # every option is present, active or as a commented example
        assert f"{option.key} = " in text
    # the generated file is valid configuration
    assert cli("generate", project).code == 0


def test_init_detects_julia_main(example, cli) -> None:
    project = example("cli-tool")
    (project / "sysimage-docker.toml").unlink()
    assert cli("init", project).code == 0
    assert tomllib.loads((project / "sysimage-docker.toml").read_text())["julia_main"] is True


def test_rerun_keeps_comments_and_order_and_adds_missing(example, cli) -> None:
    project = example("hello")
    original = '# my own note\nscript = "bin/hello.jl"  # keep me\nprecompile_files = ["precompile/workload.jl"]\n'
    (project / "sysimage-docker.toml").write_text(original)
    result = cli("init", project)
    assert result.code == 0
    text = (project / "sysimage-docker.toml").read_text()
    assert text.startswith(original)
    assert "# julia_version = " in text
    assert cli("init", project).err == "sysimage-docker.toml: up to date, nothing added\n"


def test_init_without_project(tmp_path, cli) -> None:
    result = cli("init", tmp_path)
    assert result.code == 2 and "no Project.toml" in result.err
    assert not (tmp_path / "sysimage-docker.toml").exists()


def test_rerun_on_a_file_ending_with_a_table_keeps_new_keys_top_level(example, cli) -> None:
    project = example("http-service")
    (project / "sysimage-docker.toml").write_text('ports = [8080]\n\n[labels]\n"org.example.team" = "web"\n')
    assert cli("init", project).code == 0
    data = tomllib.loads((project / "sysimage-docker.toml").read_text())
    assert data["labels"] == {"org.example.team": "web"}
    assert data["script"] == "bin/server.jl" and data["ports"] == [8080]
    assert cli("generate", project).code == 0


def test_init_detects_a_genie_app_and_its_start_command(example, cli) -> None:
    project = example("genie-app")
    (project / "sysimage-docker.toml").unlink()
    assert cli("init", project).code == 0
    data = tomllib.loads((project / "sysimage-docker.toml").read_text())
    assert data["command"] == ["-e", 'using Genie; Genie.loadapp(); up(8000, "0.0.0.0"; async=false)']
    assert data["ports"] == [8000] and data["healthcheck_path"] == "/health"
    assert cli("generate", project).code == 0


def test_init_detects_main_macro_only_for_julia_1_12(example, cli) -> None:
    # `julia -m` is a Julia 1.12 option (HISTORY.md 1.12, #52103); 1.11 brought only @main
    project = example("http-service")
    (project / "sysimage-docker.toml").unlink()
    (project / "bin" / "server.jl").unlink()
    with (project / "src" / "GreetService.jl").open("a") as fh:
        fh.write("\n(@main)(args) = (println(\"serving\"); 0)\n")
    manifest = project / "Manifest.toml"
    written = manifest.read_text()
    manifest.write_text(written.replace('julia_version = "1.11.5"', 'julia_version = "1.12.7"'))
    assert cli("init", project).code == 0
    data = tomllib.loads((project / "sysimage-docker.toml").read_text())
    assert data["julia_module"] == "GreetService"
    assert cli("generate", project).out.rstrip().endswith('CMD ["-m", "GreetService"]')
    # a manifest of Julia 1.11: `julia -m` does not exist there, so nothing is proposed
    (project / "sysimage-docker.toml").unlink()
    manifest.write_text(written)
    assert cli("init", project).code == 0
    assert "julia_module" not in tomllib.loads((project / "sysimage-docker.toml").read_text())


def test_init_reads_the_port_of_a_serve_call(example, cli) -> None:
    project = example("hello")
    (project / "sysimage-docker.toml").unlink()
    (project / "bin" / "server.jl").write_text("using HTTP\nHTTP.serve(handler, \"0.0.0.0\", 9090)\n")
    assert cli("init", project).code == 0
    assert tomllib.loads((project / "sysimage-docker.toml").read_text())["ports"] == [9090]
