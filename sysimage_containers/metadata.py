"""Build metadata: one JSON object a pipeline reads after `build --metadata-file FILE` (or `--json`), written on
failure too, with `error` set. The human summary is rendered from the same facts.

Fields (schema `sysimage-docker/build-metadata/1`): image_id, tags, pushed [{tag, digest}], size, julia_version,
mode, cpu_target, cpu_targets, packages [{name, version}], heavy_steps {name: cached|ran|failed},
heavy_step_seconds, hooks, stages {name: seconds}, seconds, push_seconds (inside seconds), cache_error,
sysimage_size, engine {backend, client,
client_version, server_version, endpoint, builder, driver (buildx)}, error.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any

from sysimage_containers.config import HOOK_STAGES
from sysimage_containers.errors import UsageError
from sysimage_containers.plan import BuildPlan
from sysimage_containers.urls import redact

SCHEMA = "sysimage-docker/build-metadata/1"


class StepState(Enum):
    CACHED = "cached"
    RAN = "ran"
    FAILED = "failed"


@dataclass(frozen=True)
class Verdict:
    """What became of a build step: data, formatted only where it is shown (the summary, this JSON)."""

    state: StepState
    seconds: float | None = None  # for a step that ran


@dataclass
class BuildFacts:
    """What a build did, gathered once for the summary and the metadata."""

    tags: tuple[str, ...]
    image_id: str | None = None
    size: int | None = None
    seconds: float = 0.0
    stages: dict[str, float] = field(default_factory=dict)
    heavy: dict[str, Verdict] = field(default_factory=dict)
    hooks: dict[str, Verdict] = field(default_factory=dict)
    sysimage_size: int | None = None
    stock_sysimage_bytes: int | None = None
    depot_not_shipped: tuple[str, ...] = ()  # depot directories the build wrote that the image leaves out
    pushed: list[tuple[str, str]] = field(default_factory=list)
    push_seconds: float | None = None  # pushes of the image and the cache images, inside `seconds`
    cache_error: str | None = None  # the registry cache could not be read or written (the build went on)
    error: str | None = None


def build_json(facts: BuildFacts, plan: BuildPlan, engine: Any | None) -> dict[str, Any]:
    return {
        "schema": SCHEMA,
        "tool_version": plan.tool_version,
        "image_id": facts.image_id,
        "tags": list(facts.tags),
        "pushed": [{"tag": tag, "digest": digest} for tag, digest in facts.pushed],
        "size": facts.size,
        "julia_version": plan.julia_version,
        "mode": plan.mode,
        "cpu_target": plan.cpu_target_setting,
        "cpu_targets": dict(plan.cpu_targets),
        "packages": [{"name": p.name, "version": p.version} for p in plan.baked],
        "heavy_steps": {name: verdict.state.value for name, verdict in facts.heavy.items()},
        # a tenth of a second, as the summary shows it
        "heavy_step_seconds": {name: round(verdict.seconds, 1) for name, verdict in facts.heavy.items()
                               if verdict.state is StepState.RAN and verdict.seconds is not None},
        "hooks": {name: verdict.state.value for name, verdict in facts.hooks.items()},
        "stages": {name: round(secs, 3) for name, secs in facts.stages.items()},
        "seconds": round(facts.seconds, 3),
        "push_seconds": None if facts.push_seconds is None else round(facts.push_seconds, 3),
        "cache_error": facts.cache_error,
        "sysimage_size": facts.sysimage_size,
        "engine": None if engine is None else {
            "backend": engine.backend, "client": engine.client, "client_version": engine.client_version,
            "server_version": engine.server_version, "endpoint": engine.endpoint,
            "builder": engine.builder, "driver": engine.driver,
        },
        "error": facts.error,
    }


def plan_json(plan: BuildPlan, tags: tuple[str, ...]) -> dict[str, Any]:
    """`build --dry-run --json`: what would be built."""
    return {
        "schema": "sysimage-docker/plan/1",
        "tool_version": plan.tool_version,
        "tags": list(tags),
        "project": plan.project_name,
        "julia_version": plan.julia_version,
        "julia_reason": plan.julia_reason,
        "builder_image": plan.builder_image,
        "runtime_image": plan.runtime_image,
        "mode": plan.mode,
        "cpu_target": plan.cpu_target_setting,
        "cpu_targets": dict(plan.cpu_targets),
        "packages": [{"name": p.name, "version": p.version} for p in plan.baked],
        "entrypoint": list(plan.entrypoint),
        "cmd": list(plan.cmd),
        "system_packages": list(plan.system_packages),
        "hooks": {stage: [h.file for h in plan.hooks_at(stage)] for stage in HOOK_STAGES if plan.hooks_at(stage)},
        "workloads": [*plan.precompile_files, *plan.statements_files],
        "warnings": list(plan.warnings),
    }


def write(path: Path, data: dict[str, Any]) -> None:
    write_text(path, json.dumps(data, indent=2) + "\n", "--metadata-file")


def _umask() -> int:
    mask = os.umask(0o022)  # reading it means setting it; put it straight back
    os.umask(mask)
    return mask


def write_text(path: Path, text: str, flag: str) -> None:
    """Atomically: a pipeline never reads half a file. The file gets the mode a plain write would give it (an
    existing file's, else 0666 less the umask): mkstemp's 0600 would hide CI artifacts from other users."""
    target = path.absolute()
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            mode = target.stat().st_mode & 0o7777
        except FileNotFoundError:
            mode = 0o666 & ~_umask()
        fd, tmp = tempfile.mkstemp(prefix=".metadata-", dir=target.parent)
        os.fchmod(fd, mode)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(redact(text))
        os.replace(tmp, target)
    except OSError as exc:
        raise UsageError(f"{flag} {path}: cannot write: {exc.strerror}") from None


def merge(path: Path, key: str, value: Any) -> None:
    """Add `key` to the JSON object in `path` (e.g. bench results beside a build's metadata), or start one."""
    data: dict[str, Any] = {}
    if path.is_file():
        try:
            loaded = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            raise UsageError(f"--metadata-file {path}: exists and is not a JSON object") from None
        if not isinstance(loaded, dict):
            raise UsageError(f"--metadata-file {path}: exists and is not a JSON object")
        data = loaded
    data[key] = value
    write(path, data)
