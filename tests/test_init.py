"""`sysimage-docker init`: detection, a commented file, and re-runs that only add missing keys."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from conftest import EXAMPLES

from sysimage_containers.options import OPTIONS


def test_init_detects_service_settings(example, cli) -> None:
    project = example("http-service")
    (project / "sysimage-docker.toml").unlink()
    result = cli("init", project)
    assert result.code == 0, result.err
    assert result.err.endswith(
        '(detected: precompile_files = ["precompile/workload.jl"] (a usual workload name), script = "bin/server.jl" '
        '(bin/server.jl: a usual entry-script name), ports = [8080] (src/GreetService.jl:20: the PORT default), '
        'healthcheck_path = "/health" (src/GreetService.jl:16: a route))\n')
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


ENTRY_KEYS = ("script", "julia_main", "command", "julia_module")


@pytest.mark.parametrize("name", sorted(p.name for p in EXAMPLES.iterdir() if (p / "Project.toml").is_file()))
def test_init_detects_the_entry_point_of_every_example(name: str, example, cli) -> None:
    project = example(name)
    configured = tomllib.loads((project / "sysimage-docker.toml").read_text())
    (project / "sysimage-docker.toml").unlink()
    assert cli("init", project).code == 0
    detected = tomllib.loads((project / "sysimage-docker.toml").read_text())
    assert {k: detected.get(k) for k in ENTRY_KEYS} == {k: configured.get(k) for k in ENTRY_KEYS}
    assert detected.get("ports") == configured.get("ports")


def _init_project(tmp_path, files: dict[str, str], deps: dict[str, str] | None = None) -> Path:
    project = tmp_path / "p"
    project.mkdir()
    lines = ["[deps]", *(f'{k} = "{v}"' for k, v in (deps or {}).items())]
    (project / "Project.toml").write_text("\n".join(lines) + "\n")
    for name, text in files.items():
        (project / name).parent.mkdir(parents=True, exist_ok=True)
        (project / name).write_text(text)
    return project


HTTP_UUID = "cd3eb016-35fb-5094-929b-558a96fad6f3"
GENIE_UUID = "c43c736e-a2d1-11e8-161f-af95117fbd1e"
PLUTO_UUID = "c3e4b0f8-55cb-11ea-2926-15256bba5781"
SLIDER_UUID = "2fc8631c-6f24-4c5b-bca7-cbb509c42db4"
OXYGEN_UUID = "df9a0d86-3283-4920-82dc-4555fc0d1d8b"


@pytest.mark.parametrize(("files", "deps", "expected"), [
    # a literal in HTTP.serve, not HTTP.jl's default 8081
    ({"bin/run_server.jl": 'using HTTP\nHTTP.serve(h, "0.0.0.0", 9000)\n', "bin/util.jl": "f() = 1\n"},
     {"HTTP": HTTP_UUID}, {"script": "bin/run_server.jl", "ports": [9000],
                           "origin": "(bin/run_server.jl:2: HTTP.serve)"}),
    # a constant named in the call
    ({"server.jl": 'using HTTP\nconst PORT = 8000\nHTTP.serve(h, "0.0.0.0", PORT)\n'},
     {"HTTP": HTTP_UUID}, {"script": "server.jl", "ports": [8000], "origin": "(server.jl:3: HTTP.serve)"}),
    # an environment default through a variable
    ({"bin/main.jl": 'using Oxygen\nport = parse(Int, get(ENV, "PORT", "8000"))\nserve(host="0.0.0.0", port=port)\n'},
     {"Oxygen": OXYGEN_UUID}, {"script": "bin/main.jl", "ports": [8000], "origin": "(bin/main.jl:3: serve)"}),
    ({"app.jl": 'using Oxygen\nOxygen.serve(port=8080, host="0.0.0.0")\n'},
     {"Oxygen": OXYGEN_UUID}, {"script": "app.jl", "ports": [8080], "origin": "(app.jl:2: Oxygen.serve)"}),
    # Pluto's settings in a start script under src/
    ({"src/start_notebook.jl": "import Pluto\nPluto.run(host=\"0.0.0.0\", port=1234, launch_browser=false)\n"},
     {"Pluto": PLUTO_UUID}, {"script": "src/start_notebook.jl", "ports": [1234],
                             "origin": "(src/start_notebook.jl:2: Pluto.run)"}),
    ({"start.jl": "using PlutoSliderServer\nPlutoSliderServer.run_directory(\"notebooks\"; "
                  "SliderServer_host=\"0.0.0.0\", SliderServer_port=8080)\n"},
     {"PlutoSliderServer": SLIDER_UUID},
     {"script": "start.jl", "ports": [8080], "origin": "(start.jl:2: PlutoSliderServer.run_directory)"}),
    # Genie: an app file that never calls up() is no script; the command serves on the configured port
    ({"app.jl": "using Genie\nroute(\"/\") do; \"hi\"; end\n",
      "config/env/prod.jl": "using Genie\nGenie.Configuration.config!(server_port = 9090)\n"},
     {"Genie": GENIE_UUID},
     {"command": ["-e", 'using Genie; Genie.loadapp(); up(9090, "0.0.0.0"; async=false)'], "ports": [9090],
      "origin": "(config/env/prod.jl:2: Genie's server_port)"}),
    ({"app.jl": "using Genie\nroute(\"/\") do; \"hi\"; end\nup(8001, \"0.0.0.0\", async=false)\n"},
     {"Genie": GENIE_UUID}, {"script": "app.jl", "ports": [8001], "origin": "(app.jl:3: up)"}),
])
def test_init_reads_entry_script_and_port_from_the_code(files, deps, expected, cli, tmp_path) -> None:
    project = _init_project(tmp_path, files, deps)
    result = cli("init", project)
    assert result.code == 0, result.err
    data = tomllib.loads((project / "sysimage-docker.toml").read_text())
    assert {k: data[k] for k in data if k in (*ENTRY_KEYS, "ports")} == {
        k: v for k, v in expected.items() if k != "origin"}
    assert f"ports = {data['ports']} {expected['origin']}" in result.err


@pytest.mark.parametrize("source", ["function (@main)(args)\n    0\nend\n", "function @main(args)\n    0\nend\n",
                                    "@main function run(args)\n    0\nend\n"])
def test_init_finds_main_in_every_spelling(source: str, example, cli) -> None:
    project = example("http-service")
    (project / "sysimage-docker.toml").unlink()
    (project / "bin" / "server.jl").unlink()
    with (project / "src" / "GreetService.jl").open("a") as fh:
        fh.write("\n" + source)
    # `julia -m` is Julia 1.12's: a 1.11 manifest gets no julia_module
    result = cli("init", project)
    assert "julia_module" not in tomllib.loads((project / "sysimage-docker.toml").read_text())
    (project / "sysimage-docker.toml").unlink()
    manifest = project / "Manifest.toml"
    manifest.write_text(manifest.read_text().replace('julia_version = "1.11.5"', 'julia_version = "1.12.1"'))
    result = cli("init", project)
    assert tomllib.loads((project / "sysimage-docker.toml").read_text())["julia_module"] == "GreetService"
    assert 'julia_module = "GreetService" (src/GreetService.jl:' in result.err


def test_rerun_does_not_claim_commented_examples_as_added(example, cli) -> None:
    project = example("hello")
    (project / "sysimage-docker.toml").write_text('precompile_files = ["precompile/workload.jl"]\n')
    result = cli("init", project)
    assert result.err.startswith('sysimage-docker.toml: set script = "bin/hello.jl" (bin/hello.jl: the only script in '
                                 "bin/); added ")
    assert " options as commented examples (julia_version, " in result.err
    assert "added julia_version" not in result.err
