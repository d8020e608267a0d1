"""What the last `build` of each tag was: which project it came from and whether it failed.

A tag is no proof of which build made an image: a project without name and version gets `<folder>:latest`, which
two folders of one name share, and a failed build leaves the previous image under its tag. `run PATH` checks this
record and refuses, with the way out, rather than silently start an image that is not this project's last build.
One small JSON file per tag in the user cache; the record is best effort (an unwritable cache only loses it).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sysimage_containers.errors import UsageError
from sysimage_containers.julia_versions import user_cache_dir


def _file(tag: str) -> Path:
    return user_cache_dir() / "builds" / f"{hashlib.sha256(tag.encode()).hexdigest()[:32]}.json"


def record(tag: str, project: Path, *, failed: bool) -> None:
    from sysimage_containers.metadata import write_text

    data = {"tag": tag, "project": str(project.resolve()), "failed": failed,
            "time": datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")}
    with contextlib.suppress(UsageError):
        write_text(_file(tag), json.dumps(data) + "\n", "build record")


def find(tag: str) -> dict[str, Any] | None:
    try:
        data = json.loads(_file(tag).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and data.get("tag") == tag else None


def check_runnable(tag: str, project: Path) -> None:
    """Refuse to run `tag` for `project` when its last build by this tool failed or came from another project."""
    last = find(tag)
    if last is None:  # built elsewhere (CI, another machine) or before records existed: nothing to say
        return
    if last.get("project") != str(project.resolve()):
        raise UsageError(f"{tag} was last built from {last.get('project')}, not from {project}: give this project "
                         f"its own tag (name and version in Project.toml, or build and run with -t), or run that "
                         f"image by name: sysimage-docker run {tag}")
    if last.get("failed"):
        raise UsageError(f"the last build of {project} ({tag}) failed at {last.get('time')}: the image under {tag} "
                         f"is an older build; fix the build, or run that image by name: sysimage-docker run {tag}")
