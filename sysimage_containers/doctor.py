"""`sysimage-docker doctor`: what the engine offers a sysimage build, and what follows from it."""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping
from typing import Any

from rich.console import Console
from rich.table import Table

from sysimage_containers import config as config_module
from sysimage_containers.engine import (
    BACKEND_BUILDX,
    BACKEND_DOCKER_BUILDKIT,
    BACKEND_DOCKER_CLASSIC,
    BACKEND_PODMAN,
    Engine,
    EngineInfo,
    clients,
)
from sysimage_containers.engine.buildx import OTHER_BUILDER
from sysimage_containers.errors import EngineUnavailable

GB = 1024**3
MEMORY_WANTED = 8 * GB  # big dependency sets have needed 8-32 GB (PackageCompiler #1031, #739)
DISK_WANTED = 20 * GB


def diagnose(console: Console, environ: Mapping[str, str], cli: dict[str, Any]) -> int:
    cfg = config_module.resolve(None, environ=environ, cli=cli)
    table = Table("check", "found", "consequence for a sysimage build", show_lines=False)
    try:
        engine = Engine.from_config(cfg)
        info = engine.detect()
    except EngineUnavailable as exc:
        table.add_row("engine", "unusable", exc.message)
        console.print(table)
        return EngineUnavailable.exit_code
    table.add_row("client", f"{info.client} {info.client_version}", "")
    table.add_row("daemon", f"engine {info.server_version} at {info.where}", "reachable")
    consequence = {
        BACKEND_BUILDX: builder_consequence(info),
        BACKEND_DOCKER_BUILDKIT: "the CLI's own BuildKit (DOCKER_BUILDKIT=1): cache mounts and secrets; no "
                                 "multi-platform or --cache-to (install buildx for those)",
        BACKEND_DOCKER_CLASSIC: "classic builder only: rendered without cache mounts, no secrets"
                                + clients.no_buildkit_advice(BACKEND_DOCKER_CLASSIC, info.client),
        BACKEND_PODMAN: "podman: rendered without BuildKit cache mounts",
    }[info.backend]
    table.add_row("build back end", info.backend, consequence)
    if info.backend == BACKEND_BUILDX:
        table.add_row("buildx builder", f"{info.builder or '?'} (driver {info.driver or 'unknown'})",
                      "the builder `build` uses (--builder NAME for another)")
    podman = shutil.which("podman")
    table.add_row("podman", podman or "not installed", "usable with --engine podman" if podman else "")
    if info.mem_total:
        advice = "enough for most sysimages" if info.mem_total >= MEMORY_WANTED else (
            "big sysimage builds may be killed (exit 137): give the engine 8 GB or more")
        table.add_row("engine memory", f"{info.mem_total / GB:.1f} GB", advice)
    root = str(info.docker_root) if info.docker_root and os.path.isdir(str(info.docker_root)) else os.getcwd()
    free = shutil.disk_usage(root).free
    table.add_row("free disk", f"{free / GB:.1f} GB at {root}",
                  "enough" if free >= DISK_WANTED else "builder images with a sysimage take several GB: free space")
    console.print(table)
    return 0


def builder_consequence(info: EngineInfo) -> str:
    """What the buildx builder's driver can do (buildx 0.13: the docker driver is the daemon's own BuildKit)."""
    if info.docker_driver:
        return ("BuildKit via buildx on the docker driver: cache mounts, secrets, --push, cache_repo (as stage "
                "images); not several platforms, a registry --cache-to or attestations (those need "
                f"{OTHER_BUILDER})")
    return (f"BuildKit via buildx ({info.driver or 'unknown'} driver): cache mounts, secrets, --push, a registry "
            "--cache-to, the platforms the builder lists, attestations")
