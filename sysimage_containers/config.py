"""Resolving options: defaults < sysimage-docker.toml < SYSIMAGE_DOCKER_* env < command line.

The result is a frozen Config; every value is type-checked and validated here, with the error naming where it
came from (file:line:col, the env variable, or the flag).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path, PurePosixPath
from typing import Any

from sysimage_containers import credentials, imageref, tomlfiles
from sysimage_containers.errors import UsageError
from sysimage_containers.options import BY_KEY, OPTIONS, REMOVED, Option
from sysimage_containers.project import SYSTEM_PACKAGE_RE
from sysimage_containers.urls import strip_credentials

CONFIG_FILE = "sysimage-docker.toml"
ENGINES = ("auto", "buildx", "docker", "podman")
PRIVATE_GIT = ("none", "token", "ssh")
REGISTRY_NAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]*$")
# https URLs without credentials in them, scp-like git@host:path, ssh:// URLs
GIT_URL_RE = re.compile(
    r"^(?:https://[A-Za-z0-9.-]+(?::\d+)?(?:/[A-Za-z0-9._~%/-]*)?"
    r"|[A-Za-z0-9_.-]+@[A-Za-z0-9.-]+:[A-Za-z0-9._~/-]+"
    r"|ssh://(?:[A-Za-z0-9_.-]+@)?[A-Za-z0-9.-]+(?::\d+)?/[A-Za-z0-9._~/-]+)$"
)
# control characters and Unicode line separators: nothing that could end a line in any reader
CONTROL_RE = re.compile(r"[\x00-\x1f\x7f\x85\u2028\u2029]")
CPU_TARGET_RE = re.compile(r"^[A-Za-z0-9_.,;:+()=-]+$")
ENV_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
LABEL_KEY_RE = re.compile(r"^[a-z0-9][a-z0-9._-]*[a-z0-9]$|^[a-z0-9]$")
URL_PATH_RE = re.compile(r"^/[A-Za-z0-9._~!&'()*+,;=:@%/?-]*$")
PC_VERSION_RE = re.compile(r"^\d+(?:\.\d+){0,2}$")
# Paths that are placed in Dockerfile COPY instructions: no globbing, quoting or variable characters.
SAFE_PATH_RE = re.compile(r"^[A-Za-z0-9._+@=, -]+(?:/[A-Za-z0-9._+@=, -]+)*$")
# extra_files: SAFE_PATH_RE plus glob wildcards within one name (they never reach the Dockerfile: the context tree
# is copied whole; the matches are expanded when the context is walked)
EXTRA_FILE_RE = re.compile(r"^[A-Za-z0-9._+@=, *?\[\]-]+(?:/[A-Za-z0-9._+@=, *?\[\]-]+)*$")
ABS_PATH_RE = re.compile(r"^/(?:[A-Za-z0-9._+@=-]+/?)*$")


TIMEZONE_RE = re.compile(r"^[A-Za-z0-9_+-]+(?:/[A-Za-z0-9_+-]+)*$")
LOCALES = ("C.UTF-8", "C.utf8", "C", "POSIX")
HOOK_STAGES = ("after_instantiate", "after_source", "runtime")
# hook_inputs: a project path, with the glob characters * ? [ ] allowed
HOOK_INPUT_RE = re.compile(r"^[A-Za-z0-9._+@=, *?\[\]-]+(?:/[A-Za-z0-9._+@=, *?\[\]-]+)*$")
# depot directories that never ship (the runtime user's depot takes new ones), and the ones that always do
DEPOT_NEVER = {
    "registries": "the runtime image has no registries (Pkg does not run there)",
    "logs": "Pkg's logs of the build are not the app's",
    "scratchspaces": "scratch spaces belong to the runtime user's depot, where the app can write them",
    "clones": "git clones are build-time sources",
}
DEPOT_ALWAYS = ("packages", "artifacts", "compiled")
# build_env names the builder itself manages, and names that say they hold a secret (every builder stage is pushed
# with cache_repo, and its ENV with it)
RESERVED_BUILD_ENV = ("JULIA_DEPOT_PATH", "JULIA_PROJECT", "JULIA_LOAD_PATH", "JULIA_CPU_TARGET", "JULIA_NUM_THREADS",
                      "PATH", "HOME")
SECRET_NAME_RE = re.compile(r"TOKEN|SECRET|PASSWORD|PASSWD|PASSPHRASE|CREDENTIAL|API_?KEY|PRIVATE_?KEY|ACCESS_?KEY"
                            r"|AUTH(?!OR)|(?:^|_)(?:KEY|PASS|PAT)(?:$|_)|COOKIE|SESSION", re.IGNORECASE)
ENTRY_POINTS = ("script", "julia_main", "command", "julia_module")

MODES = ("sysimage", "pkgimage", "app")
HTTP_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


@dataclass(frozen=True)
class Request:
    """A warm-up request sent to the app during the trace."""

    method: str = "GET"
    path: str = "/"
    body: str = ""
    status: int = 200


@dataclass(frozen=True)
class Config:
    julia_version: str | None = None
    builder_image: str | None = None
    runtime_image: str | None = None  # None: the slim debian image of the builder's release
    julia_path: str = "/usr/local/julia"
    cpu_target: str = "portable"
    mode: str = "sysimage"
    incremental: bool = True
    filter_stdlibs: bool = False
    packages: tuple[str, ...] | None = None
    exclude: tuple[str, ...] = ()
    include_project: bool = False
    precompile_files: tuple[str, ...] = ()
    statements_files: tuple[str, ...] = ()
    test_workload: bool = False
    warmup: tuple[Request, ...] = ()
    trace: bool = False
    allow_workload_errors: bool = False
    buildkit: bool = True
    resolve: bool = False
    packagecompiler_version: str | None = None
    script: str | None = None
    julia_main: bool = False
    command: tuple[str, ...] = ()
    julia_module: str | None = None
    julia_args: tuple[str, ...] = ()
    ports: tuple[int, ...] = ()
    healthcheck_path: str | None = None
    healthcheck_interval: int = 30
    env: tuple[tuple[str, str], ...] = ()
    system_packages: tuple[str, ...] = ()
    builder_packages: tuple[str, ...] = ()
    build_env: tuple[tuple[str, str], ...] = ()
    hooks: tuple[tuple[str, tuple[str, ...]], ...] = ()  # (stage, files), stages in HOOK_STAGES order
    hook_inputs: tuple[str, ...] = ()  # paths or globs, expanded against the build context (hook_inputs.py)
    depot_dirs: tuple[str, ...] = ()
    runtime_paths: tuple[str, ...] = ()
    writable_paths: tuple[str, ...] = ()
    volumes: tuple[str, ...] = ()
    timezone: str | None = None
    locale: str | None = None
    labels: tuple[tuple[str, str], ...] = ()
    registries: tuple[tuple[str, str], ...] = ()
    private_git: str = "none"
    user_id: int = 1000
    context_exclude: tuple[str, ...] = ()
    context_root: str | None = None
    extra_files: tuple[str, ...] = ()
    context_warn_mb: int = 100
    cache_repo: str | None = None
    engine: str = "auto"
    docker_client: str | None = None
    docker_context: str | None = None
    network: str | None = None
    # where each value came from: default, file, env or cli
    sources: Mapping[str, str] = field(default_factory=dict, compare=False)
    config_file: str | None = None
    config_sha256: str = ""


def config_keys() -> set[str]:
    return {f.name for f in fields(Config)} - {"sources", "config_file", "config_sha256"}


def resolve(
    project_dir: Path | None,
    *,
    config_path: Path | None = None,
    environ: Mapping[str, str] | None = None,
    cli: Mapping[str, Any] | None = None,
) -> Config:
    values: dict[str, Any] = {o.key: _default(o) for o in OPTIONS}
    sources = dict.fromkeys(values, "default")

    shown_file, digest = None, ""
    path = config_path if config_path is not None else (project_dir / CONFIG_FILE if project_dir else None)
    if path is not None and (config_path is not None or path.is_file()):
        shown_file = str(config_path) if config_path is not None else CONFIG_FILE
        text = tomlfiles.read_text(path, shown_file, tomlfiles.MAX_SMALL_TOML_BYTES)
        digest = hashlib.sha256(text.encode()).hexdigest()
        for key, value in _read_file(text, shown_file).items():
            values[key], sources[key] = value, "file"

    for option in OPTIONS:
        raw = (environ or {}).get(option.env_var or "")
        # one rule for every option: an empty (or blank) variable is unset, as CI systems set unused ones empty
        if option.env_var and raw is not None and raw.strip():
            values[option.key] = _coerce_env(option, raw)
            sources[option.key] = "env"

    for key, raw in (cli or {}).items():
        if raw is None:
            continue
        option = BY_KEY[key]
        values[key] = _coerce(option, raw, f"{option.flag}")
        sources[key] = "cli"

    # project_dir None: engine-only commands (doctor, verify, run IMAGE) read no project file
    config = Config(**values, sources=sources, config_file=shown_file, config_sha256=digest)
    _check_combinations(config)
    return config


def _default(option: Option) -> Any:
    if isinstance(option.default, list):
        return tuple(option.default)
    if isinstance(option.default, dict):
        return tuple(sorted(option.default.items()))
    return option.default


def _read_file(text: str, shown: str) -> dict[str, Any]:
    doc = tomlfiles.loads(text, shown)
    out: dict[str, Any] = {}
    for key, raw in doc.items():
        option = BY_KEY.get(key)
        line, col = tomlfiles.locate_key(text, key)
        if option is None and key in REMOVED:
            raise UsageError(f"{shown}:{line}:{col}: {key}: {REMOVED[key]}")
        if option is None:
            import difflib  # only a misspelt key pays for it

            hint = difflib.get_close_matches(key, list(BY_KEY), n=1)
            suggestion = f"; did you mean {hint[0]!r}?" if hint else ""
            raise UsageError(f"{shown}:{line}:{col}: unknown key {key!r}{suggestion}")
        where = f"{shown}:{line}:{col}: {key}"
        if option.kind == "table" and isinstance(raw, dict):
            for name in raw:
                if not isinstance(raw[name], str):
                    line, col = tomlfiles.locate_key(text, name, key)
                    raise UsageError(f"{shown}:{line}:{col}: {key}.{shown_name(name)}: expected a string")
        out[key] = _coerce(option, raw, where, from_file=True)
    return out


def _coerce_env(option: Option, raw: str) -> Any:
    where = option.env_var or option.key
    text = raw.strip()
    if option.kind == "bool":
        lowered = text.lower()
        if lowered in ("1", "true", "yes", "on"):
            return True
        if lowered in ("0", "false", "no", "off", ""):
            return False
        raise UsageError(f"{where}: expected true or false, got {raw!r}")
    if option.kind == "int":
        return _coerce(option, _to_int(text, where), where)
    if option.kind in ("list", "intlist"):
        items = [s.strip() for s in text.split(",") if s.strip()]
        if option.kind == "intlist":
            return _coerce(option, [_to_int(s, where) for s in items], where)
        return _coerce(option, items, where)
    return _coerce(option, text or None, where)


def _to_int(text: str, where: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise UsageError(f"{where}: expected a whole number, got {text!r}") from None


def _type_name(value: Any) -> str:
    return {str: "string", bool: "boolean", int: "integer", float: "float", list: "array", dict: "table"}.get(
        type(value), type(value).__name__
    )


def _coerce(option: Option, raw: Any, where: str, from_file: bool = False) -> Any:
    """Check the type and the value of one option, whatever its source."""
    kind = option.kind
    if kind == "bool":
        if not isinstance(raw, bool):
            raise UsageError(f"{where}: expected true or false, got {_type_name(raw)}")
        return raw
    if kind == "int":
        if isinstance(raw, bool) or not isinstance(raw, int):
            raise UsageError(f"{where}: expected a whole number, got {_type_name(raw)}")
        return _check_value(option.key, raw, where)
    if kind in ("list", "intlist"):
        if isinstance(raw, str) and not from_file and not option.repeatable:
            raw = [s.strip() for s in raw.split(",") if s.strip()]
        if not isinstance(raw, list | tuple):
            raise UsageError(f"{where}: expected an array, got {_type_name(raw)}")
        want = int if kind == "intlist" else str
        for item in raw:
            if isinstance(item, bool) or not isinstance(item, want):
                noun = "whole numbers" if want is int else "strings"
                raise UsageError(f"{where}: expected an array of {noun}, got an item of type {_type_name(item)}")
        return tuple(_check_value(option.key, item, where) for item in raw)
    if kind == "requests":
        if not isinstance(raw, list | tuple):
            raise UsageError(f"{where}: expected an array of tables such as [{{ path = \"/health\" }}]")
        return tuple(_request(item, f"{where}[{i}]") for i, item in enumerate(raw))
    if kind == "hooks":
        return _hooks(raw, where)
    if kind == "table":
        if isinstance(raw, list | tuple):  # K=V pairs from the command line
            raw = dict(key_value(item, where) for item in raw)
        if not isinstance(raw, dict):
            raise UsageError(f"{where}: expected a table, got {_type_name(raw)}")
        return tuple(sorted((_check_table_key(option.key, k, where),
                             _check_table_value(option.key, v, f"{where}.{shown_name(k)}")) for k, v in raw.items()))
    if raw is None:
        return None
    if not isinstance(raw, str):
        raise UsageError(f"{where}: expected a string, got {_type_name(raw)}")
    return _check_value(option.key, raw, where)


def key_value(item: object, where: str, shape: str = "KEY=VALUE") -> tuple[str, str]:
    """One KEY=VALUE item of the command line (--env, --build-arg, --hook STAGE=FILE, table flags)."""
    if not isinstance(item, str) or "=" not in item:
        raise UsageError(f"{where}: expected {shape}, got {item!r}")
    key, value = item.split("=", 1)
    return key, value


def spec_fields(spec: str) -> dict[str, str]:
    """The fields of a BuildKit-style spec, `id=git-credentials,src=FILE` or `type=registry,ref=R,mode=max`."""
    return dict(part.split("=", 1) for part in spec.split(",") if "=" in part)


def _hooks(raw: Any, where: str) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """`{ stage = [files] }` from the file, or STAGE=FILE items from the command line (one file each)."""
    stages: dict[str, list[str]] = {}
    if isinstance(raw, list | tuple):
        for item in raw:
            stage, file = key_value(item, where, "STAGE=FILE")
            stages.setdefault(stage, []).append(file)
    elif isinstance(raw, dict):
        for stage, files in raw.items():
            if not isinstance(files, list) or not all(isinstance(f, str) for f in files):
                raise UsageError(f"{where}.{shown_name(stage)}: expected an array of file names")
            stages[stage] = list(files)
    else:
        raise UsageError(f"{where}: expected a table such as {{ after_instantiate = [\"deploy/build.jl\"] }}")
    for stage, files in stages.items():
        if stage not in HOOK_STAGES:
            raise UsageError(f"{where}: unknown hook {shown_name(stage)!r} ({', '.join(HOOK_STAGES)})")
        for file in files:
            check_relative_path(_check_text(file, f"{where}.{stage}"), f"{where}.{stage}")
            if stage == "runtime" and file.endswith(".jl"):
                raise UsageError(f"{where}.runtime: {file!r}: runtime hooks run before Julia is copied into the "
                                 "runtime stage; use an executable script")
    return tuple((stage, tuple(dict.fromkeys(stages[stage]))) for stage in HOOK_STAGES if stages.get(stage))


def _request(item: Any, where: str) -> Request:
    if not isinstance(item, dict):
        raise UsageError(f"{where}: expected a table with path (and method, body, status)")
    unknown = set(item) - {"method", "path", "body", "status"}
    if unknown:
        raise UsageError(f"{where}: unknown key {sorted(unknown)[0]!r} (method, path, body, status)")
    method, path, body, status = (item.get("method", "GET"), item.get("path"), item.get("body", ""),
                                  item.get("status", 200))
    if not isinstance(method, str) or method.upper() not in HTTP_METHODS:
        raise UsageError(f"{where}.method: {method!r} is not one of {', '.join(HTTP_METHODS)}")
    if not isinstance(path, str) or not URL_PATH_RE.match(path):
        raise UsageError(f"{where}.path: {path!r} is not an absolute URL path such as /health")
    if not isinstance(body, str) or "\x00" in body or len(body) > 65536:
        raise UsageError(f"{where}.body: expected a string (at most 64 KiB, no NUL)")
    if isinstance(status, bool) or not isinstance(status, int) or not 100 <= status <= 599:
        raise UsageError(f"{where}.status: {status!r} is not an HTTP status (100-599)")
    return Request(method=method.upper(), path=path, body=body, status=status)


def shown_name(name: str) -> str:
    """A key as it appears in a message: plain when it is a plain name, quoted otherwise."""
    return name if re.fullmatch(r"[A-Za-z0-9_.-]+", name) else repr(name)


def _check_text(value: str, where: str) -> str:
    if CONTROL_RE.search(value):
        raise UsageError(f"{where}: control characters (newline, tab, NUL...) cannot be placed in an image")
    if len(value) > 4096:
        raise UsageError(f"{where}: value is {len(value)} characters, over the 4096 limit")
    return value


def _check_table_value(table: str, value: str, where: str) -> str:
    _check_text(value, where)
    # a label's URL loses its credentials when written (plan); any other credential shape is refused
    shown = strip_credentials(value) if table == "labels" else value
    shape = credentials.looks_like(shown) if table in ("build_env", "env", "labels") else None
    if shape is not None and table == "build_env":
        raise UsageError(f"{where}: the value looks like {shape}, and build_env is stored in the builder stages "
                         "(pushed with cache_repo): pass credentials as a BuildKit secret (--secret, private_git)")
    if shape is not None:
        stored = "env values are" if table == "env" else "labels are"
        raise UsageError(f"{where}: the value looks like {shape}, and {stored} stored in the image's configuration "
                         "for anyone who pulls it: give credentials to the container when it runs (docker run -e, "
                         "an orchestrator's secret)")
    if table == "registries" and strip_credentials(value) != value:  # never echoed: CI logs are often public
        raise UsageError(f"{where}: {strip_credentials(value)!r} is given with credentials in the URL; pass tokens "
                         "as the git-credentials secret (private_git = \"token\", --secret)")
    if table == "registries" and not GIT_URL_RE.match(value):
        raise UsageError(f"{where}: {value!r} is not a git URL without credentials (https://host/path, "
                         "git@host:path or ssh://host/path; pass tokens as the git-credentials secret)")
    return value


def _check_table_key(table: str, key: str, where: str) -> str:
    if table == "env" and not ENV_NAME_RE.match(key):
        raise UsageError(f"{where}: {key!r} is not a valid environment variable name")
    if table == "build_env":
        if not ENV_NAME_RE.match(key):
            raise UsageError(f"{where}: {key!r} is not a valid environment variable name")
        if key == "JULIA_LOAD_PATH":
            raise UsageError(f"{where}: JULIA_LOAD_PATH is managed by the builder (its steps load the app "
                             "environment): a hook can set its own (withenv), and depot_dirs = [\"environments\"] "
                             "ships a shared environment a hook made")
        if key in RESERVED_BUILD_ENV or key.startswith("SYSIMAGE_DOCKER_"):
            raise UsageError(f"{where}: {key} is managed by the builder and cannot be set here")
        if SECRET_NAME_RE.search(key):
            raise UsageError(f"{where}: {key} looks like a secret, and build_env is stored in the builder stages "
                             "(pushed with cache_repo): pass secrets with private_git or a BuildKit --secret")
    if table == "registries" and not REGISTRY_NAME_RE.match(key):
        raise UsageError(f"{where}: {key!r} is not a valid registry name")
    if table == "labels" and not LABEL_KEY_RE.match(key):
        raise UsageError(f"{where}: {key!r} is not a valid label key (lower-case letters, digits, . _ -)")
    return key


def _check_value(key: str, value: Any, where: str) -> Any:
    """One value of option `key`, checked by the kind of rule its key has: a pattern, a fixed choice, a path, a
    number's range or an image reference."""
    if isinstance(value, str):
        _check_text(value, where)
    for check in (_check_pattern, _check_choice, _check_path, _check_number, _check_reference):
        check(key, value, where)
    return value


# key -> (the pattern its whole value must match, what it is otherwise, the longest it may be)
JULIA_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_!]*$")
SYSTEM_PACKAGE_WORDS = "is not a system package name (letters, digits and . + _ -, optionally =VERSION)"
PATTERNS: dict[str, tuple[re.Pattern[str], str, int | None]] = {
    "cpu_target": (CPU_TARGET_RE, "is not a valid Julia cpu target", None),
    "packagecompiler_version": (PC_VERSION_RE, "is not a version such as 2.4 or 2.4.0", None),
    "healthcheck_path": (URL_PATH_RE, "is not an absolute URL path such as /health", None),
    "packages": (JULIA_NAME_RE, "is not a Julia package name", None),
    "exclude": (JULIA_NAME_RE, "is not a Julia package name", None),
    "julia_module": (JULIA_NAME_RE, "is not a Julia module name", None),
    "system_packages": (SYSTEM_PACKAGE_RE, SYSTEM_PACKAGE_WORDS, 200),
    "builder_packages": (SYSTEM_PACKAGE_RE, SYSTEM_PACKAGE_WORDS, 200),
    "timezone": (TIMEZONE_RE, "is not a time zone name such as Europe/Berlin or UTC", 100),
    "docker_context": (re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.+-]*$"), "is not a Docker context name", None),
    "docker_client": (re.compile(r"^[A-Za-z0-9_./:+-]+$"), "is not a valid docker client", None),
    "network": (re.compile(r"^[A-Za-z0-9_./:+-]+$"), "is not a valid network", None),
}


def _check_pattern(key: str, value: Any, where: str) -> None:
    if key in PATTERNS:
        pattern, message, longest = PATTERNS[key]
        if not pattern.match(value) or (longest is not None and len(value) > longest):
            raise UsageError(f"{where}: {value!r} {message}")


def _check_choice(key: str, value: Any, where: str) -> None:
    if key == "timezone" and (known := _timezones()) and value not in known:
        import difflib

        hint = difflib.get_close_matches(value, sorted(known), n=1)
        raise UsageError(f"{where}: {value!r} is not in the IANA time zone database"
                         + (f"; did you mean {hint[0]!r}?" if hint else ""))
    if key == "locale" and value not in LOCALES:
        raise UsageError(f"{where}: {value!r}: only the locales every glibc image has can be set here "
                         f"({', '.join(LOCALES)}); install and generate others in a runtime hook")
    choices = {"mode": MODES, "private_git": PRIVATE_GIT, "engine": ENGINES}.get(key)
    if choices is not None and value not in choices:
        raise UsageError(f"{where}: {value!r} is not one of {', '.join(choices)}")


def _check_path(key: str, value: Any, where: str) -> None:
    """Paths in the project (copied into the context) and in the image."""
    if key in ("precompile_files", "statements_files", "script"):
        check_relative_path(value, where)
    elif key == "context_root" and not re.fullmatch(r"\.\.(?:/\.\.)*/?", value):
        raise UsageError(f"{where}: {value!r} is not a directory above the project (.., ../.., ...)")
    elif key == "extra_files" and (value.startswith(("/", "~")) or not EXTRA_FILE_RE.match(value) or "**" in value):
        raise UsageError(f"{where}: {value!r} must be a path relative to the project, with letters, digits, "
                         "space and . _ + @ = , - / only, and the wildcards * ? [...] within a name (no **)")
    elif key == "hook_inputs":
        _check_hook_input(value, where)
    elif key == "depot_dirs":
        _check_depot_dir(value, where)
    elif key == "runtime_paths":
        check_absolute_path(value, where)
    elif key == "julia_path" or (key in ("writable_paths", "volumes") and value.startswith("/")):
        check_image_dir(value, where)
    elif key in ("writable_paths", "volumes"):
        check_relative_path(value, where)
    elif key == "context_exclude" and (value.startswith("/") or ".." in PurePosixPath(value).parts):
        raise UsageError(f"{where}: {value!r} must be a pattern relative to the project")


def _check_hook_input(value: str, where: str) -> None:
    if value.startswith(("/", "~")) or ".." in PurePosixPath(value).parts:
        raise UsageError(f"{where}: {value!r} must be a path or glob inside the project")
    if not HOOK_INPUT_RE.match(value):
        raise UsageError(f"{where}: {value!r} has characters that cannot be placed safely in a Dockerfile "
                         "(allowed: letters, digits, space, . _ + @ = , - / and the globs * ? [ ])")


def _check_depot_dir(value: str, where: str) -> None:
    if ".." in PurePosixPath(value).parts or not re.fullmatch(r"[A-Za-z0-9_.-]+(?:/[A-Za-z0-9_.-]+)*", value):
        raise UsageError(f"{where}: {value!r} is not a directory of the depot such as conda or datadeps "
                         "(letters, digits, . _ - and /)")
    top = PurePosixPath(value).parts[0]
    if top in DEPOT_NEVER:
        raise UsageError(f"{where}: {top} never ships: {DEPOT_NEVER[top]}")
    if top in DEPOT_ALWAYS:
        raise UsageError(f"{where}: {top} always ships; name only the other depot directories")


def _check_number(key: str, value: Any, where: str) -> None:
    if key == "ports" and not 1 <= value <= 65535:
        raise UsageError(f"{where}: port {value} is not between 1 and 65535")
    if key == "context_warn_mb" and value < 0:
        raise UsageError(f"{where}: {value} is not a size in MB (0 turns the warning off)")
    if key == "user_id" and not 1 <= value <= 2**31 - 2:
        raise UsageError(f"{where}: {value} is not a non-root uid (1 to 2147483646)")
    if key == "healthcheck_interval" and not 1 <= value <= 86400:
        raise UsageError(f"{where}: {value} is not an interval in seconds (1 to 86400)")


def _check_reference(key: str, value: Any, where: str) -> None:
    """Image references: the base images (a digest allowed), the cache repository (a repository only)."""
    if key in ("builder_image", "runtime_image"):
        imageref.check(value, where)
    elif key == "cache_repo":
        imageref.check_repository(value, where)


def _timezones() -> frozenset[str]:
    """The IANA names Python knows (the system database, or the tzdata package this tool depends on)."""
    import zoneinfo

    return frozenset(zoneinfo.available_timezones())


def check_relative_path(value: str, where: str) -> str:
    """Paths that end up in COPY instructions: relative, inside the project, no special characters."""
    if value.startswith("/") or value.startswith("~"):
        raise UsageError(f"{where}: {value!r} must be relative to the project, not absolute")
    if ".." in PurePosixPath(value).parts:
        raise UsageError(f"{where}: {value!r} escapes the project ('..')")
    if not SAFE_PATH_RE.match(value):
        raise UsageError(
            f"{where}: {value!r} has characters that cannot be placed safely in a Dockerfile "
            "(allowed: letters, digits, space and . _ + @ = , - /)"
        )
    return value


def check_absolute_path(value: str, where: str) -> str:
    """An absolute path in the image, never `/` itself, without `..` or characters a Dockerfile would expand."""
    if not ABS_PATH_RE.match(value) or ".." in PurePosixPath(value).parts:
        raise UsageError(f"{where}: {value!r} is not an absolute path in the image (letters, digits and . _ + @ = -, "
                         "no '..')")
    if PurePosixPath(value) == PurePosixPath("/"):
        raise UsageError(f"{where}: '/' is the whole file system; name a directory")
    return value


# The one rule for directories the image makes writable (writable_paths, volumes) or reads Julia from
# (julia_path). Refused with everything under them: the system's own trees, kernel file systems, root's and every
# user's home (the runtime user's home is writable already). Refused themselves but open below: directories whose
# subdirectories are where applications belong (/var/lib/app, /opt/julia, /usr/local/julia, /srv/data, /tmp/cache);
# the standard /usr/local subdirectories and the package managers' own /var trees stay closed.
SYSTEM_TREES = ("/bin", "/boot", "/dev", "/etc", "/home", "/lib", "/lib32", "/lib64", "/libx32", "/proc", "/root",
                "/run", "/sbin", "/sys", "/usr", "/var/run", "/var/lock", "/var/lib/apt", "/var/lib/dpkg",
                "/var/lib/rpm", "/var/lib/dnf", "/var/lib/apk", "/var/cache/apt", "/var/cache/ldconfig",
                "/var/spool/cron", "/var/mail", "/usr/local/bin", "/usr/local/sbin", "/usr/local/lib",
                "/usr/local/lib64", "/usr/local/include", "/usr/local/share", "/usr/local/etc", "/usr/local/libexec",
                "/usr/local/src", "/usr/local/man", "/usr/local/games")
OPEN_BELOW = ("/usr/local", "/var", "/var/lib", "/var/cache", "/var/log", "/var/spool", "/var/tmp", "/opt", "/srv",
              "/mnt", "/media", "/tmp")


def check_image_dir(value: str, where: str) -> str:
    """An absolute directory in the image that the runtime user may own or Julia is read from: normalized (no
    `.` or `..`), not `/`, not a system directory (SYSTEM_TREES, OPEN_BELOW)."""
    check_absolute_path(value, where)
    pure = PurePosixPath(value)
    if "." in value.split("/") or "//" in value:
        raise UsageError(f"{where}: {value!r} is not a normalized path (no '.' or '//')")
    text = pure.as_posix()
    if text in OPEN_BELOW:
        raise UsageError(f"{where}: {value!r} is a system directory; name a directory inside it, such as "
                         f"{text}/myapp")
    for tree in SYSTEM_TREES:
        if pure.is_relative_to(tree) and not (tree == "/usr" and pure.is_relative_to("/usr/local")):
            raise UsageError(f"{where}: {value!r} is {'inside ' if text != tree else ''}the system directory {tree}; "
                             "use a directory of the app's own (/app/..., /var/lib/myapp, /opt/myapp, /srv/myapp)")
    return value


def entry_points(config: Config) -> list[str]:
    """The entry-point settings in use: at most one is allowed."""
    return [key for key in ENTRY_POINTS if getattr(config, key) not in (None, False, ())]


def incremental_build(config: Config) -> bool:
    """Whether PackageCompiler builds on top of Julia's own sysimage. create_app's own default is non-incremental
    (PackageCompiler v2.4.0 src/PackageCompiler.jl line 922, `incremental::Bool=false`; create_sysimage's is true,
    line 616): in mode = app an unset incremental means false. Both refuse filter_stdlibs with incremental = true
    (lines 640 and 933)."""
    if config.mode == "app" and config.sources.get("incremental", "default") == "default":
        return False
    return config.incremental


def without_buildkit(config: Config) -> Config:
    """The configuration as if --buildkit false had been given: the client that will build has no BuildKit."""
    changed = replace(config, buildkit=False, sources={**config.sources, "buildkit": "cli"})
    _check_combinations(changed)  # what needs BuildKit (private_git) is refused as with the flag
    return changed


def _check_combinations(config: Config) -> None:
    chosen = entry_points(config)
    if len(chosen) > 1:
        raise UsageError(f"{' and '.join(chosen[:2])} both set: the container runs one of them")
    if config.filter_stdlibs and incremental_build(config):
        raise UsageError("filter_stdlibs needs incremental = false (PackageCompiler filters stdlibs only in a "
                         "sysimage built from scratch)")
    if config.mode == "pkgimage":
        for key in ("include_project", "filter_stdlibs"):
            if getattr(config, key):
                raise UsageError(f"{key} does not apply to mode = pkgimage: there is no sysimage")
    if config.mode == "app":
        if config.script is not None:
            raise UsageError("mode = app runs the package's julia_main(); leave script out")
        if config.julia_args:
            raise UsageError("julia_args go to the julia command; mode = app runs the bundle's executable")
        if config.healthcheck_path is not None:
            raise UsageError("healthcheck_path probes with julia, which mode = app images do not have; use the "
                             "orchestrator's HTTP probe instead")
        for key in ("command", "julia_module"):
            if getattr(config, key):
                raise UsageError(f"mode = app runs the package's julia_main(); leave {key} out")
        if config.extra_files:
            raise UsageError("extra_files: mode = app images have no project tree; the bundle holds only the app")
        relative = [p for p in (*config.writable_paths, *config.volumes) if not p.startswith("/")]
        if relative:
            raise UsageError(f"writable_paths: {relative[0]!r}: mode = app images have no project tree; give an "
                             "absolute path")
    env_names = {name for name, _ in config.env}
    if config.timezone is not None and "TZ" in env_names:
        raise UsageError("env.TZ and timezone both set: the image would get env's TZ; set one of them "
                         "(timezone also installs tzdata)")
    for name in ("LANG", "LC_ALL"):
        if config.locale is not None and name in env_names:
            raise UsageError(f"env.{name} and locale both set: the image would get env's {name}; set one of them")
    if config.hook_inputs and not any(stage in ("after_instantiate", "runtime") for stage, _ in config.hooks):
        raise UsageError("hook_inputs: no after_instantiate or runtime hook reads them (after_source hooks see the "
                         "whole project)")
    if config.depot_dirs and config.mode == "app":
        raise UsageError("depot_dirs: mode = app images have no depot (the bundle holds what the app needs)")
    if config.warmup and (not ({"script", "command", "julia_module"} & set(entry_points(config))) or not config.ports):
        raise UsageError("warmup needs the app to start (script, command or julia_module) and ports (where it "
                         "listens)")
    if config.warmup and config.command and not (config.command[0] in ("-e", "--eval")
                                                 or config.command[0].endswith(".jl")):
        raise UsageError(f"warmup: the trace starts a command of the form -e CODE or SCRIPT.jl ARGS, not "
                         f"{config.command[0]!r}")
    if config.docker_context is not None and config.engine == "podman":
        raise UsageError("docker_context names a Docker context; podman selects its engine with "
                         "CONTAINER_HOST or `podman system connection`")
    if config.private_git != "none" and not config.buildkit:
        raise UsageError(f"private_git = {config.private_git} needs BuildKit (secret and ssh mounts exist only there): "
                         "use buildx or a docker client before 23, not --no-buildkit")
    if config.sources.get("healthcheck_interval", "default") != "default" and config.healthcheck_path is None:
        raise UsageError("healthcheck_interval needs healthcheck_path (the probe it times)")
    if config.healthcheck_path is not None and not config.ports:
        raise UsageError("healthcheck_path needs a port (ports = [8080]) to probe")


def check_option(key: str, value: Any, where: str) -> Any:
    """One option's value checked as if it came from the configuration file (`init --from-dockerfile`)."""
    return _coerce(BY_KEY[key], value, where, from_file=True)


def check_file_text(text: str, shown: str) -> None:
    """A whole configuration file's text checked as `resolve` would read it (values and combinations)."""
    values: dict[str, Any] = {o.key: _default(o) for o in OPTIONS}
    found = _read_file(text, shown)
    values.update(found)
    _check_combinations(Config(**values, sources={key: "file" for key in found}))
