"""What podman does differently from the docker CLI (it takes the same build flags): without a service the engine
is the client itself (`podman version` has no server part) and its facts come from `podman info`; a push reports
its digest in a file; `run --init` needs catatonit, which not every installation has; the registry cache is
buildah's own layer cache (`--cache-from/--cache-to REPO`)."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

# where podman packages put the init binary `run --init` uses (containers.conf init_path)
INIT_PATHS = ("/usr/libexec/podman/catatonit", "/usr/libexec/catatonit/catatonit", "/usr/bin/catatonit")


def facts(info_json: str) -> tuple[int | None, str | None, str | None]:
    """Memory, storage root and architecture from `podman info --format json`."""
    try:
        data: dict[str, Any] = json.loads(info_json)
    except ValueError:
        return None, None, None
    host, store = data.get("host") or {}, data.get("store") or {}
    return host.get("memTotal"), store.get("graphRoot"), host.get("arch")


def has_init() -> bool:
    return any(os.access(path, os.X_OK) for path in INIT_PATHS)


def push_command(client: Sequence[str], tag: str, digest_file: Path) -> list[str]:
    return [*client, "push", "--digestfile", str(digest_file), tag]


def layer_sizes(history_json: str) -> list[tuple[int, str]]:
    """(bytes, instruction) per layer from `podman history --format json` (its `{{.Size}}` is always human)."""
    try:
        layers = json.loads(history_json)
    except ValueError:
        return []
    return [(int(layer.get("size") or 0), str(layer.get("CreatedBy") or layer.get("createdBy") or ""))
            for layer in layers if isinstance(layer, dict)]
