"""The one root that everything entering the build context lies inside (README "Trust").

A project is untrusted input; the command line and SYSIMAGE_DOCKER_* are the operator's. So:
- without `context_root`, the root is the project's git repository (a monorepo's path dependencies live there), or
  the project itself when it is in no repository;
- a `context_root` from a project file (sysimage-docker.toml, also through `--config`) must stay inside the
  project's repository: a project may not widen its own reach beyond what its authors control;
- a `context_root` from `--context-root` or SYSIMAGE_DOCKER_CONTEXT_ROOT may be any directory above the project;
- `/` is never a root, from anywhere.

The repository is found without running git (running git in an untrusted checkout runs its configuration's
commands): the nearest directory at or above the project that holds a `.git` directory or file (a worktree or a
submodule has a `.git` file). A repository at `/` or at the operator's home directory is not taken as a root.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from sysimage_containers.errors import UsageError

if TYPE_CHECKING:  # config imports project, which imports this module
    from sysimage_containers.config import Config

WIDER = "a wider root needs --context-root or SYSIMAGE_DOCKER_CONTEXT_ROOT"


@dataclass(frozen=True)
class Root:
    path: Path  # absolute, symlinks resolved
    what: str  # how the user knows it, for messages: "context_root (/x)", "the project's repository (/x)"


def repository_top(start: Path) -> Path | None:
    """The nearest directory at or above `start` with a `.git` entry, read from the file system only."""
    try:
        home = Path.home().resolve()
    except (RuntimeError, OSError):  # no HOME and no passwd entry
        home = None
    for directory in (start, *start.parents):
        if os.path.lexists(directory / ".git"):
            if directory == Path(directory.anchor) or directory == home:
                return None  # a dotfiles repository is no project's repository
            return directory
    return None


def context_boundary(project_root: Path, config: Config) -> Root:
    """The root for this project and configuration; refuses a context_root the rules above do not allow."""
    top = repository_top(project_root)
    if config.context_root is None:
        if top is not None:
            return Root(top, f"the project's repository ({top})")
        return Root(project_root, f"the project ({project_root})")
    path = Path(os.path.normpath(project_root / config.context_root))
    source = config.sources.get("context_root", "file")
    shown = f"context_root: {config.context_root!r}"
    if path == Path(path.anchor):
        raise UsageError(f"{shown} reaches {path}: the whole file system is never a build context root")
    if source == "file":
        where = config.config_file or "sysimage-docker.toml"
        if top is None:
            raise UsageError(f"{where}: {shown} reaches {path}, outside the project, which is in no git repository; "
                             f"a project file may not widen the root beyond it ({WIDER})")
        if not path.is_relative_to(top):
            raise UsageError(f"{where}: {shown} reaches {path}, above the project's repository ({top}); a project "
                             f"file may not widen the root beyond it ({WIDER})")
    return Root(path, f"context_root ({path})")
