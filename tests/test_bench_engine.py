"""`sysimage-docker bench` on a real engine. The stand-in julia's start-up delays are set per image kind (with -J:
JULIA_STANDIN_START_SYSIMAGE, without: _STOCK), so the table must give back those numbers and their ratio; they
are the stand-in's delays, not Julia's, as the output's header says."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest

pytestmark = pytest.mark.docker
# far apart, so that the order holds on a loaded host; only lower bounds are asserted of the times themselves
# (a busy engine adds to each start, never takes away)
SYSIMAGE_DELAY, STOCK_DELAY = 0.2, 3.0
DELAYS = ("-e", f"JULIA_STANDIN_START_SYSIMAGE={SYSIMAGE_DELAY}", "-e", f"JULIA_STANDIN_START_STOCK={STOCK_DELAY}")


def check_times(faster: list[str], slower: list[str]) -> None:
    """Each median at least its configured delay, the order of the two, and the ratio the table's own numbers
    give (medians shown to 3 decimals, the ratio to 2)."""
    fast, slow = float(faster[2]), float(slower[2])
    assert fast >= SYSIMAGE_DELAY and slow >= STOCK_DELAY and slow > fast
    assert float(faster[5]) == 1.0 and abs(float(slower[5]) - slow / fast) <= 0.01 + 0.001 * slow / fast ** 2


def rows(stdout: str) -> dict[str, list[str]]:
    """The table's rows by mode."""
    out = {}
    for line in stdout.splitlines():
        cells = [c.strip() for c in line.strip("│ ").split("│")]
        if len(cells) == 6 and cells[2].replace(".", "").isdigit():
            out[cells[1]] = cells
    return out


def test_a_project_against_its_pkgimage_build(docker_env, example, tmp_path: Path) -> None:
    project = example("hello")
    meta = tmp_path / "build.json"
    meta.write_text(json.dumps({"schema": "sysimage-docker/build-metadata/1", "image_id": "sha256:kept"}))
    chart = tmp_path / "charts" / "startup"
    result = docker_env.cli("bench", project, "-n", "3", *DELAYS, "--chart", chart, "--metadata-file", meta,
                            COLUMNS="200")
    assert result.returncode == 0, result.stderr
    assert "(the stand-in julia of sysimage-docker's tests: these are its configured delays, not Julia's)" in (
        result.stdout)
    table = rows(result.stdout)
    assert set(table) == {"sysimage", "pkgimage"}
    check_times(table["sysimage"], table["pkgimage"])
    assert table["pkgimage"][0] == "hello:latest-pkgimage"
    bars = [line for line in result.stdout.splitlines() if "█" in line]
    assert len(bars) == 2 and bars[1].count("█") == 40 and bars[0].count("█") < 40
    assert bars[0].startswith("hello:latest (sysimage) ") and bars[1].startswith("hello:latest-pkgimage (pkgimage) ")
    png, svg = chart.with_name("startup.png"), chart.with_name("startup.svg")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and "<svg" in svg.read_text()
    data = json.loads(meta.read_text())
    assert data["image_id"] == "sha256:kept"  # the build's metadata stays
    assert [i["mode"] for i in data["bench"]["images"]] == ["sysimage", "pkgimage"] and data["bench"]["standin"]
    assert len(data["bench"]["images"][1]["runs"]) == 3
    # a regression gate: over the limit exits 1, under it passes; images can be named directly
    slow = docker_env.cli("bench", "hello:latest", "hello:latest-pkgimage", "-n", "1", *DELAYS,
                          "--max-startup", "0.1")
    assert slow.returncode == 1
    assert slow.stderr.strip().startswith("sysimage-docker: error: hello:latest: median start-to-exit ")
    assert slow.stderr.strip().endswith("is over --max-startup 0.1 s")
    fast = docker_env.cli("bench", "hello:latest", "-n", "1", *DELAYS, "--max-startup", "30")
    assert fast.returncode == 0, fast.stderr


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_a_service_is_timed_to_its_first_answer(docker_env, example) -> None:
    port = str(free_port())
    result = docker_env.cli("bench", example("http-service"), "-n", "2", *DELAYS, "-e",
                            f"JULIA_STANDIN_SERVE_PORT={port}", COLUMNS="200", SYSIMAGE_DOCKER_PORTS=port)
    assert result.returncode == 0, result.stderr
    table = rows(result.stdout)
    assert set(table) == {"sysimage (service)", "pkgimage (service)"}
    check_times(table["sysimage (service)"], table["pkgimage (service)"])
    leftover = docker_env.docker("ps", "-a", "--filter", "name=sysimage-docker-bench-", "--format", "{{.Names}}")
    assert leftover.stdout.strip() == ""  # each timed service was removed
