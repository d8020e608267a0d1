"""`bench` without an engine: what its flags and charts say, and refusals that must come before any timed run."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from sysimage_containers.bench import Timing, terminal_chart


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
