"""`init --from-dockerfile`: map a hand-written Julia Dockerfile onto configuration values.

The Dockerfile is untrusted input and nothing in it runs: BuildKit's own parser (the `dockerfile` package) reads
it, shell lines are only split into words (shlex), and Julia code is only split into statements. Every value that
is kept passes the configuration's own validation (config.check_option); a value it refuses, or an instruction with
no counterpart, becomes a note naming the Dockerfile's line, which `init` writes as a comment. This module does no
I/O besides reading the project's files to decide whether a path names one of them; init_config writes.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from sysimage_containers import config as config_module
from sysimage_containers.errors import UsageError

MAX_DOCKERFILE_BYTES = 1024 * 1024
# Official julia images: julia, library/julia, docker.io/library/julia; the tag starts with the version
JULIA_IMAGE_RE = re.compile(r"^(?:(?:docker\.io/)?library/)?julia(?::(\d+\.\d+(?:\.\d+)?)\b[^@]*)?(?:@.*)?$")
VERSION_RE = re.compile(r"^\d+\.\d+(?:\.\d+)?$")
# Build tools a single-stage Dockerfile installs to compile or fetch things: the build needs them, the runtime not
BUILD_TOOLS = frozenset({"build-essential", "gcc", "g++", "make", "cmake", "git", "pkg-config", "autoconf",
                         "automake", "libtool", "gfortran", "clang", "musl-dev", "alpine-sdk", "gcc-c++",
                         "unzip", "xz-utils", "bzip2", "wget"})
INSTALLERS = {"apt-get": "install", "apt": "install", "apk": "add", "dnf": "install", "yum": "install",
              "microdnf": "install"}
HOUSEKEEPING = {("apt-get", "update"), ("apt", "update"), ("apt-get", "clean"), ("apt-get", "autoremove"),
                ("apt-get", "autoclean"), ("apk", "update"), ("dnf", "clean"), ("yum", "clean"),
                ("microdnf", "clean"), ("dnf", "makecache"), ("yum", "makecache")}
# package-manager caches the generated Dockerfile keeps out of the image by itself
CACHE_DIRS = ("/var/lib/apt/lists", "/var/cache/apt", "/var/cache/apk", "/var/cache/dnf", "/var/cache/yum",
              "/tmp/", "/root/.cache")
# ENV names whose job the generated image does itself
MANAGED_ENV = {
    "JULIA_DEPOT_PATH": "the image has its own depot layout (a baked read-only depot behind the user's)",
    "JULIA_PROJECT": "the entrypoint passes --project",
    "JULIA_LOAD_PATH": "the image sets its own load path",
    "PATH": "the image puts Julia's bin on PATH itself",
    "HOME": "the runtime user's home is set by the image",
    "JULIA_PATH": "Julia's place in the image is julia_path",
    "JULIA_VERSION": "read as julia_version",
    "JULIA_MAJOR": "read with julia_version",
    "JULIA_MINOR": "read with julia_version",
    "DEBIAN_FRONTEND": "the package steps run non-interactively",
}
JULIA_FLAGS_DROPPED = ("--project", "--sysimage", "-J", "--startup-file", "--color", "-q", "--quiet", "--banner",
                       "--history-file", "-i", "--interactive", "--compiled-modules", "--pkgimages")
JULIA_FLAGS_WITH_VALUE = ("-t", "--threads", "-p", "--procs", "-J", "--sysimage", "-C", "--cpu-target",
                          "--project", "-L", "--load", "--machine-file", "-O", "--optimize")
# Pkg calls the build does itself (instantiate step, app precompile, PackageCompiler install)
HANDLED_JULIA = re.compile(
    r"^(?:using|import)\s+(?:Pkg|PackageCompiler)\s*$"
    r"|^Pkg\.(?:activate|instantiate|precompile|resolve|status|gc|Registry\.\w+)\s*\(.*\)\s*$"
    r"|^Pkg\.add\(\s*(?:\[?\s*\"PackageCompiler\"\s*\]?|name\s*=\s*\"PackageCompiler\".*)\)\s*$"
    r"|^ENV\[\"JULIA_PKG_PRECOMPILE_AUTO\"\]\s*=.*$"
    r"|^(?:println|@info)\b.*$",
    re.DOTALL,
)
PKG_CHANGES = re.compile(r"^Pkg\.(?:add|develop|dev|update|up|rm|remove|pin|free)\s*\(")
HEALTH_URL_RE = re.compile(r"https?://(?:localhost|127\.0\.0\.1|0\.0\.0\.0|\[::1\])(?::(\d{1,5}))?(/[^\s'\"|;&]*)?")
KWARG_FILES_RE = r"{}\s*=\s*(\[[^\]]*\]|\"[^\"]*\")"
SHELLS = ("sh", "bash", "/bin/sh", "/bin/bash", "/usr/bin/env")
INIT_WRAPPERS = ("tini", "/tini", "/usr/bin/tini", "/sbin/tini", "dumb-init", "/usr/bin/dumb-init", "exec")


@dataclass(frozen=True)
class Note:
    """Something the Dockerfile did that the configuration does not carry, shown as a comment."""

    line: int
    text: str


@dataclass(frozen=True)
class HookFile:
    """Julia code of a build step, for a hook file (the writer chooses its name)."""

    code: str
    line: int
    stage: str


@dataclass
class Migration:
    values: dict[str, Any] = field(default_factory=dict)
    lines: dict[str, int] = field(default_factory=dict)  # key -> the Dockerfile line it came from
    notes: list[Note] = field(default_factory=list)
    hooks: list[HookFile] = field(default_factory=list)
    handled: list[Note] = field(default_factory=list)  # what the generated image does by itself

    def note(self, line: int, text: str) -> None:
        self.notes.append(Note(line, _one_line(text)))

    def handle(self, line: int, text: str) -> None:
        self.handled.append(Note(line, _one_line(text)))

    def set(self, key: str, value: Any, line: int) -> bool:
        """Keep a value if the configuration accepts it; otherwise note why not."""
        try:
            checked = config_module.check_option(key, value, f"{key}")
        except UsageError as exc:
            self.note(line, f"not mapped: {exc.message}")
            return False
        self.values[key] = _plain(checked)
        self.lines.setdefault(key, line)
        return True

    def add_items(self, key: str, items: list[Any], line: int) -> None:
        for item in items:
            current = list(self.values.get(key, []))
            if item in current:
                continue
            self.set(key, [*current, item], line)

    def add_entry(self, table: str, name: str, value: str, line: int) -> bool:
        current = dict(self.values.get(table, {}))
        current[name] = value
        return self.set(table, current, line)


def _plain(value: Any) -> Any:
    """Config values are tuples of pairs for tables and tuples for lists: back to TOML-friendly shapes."""
    if isinstance(value, tuple) and value and all(isinstance(v, tuple) and len(v) == 2 for v in value):
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in value}
    if isinstance(value, tuple):
        return list(value)
    return value


def _one_line(text: str) -> str:
    text = re.sub(r"\s+", " ", config_module.CONTROL_RE.sub(" ", text)).strip()
    return text if len(text) <= 160 else text[:157] + "..."


@dataclass
class Stage:
    index: int
    name: str | None
    base: str
    line: int
    commands: list[Any] = field(default_factory=list)
    parent: Stage | None = None  # FROM <an earlier stage>


def parse(text: str, shown: str) -> list[Any]:
    import dockerfile  # BuildKit's parser, in Go; imported only here

    try:
        return list(dockerfile.parse_string(text))
    except dockerfile.GoParseError as exc:
        raise UsageError(f"{shown}: not a Dockerfile BuildKit can read: {str(exc).splitlines()[0]}") from None
    except UnicodeDecodeError:  # the wrapper decodes the parser's error message, which may cut a character
        raise UsageError(f"{shown}: not a Dockerfile BuildKit can read (an instruction it refuses, near "
                         "non-ASCII text)") from None


def expand(word: str, variables: dict[str, str]) -> str | None:
    """Dockerfile variable substitution ($X, ${X}, ${X:-default}, ${X-default}); None when a name is unknown."""
    missing = False

    def one(match: re.Match[str]) -> str:
        nonlocal missing
        name = match.group(1) or match.group(2)
        default = match.group(4)
        if name in variables and (variables[name] or match.group(3) != ":-"):
            return variables[name]
        if default is not None:
            return default
        missing = True
        return ""

    out = re.sub(r"\$(?:([A-Za-z_][A-Za-z0-9_]*)|\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?-)([^}]*))?\})", one, word)
    return None if missing else out


def stages_of(commands: list[Any], shown: str) -> tuple[list[Stage], dict[str, str]]:
    global_args: dict[str, str] = {}
    stages: list[Stage] = []
    for command in commands:
        if command.cmd == "FROM":
            words = list(command.value)
            if not words:
                raise UsageError(f"{shown}:{command.start_line}: FROM without an image")
            name = words[2].lower() if len(words) >= 3 and words[1].upper() == "AS" else None
            base = expand(words[0], global_args) or words[0]
            parent = next((s for s in stages if s.name is not None and s.name == base.lower()), None)
            stages.append(Stage(len(stages), name, base, command.start_line, parent=parent))
        elif not stages:
            if command.cmd == "ARG":
                for item in command.value:
                    key, _, value = item.partition("=")
                    global_args[key] = _unquote(value)
        else:
            stages[-1].commands.append(command)
    if not stages:
        raise UsageError(f"{shown}: no FROM instruction: not a Dockerfile")
    return stages, global_args


def _unquote(value: str) -> str:
    try:
        words = shlex.split(value, posix=True)
    except ValueError:
        return value
    return " ".join(words) if words else ""


def _is_julia_image(base: str) -> re.Match[str] | None:
    return JULIA_IMAGE_RE.match(base)


def _under(path: str, directory: str) -> str | None:
    """PATH relative to DIRECTORY when it lies inside it."""
    pure, top = PurePosixPath(path), PurePosixPath(directory)
    if pure == top:
        return "."
    try:
        return pure.relative_to(top).as_posix()
    except ValueError:
        return None


class Mapper:
    """One pass over the stages, in order; the runtime chain is the final stage and the stages it is built FROM."""

    def __init__(self, project_root: Path, project_name: str | None) -> None:
        self.root = project_root
        self.project_name = project_name
        self.out = Migration()
        self.create_app = False

    # --- paths -------------------------------------------------------------------------------------------
    def project_path(self, path: str, cwd: str, app_dir: str) -> str | None:
        """A path in the Dockerfile's image as a path relative to the project, when it names a project file."""
        absolute = path if path.startswith("/") else (PurePosixPath(cwd) / path).as_posix()
        relative = _under(str(PurePosixPath(absolute)), app_dir)
        if relative is None or relative == "." or ".." in PurePosixPath(relative).parts:
            return None
        candidate = self.root / relative
        try:
            inside = candidate.resolve().is_relative_to(self.root.resolve())
        except OSError:
            return None
        return relative if inside and candidate.exists() else None

    def image_path(self, path: str, cwd: str, app_dir: str) -> str:
        """A directory of the Dockerfile's image: relative when inside its project directory (/app here)."""
        absolute = str(PurePosixPath(path if path.startswith("/") else f"{cwd}/{path}"))
        inside = _under(absolute, app_dir) if app_dir != "/" else None
        return inside if inside not in (None, ".") else absolute

    # --- main --------------------------------------------------------------------------------------------
    def run(self, stages: list[Stage], global_args: dict[str, str]) -> Migration:
        final = stages[-1]
        chain = [final]
        while chain[-1].parent is not None:
            chain.append(chain[-1].parent)  # type: ignore[arg-type]
        runtime = {s.index for s in chain}
        root_stage = chain[-1]
        self.julia_version(stages, global_args)
        if not _is_julia_image(root_stage.base):
            self.set_image(root_stage)  # a CUDA or distribution base: the runtime stage keeps it
        entry: dict[str, Any] = {}
        for stage in stages:
            self.stage(stage, stage.index in runtime, global_args, entry)
        self.entry_point(entry)
        return self.out

    def set_image(self, stage: Stage) -> None:
        if "$" in stage.base:
            self.out.note(stage.line, f"FROM {stage.base}: not mapped (a build argument without a default)")
            return
        if self.out.set("runtime_image", stage.base, stage.line):
            self.out.handle(stage.line, f"FROM {stage.base}: runtime_image (Julia is copied in "
                                                     "from the builder)")

    def julia_version(self, stages: list[Stage], global_args: dict[str, str]) -> None:
        for stage in stages:
            match = _is_julia_image(stage.base)
            if match and match.group(1):
                self.out.set("julia_version", match.group(1), stage.line)
                return
        for stage in stages:  # a Dockerfile that downloads Julia names its version in ENV or ARG
            variables = dict(global_args)
            for command in stage.commands:
                if command.cmd in ("ENV", "ARG"):
                    for name, value in self.pairs(command, variables):
                        if name in ("JULIA_VERSION", "JULIA_VER") and value and VERSION_RE.match(value):
                            self.out.set("julia_version", value, command.start_line)
                            return
                        variables[name] = value

    def pairs(self, command: Any, variables: dict[str, str]) -> list[tuple[str, str]]:
        """The NAME=VALUE pairs of an ENV or ARG (values expanded; an unknown variable leaves the raw text)."""
        words = list(command.value)
        pairs: list[tuple[str, str]] = []
        if command.cmd == "ARG":
            for item in words:
                name, _, value = item.partition("=")
                pairs.append((name, variables.get(name, _unquote(value))))
            return pairs
        for name, raw in zip(words[0::2], words[1::2], strict=False):
            value = expand(_unquote(raw), variables)
            pairs.append((name, _unquote(raw) if value is None else value))
        return pairs

    # --- one stage ---------------------------------------------------------------------------------------
    def stage(self, stage: Stage, runtime: bool, global_args: dict[str, str], entry: dict[str, Any]) -> None:
        variables = dict(global_args)
        cwd = "/"
        app_dir = "/"
        julia_steps_left = sum(1 for c in stage.commands if c.cmd == "RUN" and self.runs_julia(c))
        for command in stage.commands:
            line = command.start_line
            kind = command.cmd
            if not command.value and kind not in ("CMD", "ENTRYPOINT"):
                self.out.note(line, f"{kind} without arguments: not mapped")
                continue
            if kind == "WORKDIR":
                target = expand(command.value[0], variables) or command.value[0]
                cwd = target if target.startswith("/") else (PurePosixPath(cwd) / target).as_posix()
                app_dir = cwd
                if runtime:
                    entry["workdir"] = (cwd, line)
            elif kind == "ARG":
                for name, value in self.pairs(command, variables):
                    variables[name] = value
            elif kind == "ENV":
                for name, value in self.pairs(command, variables):
                    variables[name] = value
                    self.env(name, value, line, runtime, julia_steps_left > 0)
            elif kind in ("COPY", "ADD"):
                app_dir = self.copy(command, cwd, app_dir, runtime)
            elif kind == "RUN":
                if self.runs_julia(command):
                    julia_steps_left -= 1
                self.run_step(command, cwd, app_dir, runtime)
            elif kind in ("CMD", "ENTRYPOINT"):
                if runtime:
                    entry[kind] = (command, cwd, app_dir)
                    if kind == "ENTRYPOINT":
                        entry.pop("CMD", None)  # an ENTRYPOINT resets an inherited CMD
            elif kind == "EXPOSE":
                self.expose(command, variables, runtime)
            elif kind == "VOLUME":
                if runtime:
                    self.out.add_items("volumes", [self.image_path(expand(v, variables) or v, cwd, app_dir)
                                                   for v in command.value], line)
                else:
                    self.out.note(line, f"{command.original}: in a build stage, not mapped")
            elif kind == "USER":
                if runtime:
                    self.user(command, variables)
            elif kind == "HEALTHCHECK":
                if runtime:
                    entry["HEALTHCHECK"] = command
            elif kind == "LABEL":
                if runtime:
                    for name, value in zip(command.value[0::2], command.value[1::2], strict=False):
                        self.out.add_entry("labels", _unquote(name), _unquote(value), line)
            else:  # SHELL, STOPSIGNAL, ONBUILD, MAINTAINER
                self.out.note(line, f"{command.original}: not mapped (no counterpart)")

    def runs_julia(self, command: Any) -> bool:
        return any(words and _is_julia(words[0]) for words in self.simple_commands(command))

    # --- ENV ---------------------------------------------------------------------------------------------
    def env(self, name: str, value: str, line: int, runtime: bool, before_julia: bool) -> None:
        if config_module.SECRET_NAME_RE.search(name):
            self.out.note(line, f"ENV {name}: looks like a secret, not copied into the configuration (an image "
                                "keeps its ENV): pass it at run time (docker run -e)")
            return
        if name in MANAGED_ENV:
            if name not in ("JULIA_VERSION", "JULIA_MAJOR", "JULIA_MINOR", "DEBIAN_FRONTEND", "JULIA_PATH"):
                self.out.note(line, f"ENV {name}: not mapped ({MANAGED_ENV[name]})")
            return
        if "$" in value:
            self.out.note(line, f"ENV {name}: its value uses a variable with no default here: not mapped")
            return
        if name == "JULIA_CPU_TARGET":
            self.out.set("cpu_target", value, line)
            return
        if runtime and name == "TZ":
            self.out.set("timezone", value, line)
            return
        if runtime and name in ("LANG", "LC_ALL"):
            if self.out.values.get("locale") != value:
                self.out.set("locale", value, line)
            return
        if not runtime:
            self.out.add_entry("build_env", name, value, line)
            return
        self.out.add_entry("env", name, value, line)
        # a single-stage Dockerfile's ENV before a Julia step was seen by that step (PYTHON for PyCall's build)
        if before_julia and name not in config_module.RESERVED_BUILD_ENV:
            current = dict(self.out.values.get("build_env", {}))
            current[name] = value
            try:
                config_module.check_option("build_env", current, "build_env")
            except UsageError:
                return
            self.out.values["build_env"] = current
            self.out.lines.setdefault("build_env", line)

    # --- COPY --------------------------------------------------------------------------------------------
    def copy(self, command: Any, cwd: str, app_dir: str, runtime: bool) -> str:
        flags = dict(f.lstrip("-").split("=", 1) for f in command.flags if "=" in f)
        words = list(command.value)
        if not words:
            return app_dir
        sources, dest = words[:-1], words[-1]
        absolute = dest if dest.startswith("/") else (PurePosixPath(cwd) / dest).as_posix()
        if "from" in flags:
            return app_dir  # artefacts of another stage: the generated builder makes its own
        if command.cmd == "ADD" and any(re.match(r"^[a-z]+://", s) for s in sources):
            self.out.note(command.start_line, f"{command.original}: a download: not mapped (a hook can fetch it)")
            return app_dir
        if any(s in (".", "./") for s in sources):
            return str(PurePosixPath(absolute))  # the project itself: this is where it lives in that image
        inside = _under(str(PurePosixPath(absolute)), app_dir)
        if inside is not None or not runtime:
            return app_dir  # project files (Project.toml, src/): the generated image copies the whole project
        self.out.note(command.start_line, f"{command.original}: copies files to {absolute}, outside the project: "
                                          "not mapped (extra_files keeps the project's layout; a hook can place "
                                          "files elsewhere)")
        return app_dir

    # --- RUN ---------------------------------------------------------------------------------------------
    def simple_commands(self, command: Any) -> list[list[str]]:
        if command.heredocs:
            return []
        if command.json:
            return [list(command.value)]
        return split_shell(" ".join(command.value)) or []

    def run_step(self, command: Any, cwd: str, app_dir: str, runtime: bool) -> None:
        line = command.start_line
        if command.heredocs:
            self.out.note(line, "RUN with a here-document: not mapped (put the script in a file and use hooks)")
            return
        text = command.value[0] if not command.json else shlex.join(command.value)
        parsed = split_shell(text) if not command.json else [list(command.value)]
        if parsed is None:
            self.out.note(line, f"RUN {text}: shell syntax that is not a list of commands: not mapped")
            return
        unmapped: list[str] = []
        writable: list[str] = []
        for words in parsed:
            while words and re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", words[0]):
                words = words[1:]
            if not words:
                continue
            program = PurePosixPath(words[0]).name
            if program in ("set", "cd", "true", ":", "echo", "export"):
                continue
            if program in INSTALLERS:
                if (program, words[1] if len(words) > 1 else "") in HOUSEKEEPING:
                    continue
                if len(words) > 1 and INSTALLERS[program] in words[1:]:
                    self.packages(words, line, runtime)
                    continue
                unmapped.append(shlex.join(words))
                continue
            if program == "rm" and all(w.startswith("-") or w.startswith(CACHE_DIRS) for w in words[1:]):
                continue
            if _is_julia(words[0]):
                self.julia_step(words, line, cwd, app_dir, runtime)
                continue
            if program in ("useradd", "adduser", "groupadd", "addgroup", "usermod"):
                self.out.handle(line, f"{program}: the image has its own non-root user (user_id)")
                continue
            if program == "ln" and len(words) >= 3 and words[-1] == "/etc/localtime":
                zone = _under(words[-2], "/usr/share/zoneinfo")
                if zone and runtime:
                    self.out.set("timezone", zone, line)
                    continue
            if program in ("chown", "chmod") and runtime:
                targets = [w for w in words[1:] if not w.startswith("-")][1:]  # after the owner or mode
                paths = self.writable_targets(targets, cwd, app_dir)
                if paths is not None:
                    writable += paths
                    continue
            if program == "mkdir" and runtime:
                continue  # directories matter only when made writable (chown/chmod), which maps them
            unmapped.append(shlex.join(words))
        if writable:
            self.out.add_items("writable_paths", writable, line)
        if unmapped:
            where = "a build stage" if not runtime else "the image"
            self.out.note(line, f"RUN {'; '.join(unmapped)}: not mapped (in {where}; hooks run your own build "
                                "steps as files)")

    def writable_targets(self, targets: list[str], cwd: str, app_dir: str) -> list[str] | None:
        out = []
        for target in targets:
            absolute = target if target.startswith("/") else (PurePosixPath(cwd) / target).as_posix()
            absolute = str(PurePosixPath(absolute))
            inside = _under(absolute, app_dir) if app_dir != "/" else None
            if inside == "." or absolute in ("/", "/home", "/root") or any(c in target for c in "$*?["):
                return None  # the whole app or a pattern: not one directory
            if inside is None and absolute.startswith(("/home/", "/root/", "/usr/local/julia", "/opt/julia")):
                continue  # a user's home or Julia's depot: the image sets those up itself
            out.append(inside if inside is not None else absolute)
        return out

    def packages(self, words: list[str], line: int, runtime: bool) -> None:
        names = [w for w in words[2:] if not w.startswith("-") and w not in ("install", "add")]
        for name in names:
            if "$" in name or "*" in name:
                self.out.note(line, f"package {name!r}: a variable or pattern, not mapped")
                continue
            build_only = not runtime or name.split("=")[0] in BUILD_TOOLS
            self.out.add_items("builder_packages" if build_only else "system_packages", [name], line)

    # --- Julia build steps -------------------------------------------------------------------------------
    def julia_step(self, words: list[str], line: int, cwd: str, app_dir: str, runtime: bool) -> None:
        _, rest = julia_flags(words[1:])
        if rest and rest[0] in ("-e", "--eval", "-E", "--print"):
            code = rest[1] if len(rest) > 1 else ""
            self.julia_code(code, line, cwd, app_dir)
            return
        if not rest:
            self.out.note(line, f"RUN {shlex.join(words)}: not mapped")
            return
        script = self.project_path(rest[0], cwd, app_dir)
        if script is None:
            self.out.note(line, f"RUN {shlex.join(words)}: the script is not a project file: not mapped")
            return
        try:
            text = (self.root / script).read_text("utf-8", errors="replace")
        except OSError:
            text = ""
        if "create_sysimage" in text or "create_app" in text:
            self.package_compiler(text, line, cwd, app_dir)
            return
        stage = "after_source" if self.loads_project(text) else "after_instantiate"
        self.add_hook(stage, script, line)

    def loads_project(self, code: str) -> bool:
        name = self.project_name
        return bool(name) and re.search(rf"\b(?:using|import)\s+{re.escape(name or '')}\b", code) is not None

    def julia_code(self, code: str, line: int, cwd: str, app_dir: str) -> None:
        """Pkg steps the build does itself are dropped; the rest, in its order, becomes a hook file (with the
        `using`/`import` lines it may need; a step that only loads packages is the build's own precompile)."""
        body: list[str] = []
        own_steps = False
        for statement in julia_statements(code):
            if "create_sysimage" in statement or "create_app" in statement:
                self.package_compiler(statement, line, cwd, app_dir)
            elif re.match(r"^(?:using|import)\s", statement):
                body.append(statement)
            elif HANDLED_JULIA.match(statement):
                continue
            elif PKG_CHANGES.match(statement):
                self.out.note(line, f"{statement}: changes the environment at build time: not mapped (add the "
                                    "package to Project.toml and the manifest, then the build installs it)")
            else:
                body.append(statement)
                own_steps = True
        if own_steps:
            text = "\n".join(body)
            stage = "after_source" if self.loads_project(text) else "after_instantiate"
            self.out.hooks.append(HookFile(text + "\n", line, stage))

    def package_compiler(self, code: str, line: int, cwd: str, app_dir: str) -> None:
        if "create_app" in code:
            self.create_app = True
            self.out.set("mode", "app", line)
            return
        for kwarg, key in (("precompile_execution_file", "precompile_files"),
                           ("precompile_statements_file", "statements_files")):
            match = re.search(KWARG_FILES_RE.format(kwarg), code)
            if match:
                files = re.findall(r"\"([^\"]*)\"", match.group(1))
                for name in files:
                    relative = self.project_path(name, cwd, app_dir)
                    if relative is not None:
                        self.out.add_items(key, [relative], line)
                    else:
                        self.out.note(line, f"{kwarg} {name!r}: not a project file: not mapped")
        match = re.search(r"cpu_target\s*=\s*\"([^\"]*)\"", code)
        if match:
            self.out.set("cpu_target", match.group(1), line)
        if re.search(r"incremental\s*=\s*false", code):
            self.out.set("incremental", False, line)
        if re.search(r"filter_stdlibs\s*=\s*true", code) and self.out.values.get("incremental") is False:
            self.out.set("filter_stdlibs", True, line)
        self.out.handle(line, "PackageCompiler: the builder makes the sysimage")

    def add_hook(self, stage: str, path: str, line: int) -> None:
        hooks = {k: list(v) for k, v in self.out.values.get("hooks", {}).items()}
        hooks.setdefault(stage, [])
        if path not in hooks[stage]:
            hooks[stage].append(path)
        self.out.set("hooks", hooks, line)

    # --- EXPOSE, USER --------------------------------------------------------------------------------------
    def expose(self, command: Any, variables: dict[str, str], runtime: bool) -> None:
        line = command.start_line
        for word in command.value:
            value = expand(word, variables)
            match = re.fullmatch(r"(\d{1,5})(?:/tcp)?", value or "")
            if not runtime:
                continue
            if match is None:
                self.out.note(line, f"EXPOSE {word}: not mapped (TCP port numbers only)")
                continue
            self.out.add_items("ports", [int(match.group(1))], line)

    def user(self, command: Any, variables: dict[str, str]) -> None:
        line = command.start_line
        user = expand(command.value[0], variables) or command.value[0]
        uid, _, gid = user.partition(":")
        if uid in ("root", "0"):
            self.out.note(line, f"USER {user}: not mapped: the image never runs as root")
        elif uid.isdigit():
            if gid and gid != uid:
                self.out.note(line, f"USER {user}: the image runs as user_id:user_id ({uid}:{uid})")
            self.out.set("user_id", int(uid), line)
        else:
            self.out.handle(line, f"USER {user}: the image runs as its own non-root user "
                                               "(uid user_id, default 1000)")

    # --- entry point -------------------------------------------------------------------------------------
    def entry_point(self, entry: dict[str, Any]) -> None:
        workdir = entry.get("workdir")
        if workdir is not None and workdir[0] != "/app":
            self.out.handle(workdir[1], f"WORKDIR {workdir[0]}: the project is at /app in the image")
        if "HEALTHCHECK" in entry:
            self.healthcheck(entry["HEALTHCHECK"])
        argv: list[str] = []
        line = 0
        cwd, app_dir = "/", "/"
        for kind in ("ENTRYPOINT", "CMD"):
            if kind not in entry:
                continue
            command, cwd, app_dir = entry[kind]
            line = line or command.start_line
            if command.json:
                argv += list(command.value)
            elif command.value:
                argv += ["/bin/sh", "-c", " ".join(command.value)]
        if not argv:
            return
        unwrapped = unwrap(argv)
        if not unwrapped:
            self.out.note(line, "CMD/ENTRYPOINT: a shell line with more than one command: not mapped")
            return
        argv = unwrapped
        if self.create_app:
            self.out.set("julia_main", True, line)
            return
        if not _is_julia(argv[0]):
            self.out.note(line, f"CMD/ENTRYPOINT {shlex.join(argv)}: does not start julia: not mapped")
            return
        flags, rest = julia_flags(argv[1:])
        kept_flags = [f for f in flags if not f.startswith(JULIA_FLAGS_DROPPED)]
        if kept_flags:
            self.out.set("julia_args", kept_flags, line)
        if not rest:
            self.out.note(line, f"CMD/ENTRYPOINT {shlex.join(argv)}: starts a REPL: not mapped")
        elif rest[0] in ("-e", "--eval", "-E", "--print") and len(rest) > 1:
            self.out.set("command", ["-e" if rest[0] in ("-e", "--eval") else rest[0], *rest[1:]], line)
        elif rest[0] in ("-m", "--module") and len(rest) == 2:
            self.out.set("julia_module", rest[1], line)
        else:
            script = self.project_path(rest[0], cwd, app_dir)
            if script is None:
                self.out.note(line, f"CMD/ENTRYPOINT {shlex.join(argv)}: {rest[0]} is not a project file: "
                                    "not mapped")
            elif len(rest) == 1:
                self.out.set("script", script, line)
            else:
                self.out.set("command", [script, *rest[1:]], line)
        if "ENTRYPOINT" in entry and rest:
            self.out.handle(line, "ENTRYPOINT: here the entrypoint is julia and its flags, the program "
                                               "is the CMD, so `docker run IMAGE ARGS` replaces it; `sysimage-docker "
                                               "run PATH -- ARGS` passes ARGS after it")

    def healthcheck(self, command: Any) -> None:
        line = command.start_line
        words = list(command.value)
        if not words or words[0].upper() == "NONE":
            return
        text = " ".join(words[1:])
        match = HEALTH_URL_RE.search(text)
        if match is None:
            self.out.note(line, f"{command.original}: not an HTTP GET of a local URL: not mapped")
            return
        port = int(match.group(1) or 80)
        ports = list(self.out.values.get("ports", []))
        if port not in ports:
            self.out.add_items("ports", [port], line)
        elif ports[0] != port:  # the probe goes to the first port
            self.out.values["ports"] = [port, *[p for p in ports if p != port]]
        self.out.set("healthcheck_path", match.group(2) or "/", line)
        other = []
        for flag in command.flags:
            name, _, value = flag.partition("=")
            seconds = _duration(value)
            if name == "--interval" and seconds is not None:
                self.out.set("healthcheck_interval", seconds, line)
            else:
                other.append(flag)
        if other:
            self.out.note(line, f"HEALTHCHECK {' '.join(other)}: not mapped (the probe's timeout, start period "
                                "and retries are fixed)")


def _duration(text: str) -> int | None:
    """A HEALTHCHECK duration (Go's syntax: 30s, 1m, 1m30s, 1h) in whole seconds."""
    parts = re.findall(r"(\d+)(h|m|s)", text)
    if not parts or "".join(n + u for n, u in parts) != text:
        return None
    return sum(int(n) * {"h": 3600, "m": 60, "s": 1}[u] for n, u in parts)


def _is_julia(word: str) -> bool:
    return re.fullmatch(r"julia(?:-\d+(?:\.\d+)*)?", PurePosixPath(word).name) is not None


def julia_flags(words: list[str]) -> tuple[list[str], list[str]]:
    """Julia's own options (normalised to --name=value where they take one) and what follows them."""
    flags: list[str] = []
    index = 0
    while index < len(words):
        word = words[index]
        if word == "--":
            index += 1
            break
        if not word.startswith("-") or word in ("-e", "--eval", "-E", "--print", "-m", "--module"):
            break
        if word in JULIA_FLAGS_WITH_VALUE and word not in ("--project", "-O", "--optimize") \
                and index + 1 < len(words):
            long = {"-t": "--threads", "-p": "--procs", "-J": "--sysimage", "-C": "--cpu-target",
                    "-L": "--load"}.get(word, word)
            flags.append(f"{long}={words[index + 1]}")
            index += 2
            continue
        flags.append(word)
        index += 1
    return flags, words[index:]


def unwrap(argv: list[str]) -> list[str] | None:
    """`sh -c "exec julia ..."`, `tini -- julia ...`: the command that actually runs."""
    while argv:
        name = argv[0]
        if name in SHELLS and len(argv) >= 3 and argv[1] in ("-c", "-ec", "-lc"):
            parts = split_shell(argv[2])
            if parts is None or len(parts) != 1:
                return None
            argv = parts[0] + argv[3:]
        elif name in INIT_WRAPPERS or PurePosixPath(name).name in ("tini", "dumb-init"):
            argv = argv[1:]
            if argv and argv[0] == "--":
                argv = argv[1:]
        elif name == "/usr/bin/env" and len(argv) > 1:
            argv = argv[1:]
        else:
            return argv
    return argv


def split_shell(text: str) -> list[list[str]] | None:
    """A shell line as its simple commands (split at && || ; |); None for what a word list cannot carry."""
    lexer = shlex.shlex(text, posix=True, punctuation_chars=";&|")
    lexer.whitespace_split = True
    lexer.commenters = ""
    try:
        tokens = list(lexer)
    except ValueError:
        return None
    commands: list[list[str]] = [[]]
    for token in tokens:
        if token in ("&&", "||", ";", "|", "&"):
            commands.append([])
        elif set(token) <= set(";&|"):
            return None
        else:
            commands[-1].append(token)
    if any(w.startswith(("$(", "`")) or w in ("(", ")", "{", "}", "if", "then", "for", "while", "do")
           for c in commands for w in c[:1]):
        return None
    return [c for c in commands if c]


def julia_statements(code: str) -> list[str]:
    """Top-level statements of a -e string (split at ; and newlines outside brackets and strings)."""
    statements: list[str] = []
    current: list[str] = []
    depth = 0
    quote: str | None = None
    index = 0
    while index < len(code):
        char = code[index]
        if quote is not None:
            current.append(char)
            if char == "\\" and index + 1 < len(code):
                current.append(code[index + 1])
                index += 2
                continue
            if code.startswith(quote, index):
                current.extend(quote[1:])
                index += len(quote)
                quote = None
                continue
        elif code.startswith('"""', index):
            quote = '"""'
            current.append('"""')
            index += 3
            continue
        elif char == '"':
            quote = '"'
            current.append(char)
        elif char == "#":
            while index < len(code) and code[index] != "\n":
                index += 1
            continue
        elif char in "([{":
            depth += 1
            current.append(char)
        elif char in ")]}":
            depth = max(depth - 1, 0)
            current.append(char)
        elif char in ";\n" and depth == 0:
            statements.append("".join(current).strip())
            current = []
        else:
            current.append(char)
        index += 1
    statements.append("".join(current).strip())
    return [s for s in statements if s]


def migrate(text: str, shown: str, project_root: Path, project_name: str | None) -> Migration:
    commands = parse(text, shown)
    stages, global_args = stages_of(commands, shown)
    return Mapper(project_root, project_name).run(stages, global_args)
