"""Behaviours the mutation check found untested."""

from __future__ import annotations

import json
import shutil
import tomllib
from pathlib import Path
from types import SimpleNamespace
from typing import ClassVar

import pytest
from conftest import EXAMPLES
from test_init import GENIE_UUID, _init_project

from sysimage_containers import engine as engine_package
from sysimage_containers.engine import ImageInfo

STANDIN_JULIA = "/usr/local/julia/bin/julia"


class BenchEngine:
    """An engine for `bench IMAGE`: every image runs julia (the stand-in when `standin`), each start takes the next
    of `seconds`."""

    seconds: ClassVar[list[float]] = []
    standin = True

    @classmethod
    def from_config(cls, cfg: object) -> BenchEngine:
        return cls()

    def detect(self) -> None:
        return None

    def inspect(self, image: str) -> ImageInfo:
        return ImageInfo(id="sha256:0", size=0, tags=(image,), labels={"dev.sysimage-docker.mode": "sysimage"},
                         entrypoint=(STANDIN_JULIA, "--project=/app"))

    def run_capture(self, image: str, program: str, args: list[str], network: str | None):
        assert program == STANDIN_JULIA
        return 0, "julia version 1.11.5 (standin)\n" if self.standin else "julia version 1.11.5\n", ""

    def run_timed(self, image: str, args: tuple[str, ...], *, env: tuple = (), network: str | None = None):
        return 0, self.seconds.pop(0), ""


def bench(cli, monkeypatch: pytest.MonkeyPatch, seconds: list[float], *args: str, standin: bool = True):
    monkeypatch.setattr(engine_package, "Engine", BenchEngine, raising=False)
    monkeypatch.setattr(BenchEngine, "seconds", list(seconds))
    monkeypatch.setattr(BenchEngine, "standin", standin)
    return cli("bench", *args)


def test_bench_of_two_runs_says_runs_and_names_the_standin_julia(cli, monkeypatch) -> None:
    result = bench(cli, monkeypatch, [1.0, 2.0], "app:1", "-n", "2")
    assert result.code == 0, result.err
    assert result.out.splitlines()[0] == (
        "start to exit (services: to the first answer), 2 runs each (the stand-in julia of sysimage-docker's "
        "tests: these are its configured delays, not Julia's)")
    one = bench(cli, monkeypatch, [1.0], "app:1", "-n", "1", standin=False)
    assert one.code == 0, one.err
    assert one.out.splitlines()[0] == "start to exit (services: to the first answer), 1 run each"


def test_bench_metadata_rounds_times_to_milliseconds_and_ratios_to_hundredths(cli, monkeypatch,
                                                                            tmp_path: Path) -> None:
    record = tmp_path / "bench.json"
    result = bench(cli, monkeypatch, [1.0, 1.23456, 3.33333], "app:1", "app:2", "app:3", "-n", "1",
                   "--metadata-file", str(record))
    assert result.code == 0, result.err
    data = json.loads(record.read_text())["bench"]
    assert data["standin"] is True and data["runs"] == 1
    first, second, third = data["images"]
    assert (first["max"], first["ratio"]) == (1.0, 1.0)
    assert (second["median"], second["min"], second["max"], second["runs"], second["ratio"]) == (
        1.235, 1.235, 1.235, [1.235], 1.23)
    assert (third["max"], third["ratio"]) == (3.333, 3.33)


def test_a_base_image_that_cannot_be_fetched_is_named_in_the_hint() -> None:
    import io

    from rich.console import Console

    from sysimage_containers.build import failure_message
    from sysimage_containers.progress import ProgressView

    def message(lines: list[str]) -> str:
        view = ProgressView(Console(file=io.StringIO()), "plain")
        for line in lines:
            view.line(line)
        return failure_message(view).splitlines()[-1]

    way_out = ("check the name and your access to its registry (docker login); or choose another with "
               "--builder-image / --runtime-image")
    buildkit = ["#2 [internal] load metadata for docker.io/library/julia:9.9.9",
                "#2 ERROR: docker.io/library/julia:9.9.9: not found",
                "ERROR: failed to solve: julia:9.9.9: failed to resolve source metadata for "
                "docker.io/library/julia:9.9.9: docker.io/library/julia:9.9.9: not found"]
    assert message(buildkit) == f"hint: the base image docker.io/library/julia:9.9.9 could not be fetched: {way_out}"
    classic = ["Step 1/12 : FROM example.invalid/julia:1.11.5 AS deps",
               "manifest for example.invalid/julia:1.11.5 not found: manifest unknown: manifest unknown"]
    assert message(classic) == f"hint: the base image example.invalid/julia:1.11.5 could not be fetched: {way_out}"


def test_the_sysimage_size_is_the_copied_sysimage_layer_not_any_copy_or_any_mention() -> None:
    from sysimage_containers.build import compiled_layer_size

    class Layers:
        def layer_sizes(self, tag: str) -> list[tuple[int, str]]:
            return [(1, "COPY dir:abc in /app"), (2, "RUN /bin/sh -c ls /opt/sysimage/sys.so"),
                    (300, "COPY file:def in /opt/sysimage/sys.so"), (4, "COPY dir:ghi in /opt/app")]

    plan = SimpleNamespace(mode="sysimage", sysimage_path="/opt/sysimage/sys.so")
    assert compiled_layer_size(Layers(), "app:1", plan) == 300
    assert compiled_layer_size(Layers(), "app:1", SimpleNamespace(mode="app", sysimage_path="")) == 4
    assert compiled_layer_size(Layers(), "app:1", SimpleNamespace(mode="pkgimage", sysimage_path="")) is None


def test_build_verify_checks_the_image_it_built(cli, example, monkeypatch) -> None:
    from test_engine_unit import RecordingEngine

    from sysimage_containers import build as build_module

    report = {"sysimage": "/opt/sysimage/sys.so", "julia_version": "1.11.5", "cpu_target": "generic",
              "baked": [{"name": "JSON", "baked": "0.21.3", "manifest": "0.21.4"}], "from_depot": []}
    verified: list[str] = []

    class VerifyingEngine(RecordingEngine):
        def ensure_local(self, image: str) -> bool:
            return True

        def inspect(self, reference: str) -> ImageInfo:
            return ImageInfo(id="sha256:" + "0" * 64, size=1000, tags=(reference,),
                             labels={"dev.sysimage-docker.mode": "sysimage"}, entrypoint=(STANDIN_JULIA,))

        def run_capture(self, image: str, program: str, args: list[str], network: str | None = None):
            verified.append(image)
            return 0, json.dumps(report) + "\n", ""

    monkeypatch.setattr(build_module, "Engine", VerifyingEngine)
    monkeypatch.setattr(engine_package, "Engine", VerifyingEngine, raising=False)
    monkeypatch.setattr(RecordingEngine, "requests", [])
    monkeypatch.setattr(RecordingEngine, "contexts", [])
    result = cli("build", example("hello"), "-t", "app:1", "--verify")
    assert verified == ["app:1"]
    assert result.code == 1
    assert "app:1: sysimage /opt/sysimage/sys.so, Julia 1.11.5, CPU target generic" in result.err
    assert result.err.rstrip().endswith("app:1: baked versions differ from the manifest for JSON (rebuild the "
                                        "image: packages in a sysimage are locked to their build-time version)")


def test_options_markdown_prints_the_readme_table(cli) -> None:
    result = cli("options", "--markdown")
    assert result.code == 0, result.err
    assert result.out.startswith("<!-- options-table:begin") and "\n| `builder_packages` |" in result.out
    assert result.out in (EXAMPLES.parent / "README.md").read_text()


def test_a_builder_package_name_may_be_200_characters_not_201(cli, example) -> None:
    project = example("hello")
    assert cli("generate", project, "--builder-package", "a" * 200).code == 0
    result = cli("generate", project, "--builder-package", "a" * 201)
    assert (result.code, result.out) == (2, "")
    assert result.err == (f"sysimage-docker: error: --builder-package: '{'a' * 201}' is not a system package name "
                          "(letters, digits and . + _ -, optionally =VERSION)\n")


OXYGEN_UUID = "df9a0d86-3283-4920-82dc-4555fc0d1d8b"


@pytest.mark.parametrize(("deps", "files", "port", "origin"), [
    ({"Oxygen": OXYGEN_UUID}, {"main.jl": 'using Oxygen\n@get "/" function(req) "hi" end\n'}, 8080,
     "the default port of Oxygen (no port found in the code)"),
    ({"Genie": GENIE_UUID}, {"app.jl": 'using Genie\nroute("/") do; "hi"; end\n'}, 8000, "the default port of Genie"),
    ({"Mux": "a975b10e-0019-58db-a62f-e48ff68538c9"},
     {"main.jl": 'using Mux\n@app site = (Mux.defaults, page("/", respond("hi")))\nwait(serve(site))\n'}, 8000,
     "the default port of Mux (no port found in the code)"),
])
def test_init_proposes_the_frameworks_default_port_when_the_code_names_none(deps, files, port, origin, cli,
                                                                            tmp_path: Path) -> None:
    project = _init_project(tmp_path, files, deps)
    result = cli("init", project)
    assert result.code == 0, result.err
    assert tomllib.loads((project / "sysimage-docker.toml").read_text())["ports"] == [port]
    assert f"ports = [{port}] ({origin})" in result.err


def test_init_takes_no_port_from_an_up_call_without_genie(cli, tmp_path: Path) -> None:
    project = _init_project(tmp_path, {"main.jl": "include(\"lib.jl\")\nup()\n", "lib.jl": "up() = println(1)\n"}, {})
    result = cli("init", project)
    assert result.code == 0, result.err
    data = tomllib.loads((project / "sysimage-docker.toml").read_text())
    assert data["script"] == "main.jl" and "ports" not in data


def test_init_comments_each_option_with_its_own_help_and_example(example, cli) -> None:
    from sysimage_containers.options import OPTIONS

    project = example("hello")
    (project / "sysimage-docker.toml").unlink()
    assert cli("init", project).code == 0
    text = (project / "sysimage-docker.toml").read_text()
    assert "# julia_version = \"1.11.5\"\n" in text
    assert text.index("# Julia to build with") < text.index("# julia_version = ") < text.index("# Image of the builder")
    for option in OPTIONS:
        assert f"# {option.key} = {option.example}\n" in text or f"\n{option.key} = " in text, option.key


def test_from_dockerfile_maps_defaults_packages_scripts_writable_dirs_and_eval(cli, tmp_path: Path) -> None:
    project = shutil.copytree(EXAMPLES / "hello", tmp_path / "p")
    (project / "sysimage-docker.toml").unlink()
    (project / "deploy").mkdir()
    (project / "deploy" / "setup.jl").write_text('println("setup")\n')
    (project / "Dockerfile").write_text(
        "ARG TAG=1.11.5\nARG EMPTY=\nFROM julia:${TAG:-1.10.4}\nWORKDIR /app\nCOPY . .\n"
        "RUN apt-get update && apt-get install curl && apk add git\n"
        "RUN julia deploy/setup.jl\n"
        "RUN mkdir -p /data /home/julia/x && chown -R 1000 /data /home/julia/x\n"
        "ENV GREETING=${EMPTY:-hello}\n"
        'CMD ["julia", "--eval", "println(1)"]\n')
    result = cli("init", project, "--from-dockerfile")
    assert result.code == 0, result.err
    data = tomllib.loads((project / "sysimage-docker.toml").read_text())
    assert data == {
        "julia_version": "1.11.5",  # ${TAG:-...} of a set TAG is TAG
        "precompile_files": ["precompile/workload.jl"],
        "system_packages": ["curl"], "builder_packages": ["git"],  # `apt-get install NAME` without flags
        "hooks": {"after_instantiate": ["deploy/setup.jl"]},  # a plain julia script is a hook
        "writable_paths": ["/data"],  # a directory outside the app; the user's home is the image's own
        "env": {"GREETING": "hello"},
        "command": ["-e", "println(1)"],  # --eval is -e
    }
    assert (project / "deploy" / "setup.jl").read_text() == 'println("setup")\n'
