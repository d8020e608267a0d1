"""Writing the build context: generated files plus the project tree and its path dependencies.

Written into a temporary sibling directory and renamed into place, so a failure leaves nothing behind.
"""

from __future__ import annotations

import fnmatch
import os
import shutil
import tempfile
from pathlib import Path

from sysimage_containers.config import Config
from sysimage_containers.errors import UsageError
from sysimage_containers.plan import CONTEXT_TOOL, BuildPlan
from sysimage_containers.project import VERSIONED_MANIFEST_RE, Environment

VCS_DIRS = frozenset({".git", ".hg", ".svn", ".jj"})
MANIFEST_NAMES = ("Manifest.toml", "JuliaManifest.toml")


def check_inputs(root: Path, config: Config) -> None:
    """Files named in the config must exist inside the project (symlinks included)."""
    named = [("precompile_files", f) for f in config.precompile_files]
    named += [("statements_files", f) for f in config.statements_files]
    if config.script is not None:
        named.append(("script", config.script))
    if config.test_workload:
        named.append(("test_workload", "test/runtests.jl"))
    for key, rel in named:
        path = root / rel
        if not path.exists():
            raise UsageError(f"{key}: {rel}: file not found in the project")
        if not path.is_file():
            raise UsageError(f"{key}: {rel}: not a file")
        if not path.resolve().is_relative_to(root):
            raise UsageError(f"{key}: {rel}: resolves outside the project (symlink)")


def write_context(dest: Path, environment: Environment, plan: BuildPlan, files: dict[str, str]) -> list[str]:
    """Create `dest` as a complete build context; returns notes for the user (copied path deps)."""
    dest = dest.absolute()
    if dest.exists() and any(dest.iterdir()) and not (dest / CONTEXT_TOOL / "plan.toml").is_file():
        raise UsageError(f"{dest}: exists and is not empty (and not an earlier sysimage-docker output)")
    dest.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".sysimage-docker-", dir=dest.parent))
    try:
        populate(staging, environment, plan, files, skip=(dest, staging))
        if dest.exists():
            shutil.rmtree(dest)
        staging.rename(dest)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return [
        f"path dependency {d.name} ({d.written}) copied into the context as {d.context_path}/"
        for d in plan.external_deps
    ]


def populate(target: Path, environment: Environment, plan: BuildPlan, files: dict[str, str],
             skip: tuple[Path, ...] = (), extra_exclude: tuple[str, ...] = ()) -> None:
    """Fill `target`; `skip` are directories never to copy (the output and its staging copy, when inside)."""
    project = environment.project
    selected = environment.manifest.file if environment.manifest else None
    exclude = (*plan.context_exclude, *extra_exclude)
    for external, dep in zip(plan.external_deps, _external_sources(environment, plan), strict=True):
        _copy_tree(dep, target / external.context_path, dep, plan.context_exclude, skip, selected=None)
    _copy_tree(project.root, target / plan.app_context, project.root, exclude, skip, selected)
    for rel, text in files.items():
        path = target / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def _external_sources(environment: Environment, plan: BuildPlan) -> list[Path]:
    by_name = {d.name: d.resolved for d in environment.path_deps}
    return [by_name[e.name] for e in plan.external_deps]


def _copy_tree(src: Path, dst: Path, root: Path, exclude: tuple[str, ...], skip: tuple[Path, ...],
               selected: str | None) -> None:
    """Copy a directory, leaving out VCS folders, excluded patterns and manifests Julia would not load."""
    for dirpath, dirnames, filenames in os.walk(src):
        current = Path(dirpath)
        rel_dir = current.relative_to(src)
        keep = []
        for name in sorted(dirnames):
            path = current / name
            rel = (rel_dir / name).as_posix()
            if name in VCS_DIRS or _excluded(rel, exclude) or path in skip:
                continue
            if _earlier_output(path):  # a context written by `generate -o` inside the project
                continue
            if path.is_symlink():
                _copy_link(path, dst / rel, root)
                continue
            keep.append(name)
        dirnames[:] = keep
        (dst / rel_dir).mkdir(parents=True, exist_ok=True)
        for name in sorted(filenames):
            rel = (rel_dir / name).as_posix()
            if _excluded(rel, exclude):
                continue
            if rel_dir == Path(".") and selected is not None and _other_manifest(name, selected):
                continue
            path = current / name
            if path.is_symlink():
                _copy_link(path, dst / rel, root)
            else:
                try:
                    shutil.copy2(path, dst / rel)
                except PermissionError:
                    raise UsageError(f"{path}: permission denied while copying the project") from None


def _earlier_output(path: Path) -> bool:
    return (path / "Dockerfile").is_file() and (path / CONTEXT_TOOL / "plan.toml").is_file()


def _copy_link(path: Path, target: Path, root: Path) -> None:
    resolved = path.resolve()
    if not resolved.is_relative_to(root):
        raise UsageError(f"{path}: symlink points outside the project ({resolved}); refusing to copy it")
    if resolved.is_dir():
        shutil.copytree(resolved, target, symlinks=False)
    elif resolved.exists():
        shutil.copy2(resolved, target)


def _excluded(rel: str, patterns: tuple[str, ...]) -> bool:
    return any(fnmatch.fnmatch(rel, p) or fnmatch.fnmatch(rel, p.rstrip("/") + "/*") for p in patterns)


def _other_manifest(name: str, selected: str) -> bool:
    return name != selected and (name in MANIFEST_NAMES or VERSIONED_MANIFEST_RE.match(name) is not None)
