"""What `init` reads from a project's code: the entry point and the port, each with where it was found.

Only reading: the project's Julia files are searched with regular expressions (nothing runs), files that resolve
outside the project are skipped, and at most MAX_FILES files of at most MAX_BYTES each are read.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sysimage_containers.project import JuliaProject

MAX_FILES = 60
MAX_BYTES = 1024 * 1024
SCRIPT_CANDIDATES = ("bin/server.jl", "bin/main.jl", "bin/run.jl", "server.jl", "main.jl", "app.jl", "run.jl",
                     "scripts/run.jl")
# scripts named as entry points by habit (bin/run_server.jl, src/start_notebook.jl, serve.jl)
SCRIPT_PATTERNS = ("start*.jl", "run_*.jl", "serve*.jl", "launch*.jl")
SCRIPT_DIRS = ("", "bin", "src", "scripts")
# Default ports when a server call names none: HTTP.serve (HTTP.jl's `port = 8081`), Oxygen's serve (8080),
# Genie's up (config.server_port 8000), Pluto.run (1234), PlutoSliderServer (SliderServer.port 2345), Dash (8050),
# Bonito (9384), Mux (8000)
SERVICE_PORTS = {"Genie": 8000, "Oxygen": 8080, "Dash": 8050, "Mux": 8000, "Bonito": 9384, "Pluto": 1234,
                 "PlutoSliderServer": 2345, "HTTP": 8081}
CALL_DEFAULTS = {"HTTP.serve": 8081, "HTTP.serve!": 8081, "HTTP.listen": 8081, "HTTP.listen!": 8081,
                 "Oxygen.serve": 8080, "serve": 8080, "serveparallel": 8080, "up": 8000, "Genie.up": 8000,
                 "Pluto.run": 1234, "ServerOptions": 1234, "run_directory": 2345, "run_git_directory": 2345,
                 "run_server": 8050}
CALL_RE = re.compile(
    r"(?<![\w.])((?:HTTP\.)?(?:serve!?|listen!?)|Oxygen\.serve(?:parallel)?|serveparallel|(?:Genie\.)?up"
    r"|Pluto\.run|(?:Configuration\.)?ServerOptions|(?:PlutoSliderServer\.)?run_(?:git_)?directory"
    r"|run_server)\s*\(")
PORT_KWARG_RE = re.compile(r"(?<![\w.])(?:port|SliderServer_port)\s*=\s*")
ENV_DEFAULT_RE = re.compile(r"get\(\s*ENV\s*,\s*\"(\w*PORT\w*)\"\s*,\s*\"?(\d{2,5})\"?\s*\)")
ASSIGN_RE = r"(?m)^\s*(?:const\s+|global\s+|local\s+)?{name}(?:\s*::\s*\w+)?\s*=\s*(.+)$"
GENIE_PORT_RE = re.compile(r"(?:Genie\.config\.server_port|server_port)\s*=\s*(\d{2,5})")
# Apps started without a script file: the command their own Dockerfiles used (Pluto keeps its secret token)
COMMANDS = {
    "Genie": 'using Genie; Genie.loadapp(); up({port}, "0.0.0.0"; async=false)',
    "PlutoSliderServer": 'import PlutoSliderServer; PlutoSliderServer.run_directory("."; '
                         'SliderServer_host="0.0.0.0", SliderServer_port={port})',
    "Pluto": 'import Pluto; Pluto.run(host="0.0.0.0", port={port}, launch_browser=false)',
}
MAIN_MACRO_RE = re.compile(r"^\s*\(?@main\b|\bfunction\s+\(?@main\b", re.MULTILINE)


@dataclass
class Detected:
    values: dict[str, Any] = field(default_factory=dict)
    origins: dict[str, str] = field(default_factory=dict)

    def set(self, key: str, value: Any, origin: str) -> None:
        self.values[key] = value
        self.origins[key] = origin


@dataclass(frozen=True)
class Source:
    path: str  # relative to the project
    text: str

    def line_of(self, offset: int) -> int:
        return self.text.count("\n", 0, offset) + 1


def _read(root: Path, relative: str) -> Source | None:
    path = root / relative
    try:
        if not path.is_file() or not path.resolve().is_relative_to(root.resolve()):
            return None
        if path.stat().st_size > MAX_BYTES:
            return None
        return Source(relative, path.read_text("utf-8", errors="replace"))
    except OSError:
        return None


def sources(root: Path, script: str | None) -> list[Source]:
    names: list[str] = [script] if script else []
    for directory in ("bin", "src", "scripts", "config/env"):
        if (root / directory).is_dir():
            names += sorted(p.relative_to(root).as_posix() for p in (root / directory).glob("*.jl"))
    names += sorted(p.name for p in root.glob("*.jl"))
    out: list[Source] = []
    for name in dict.fromkeys(names):
        source = _read(root, name)
        if source is not None:
            out.append(source)
        if len(out) >= MAX_FILES:
            break
    return out


def entry_script(project: JuliaProject) -> tuple[str, str] | None:
    """The script the container should run, and why; a Genie app file that never calls up() is not one."""
    root = project.root
    genie = "Genie" in project.dep_names
    found: list[tuple[str, str]] = [(s, "a usual entry-script name") for s in SCRIPT_CANDIDATES]
    if (root / "bin").is_dir():
        scripts = sorted(p.relative_to(root).as_posix() for p in (root / "bin").glob("*.jl"))
        if len(scripts) == 1:
            found.append((scripts[0], "the only script in bin/"))
        else:  # several: the one that starts a server
            found += [(s, "the script in bin/ that starts a server") for s in scripts
                      if (src := _read(root, s)) is not None and CALL_RE.search(src.text)]
    for directory in SCRIPT_DIRS:
        base = root / directory if directory else root
        for pattern in SCRIPT_PATTERNS:
            found += [(p.relative_to(root).as_posix(), "named as an entry script") for p in sorted(base.glob(pattern))]
    for name, why in found:
        source = _read(root, name)
        if source is None:
            continue
        if project.is_package and name == f"src/{project.name}.jl":
            continue  # the package's module, not a script
        if genie and not re.search(r"(?<![\w.])(?:Genie\.)?up\s*\(", source.text) and "serve" not in source.text:
            continue  # a Genie app file that only defines routes: run as a script, the container would exit
        return name, f"{name}: {why}"
    return None


def main_macro(root: Path) -> str | None:
    for path in sorted((root / "src").glob("*.jl")) if (root / "src").is_dir() else []:
        source = _read(root, path.relative_to(root).as_posix())
        if source is not None and (match := MAIN_MACRO_RE.search(source.text)):
            return f"{source.path}:{source.line_of(match.start())}: @main"
    return None


def julia_main(root: Path) -> str | None:
    for path in sorted((root / "src").glob("*.jl")) if (root / "src").is_dir() else []:
        source = _read(root, path.relative_to(root).as_posix())
        if source is not None and (match := re.search(r"\bjulia_main\b", source.text)):
            return f"{source.path}:{source.line_of(match.start())}: julia_main"
    return None


def _arguments(text: str, start: int) -> str:
    """The text between the parenthesis at START-1 and its match."""
    depth, index = 1, start
    while index < len(text) and depth:
        if text[index] in "([{":
            depth += 1
        elif text[index] in ")]}":
            depth -= 1
        index += 1
    return text[start:index - 1]


def _value(expression: str, texts: list[Source], depth: int = 0) -> int | None:
    """A port expression's value: a literal, an ENV default, or a name assigned one of those."""
    expression = expression.strip().rstrip(",;")
    if re.fullmatch(r"\d{2,5}", expression):
        return int(expression)
    env = ENV_DEFAULT_RE.search(expression)
    if env:
        return int(env.group(2))
    inner = re.fullmatch(r"parse\(\s*Int\w*\s*,\s*(\w+)\s*\)", expression)
    name = inner.group(1) if inner else expression
    if depth < 2 and re.fullmatch(r"[A-Za-z_]\w*", name):
        for source in texts:
            for match in re.finditer(ASSIGN_RE.format(name=re.escape(name)), source.text):
                value = _value(match.group(1).split("#")[0], texts, depth + 1)
                if value is not None:
                    return value
    return None


def _port_of_call(name: str, args: str, texts: list[Source]) -> int | None:
    kwarg = PORT_KWARG_RE.search(args)
    if kwarg:
        return _value(re.split(r",(?![^()]*\))", args[kwarg.end():])[0], texts)
    positional = [a.strip() for a in re.split(r"[,;](?![^()]*\))", args) if a.strip() and "=" not in a]
    for arg in positional:
        if re.fullmatch(r"\d{2,5}", arg) or ENV_DEFAULT_RE.search(arg):
            return _value(arg, texts)
    for arg in positional:
        if re.fullmatch(r"(?:parse\(\s*Int\w*\s*,\s*)?\w*(?:port|PORT)\w*\)?", arg):
            return _value(arg, texts)
    return None


def port(project: JuliaProject, texts: list[Source]) -> tuple[int, str] | None:
    """The port the code serves on, and where that was read."""
    fallback: tuple[int, str] | None = None
    for source in texts:
        for match in CALL_RE.finditer(source.text):
            name = match.group(1)
            args = _arguments(source.text, match.end())
            where = f"{source.path}:{source.line_of(match.start())}: {name}"
            value = _port_of_call(name, args, texts)
            if value is not None and 1 <= value <= 65535:
                return value, where
            if fallback is None and name.split(".")[-1] in ("serve", "serve!", "up", "run", "run_directory",
                                                            "run_git_directory") and not args.strip():
                if name.split(".")[-1] == "up" and "Genie" not in project.dep_names:
                    continue
                default = CALL_DEFAULTS.get(name) or CALL_DEFAULTS.get(name.split(".")[-1])
                if default is not None:
                    fallback = (default, f"{where} without a port (its default)")
    for source in texts:
        if "Genie" in project.dep_names and (setting := GENIE_PORT_RE.search(source.text)):
            return int(setting.group(1)), f"{source.path}:{source.line_of(setting.start())}: Genie's server_port"
    if fallback is not None:
        return fallback
    for source in texts:
        if env := ENV_DEFAULT_RE.search(source.text):
            return int(env.group(2)), f"{source.path}:{source.line_of(env.start())}: the {env.group(1)} default"
    return None


def detect(project: JuliaProject) -> Detected:
    from sysimage_containers.project import manifest_julia_series

    root = project.root
    found = Detected()
    script = entry_script(project)
    if script is not None:
        found.set("script", script[0], script[1])
    elif project.is_package and (where := julia_main(root)):
        found.set("julia_main", True, where)
    elif project.is_package and (where := main_macro(root)):
        series = manifest_julia_series(project)
        if series is None or series >= (1, 12):  # `julia -m` runs a package's @main from Julia 1.12 (1.11: @main only)
            found.set("julia_module", project.name, where)
    texts = sources(root, found.values.get("script"))
    served = port(project, texts)
    app = next((name for name in COMMANDS if name in project.dep_names), None)
    if served is None and app is not None:
        served = SERVICE_PORTS[app], f"the default port of {app}"
    if served is None:
        default = next((d for d in project.dep_names if d in SERVICE_PORTS), None)
        if default is not None:
            served = SERVICE_PORTS[default], f"the default port of {default} (no port found in the code)"
    if app is not None and not {"script", "julia_main", "julia_module"} & set(found.values):
        number = served[0] if served else SERVICE_PORTS[app]
        found.set("command", ["-e", COMMANDS[app].format(port=number)],
                  f"a {app} app without a script that serves")
    if served is not None:
        found.set("ports", [served[0]], served[1])
        health = next(((s, m) for s in texts if (m := re.search(r"\"(/health\w*)\"", s.text))), None)
        if health is not None:
            found.set("healthcheck_path", health[1].group(1),
                      f"{health[0].path}:{health[0].line_of(health[1].start())}: a route")
    return found
