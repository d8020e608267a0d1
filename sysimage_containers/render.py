"""Rendering a BuildPlan into files: the Dockerfile, .dockerignore and the plan data file.

The only module that knows Dockerfile syntax. Every value enters a template through one sandboxed Jinja
environment whose `finalize` refuses control characters (a newline could start a new instruction) and whose
filters do the quoting: `json` for exec-form arrays, `copy_json` for COPY paths, `dq` for ENV/LABEL values, `sh`
for a word of a shell-form RUN.
"""

from __future__ import annotations

import contextlib
import functools
import json
import re
from typing import Any

import tomli_w
from jinja2 import BytecodeCache, FileSystemBytecodeCache, FileSystemLoader, StrictUndefined
from jinja2.bccache import Bucket
from jinja2.sandbox import SandboxedEnvironment

from sysimage_containers import plan as plan_module
from sysimage_containers.config import CONTROL_RE
from sysimage_containers.plan import BuildPlan
from sysimage_containers.templates import DIRECTORY as TEMPLATES

COPY_UNSAFE_RE = re.compile(r"[$*?\[\]\\\"'`]")
JULIA_SCRIPTS = (
    "common.jl",
    "install_packagecompiler.jl",
    "instantiate.jl",
    "build_sysimage.jl",
    "precompile_app.jl",
    "run_main.jl",
    "healthcheck.jl",
    "run_workloads.jl",
    "test_env.jl",
    "build_app.jl",
    "verify.jl",
)


class UnsafeValue(ValueError):
    """A value reached a template that cannot be placed in a Dockerfile; config validation should stop it first."""


def _finalize(value: Any) -> Any:
    if isinstance(value, str) and CONTROL_RE.search(value):
        raise UnsafeValue(f"control character in a rendered value: {value!r}")
    return value


def dockerfile_json(values: Any) -> str:
    """An exec-form array (ENTRYPOINT, CMD, HEALTHCHECK): plain JSON, no variable substitution happens there."""
    items = [values] if isinstance(values, str) else list(values)
    for item in items:
        _finalize(item)
    return json.dumps(items)  # ASCII-only: non-ASCII text is escaped, and Docker's JSON parser restores it


def dockerfile_copy_json(values: Any) -> str:
    """A COPY in JSON form. COPY still expands `$VARS` and globs, so such characters are refused outright."""
    for item in values:
        if COPY_UNSAFE_RE.search(str(item)):
            raise UnsafeValue(f"COPY path with a variable, glob or quote character: {item!r}")
    return dockerfile_json(values)


def dockerfile_dq(value: Any) -> str:
    """A double-quoted ENV/LABEL word: backslash, double quote and `$` are escaped."""
    text = str(_finalize(str(value)))
    return '"' + re.sub(r'([\\"$])', r"\\\1", text) + '"'


class _QuietBytecodeCache(FileSystemBytecodeCache):
    """Compiled templates kept in the user's cache (compiling the Dockerfile template took 10-15 % of a cold
    `generate`). Jinja keys each entry by the template's source checksum, so an edited template is compiled
    again; a cache directory that cannot be used only costs the compile."""

    def load_bytecode(self, bucket: Bucket) -> None:
        try:
            super().load_bytecode(bucket)
        except (OSError, EOFError, ValueError):
            bucket.reset()

    def dump_bytecode(self, bucket: Bucket) -> None:
        with contextlib.suppress(OSError):
            super().dump_bytecode(bucket)


def _bytecode_cache() -> BytecodeCache | None:
    from sysimage_containers import __version__
    from sysimage_containers.julia_versions import user_cache_dir

    try:
        directory = user_cache_dir() / "templates"
        directory.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    return _QuietBytecodeCache(str(directory), pattern=f"{__version__}-%s.cache")


# PATH of a base image that sets none (the default of Docker's own images and of Debian's login shells)
SYSTEM_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def path_in_front(prefix: Any) -> str:
    """PATH for ENV with PREFIX in front of the base image's own PATH: ENV expands `${PATH}` from the base image's
    config (Dockerfile reference, "Environment replacement"; `${PATH:-default}` when the base sets none)."""
    text = str(_finalize(str(prefix)))
    return '"' + re.sub(r'([\\"$])', r"\\\1", text) + ':${PATH:-' + SYSTEM_PATH + '}"'


def shell_word(value: Any) -> str:
    """One word of a shell-form RUN line, single-quoted as needed (shlex): `;`, `(`, `$`, spaces stay literal."""
    import shlex

    return shlex.quote(str(_finalize(str(value))))


def _environment() -> SandboxedEnvironment:
    env = SandboxedEnvironment(
        loader=FileSystemLoader(TEMPLATES),
        bytecode_cache=_bytecode_cache(),
        auto_reload=False,
        undefined=StrictUndefined,
        autoescape=False,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        finalize=_finalize,
    )
    env.filters["json"] = dockerfile_json
    env.filters["copy_json"] = dockerfile_copy_json
    env.filters["dq"] = dockerfile_dq
    env.filters["sh"] = shell_word
    env.filters["path_in_front"] = path_in_front
    return env


@functools.cache
def _env() -> SandboxedEnvironment:
    """Made at the first render, not at import: the bytecode cache directory comes from XDG_CACHE_HOME / HOME as
    they are then (an import must not create ~/.cache, and tests point the cache elsewhere first)."""
    return _environment()


def render_dockerfile(plan: BuildPlan) -> str:
    return _env().get_template("Dockerfile.j2").render(plan=plan, c=plan_module)


def render_dockerignore(plan: BuildPlan) -> str:
    return _env().get_template("dockerignore.j2").render(plan=plan)


def render_data(plan: BuildPlan, data: dict[str, object]) -> str:
    """A data file for the static Julia scripts; tomli-w does the TOML quoting (linear in the package list, where
    a style-preserving writer was quadratic)."""
    header = f"# Generated by sysimage-docker {plan.tool_version}; read by the builder's Julia scripts.\n"
    return header + tomli_w.dumps(data)


def julia_script(name: str) -> str:
    return (TEMPLATES / "julia" / name).read_text("utf-8")


def render_all(plan: BuildPlan) -> dict[str, str]:
    """Every generated file of the build context, by its path in the context."""
    tool = plan_module.CONTEXT_TOOL
    files = {
        "Dockerfile": render_dockerfile(plan),
        ".dockerignore": render_dockerignore(plan),
        f"{tool}/plan.toml": render_data(plan, plan.builder_data()),
        f"{tool}/instantiate.toml": render_data(plan, plan.instantiate_data()),
    }
    for name in JULIA_SCRIPTS:
        files[f"{tool}/julia/{name}"] = julia_script(name)
    if plan.installs_packages:
        files[f"{tool}/install_packages.sh"] = (TEMPLATES / "install_packages.sh").read_text("utf-8")
    if plan.mode != "pkgimage":  # the sysimage/bundle step and the tracer run under it
        files[f"{tool}/keep_artifacts.sh"] = (TEMPLATES / "keep_artifacts.sh").read_text("utf-8")
    return files
