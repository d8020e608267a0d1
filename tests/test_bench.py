"""`bench` without an engine: what is timed how, the table, the charts, what its flags say, and refusals that
must come before any timed run."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from sysimage_containers import bench
from sysimage_containers.bench import Timing, terminal_chart
from sysimage_containers.engine import ImageInfo
from sysimage_containers.errors import BuildFailed


class FakeEngine:
    def __init__(self, ports: tuple[str, ...] = (), labels: dict[str, str] | None = None,
                 runs: list[tuple[int, float, str]] | None = None) -> None:
        self.info = ImageInfo(id="sha256:0", size=0, tags=(), labels=labels or {}, exposed_ports=ports)
        self.runs = list(runs or [])
        self.services: list[tuple[str, int, str]] = []

    def inspect(self, image: str) -> ImageInfo:
        return self.info

    def run_timed(self, image: str, args: tuple[str, ...], *, env: tuple = (), network: str | None = None):
        return self.runs.pop(0)

    def time_service(self, image: str, port: int, path: str, *, env: tuple = ()) -> float:
        self.services.append((image, port, path))
        return 2.5


def test_a_command_is_timed_to_its_exit_and_a_failing_run_stops_the_benchmark() -> None:
    engine = FakeEngine(runs=[(0, 1.0, ""), (0, 3.0, ""), (0, 2.0, "")])
    timing = bench.measure(engine, "app:1", "sysimage", (), None, 3)
    assert (timing.label, timing.runs, timing.median) == ("sysimage", (1.0, 3.0, 2.0), 2.0)
    failing = FakeEngine(runs=[(0, 1.0, ""), (3, 0.5, "loading\nERROR: boom\n")])
    with pytest.raises(BuildFailed, match=r"^app:1 exited 3 during the benchmark: ERROR: boom$"):
        bench.measure(failing, "app:1", "sysimage", (), None, 2)
    with pytest.raises(BuildFailed, match=r"^app:1 exited 1 during the benchmark: exit 1$"):
        bench.measure(FakeEngine(runs=[(1, 0.5, "")]), "app:1", "sysimage", (), None, 1)


def test_a_service_is_timed_to_its_first_answer_on_its_lowest_port() -> None:
    engine = FakeEngine(ports=("9090/tcp", "8080/tcp"), labels={"dev.sysimage-docker.healthcheck-path": "/health"})
    timing = bench.measure(engine, "svc:1", "sysimage", (), None, 2)
    assert timing.label == "sysimage (service)" and timing.runs == (2.5, 2.5)
    assert engine.services == [("svc:1", 8080, "/health")] * 2
    assert bench.service_port(FakeEngine(ports=("8080/tcp",)), "svc:1") == (8080, "/")
    assert bench.service_port(FakeEngine(), "cli:1") is None


def test_rows_and_the_terminal_chart() -> None:
    timings = [bench.Timing("a:1", "sysimage", (1.0, 1.2, 0.8)), bench.Timing("a:1-pkgimage", "pkgimage", (4.0,))]
    assert bench.rows(timings) == [
        {"image": "a:1", "mode": "sysimage", "median": 1.0, "min": 0.8, "max": 1.2, "runs": [1.0, 1.2, 0.8],
         "ratio": 1.0},
        {"image": "a:1-pkgimage", "mode": "pkgimage", "median": 4.0, "min": 4.0, "max": 4.0, "runs": [4.0],
         "ratio": 4.0}]
    assert bench.rows([bench.Timing("z", "x", (0.0,))])[0]["ratio"] is None
    assert bench.terminal_chart(timings) == [f"a:1 (sysimage)          {'█' * 10} 1.00 s",
                                             f"a:1-pkgimage (pkgimage) {'█' * 40} 4.00 s"]
    tiny = bench.terminal_chart([bench.Timing("a", "long label", (0.001,)), bench.Timing("b", "b", (9.0,))])
    assert tiny == [f"a (long label) {'█'} 0.00 s", f"b (b)          {'█' * 40} 9.00 s"]  # every bar shows


def test_charts_are_written_as_png_and_svg(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")  # the plot extra; the test extra installs it
    timings = [bench.Timing("a:1", "sysimage", (1.0, 1.2)), bench.Timing("a:1-pkgimage", "pkgimage", (4.0,))]
    written = bench.write_charts(timings, tmp_path / "out" / "chart", "2 starts each")
    assert written == [tmp_path / "out" / "chart.png", tmp_path / "out" / "chart.svg"]
    assert written[0].read_bytes().startswith(b"\x89PNG") and b"<svg" in written[1].read_bytes()

def test_two_images_of_one_mode_are_told_apart_in_the_chart() -> None:
    lines = terminal_chart([Timing("registry.example.com/app:1", "sysimage", (0.5, 0.6, 0.7)),
                            Timing("registry.example.com/app:0.9", "sysimage", (1.2,))])
    assert lines[0].startswith("registry.example.com/app:1 (sysimage)   █")
    assert lines[1].startswith("registry.example.com/app:0.9 (sysimage) █")
    assert lines[0].endswith(" 0.60 s") and lines[1].count("█") == 40 and lines[0].count("█") == 20


def test_chart_without_matplotlib_fails_before_anything_runs(cli, monkeypatch: pytest.MonkeyPatch,
                                                             tmp_path: Path) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # as if the plot extra were not installed
    # an engine that does not exist: reaching it would be exit 3, not this exit 2
    result = cli("bench", "some/image:1", "--chart", tmp_path / "startup",
                 env={"SYSIMAGE_DOCKER_DOCKER_CLIENT": str(tmp_path / "no-such-docker")})
    assert (result.code, result.err) == (2, "sysimage-docker: error: --chart needs matplotlib: pip install "
                                            "'sysimage-docker[plot]' (without --chart, bench prints a terminal "
                                            "chart that needs nothing)\n")
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("command", ["run", "verify", "bench", "sbom", "doctor"])
def test_commands_that_build_nothing_take_no_cache_repo(cli, command: str) -> None:
    shown = cli(command, "--help").out
    assert "--cache-repo" not in shown
    if command == "run":  # its unknown options are the app's arguments
        return
    result = cli(command, "--cache-repo", "registry.example.com/c")
    assert (result.code, result.err) == (2, "sysimage-docker: error: No such option '--cache-repo'.\n")


@pytest.mark.parametrize("command", ["run", "verify", "sbom"])
def test_network_is_described_as_the_container_s(cli, command: str) -> None:
    shown = " ".join(cli(command, "--help").out.split())
    assert "Network of the container this command starts" in shown and "RUN steps" not in shown


def test_build_keeps_both_and_doctor_takes_no_network(cli) -> None:
    build = " ".join(cli("build", "--help").out.split())
    assert "--cache-repo" in build and "Network mode of the RUN steps during the build" in build
    assert "--network" not in cli("doctor", "--help").out
