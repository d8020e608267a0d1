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

SCRIPT_CANDIDATES = ("bin/server.jl", "bin/main.jl", "bin/run.jl", "server.jl", "main.jl", "app.jl", "run.jl",
                     "scripts/run.jl")
WORKLOAD_CANDIDATES = ("precompile/workload.jl", "precompile/precompile.jl", "precompile.jl", "precompile_app.jl",
                       "precompile_execution.jl", "snoop.jl", "deps/precompile.jl")
STATEMENT_CANDIDATES = ("precompile/statements.jl", "precompile_statements.jl", "deps/precompile_statements.jl")
# Default ports of common Julia web packages, for a project whose code names none.
SERVICE_PORTS = {"Genie": 8000, "Oxygen": 8080, "Dash": 8050, "Mux": 8000, "Bonito": 9384, "Pluto": 1234,
                 "PlutoSliderServer": 2345, "HTTP": 8081}
# `port = 8080`, `port=8080`, or a default read from the environment: get(ENV, "PORT", "8080")
PORT_RE = re.compile(r"\bport\s*=\s*(\d{2,5})\b|\"PORT\"\s*,\s*\"?(\d{2,5})\b")
# the port a server call starts on: HTTP.serve(h, "0.0.0.0", 8080), Oxygen.serve(port=8080), up(8000, ...)
SERVE_PORT_RE = re.compile(r"\b(?:serve!?|up|run)\(([^()]*)\)")
# Apps started without a script file: the command their own Dockerfiles used (Pluto keeps its secret token)
COMMANDS = {
    "Genie": 'using Genie; Genie.loadapp(); up({port}, "0.0.0.0"; async=false)',
    "Pluto": 'import Pluto; Pluto.run(host="0.0.0.0", port={port}, launch_browser=false)',
}
MAIN_MACRO_RE = re.compile(r"^\s*\(?@main\b|\bfunction\s+\(@main\)", re.MULTILINE)
COMMENTED_KEY_RE = re.compile(r"^\s*#\s*([a-z_]+)\s*=", re.MULTILINE)


def detect(project: JuliaProject) -> dict[str, Any]:
    root = project.root
    found: dict[str, Any] = {}
    script = next((s for s in SCRIPT_CANDIDATES if (root / s).is_file()), None) or _bin_script(root)
    sources = _source_texts(root, script)
    app = next((name for name in COMMANDS if name in project.dep_names), None)
    if script is not None:
        found["script"] = script
    elif project.is_package and _defines_julia_main(root):
        found["julia_main"] = True
    elif project.is_package and _main_macro(root) and _julia_at_least(project, (1, 11)):
        found["julia_module"] = project.name  # `julia -m` runs its @main (Julia 1.11+)
    workloads = [w for w in WORKLOAD_CANDIDATES if (root / w).is_file()]
    if workloads:
        found["precompile_files"] = workloads
    statements = [s for s in STATEMENT_CANDIDATES if (root / s).is_file()]
    if statements:
        found["statements_files"] = statements
    numbers = [int(m.group(1) or m.group(2)) for text in sources for m in PORT_RE.finditer(text)]
    numbers += [int(n) for text in sources for call in SERVE_PORT_RE.finditer(text)
                for n in re.findall(r"(?<![\w.])(\d{4,5})(?![\w.])", call.group(1))]
    port = next((n for n in numbers if 1 <= n <= 65535), None)
    if port is None:
        port = next((SERVICE_PORTS[d] for d in project.dep_names if d in SERVICE_PORTS), None)
    if app is not None and not {"script", "julia_main", "julia_module"} & set(found):
        port = port or SERVICE_PORTS[app]
        found["command"] = ["-e", COMMANDS[app].format(port=port)]
    if port is not None:
        found["ports"] = [port]
        if any('"/health' in text for text in sources):
            found["healthcheck_path"] = "/health"
    return found


def _bin_script(root: Path) -> str | None:
    """The one script in bin/ (bin/hello.jl, bin/run_server.jl): a project's entry point by convention."""
    scripts = sorted(p.name for p in (root / "bin").glob("*.jl") if p.is_file()) if (root / "bin").is_dir() else []
    return f"bin/{scripts[0]}" if len(scripts) == 1 else None


def _main_macro(root: Path) -> bool:
    return any(MAIN_MACRO_RE.search(p.read_text("utf-8", errors="replace"))
               for p in sorted((root / "src").glob("*.jl")))


def _julia_at_least(project: JuliaProject, series: tuple[int, int]) -> bool:
    """Whether the project's manifest (when it has one) was resolved with at least this Julia."""
    from sysimage_containers.project import manifest_julia_series

    found = manifest_julia_series(project)
    return found is None or found >= series


def _defines_julia_main(root: Path) -> bool:
    return any("julia_main" in p.read_text("utf-8", errors="replace") for p in sorted((root / "src").glob("*.jl")))


def _source_texts(root: Path, script: str | None) -> list[str]:
    paths = sorted((root / "src").glob("*.jl")) if (root / "src").is_dir() else []
    # a Genie app's routes and bootstrap live beside the project file
    paths += [root / name for name in ("routes.jl", "bootstrap.jl", "app.jl") if (root / name).is_file()]
    if script is not None:
        paths.insert(0, root / script)
    return [p.read_text("utf-8", errors="replace") for p in paths[:50]]


def write_config(path: Path) -> str:
    project = read_project(path)
    target = project.root / CONFIG_FILE
    detected = detect(project)
    if target.exists():
        text = tomlfiles.read_text(target, CONFIG_FILE)
        doc = tomlfiles.parse_document(text, CONFIG_FILE)
        present = set(doc.keys()) | set(COMMENTED_KEY_RE.findall(text))
        added = [o.key for o in OPTIONS if o.key not in present]
        if not added:
            return f"{CONFIG_FILE}: up to date, nothing added"
        for key in added:
            _add(doc, key, detected)
        target.write_text(tomlkit.dumps(doc), encoding="utf-8")
        return f"{CONFIG_FILE}: added {', '.join(added)}"
    doc = tomlkit.document()
    doc.add(tomlkit.comment("sysimage-docker configuration. Precedence: command line > SYSIMAGE_DOCKER_* > this file."))
    doc.add(tomlkit.comment("All keys are optional; commented keys show an example."))
    for option in OPTIONS:
        _add(doc, option.key, detected)
    target.write_text(tomlkit.dumps(doc), encoding="utf-8")
    summary = ", ".join(f"{k} = {_inline(v)}" for k, v in detected.items()) or "nothing"
    return f"wrote {target} (detected: {summary})"


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
