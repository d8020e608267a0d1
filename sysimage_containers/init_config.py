"""`sysimage-docker init`: a commented sysimage-docker.toml with what can be detected from the project.

Written with tomlkit so that a second run only adds keys the file lacks, keeping the user's comments and order.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import tomlkit
from tomlkit.items import Item

from sysimage_containers import tomlfiles
from sysimage_containers.config import CONFIG_FILE
from sysimage_containers.options import OPTIONS
from sysimage_containers.project import JuliaProject, read_project

WORKLOAD_CANDIDATES = ("precompile/workload.jl", "precompile/precompile.jl", "precompile.jl", "precompile_app.jl",
                       "precompile_execution.jl", "snoop.jl", "deps/precompile.jl")
STATEMENT_CANDIDATES = ("precompile/statements.jl", "precompile_statements.jl", "deps/precompile_statements.jl")
COMMENTED_KEY_RE = re.compile(r"^\s*#\s*([a-z_]+)\s*=", re.MULTILINE)


def detect_with_origins(project: JuliaProject) -> tuple[dict[str, Any], dict[str, str]]:
    """The values init proposes, and for each where it was found."""
    from sysimage_containers.detect import detect as detect_code

    code = detect_code(project)
    found, origins = dict(code.values), dict(code.origins)
    root = project.root
    workloads = [w for w in WORKLOAD_CANDIDATES if (root / w).is_file()]
    if workloads:
        found["precompile_files"], origins["precompile_files"] = workloads, "a usual workload name"
    statements = [s for s in STATEMENT_CANDIDATES if (root / s).is_file()]
    if statements:
        found["statements_files"], origins["statements_files"] = statements, "a usual statements name"
    order = [o.key for o in OPTIONS]
    keys = sorted(found, key=order.index)
    return {k: found[k] for k in keys}, {k: origins[k] for k in keys}


def detect(project: JuliaProject) -> dict[str, Any]:
    return detect_with_origins(project)[0]


def write_config(path: Path) -> str:
    project = read_project(path)
    target = project.root / CONFIG_FILE
    detected, origins = detect_with_origins(project)
    if target.exists():
        text = tomlfiles.read_text(target, CONFIG_FILE)
        doc = tomlfiles.parse_document(text, CONFIG_FILE)
        present = set(doc.keys()) | set(COMMENTED_KEY_RE.findall(text))
        added = [o.key for o in OPTIONS if o.key not in present]
        if not added:
            return f"{CONFIG_FILE}: up to date, nothing added"
        for key in added:
            _add(doc, key, detected, origins)
        target.write_text(tomlkit.dumps(doc), encoding="utf-8")
        set_keys = [k for k in added if k in detected]
        examples = [k for k in added if k not in detected]
        parts = [f"set {_summary(set_keys, detected, origins)}"] if set_keys else []
        if examples:
            parts.append(f"added {len(examples)} option{'s' if len(examples) > 1 else ''} as commented examples "
                         f"({', '.join(examples)})")
        return f"{CONFIG_FILE}: {'; '.join(parts)}"
    doc = tomlkit.document()
    doc.add(tomlkit.comment("sysimage-docker configuration. Precedence: command line > SYSIMAGE_DOCKER_* > this file."))
    doc.add(tomlkit.comment("All keys are optional; commented keys show an example."))
    for option in OPTIONS:
        _add(doc, option.key, detected, origins)
    target.write_text(tomlkit.dumps(doc), encoding="utf-8")
    summary = _summary(list(detected), detected, origins) or "nothing"
    hint = ("; a Dockerfile is here: `init --from-dockerfile` maps it" if (project.root / "Dockerfile").is_file()
            else "")
    return f"wrote {target} (detected: {summary}){hint}"


def _summary(keys: list[str], values: dict[str, Any], origins: dict[str, str]) -> str:
    return ", ".join(f"{k} = {_inline(values[k])} ({origins[k]})" for k in keys)


def _add(doc: tomlkit.TOMLDocument, key: str, detected: dict[str, Any],
         origin: dict[str, str] | None = None) -> None:
    option = next(o for o in OPTIONS if o.key == key)
    doc.add(tomlkit.nl())
    for line in _wrap(option.help):
        doc.add(tomlkit.comment(line))
    if key in detected:
        item: Item = _toml_item(detected[key])
        item.comment((origin or {}).get(key, "detected"))
        doc.add(key, item)
    else:
        doc.add(tomlkit.comment(f"{key} = {option.example}"))


def _toml_item(value: Any) -> Item:
    """Tables inline, so that the keys after them stay top-level."""
    if isinstance(value, dict):
        table = tomlkit.inline_table()
        table.update({k: _toml_item(v) for k, v in value.items()})
        return table
    return tomlkit.item(value)


def _inline(value: Any) -> str:
    return _toml_item(value).as_string()


def _wrap(text: str, width: int = 100) -> list[str]:
    lines, current = [], ""
    for word in text.split():
        if current and len(current) + 1 + len(word) > width:
            lines.append(current)
            current = word
        else:
            current = f"{current} {word}".strip()
    return [*lines, current] if current else lines
