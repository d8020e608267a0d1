"""Writing what `init --from-dockerfile` mapped: the hook files and a new sysimage-docker.toml.

Everything is computed and checked first (the whole file passes the configuration's own reading); only then are
files written, and none that exists is replaced.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import tomlkit

from sysimage_containers import config as config_module
from sysimage_containers import tomlfiles
from sysimage_containers.config import CONFIG_FILE
from sysimage_containers.errors import UsageError
from sysimage_containers.from_dockerfile import MAX_DOCKERFILE_BYTES, Migration, migrate
from sysimage_containers.options import OPTIONS
from sysimage_containers.project import read_project

HOOK_DIR = "deploy"
ENTRY_KEYS = ("script", "julia_main", "command", "julia_module")


def dockerfile_path(root: Path, given: Path | None) -> tuple[Path, str]:
    """The Dockerfile to read: FILE from the command line (the operator's), else the project's own one."""
    if given is not None:
        return given, str(given)
    path = root / "Dockerfile"
    if not path.is_file():
        raise UsageError(f"no Dockerfile in {root}: name one with --from-dockerfile FILE")
    if not path.resolve().is_relative_to(root.resolve()):
        raise UsageError(f"Dockerfile: a link to {path.resolve()}, outside the project: refused")
    return path, "Dockerfile"


def write_from_dockerfile(path: Path, given: Path | None) -> list[str]:
    from sysimage_containers.init_config import _add, _inline, detect

    project = read_project(path)
    root = project.root
    target = root / CONFIG_FILE
    if target.exists() or target.is_symlink():
        raise UsageError(f"{target} exists: --from-dockerfile writes a new file only (move it away first; plain "
                         "`init` adds missing keys to it)")
    source, shown = dockerfile_path(root, given)
    text = tomlfiles.read_text(source, shown, MAX_DOCKERFILE_BYTES)
    migration = migrate(text, shown, root, project.name)
    hook_files = _place_hooks(root, migration, shown)
    origin = {key: f"from {shown}:{line}" for key, line in migration.lines.items()}
    values = dict(migration.values)
    from_code: list[str] = []
    code = detect(project)
    wanted = [k for k in code if k in ("precompile_files", "statements_files")]
    if not any(k in values for k in ENTRY_KEYS) and values.get("mode") != "app":
        wanted += [k for k in code if k in ENTRY_KEYS]
        if "ports" not in values:
            wanted += [k for k in ("ports", "healthcheck_path") if k in code]
    for key in wanted:
        if key not in values:
            values[key] = code[key]
            origin[key] = "detected in the code"
            from_code.append(key)
    _reconcile(values, migration, shown)

    doc = tomlkit.document()
    doc.add(tomlkit.comment(f"sysimage-docker configuration, migrated from {_safe(shown)} by "
                            "`sysimage-docker init --from-dockerfile`."))
    doc.add(tomlkit.comment("Precedence: command line > SYSIMAGE_DOCKER_* > this file. Commented keys show an "
                            "example."))
    if migration.notes:
        doc.add(tomlkit.nl())
        doc.add(tomlkit.comment(f"Not mapped from {_safe(shown)} (do these by hand, or drop them):"))
        for note in sorted(migration.notes, key=lambda n: n.line):
            doc.add(tomlkit.comment(f"  {_safe(shown)}:{note.line}: {note.text}"))
    if migration.handled:
        doc.add(tomlkit.nl())
        doc.add(tomlkit.comment("Done by the generated image itself:"))
        for note in sorted(migration.handled, key=lambda n: n.line):
            doc.add(tomlkit.comment(f"  {_safe(shown)}:{note.line}: {note.text}"))
    for option in OPTIONS:
        _add(doc, option.key, values, origin)
    rendered = tomlkit.dumps(doc)
    config_module.check_file_text(rendered, CONFIG_FILE)  # what init writes is valid configuration

    for relative, content in hook_files:
        hook = root / relative
        hook.parent.mkdir(parents=True, exist_ok=True)
        if not hook.exists():
            hook.write_text(content, encoding="utf-8")
    target.write_text(rendered, encoding="utf-8")

    mapped = ", ".join(f"{k} = {_inline(values[k])} ({origin[k]})" for k in values) or "nothing"
    lines = [f"wrote {target} from {_safe(shown)}: {mapped}"]
    lines += [f"wrote {root / relative} ({_safe(shown)}:{line}: RUN julia)" for relative, line in
              _hook_lines(hook_files, migration)]
    lines += [f"{_safe(shown)}:{n.line}: {n.text}" for n in sorted(migration.notes, key=lambda n: n.line)]
    return lines


def _safe(text: str) -> str:
    return config_module.CONTROL_RE.sub("?", text)


def _hook_lines(files: list[tuple[str, str]], migration: Migration) -> list[tuple[str, int]]:
    return [(path, hook.line) for (path, _), hook in zip(files, migration.hooks, strict=True)]


def _place_hooks(root: Path, migration: Migration, shown: str) -> list[tuple[str, str]]:
    """A file name for each Julia build step: deploy/hook-N.jl, never an existing file with other content."""
    directory = root / HOOK_DIR
    if migration.hooks and (directory.is_symlink() or (directory.exists() and not directory.is_dir())):
        raise UsageError(f"{HOOK_DIR}: not a directory of the project (a link or a file): the hooks cannot be "
                         "written there")
    files: list[tuple[str, str]] = []
    number = 0
    hooks: dict[str, list[str]] = {k: list(v) for k, v in migration.values.get("hooks", {}).items()}
    for hook in migration.hooks:
        content = (f"# From {_safe(shown)}:{hook.line} (`sysimage-docker init --from-dockerfile`): a Julia build "
                   f"step,\n# run by the hook {hook.stage} in the project directory with the app environment.\n"
                   + hook.code)
        while True:
            number += 1
            relative = f"{HOOK_DIR}/hook-{number}.jl"
            existing = root / relative
            if not existing.exists() and not existing.is_symlink():
                break
            if existing.is_file() and not existing.is_symlink() and existing.read_text("utf-8", "replace") == content:
                break
        files.append((relative, content))
        hooks.setdefault(hook.stage, []).append(relative)
    if files:
        ordered = {stage: hooks[stage] for stage in config_module.HOOK_STAGES if hooks.get(stage)}
        migration.values["hooks"] = ordered
        migration.lines.setdefault("hooks", migration.hooks[0].line)
    return files


def _reconcile(values: dict[str, Any], migration: Migration, shown: str) -> None:
    """Drop, with a note, values the configuration refuses together (mode = app and a health check): of the keys
    the refusal names, the one the Dockerfile set last."""
    import re

    for _ in range(len(values) + 1):
        try:
            _check(values)
            return
        except UsageError as exc:
            named = [k for k in values if re.search(rf"(?<![\w.]){re.escape(k)}(?![\w])", exc.message)]
            if not named:
                raise
            key = max(named, key=lambda k: (migration.lines.get(k, 0), list(values).index(k)))
            migration.note(migration.lines.get(key, 0), f"{key} not mapped: {exc.message}")
            del values[key]
    _check(values)


def _check(values: dict[str, Any]) -> None:
    from sysimage_containers.init_config import _toml_item

    doc = tomlkit.document()
    for key, value in values.items():
        doc.add(key, _toml_item(value))
    config_module.check_file_text(tomlkit.dumps(doc), CONFIG_FILE)
