"""`sysimage-docker verify IMAGE`: run the image once with its own julia flags and the static verify.jl, then
judge the report: each baked package's version against the image's manifest (a mismatch is exit 1), packages
that load from the depot instead of the sysimage, missing artifacts (exit 1)."""

from __future__ import annotations

import json
from dataclasses import dataclass

from rich.console import Console
from rich.table import Table

from sysimage_containers.engine import Engine
from sysimage_containers.errors import BuildFailed, UsageError
from sysimage_containers.plan import SCRIPTS_DIR


@dataclass(frozen=True)
class Verdict:
    report: dict
    mismatched: tuple[str, ...]
    missing_artifacts: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.mismatched and not self.missing_artifacts


def judge(report: dict) -> Verdict:
    mismatched = tuple(sorted(p["name"] for p in report.get("baked", []) if p.get("baked") != p.get("manifest")))
    return Verdict(report=report, mismatched=mismatched,
                   missing_artifacts=tuple(report.get("missing_artifacts", [])))


def run_verify(engine: Engine, image: str, network: str | None) -> Verdict:
    if not engine.ensure_local(image):
        raise UsageError(f"no image {image!r} in the engine, and pulling it failed (a typo, or `docker login` "
                         "to its registry first?)")
    info = engine.inspect(image)
    if info.labels.get("dev.sysimage-docker.mode") == "app":
        raise UsageError(f"{image}: verify needs the image's julia; mode = app images carry only the bundle")
    if not info.entrypoint or not info.entrypoint[0].endswith("/julia"):
        raise UsageError(f"{image}: its entrypoint is not julia ({' '.join(info.entrypoint) or 'none'}); "
                         "was it built by sysimage-docker?")
    code, out, err = engine.run_capture(image, info.entrypoint[0], [*info.entrypoint[1:], f"{SCRIPTS_DIR}/verify.jl"],
                                        network=network)
    line = next((x for x in reversed(out.splitlines()) if x.startswith("{")), None)
    if code != 0 or line is None:
        tail = " | ".join((err or out).strip().splitlines()[-3:])
        raise BuildFailed(f"verify could not run in {image} (exit {code}): {tail}")
    try:
        return judge(json.loads(line))
    except json.JSONDecodeError as exc:
        raise BuildFailed(f"verify printed no readable report: {exc}") from None


def show(console: Console, image: str, verdict: Verdict) -> None:
    report = verdict.report
    console.print(f"{image}: sysimage {report.get('sysimage')}, Julia {report.get('julia_version')}, "
                  f"CPU target {report.get('cpu_target') or 'unknown'}", markup=False, highlight=False)
    table = Table("package", "in the sysimage", "in the manifest", "")
    for package in sorted(report.get("baked", []), key=lambda p: p["name"]):
        same = package.get("baked") == package.get("manifest")
        table.add_row(package["name"], package.get("baked") or "?", package.get("manifest") or "?",
                      "ok" if same else "MISMATCH: the sysimage runs the old version")
    console.print(table)
    depot = report.get("from_depot") or []
    console.print(f"load from the depot (not in the sysimage): {', '.join(depot) if depot else 'none'}",
                  markup=False, highlight=False)
    lost = verdict.missing_artifacts
    console.print(f"missing artifacts: {', '.join(lost) if lost else 'none'}", markup=False, highlight=False)


def summary_error(image: str, verdict: Verdict) -> str:
    parts = []
    if verdict.mismatched:
        parts.append(f"baked versions differ from the manifest for {', '.join(verdict.mismatched)} (rebuild the "
                     "image: packages in a sysimage are locked to their build-time version)")
    if verdict.missing_artifacts:
        parts.append(f"missing artifacts: {', '.join(verdict.missing_artifacts)}")
    return f"{image}: " + "; ".join(parts)
