"""`sysimage-docker bench`: what users feel, side by side in one run. Each image is started N times and timed from
`run` to the exit of its command, or, for a service (an image that exposes a port), to its first HTTP answer
there (the health-check path, else `/`); the table has median, min, max and the
ratio to the first image, a terminal bar chart always, PNG and SVG charts with the optional plotting extra.

The peer of a project's image is the same project built with `mode = pkgimage` (a precompiled depot and no custom
sysimage), tagged `<tag>-pkgimage` and reused while that tag exists. With the test suite's stand-in `julia` the
numbers are its configured delays, and the header says so."""

from __future__ import annotations

import os
import statistics
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sysimage_containers.errors import BuildFailed, UsageError

BAR = 40  # characters of the longest bar


@dataclass(frozen=True)
class Timing:
    image: str
    label: str  # what the image is: its mode
    runs: tuple[float, ...]

    @property
    def median(self) -> float:
        return statistics.median(self.runs)


def service_port(engine: Any, image: str) -> tuple[int, str] | None:
    """A service image (it exposes a port) is timed to its first answer there: (port, path probed)."""
    info = engine.inspect(image)
    ports = sorted(int(p.split("/")[0]) for p in info.exposed_ports)
    if not ports:
        return None
    return ports[0], info.labels.get("dev.sysimage-docker.healthcheck-path") or "/"


def measure(engine: Any, image: str, label: str, env: tuple[tuple[str, str], ...], network: str | None,
            runs: int) -> Timing:
    service = service_port(engine, image)
    seconds = []
    for _ in range(runs):
        if service is not None:
            seconds.append(engine.time_service(image, service[0], service[1], env=env))
            continue
        status, elapsed, err = engine.run_timed(image, (), env=env, network=network)
        if status != 0:
            last = (err.strip().splitlines() or [f"exit {status}"])[-1]
            raise BuildFailed(f"{image} exited {status} during the benchmark: {last}")
        seconds.append(elapsed)
    return Timing(image=image, label=label if service is None else f"{label} (service)", runs=tuple(seconds))


def rows(timings: list[Timing]) -> list[dict[str, Any]]:
    base = timings[0].median
    return [{"image": t.image, "mode": t.label, "median": round(t.median, 3), "min": round(min(t.runs), 3),
             "max": round(max(t.runs), 3), "runs": [round(r, 3) for r in t.runs],
             "ratio": round(t.median / base, 2) if base > 0 else None} for t in timings]


def terminal_chart(timings: list[Timing]) -> list[str]:
    """One bar per image, named by the image (two images of the same mode must not look alike)."""
    longest = max(t.median for t in timings) or 1.0
    names = [f"{t.image} ({t.label})" for t in timings]
    width = max(len(n) for n in names)
    return [f"{name:<{width}} {'█' * max(1, round(BAR * t.median / longest))} {t.median:.2f} s"
            for name, t in zip(names, timings, strict=True)]


def require_matplotlib() -> None:
    """Checked before anything is built or timed: a missing extra must not surface after minutes of runs."""
    import importlib.util

    if importlib.util.find_spec("matplotlib") is None:
        raise UsageError("--chart needs matplotlib: pip install 'sysimage-docker[plot]' (without --chart, bench "
                         "prints a terminal chart that needs nothing)")


def write_charts(timings: list[Timing], base: Path, title: str) -> list[Path]:
    """base.png and base.svg: median bars with min-max whiskers (matplotlib, the `plot` extra)."""
    require_matplotlib()
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(7, 1.2 + 0.9 * len(timings)))
    labels = [f"{t.image}\n{t.label}" for t in timings]
    medians = [t.median for t in timings]
    errors = [[t.median - min(t.runs) for t in timings], [max(t.runs) - t.median for t in timings]]
    axes.barh(labels, medians, xerr=errors, color=["#4063d8", "#9558b2", "#389826", "#cb3c33"][:len(timings)],
              capsize=4)
    for y, t in enumerate(timings):
        axes.text(max(t.runs), y, f"  {t.median:.2f} s", va="center")  # beyond the whisker
    axes.invert_yaxis()
    axes.set_xlabel("seconds to exit, or to a service's first answer (median, min-max)")
    axes.set_title(title)
    axes.set_xlim(0, max(max(t.runs) for t in timings) * 1.3)
    figure.tight_layout()
    written = []
    for suffix in (".png", ".svg"):
        path = base.with_name(base.name + suffix)
        path.parent.mkdir(parents=True, exist_ok=True)
        figure.savefig(path, dpi=120)
        written.append(path)
    plt.close(figure)
    return written


def project_images(project: Path, config_path: Path | None, cli: dict[str, Any], console: Any,
                   warn: Any) -> list[tuple[str, str]]:
    """The project's image as configured, and its pkgimage (or, for a pkgimage project, sysimage) peer, both
    built (the layer cache makes an unchanged project's builds quick)."""
    from sysimage_containers.build import run_build
    from sysimage_containers.engine.types import BuildRequest

    prepared, tag = run_build(project, BuildRequest(), progress="plain", console=console, config_path=config_path,
                              environ=os.environ, cli=cli, warn=warn)
    assert tag is not None
    mode = prepared.config.mode
    peer_mode = "sysimage" if mode == "pkgimage" else "pkgimage"
    peer_tag = f"{tag}-{peer_mode}"
    run_build(project, BuildRequest(tags=(peer_tag,)), progress="plain", console=console, config_path=config_path,
              environ=os.environ, cli={**cli, "mode": peer_mode}, warn=warn)
    return [(tag, mode), (peer_tag, peer_mode)]


def uses_standin(engine: Any, image: str, network: str | None) -> bool:
    """Whether the image's julia is the test suite's stand-in (an app bundle is not asked: it would run the app)."""
    entrypoint = engine.inspect(image).entrypoint
    if not entrypoint or not entrypoint[0].endswith("/julia"):
        return False
    _, out, _ = engine.run_capture(image, entrypoint[0], ["--version"], network)
    return "standin" in out
