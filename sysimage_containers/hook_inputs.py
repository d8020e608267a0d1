"""hook_inputs: the project files hooks read, expanded against what enters the build context.

Patterns are matched against the context listing, not the disk: what the default exclusions, .dockerignore or
context_exclude leave out (a `.env`, a key) can never be a hook input, and a glob cannot reach outside the project.
"""

from __future__ import annotations

import re
from dataclasses import replace
from functools import cache
from pathlib import PurePosixPath

from sysimage_containers.config import Config, check_relative_path
from sysimage_containers.context import Listing
from sysimage_containers.errors import UsageError
from sysimage_containers.plan import TOOL_DIR, BuildPlan, Copy

GLOB_CHARS = frozenset("*?[")


@cache
def _pattern(glob: str) -> re.Pattern[str]:
    """A .dockerignore-style glob: `*` and `?` stay inside one path component, `**` crosses them."""
    out, index = [], 0
    while index < len(glob):
        char = glob[index]
        if glob.startswith("**/", index):
            out.append("(?:[^/]+/)*")
            index += 3
            continue
        if glob.startswith("**", index):
            out.append(".*")
            index += 2
            continue
        if char == "*":
            out.append("[^/]*")
        elif char == "?":
            out.append("[^/]")
        elif char == "[":
            end = glob.find("]", index + 1)
            if end == -1:
                raise UsageError(f"hook_inputs: {glob!r}: an unclosed [")
            out.append("[" + re.escape(glob[index + 1:end]).replace("\\-", "-") + "]")
            index = end + 1
            continue
        else:
            out.append(re.escape(char))
        index += 1
    return re.compile("".join(out) + r"\Z")


def expand(patterns: tuple[str, ...], listing: Listing, app_context: str) -> tuple[str, ...]:
    """Project-relative files and directories the patterns name, in the order first named."""
    prefix = app_context + "/"
    files = [f.rel[len(prefix):] for f in listing.files if f.rel.startswith(prefix)]
    dirs = {d[len(prefix):] for d in listing.dirs if d.startswith(prefix)}
    found: list[str] = []
    for pattern in patterns:
        clean = str(PurePosixPath(pattern))
        if not GLOB_CHARS & set(clean):
            if clean not in dirs and clean not in files:
                raise UsageError(f"hook_inputs: {pattern}: not in the build context (no such project file, or "
                                 "the default exclusions, .dockerignore or context_exclude leave it out)")
            found.append(clean)
            continue
        matcher = _pattern(clean)
        matches = [f for f in files if matcher.match(f)]
        if not matches:
            raise UsageError(f"hook_inputs: {pattern}: matches no file in the build context")
        for match in matches:
            check_relative_path(match, f"hook_inputs: {pattern}")
        found += matches
    return tuple(dict.fromkeys(found))


def with_inputs(plan: BuildPlan, config: Config, listing: Listing) -> BuildPlan:
    if not config.hook_inputs:
        return plan
    inputs = expand(config.hook_inputs, listing, plan.app_context)
    before = tuple(Copy(f"{plan.app_context}/{rel}", f"{plan.app_dir}/{rel}") for rel in inputs)
    runtime = tuple(Copy(f"{plan.app_context}/{rel}", f"{TOOL_DIR}/hooks/{rel}") for rel in inputs)
    return replace(plan,
                   hook_input_copies=before if plan.hooks_at("after_instantiate") else (),
                   runtime_hook_input_copies=runtime if plan.hooks_at("runtime") else ())
