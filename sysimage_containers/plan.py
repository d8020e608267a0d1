"""The frozen build plan: every decision about the image, computed from the project and the config.

Pure: no file system, no docker, no templates. The renderer turns a BuildPlan into files.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any, NamedTuple

from sysimage_containers import debian_release
from sysimage_containers.config import Config, Request, check_relative_path
from sysimage_containers.errors import UsageError
from sysimage_containers.julia_versions import JuliaChoice, Version, packagecompiler_for
from sysimage_containers.project import Environment
from sysimage_containers.tomlfiles import names as name_list
from sysimage_containers.urls import strip_credentials

# Fixed locations. The baked depot path is the same in builder and runtime: caches record absolute paths.
DEPOT = "/opt/julia/depot"
TOOL_DIR = "/opt/sysimage-docker"
SCRIPTS_DIR = f"{TOOL_DIR}/julia"
PLAN_FILE = f"{TOOL_DIR}/plan.toml"
SBOM_FILE = f"{TOOL_DIR}/sbom.cdx.json"
CONTEXT_SBOM = "sysimage-docker/sbom.cdx.json"
INSTANTIATE_FILE = f"{TOOL_DIR}/instantiate.toml"
GIT_SECRET_ID = "git-credentials"
PC_DEPOT = f"{TOOL_DIR}/pc-depot"
PC_ENV = f"{TOOL_DIR}/pc-env"
BUILT_SYSIMAGE = f"{TOOL_DIR}/build/sys.so"
TRACE_FILE = f"{TOOL_DIR}/trace/precompile_statements.jl"
TRACE_TESTS = f"{TOOL_DIR}/trace/test_statements.jl"  # the test suite's own run, appended to TRACE_FILE
TRACE_ARTIFACTS = f"{TOOL_DIR}/trace/artifacts"  # artifacts the tracer's workloads installed, for the builder
TEST_ENV = f"{TOOL_DIR}/test-env"
APP_BUNDLE = f"{TOOL_DIR}/app"
RUNTIME_APP = "/opt/app"
WRITABLE_DIR = f"{TOOL_DIR}/writable"  # the builder's copy of writable_paths inside the project
JULIA_RUNTIME = f"{TOOL_DIR}/julia-runtime"  # the builder's Julia without its stock sysimage
TREE_DIR = "/app"
USER_HOME = "/home/julia"
HOMES_DIR = f"{TOOL_DIR}/homes"  # the builder's copy of /home: only the runtime user's home in it
CONTEXT_APP = "app"  # the project tree inside the build context
CONTEXT_TOOL = "sysimage-docker"  # generated files inside the build context

# Portable multi-target lists, keyed by Docker's TARGETARCH, as the official Julia builds of each version use them
# (JuliaCI/julia-buildkite utilities/build_envs.sh). #341 (2024-03-08) added `x86-64-v4` (AVX-512 hosts) to x86_64
# and `carmel,clone_all;apple-m1;neoverse-512tvb` to aarch64; #540 (b17ecf8, 2026-05-30, on the release-1.10 to
# release-1.13 branches and main) turned off `rand` and `fpac` in `neoverse-512tvb`, which kept that target from
# matching many Arm servers (JuliaLang/cpufeatures#47). We take the current aarch64 list from Julia 1.10, the oldest
# release branch it landed on, and the x86_64 fourth target from 1.11, where every official build carries it
# (x86-64-v4 is unknown to the LLVM of Julia 1.6); 1.6-1.9 keep the lists of their own builds.
PORTABLE_CPU_TARGETS = (
    ("amd64", "generic;sandybridge,-xsaveopt,clone_all;haswell,-rdrnd,base(1);x86-64-v4,-rdrnd,base(1)"),
    ("arm64", "generic;cortex-a57;thunderx2t99;carmel,clone_all;apple-m1,base(3);neoverse-512tvb,-rand,-fpac,base(3)"),
)
PORTABLE_CPU_TARGETS_1_10 = (
    ("amd64", "generic;sandybridge,-xsaveopt,clone_all;haswell,-rdrnd,base(1)"),
    PORTABLE_CPU_TARGETS[1],
)
PORTABLE_CPU_TARGETS_OLD = (
    PORTABLE_CPU_TARGETS_1_10[0],
    ("arm64", "generic;cortex-a57;thunderx2t99;carmel"),
)
# Julia flags that decide whether a package cache can be used (jl_match_cache_flags and jl_cache_flags in
# src/staticdata_utils.c, Julia 1.10-1.12: the pkgimages bit, check-bounds and inline must match; debug level must
# match on 1.10, and on 1.11+ the cache's debug and optimisation levels must be at least the asked ones).
CACHE_FLAG_PREFIXES = ("-O", "--optimize", "--check-bounds", "-g", "--inline", "--pkgimages")
# The ones that change generated code: also given to the process that compiles the sysimage (PackageCompiler's
# create_sysimage keyword sysimage_build_args, in every version we pin: v2.1.0 src/PackageCompiler.jl line 425,
# v2.4.0 line 620), so baked code and depot caches are compiled alike. --pkgimages is about caches only.
CODEGEN_FLAG_PREFIXES = ("-O", "--optimize", "--check-bounds", "-g", "--inline")
# Before Julia 1.11 these stop package caches from being used at all (NEWS.md of 1.11, #52123: "during these modes
# pkgimage caches are now used for packages that are not being tracked").
CACHE_DISABLING_BEFORE_1_11 = ("--code-coverage", "--track-allocation")
LABEL_PACKAGES = 100
RESERVED_ENV = ("JULIA_DEPOT_PATH",)
RESERVED_LABEL_PREFIX = "dev.sysimage-docker."


class BakedPackage(NamedTuple):
    """Immutable as the frozen dataclasses here; a tuple because a plan can hold 10,000 (a frozen dataclass's
    __init__ is four times a tuple's)."""

    name: str
    version: str  # a version, or "stdlib" / "path" / "git"


@dataclass(frozen=True)
class Copy:
    source: str  # relative to the build context
    dest: str  # absolute, in the image


@dataclass(frozen=True)
class Hook:
    """A project file run during the build: with the builder's Julia (.jl) or as an executable."""

    stage: str  # after_instantiate, after_source or runtime
    file: str  # relative to the project, as configured
    source: str  # in the build context
    path: str  # absolute, in the image
    julia: bool


@dataclass(frozen=True)
class ExtraFile:
    """A file or directory beside the project (extra_files), copied into the context and the image tree."""

    configured: str  # relative to the project, as written
    context_path: str
    image_path: str


@dataclass(frozen=True)
class ExternalDependency:
    """A path dependency outside the project (monorepo), copied into the context under a fixed name."""

    name: str
    written: str
    context_path: str


@dataclass(frozen=True)
class BuildPlan:
    tool_version: str
    project_name: str
    is_package: bool
    project_version: str | None
    julia_version: str
    julia_reason: str
    builder_image: str
    runtime_image: str
    julia_path: str
    packagecompiler_version: str
    cpu_target_setting: str
    cpu_targets: tuple[tuple[str, str], ...]
    baked: tuple[BakedPackage, ...]
    app_dir: str
    app_context: str  # the project inside the build context
    app_rel: str  # the project relative to the copied tree root ("" when no outside path deps)
    external_deps: tuple[ExternalDependency, ...]
    extra_files: tuple[ExtraFile, ...]
    context_root: str  # the directory nothing is read outside of (host path; the project itself by default)
    dependency_copies: tuple[Copy, ...]  # copied before instantiate: changes re-run the heavy steps
    workload_copies: tuple[Copy, ...]  # copied before the sysimage step
    precompile_files: tuple[str, ...]  # absolute, in the image
    statements_files: tuple[str, ...]
    mode: str
    incremental: bool | None  # None: PackageCompiler's default for the mode
    filter_stdlibs: bool
    include_project: bool
    trace: bool  # workloads run in their own stage; statements exported and fed to the sysimage step
    test_workload: bool
    warmup: tuple[Request, ...]
    allow_workload_errors: bool
    script_path: str | None
    buildkit: bool
    resolve: bool
    registries: tuple[tuple[str, str], ...]
    private_git: str
    builder_tools: tuple[tuple[str, str], ...]  # (command to probe, Debian package) installed when missing
    sysimage_path: str  # in the runtime image
    entrypoint: tuple[str, ...]
    cmd: tuple[str, ...]
    ports: tuple[int, ...]
    healthcheck: tuple[str, ...] | None
    runtime_env: tuple[tuple[str, str], ...]
    path_prefix: str  # in front of the runtime base image's own PATH (e.g. /usr/local/cuda/bin stays)
    system_packages: tuple[str, ...]  # installed in the builder and the runtime stage
    builder_packages: tuple[str, ...]  # the builder stage only
    build_env: tuple[tuple[str, str], ...]  # the builder's Julia steps and hooks
    hooks: tuple[Hook, ...]
    runtime_paths: tuple[str, ...]  # copied from the builder to the same path
    writable_paths: tuple[str, ...]  # absolute; owned by the runtime user
    volumes: tuple[str, ...]  # absolute
    labels: tuple[tuple[str, str], ...]
    user_id: int
    cache_flags: tuple[str, ...]  # julia_args that package caches must be compiled with
    codegen_flags: tuple[str, ...]  # julia_args that change generated code: the sysimage and the tracer get them
    source_stubs: tuple[str, ...]  # src/<Name>.jl (and the entryfile) put in place for the sysimage step only
    source_stub_dirs: tuple[str, ...]  # their directories, made by the step if missing (see _source_stub)
    source_stub_rmdirs: tuple[str, ...]  # those the step makes, removed again, deepest first
    tracer_flags: tuple[str, ...]  # what PackageCompiler's own recording run uses
    inputs: tuple[tuple[str, str], ...]  # (file, sha256) of the inputs, for the header
    context_exclude: tuple[str, ...]
    warnings: tuple[str, ...]
    healthcheck_interval: int = 30
    # how the trace starts the app for the warm-up: kind (script, eval, module), value, args
    warmup_entry: tuple[tuple[str, object], ...] = ()
    depot_dirs: tuple[str, ...] = ()  # shipped besides packages, artifacts and compiled
    # hook_inputs, expanded against the build context (hook_inputs.with_inputs): before the first
    # after_instantiate hook, and beside the runtime hooks
    hook_input_copies: tuple[Copy, ...] = ()
    runtime_hook_input_copies: tuple[Copy, ...] = ()

    @property
    def depot_path_builder(self) -> str:
        # the trailing ':' keeps Julia's bundled stdlib caches in the search path
        return f"{DEPOT}:"

    def instantiate_data(self) -> dict[str, object]:
        """What instantiate.jl reads: kept apart from the plan so that sysimage settings do not re-run it."""
        return {"resolve": self.resolve, "registries": dict(self.registries)}

    @property
    def installs_packages(self) -> bool:
        """install_packages.sh enters the build: missing tools or system packages to install."""
        return bool(self.builder_tools or self.system_packages or self.builder_packages)

    @property
    def shipped_artifacts(self) -> str:
        """Where artifacts that PackageCompiler's step or the workloads install must end up to ship: the baked
        depot, or the app bundle's own depot (create_app bundles only non-lazy ones, PackageCompiler v2.4.0
        bundle_artifacts with include_lazy_artifacts = false)."""
        return f"{APP_BUNDLE}/share/julia/artifacts" if self.mode == "app" else f"{DEPOT}/artifacts"

    def hooks_at(self, stage: str) -> tuple[Hook, ...]:
        return tuple(h for h in self.hooks if h.stage == stage)

    @property
    def writable_in_tree(self) -> tuple[str, ...]:
        """Writable paths inside the copied project tree: moved out of it in the builder, so that the tree is
        copied root-owned and they arrive as new directories owned by the runtime user."""
        return tuple(p for p in self.writable_paths if _relative_to(p, TREE_DIR) is not None)

    @property
    def writable_outside_tree(self) -> tuple[str, ...]:
        return tuple(p for p in self.writable_paths if p not in self.writable_in_tree)

    @property
    def writable_runtime_paths(self) -> tuple[str, ...]:
        """Writable paths that are (or lie inside) a runtime path: copied once more with --chown, so that their
        contents are the runtime user's too (BuildKit's cache key of a COPY ignores the owners in its source)."""
        return tuple(w for w in self.writable_outside_tree
                     if any(PurePosixPath(w).is_relative_to(r) for r in self.runtime_paths))

    @property
    def depot_dirs_checked(self) -> tuple[str, ...]:
        """Depot directories the build-log check does not name: those that ship, and those that never do."""
        from sysimage_containers.config import DEPOT_ALWAYS, DEPOT_NEVER

        return (*DEPOT_ALWAYS, *DEPOT_NEVER, *(d.split("/")[0] for d in self.depot_dirs))

    @property
    def has_workloads(self) -> bool:
        return bool(self.precompile_files or self.test_workload or self.warmup)

    @property
    def source_early(self) -> bool:
        """The app source is needed before the sysimage/bundle step (its own package is compiled in)."""
        return self.include_project or self.mode == "app"

    def builder_data(self) -> dict[str, object]:
        """What the static Julia scripts read (the plan data file)."""
        data: dict[str, object] = {
            "julia_version": self.julia_version,
            "mode": self.mode,
            "app_dir": self.app_dir,
            "sysimage_path": BUILT_SYSIMAGE,
            "app_bundle": APP_BUNDLE,
            # the project's own package, when it is one and is not baked: traced statements about it are skipped
            "unbaked_project": self.project_name if self.is_package and not self.include_project else "",
            "packages": [p.name for p in self.baked],
            "precompile_files": list(self.precompile_files),
            "statements_files": [*self.statements_files, *([TRACE_FILE] if self.trace else [])],
            "run_workloads": self.has_workloads and not self.trace,
            "filter_stdlibs": self.filter_stdlibs,
            "allow_workload_errors": self.allow_workload_errors,
            "test_workload": self.test_workload,
            "test_env": TEST_ENV,
            "warmup": [{"method": r.method, "path": r.path, "body": r.body, "status": r.status} for r in self.warmup],
            "script": self.script_path or "",
            "warmup_entry": dict(self.warmup_entry),
            "port": self.ports[0] if self.ports else 0,
            "cpu_target": dict(self.cpu_targets),
            "sysimage_build_args": list(self.codegen_flags),
        }
        if self.incremental is not None:
            data["incremental"] = self.incremental
        return data


def make_plan(
    environment: Environment,
    config: Config,
    julia: JuliaChoice,
    *,
    tool_version: str,
) -> BuildPlan:
    """The plan, section by section: what is built (project, Julia, images), where the project goes in the
    context and the image, what is compiled and with which workloads, what the runtime image holds, the builder's
    settings, the labels and inputs."""
    _check_mode(environment, config)
    version = julia.version
    identity = _identity(environment, config, julia, tool_version)
    layout = _layout(environment, config)
    compilation = _compilation(config, layout["app_context"], layout["app_dir"])
    stubs, stub_dirs, stub_rmdirs = _source_stub(environment, config, layout["app_dir"],
                                                 (*layout["dependency_copies"], *compilation["workload_copies"]))
    baked = _baked_packages(environment, config)
    runtime = _runtime(environment, config, layout["app_context"], layout["app_dir"], version)
    labels = _labels(environment, config, tool_version, str(version), runtime["sysimage_path"], baked,
                     identity["runtime_image"])
    return BuildPlan(
        **identity,
        baked=baked,
        **layout,
        **compilation,
        source_stubs=stubs,
        source_stub_dirs=stub_dirs,
        source_stub_rmdirs=stub_rmdirs,
        **runtime,
        **_builder(config, version),
        labels=labels,
        inputs=_inputs(environment, config),
        warnings=(*julia.warnings, *environment.warnings, *_mode_warnings(config),
                  *_release_warnings(config, identity["builder_image"], identity["runtime_image"],
                                     list(runtime["system_packages"]), runtime["hooks"]),
                  *_cache_flag_warnings(config, version), *_empty_warnings(environment, config)),
    )


def _identity(environment: Environment, config: Config, julia: JuliaChoice, tool_version: str) -> dict[str, Any]:
    """The project, the Julia version and the images."""
    project, version = environment.project, julia.version
    builder_image = config.builder_image or f"julia:{version}"
    runtime_image = config.runtime_image or (debian_release.runtime_for(config.builder_image) if config.builder_image
                                             else debian_release.runtime_for_official(version))
    return {
        "tool_version": tool_version,
        "project_name": project.name or project.root.name,
        "is_package": project.is_package,
        "project_version": project.version,
        "julia_version": str(version),
        "julia_reason": julia.reason,
        "builder_image": builder_image,
        "runtime_image": runtime_image,
        "julia_path": config.julia_path,
        "packagecompiler_version": config.packagecompiler_version or packagecompiler_for(version),
        "cpu_target_setting": config.cpu_target,
        "cpu_targets": _cpu_targets(config.cpu_target, (version.major, version.minor)),
        "mode": config.mode,
    }


def _layout(environment: Environment, config: Config) -> dict[str, Any]:
    """Where the project and what it needs go: in the build context and in the image's tree."""
    project = environment.project
    context_root = os.path.normpath(os.path.join(project.root.as_posix(), config.context_root or "."))
    app_rel, external, common = _tree_layout(environment, context_root if config.context_root else None)
    app_dir = f"{TREE_DIR}/{app_rel}" if app_rel else TREE_DIR
    app_context = f"{CONTEXT_APP}/{app_rel}" if app_rel else CONTEXT_APP
    return {
        "app_dir": app_dir,
        "app_context": app_context,
        "app_rel": app_rel,
        "external_deps": external,
        "extra_files": _extra_files(config.extra_files, project.root.as_posix(), context_root, common),
        "context_root": context_root,
        "dependency_copies": _dependency_copies(environment, app_context, app_dir, external),
        "context_exclude": config.context_exclude,
    }


def _compilation(config: Config, app_context: str, app_dir: str) -> dict[str, Any]:
    """What the sysimage (or app bundle) compiles and which workloads record it; pkgimage mode has neither."""
    compiled = config.mode != "pkgimage"
    workloads = (*config.precompile_files, *config.statements_files) if compiled else ()
    return {
        "workload_copies": tuple(Copy(f"{app_context}/{f}", f"{app_dir}/{f}") for f in workloads),
        "precompile_files": tuple(f"{app_dir}/{f}" for f in config.precompile_files if compiled),
        "statements_files": tuple(f"{app_dir}/{f}" for f in config.statements_files if compiled),
        "incremental": _incremental(config),
        "filter_stdlibs": config.filter_stdlibs,
        "include_project": config.include_project,
        "trace": pkgimage_off(config, config.trace or config.test_workload or bool(config.warmup)),
        "test_workload": pkgimage_off(config, config.test_workload),
        "warmup": config.warmup if compiled else (),
        "allow_workload_errors": config.allow_workload_errors,
        "cache_flags": tuple(a for a in config.julia_args if a.startswith(CACHE_FLAG_PREFIXES)),
        "codegen_flags": tuple(a for a in config.julia_args if a.startswith(CODEGEN_FLAG_PREFIXES)),
        "warmup_entry": _warmup_entry(config, app_dir) if config.warmup and compiled else (),
    }


def _runtime(environment: Environment, config: Config, app_context: str, app_dir: str, version: Version
             ) -> dict[str, Any]:
    """What the runtime image holds and how it starts."""
    sysimage_path, entrypoint, cmd, healthcheck = _entry_point(environment, config, app_dir, version)
    system_packages = [*config.system_packages, *environment.project.apt_packages]
    if config.timezone is not None and not any(p.split("=")[0] == "tzdata" for p in system_packages):
        system_packages.append("tzdata")
    writable, volumes, runtime_paths = _image_paths(config, app_dir)
    return {
        "script_path": f"{app_dir}/{config.script}" if config.script else None,
        "sysimage_path": sysimage_path,
        "entrypoint": entrypoint,
        "cmd": cmd,
        "ports": config.ports,
        "healthcheck": healthcheck,
        "runtime_env": _runtime_env(config),
        "system_packages": tuple(dict.fromkeys(system_packages)),
        "hooks": _hooks(config, app_context, app_dir),
        "runtime_paths": runtime_paths,
        "writable_paths": writable,
        "volumes": volumes,
        "user_id": config.user_id,
        "path_prefix": f"{RUNTIME_APP}/bin" if config.mode == "app" else f"{config.julia_path}/bin",
        "depot_dirs": tuple(dict.fromkeys(config.depot_dirs)),
        "healthcheck_interval": config.healthcheck_interval,
    }


def _builder(config: Config, version: Version) -> dict[str, Any]:
    """How the builder stage works: BuildKit, package resolution, registries, credentials, tools."""
    return {
        "buildkit": config.buildkit,
        "resolve": config.resolve,
        "registries": config.registries,
        "private_git": config.private_git,
        "builder_tools": _builder_tools(config),
        "builder_packages": tuple(dict.fromkeys(config.builder_packages)),
        "build_env": config.build_env,
        # PackageCompiler's own trace run: --compile=all, and no package images (methods found in a pkgimage are
        # not traced); --pkgimages exists from Julia 1.9
        "tracer_flags": ("--compile=all", *(("--pkgimages=no",) if (version.major, version.minor) >= (1, 9) else ())),
    }


def _inputs(environment: Environment, config: Config) -> tuple[tuple[str, str], ...]:
    """(file, sha256) of what the plan was made from, for the Dockerfile's header."""
    project, manifest = environment.project, environment.manifest
    inputs = [(project.project_file, project.sha256)]
    if manifest is not None:
        inputs.append((manifest.file, manifest.sha256))
    if config.config_file is not None:
        inputs.append((os.path.basename(config.config_file), config.config_sha256))
    return tuple(inputs)


def _dependency_copies(environment: Environment, app_context: str, app_dir: str,
                       external: tuple[ExternalDependency, ...]) -> tuple[Copy, ...]:
    """What instantiate needs, copied before it: the project and preference files, the manifest, workspace
    members and path dependencies. A change to any of them re-runs the heavy steps."""
    project, manifest = environment.project, environment.manifest
    copies = [Copy(f"{app_context}/{name}", f"{app_dir}/{name}")
              for name in (project.project_file, *project.preference_files)]
    if manifest is not None:
        copies.append(Copy(f"{app_context}/{manifest.file}", f"{app_dir}/{manifest.file}"))
    for member in project.workspace_members:
        check_relative_path(member, "[workspace] projects")
        copies.append(Copy(f"{app_context}/{member}", f"{app_dir}/{member}"))
    for dep in environment.path_deps:
        rel = _relative_to(dep.resolved.as_posix(), project.root.as_posix())
        if rel is not None:  # inside the project
            check_relative_path(rel, f"path dependency {dep.name}")
            copies.append(Copy(f"{app_context}/{rel}", f"{app_dir}/{rel}"))
    for ext in external:
        copies.append(Copy(ext.context_path, f"{TREE_DIR}/{ext.context_path[len(CONTEXT_APP) + 1:]}"))
    return tuple(copies)


def _entry_point(environment: Environment, config: Config, app_dir: str, version: Version
                 ) -> tuple[str, tuple[str, ...], tuple[str, ...], tuple[str, ...] | None]:
    """The runtime's sysimage path, ENTRYPOINT, CMD and HEALTHCHECK."""
    project = environment.project
    # One sysimage in the runtime image: the custom one takes the stock one's place as lib/julia/sys.so, so
    # `docker exec ... julia` gets the baked packages too; the entrypoint still names it with -J.
    sysimage_path = f"{config.julia_path}/lib/julia/sys.so" if config.mode == "sysimage" else ""
    sysimage_flag = (f"-J{sysimage_path}",) if config.mode == "sysimage" else ()
    julia_bin = f"{config.julia_path}/bin/julia"
    if config.mode == "app":
        entrypoint: tuple[str, ...] = (f"{RUNTIME_APP}/bin/{project.name}",)
    else:
        entrypoint = (julia_bin, *sysimage_flag, f"--project={app_dir}", "--startup-file=no", *config.julia_args)
    if config.script is not None:
        cmd: tuple[str, ...] = (f"{app_dir}/{config.script}",)
    elif config.julia_main and config.mode != "app":
        if not project.is_package:
            raise UsageError("julia_main needs a package project (name and uuid in Project.toml)")
        assert project.name is not None  # is_package
        cmd = (f"{SCRIPTS_DIR}/run_main.jl", project.name)  # the script loads nothing to learn the name
    elif config.command:
        cmd = config.command
    elif config.julia_module is not None:
        cmd = ("-m", _julia_module(config.julia_module, environment, version))
    else:
        cmd = ()
    healthcheck = None
    if config.healthcheck_path is not None:
        healthcheck = (julia_bin, *sysimage_flag, "--startup-file=no", f"{SCRIPTS_DIR}/healthcheck.jl",
                       str(config.ports[0]), config.healthcheck_path)
    return sysimage_path, entrypoint, cmd, healthcheck


def _runtime_env(config: Config) -> tuple[tuple[str, str], ...]:
    """The runtime ENV besides PATH (path_prefix goes in front of the base image's own PATH)."""
    for name, _ in config.env:
        if name in RESERVED_ENV:
            raise UsageError(f"env: {name} is managed by sysimage-docker (the baked depot must stay in it)")
    if config.mode == "app":
        # The bundle's wrapper appends its own depot (share/julia) to JULIA_DEPOT_PATH; a writable one must come
        # first, or Scratch spaces, lazy artifacts and stdlib compiles fail with EACCES for the runtime user.
        env: tuple[tuple[str, str], ...] = (("HOME", USER_HOME), ("JULIA_DEPOT_PATH", f"{USER_HOME}/.julia"))
    else:  # a writable per-user depot stacked in front of the read-only baked one
        env = (("HOME", USER_HOME), ("JULIA_DEPOT_PATH", f"{USER_HOME}/.julia:{DEPOT}:"))
    if config.timezone is not None:
        env = (*env, ("TZ", config.timezone))
    if config.locale is not None:
        env = (*env, ("LANG", config.locale), ("LC_ALL", config.locale))
    return (*env, *config.env)


def _hooks(config: Config, app_context: str, app_dir: str) -> tuple[Hook, ...]:
    return tuple(
        Hook(stage=stage, file=f, source=f"{app_context}/{f}",
             path=f"{TOOL_DIR}/hooks/{f}" if stage == "runtime" else f"{app_dir}/{f}", julia=f.endswith(".jl"))
        for stage, files in config.hooks for f in files
    )


def _image_paths(config: Config, app_dir: str) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    """writable_paths (volumes included), volumes and runtime_paths as absolute paths in the image."""
    reserved = {config.julia_path: "Julia's installation", DEPOT: "the baked depot", TOOL_DIR: "sysimage-docker's "
                "files", RUNTIME_APP: "the app bundle", USER_HOME: "the runtime user's home (already writable)"}
    volumes = tuple(_image_path(p, app_dir, reserved, "volumes") for p in config.volumes)
    writable = tuple(dict.fromkeys((*(_image_path(p, app_dir, reserved, "writable_paths")
                                      for p in config.writable_paths), *volumes)))
    runtime_paths = tuple(_image_path(p, app_dir, reserved, "runtime_paths") for p in config.runtime_paths)
    return writable, volumes, runtime_paths


def _labels(environment: Environment, config: Config, tool_version: str, julia_version: str, sysimage_path: str,
            baked: tuple[BakedPackage, ...], runtime_image: str) -> tuple[tuple[str, str], ...]:
    project = environment.project
    labels = {
        "org.opencontainers.image.title": project.name or project.root.name,
        "org.opencontainers.image.base.name": runtime_image,
    }
    if project.version:
        labels["org.opencontainers.image.version"] = project.version
    if project.license:
        labels["org.opencontainers.image.licenses"] = project.license
    for key, value in config.labels:
        if key.startswith(RESERVED_LABEL_PREFIX):
            raise UsageError(f"labels: {key!r}: the {RESERVED_LABEL_PREFIX}* labels are set by sysimage-docker")
        labels[key] = strip_credentials(value)  # a source URL copied with its token in it
    labels.update({
        "dev.sysimage-docker.version": tool_version,
        "dev.sysimage-docker.julia-version": julia_version,
        "dev.sysimage-docker.cpu-target": config.cpu_target,
        "dev.sysimage-docker.mode": config.mode,
        "dev.sysimage-docker.sysimage": sysimage_path or "none",
        "dev.sysimage-docker.packages": _packages_label(baked),
        "dev.sysimage-docker.sbom": SBOM_FILE,
        **({"dev.sysimage-docker.healthcheck-path": config.healthcheck_path} if config.healthcheck_path else {}),
    })
    return tuple(sorted(labels.items()))


def _julia_module(name: str, environment: Environment, version: Version) -> str:
    """`julia -m NAME` loads NAME from the active project and calls its main. `-m/--module` is a Julia 1.12
    command-line option (HISTORY.md, Julia 1.12 "Command-line option changes", #52103); 1.11 brought only `@main`,
    and its julia exits with "unknown option" at every start."""
    if (version.major, version.minor) < (1, 12):
        raise UsageError(f"julia_module needs Julia 1.12 or newer (`julia -m`); this image gets Julia {version}")
    project = environment.project
    if name != project.name and name not in project.dep_names:
        raise UsageError(f"julia_module: {name} is neither the project's package nor a dependency in "
                         f"{project.project_file}")
    return name


def _image_path(value: str, app_dir: str, reserved: dict[str, str], key: str) -> str:
    """A configured path in the runtime image: relative ones are inside the project; tool-managed places are
    refused."""
    path = PurePosixPath(value) if value.startswith("/") else PurePosixPath(app_dir) / value
    text = os.path.normpath(path.as_posix())
    if text in (TREE_DIR, app_dir):
        raise UsageError(f"{key}: {value!r} is the whole project, which stays read-only; name its subdirectories")
    for place, what in reserved.items():
        if text == place or PurePosixPath(text).is_relative_to(place) or PurePosixPath(place).is_relative_to(text):
            inside = _relative_to(text, DEPOT)
            if key == "runtime_paths" and place == DEPOT and inside not in (None, "."):
                raise UsageError(f"{key}: {value!r} is in the baked depot: ship depot directories with depot_dirs "
                                 f"(depot_dirs = [\"{PurePosixPath(inside).parts[0]}\"])")
            raise UsageError(f"{key}: {value!r} overlaps {place}, {what}")
    return text


def _packages_label(baked: tuple[BakedPackage, ...]) -> str:
    """`Name@version ...`; past LABEL_PACKAGES entries a count instead (a 10,000-package label was one 153 KB
    line in every `docker inspect`): the full list is `packages` in the image's plan file."""
    shown = " ".join(f"{p.name}@{p.version}" for p in baked[:LABEL_PACKAGES])
    rest = len(baked) - LABEL_PACKAGES
    return shown if rest <= 0 else f"{shown} (+{rest} more: packages in {PLAN_FILE})"


def _relative_to(path: str, base: str) -> str | None:
    pure, root = PurePosixPath(path), PurePosixPath(base)
    if pure == root or not pure.is_relative_to(root):
        return None
    return pure.relative_to(root).as_posix()


def _extra_files(values: tuple[str, ...], root: str, context_root: str, common: str) -> tuple[ExtraFile, ...]:
    """Each entry (a path or a glob) as it lands in the context and the image; `..` may name context_root itself
    (everything in it beside the project)."""
    extras: list[tuple[str, ExtraFile]] = []
    for value in values:
        host = os.path.normpath(os.path.join(root, value))
        if host == root or _relative_to(host, root) is not None:
            raise UsageError(f"extra_files: {value!r} is inside the project, which is copied whole already")
        if host != context_root and _relative_to(host, context_root) is None:
            hint = "" if context_root != root else "; set context_root (e.g. \"..\") to allow files above it"
            raise UsageError(f"extra_files: {value!r} is outside context_root ({context_root}){hint}")
        for earlier, extra in extras:
            if host == earlier or _relative_to(host, earlier) is not None or _relative_to(earlier, host) is not None:
                raise UsageError(f"extra_files: {value!r} overlaps {extra.configured!r}; name each place once")
        rel = host if host == common else _relative_to(host, common)
        assert rel is not None  # context_root is inside common
        if rel == common:  # the context root itself: the whole mirrored tree
            context_path, image_path = CONTEXT_APP, TREE_DIR
        else:
            check_relative_path(rel.replace("*", "x").replace("?", "x").replace("[", "x").replace("]", "x"),
                                f"extra_files: {value}")
            context_path, image_path = f"{CONTEXT_APP}/{rel}", f"{TREE_DIR}/{rel}"
        extras.append((host, ExtraFile(configured=value, context_path=context_path, image_path=image_path)))
    return tuple(extra for _, extra in extras)


def _tree_layout(environment: Environment,
                 context_root: str | None) -> tuple[str, tuple[ExternalDependency, ...], str]:
    """Mirror the project, its outside path deps and context_root under one root, so relative paths still hold.
    Returns the project's place in the tree, the outside deps, and the host directory the tree root mirrors."""
    root = environment.project.root.as_posix()
    outside = [d for d in environment.path_deps if _relative_to(d.resolved.as_posix(), root) is None]
    if not outside and context_root is None:
        return "", (), root
    anchors = [d.resolved.as_posix() for d in outside] + ([context_root] if context_root else [])
    common = os.path.commonpath([root, *anchors])
    app_rel = PurePosixPath(root).relative_to(common).as_posix()
    check_relative_path(app_rel, "project directory")
    external = []
    for dep in outside:
        rel = PurePosixPath(dep.resolved.as_posix()).relative_to(common).as_posix()
        if rel == ".":
            # the dependency contains the project (e.g. a CLI in a package's subfolder): copy the whole tree
            rel = ""
        else:
            check_relative_path(rel, f"path dependency {dep.name}")
        context_path = f"{CONTEXT_APP}/{rel}" if rel else CONTEXT_APP
        external.append(ExternalDependency(name=dep.name, written=dep.written, context_path=context_path))
    return app_rel, tuple(external), common


def _baked_packages(environment: Environment, config: Config) -> tuple[BakedPackage, ...]:
    project, manifest = environment.project, environment.manifest
    deps = frozenset(project.dep_names)
    if config.mode == "pkgimage":
        return ()
    unknown_excluded = [p for p in config.exclude if p not in deps]
    if unknown_excluded:
        raise UsageError(f"exclude: {name_list(unknown_excluded)} {'is' if len(unknown_excluded) == 1 else 'are'} "
                         f"not a dependency in {project.project_file}")
    if config.packages is None:
        names = [d for d in project.dep_names if d != project.name and d not in config.exclude]
    else:
        unknown = [p for p in config.packages if p not in deps]
        if unknown:
            raise UsageError(
                f"packages: {name_list(unknown)} {'is' if len(unknown) == 1 else 'are'} not a dependency in "
                f"{project.project_file} (direct dependencies: {name_list(list(project.dep_names)) or 'none'})"
            )
        names = [p for p in dict.fromkeys(config.packages) if p not in config.exclude]
    baked = []
    for name in names:
        entry = manifest.get(name) if manifest is not None else None
        if entry is None:
            version = "unresolved"
        elif entry.path is not None:
            version = "path"
        elif entry.is_stdlib:
            version = "stdlib"
        elif entry.version is not None:
            version = entry.version
        else:
            version = "git"
        baked.append(BakedPackage(name=name, version=version))
    if config.include_project and config.mode == "sysimage":
        assert project.name is not None  # checked in _check_mode
        baked.append(BakedPackage(name=project.name, version=project.version or "project"))
    return tuple(baked)


def _source_stub(environment: Environment, config: Config, app_dir: str,
                 copies: tuple[Copy, ...]) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    """The sysimage step runs before the source is copied (so a source edit re-runs only the app precompile), but
    create_sysimage always precompiles the project (ensurecompiled -> `Pkg.precompile()`, PackageCompiler v2.4.0
    src/PackageCompiler.jl lines 372-381 and 673; v2.1.x the same). For a package project that precompiles the
    project's own package too (ExplicitEnv adds it to project_deps when Project.toml has name and uuid), and a
    missing src/<Name>.jl is "Missing source file", which throws PkgPrecompileError: Julia 1.11+
    (base/precompilation.jl) and Pkg 1.10.8+ (src/precompilation.jl, Pkg.jl #4107, in Julia 1.10.8 by julia #57014);
    Pkg up to 1.10.7 skipped such a project (src/API.jl, `isfile(... "src", "$(name).jl")`).

    Chosen: a stub `module <Name> end` made and removed inside the sysimage RUN, so it is in no layer and never
    ships, whatever the real source holds. Not a deps-only copy of the environment: its Project.toml would drop
    name and uuid, which Pkg 1.12 hashes as a direct dependency (Types.jl workspace_resolve_hash; our
    pkg_compat._workspace_hash), so create_sysimage's Pkg.instantiate would find the manifest out of date
    (API.jl: "The project dependencies or compat requirements have changed"), and a copy elsewhere would also lose
    LocalPreferences.toml, relative path dependencies and workspace members. The stub's cache is compiled into
    PackageCompiler's own depot (first in that step's JULIA_DEPOT_PATH), which stays in the builder; the app
    precompile compiles the real package from its source after the COPY.
    A Project.toml `entryfile` (Julia 1.12's loading reads the package from it: base/loading.jl project_file_path,
    julia #53939, whose test project was written by 1.12.0-DEV) gets a stub too, besides src/<Name>.jl: which of the
    two a Julia version looks for needs no guessing. Directories the step makes for them it removes again.
    Returns the stubs, their directories, and the directories to remove (deepest first).
    Not needed when the source is already there (include_project, mode = app) or without a sysimage step."""
    project = environment.project
    none: tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]] = ((), (), ())
    if config.mode != "sysimage" or config.include_project or not project.is_package:
        return none
    placed = [PurePosixPath(c.dest) for c in copies]
    wanted = [f"src/{project.name}.jl", *([project.entryfile] if project.entryfile else [])]
    # no stub where a copy put that file, a directory at it, or a directory holding it (a stub would replace a copied
    # file, then remove it); none at a directory of another stub (Julia itself would find no file there)
    stubs = [PurePosixPath(app_dir) / rel for rel in dict.fromkeys(wanted)]
    stubs = [stub for stub in stubs if not any(p.is_relative_to(stub) or stub.is_relative_to(p) for p in placed)]
    stubs = [stub for stub in stubs if not any(other != stub and other.is_relative_to(stub) for other in stubs)]
    if not stubs:
        return none
    top = PurePosixPath(app_dir)
    # the directories a copy made exist already: it makes its destination's parents
    made = {parent for stub in stubs for parent in stub.parents if parent.is_relative_to(top) and parent != top
            and not any(p.is_relative_to(parent) for p in placed)}
    return (tuple(str(stub) for stub in stubs), tuple(dict.fromkeys(str(stub.parent) for stub in stubs)),
            tuple(str(d) for d in sorted(made, key=lambda d: (-len(d.parts), str(d)))))


def _cache_flag_warnings(config: Config, version: Version) -> tuple[str, ...]:
    if (version.major, version.minor) >= (1, 11):
        return ()
    found = [a.split("=")[0] for a in config.julia_args if a.startswith(CACHE_DISABLING_BEFORE_1_11)]
    if not found:
        return ()
    return (f"julia_args: {', '.join(dict.fromkeys(found))} stops Julia {version} from using package caches "
            "(fixed in Julia 1.11): every package outside the sysimage is compiled again at each start",)


def _builder_tools(config: Config) -> tuple[tuple[str, str], ...]:
    """PackageCompiler links with a C++ compiler; private packages are fetched with git (and ssh)."""
    tools = [] if config.mode == "pkgimage" else [("g++", "g++")]
    if config.private_git != "none":
        tools.append(("git", "git"))
        tools.append(("ssh", "openssh-client") if config.private_git == "ssh" else ("git", "ca-certificates"))
    return tuple(tools)


def pkgimage_off(config: Config, value: bool) -> bool:
    return value and config.mode != "pkgimage"


def _incremental(config: Config) -> bool | None:
    """create_app has its own default (a non-incremental image); keep it unless the user chose."""
    if config.mode == "app" and config.sources.get("incremental", "default") == "default":
        return None
    return config.incremental


def _check_mode(environment: Environment, config: Config) -> None:
    project = environment.project
    if (config.include_project or config.mode == "app") and not project.is_package:
        what = "include_project" if config.include_project else "mode = app"
        raise UsageError(f"{what} needs a package project (name and uuid in {project.project_file})")



def _warmup_entry(config: Config, app_dir: str) -> tuple[tuple[str, object], ...]:
    """The app the warm-up starts in the tracer, as the container would: a script, `-e CODE` or `-m MODULE`."""
    if config.script is not None:
        return (("kind", "script"), ("value", f"{app_dir}/{config.script}"), ("args", []))
    if config.julia_module is not None:
        return (("kind", "module"), ("value", config.julia_module), ("args", []))
    first, *rest = config.command
    if first in ("-e", "--eval"):
        return (("kind", "eval"), ("value", rest[0] if rest else ""), ("args", rest[1:]))
    return (("kind", "script"), ("value", f"{app_dir}/{first}"), ("args", rest))


def _empty_warnings(environment: Environment, config: Config) -> tuple[str, ...]:
    if config.resolve and not environment.project.dep_names:
        return (f"resolve = true, but {environment.project.project_file} has no [deps]: there is nothing to resolve, "
                "and the sysimage holds no package",)
    return ()


def _mode_warnings(config: Config) -> tuple[str, ...]:
    if config.mode != "pkgimage":
        return ()
    unused = [key for key in ("precompile_files", "statements_files", "trace", "test_workload", "warmup", "packages",
                              "exclude") if getattr(config, key) not in (None, (), False)]
    if not unused:
        return ()
    return (f"mode = pkgimage builds no sysimage: {', '.join(unused)} {'is' if len(unused) == 1 else 'are'} "
            "not used",)


def _release_warnings(config: Config, builder_image: str, runtime_image: str, system_packages: list[str],
                      hooks: tuple[Hook, ...]) -> tuple[str, ...]:
    """Images the user chose from different (or unknown) Debian releases, with system packages or build hooks:
    what a build step records by path or soname may not be there at run time. The defaults never differ."""
    if config.builder_image is None and config.runtime_image is None:
        return ()
    build_hooks = [h for h in hooks if h.stage != "runtime"]
    if not system_packages and not build_hooks:
        return ()
    builder, runtime = debian_release.release_of(builder_image), debian_release.release_of(runtime_image)
    if builder is not None and builder == runtime:
        return ()
    what = " and ".join(w for w, used in (("system_packages", system_packages), ("build hooks", build_hooks)) if used)
    verdict = "are different Debian releases" if builder and runtime else "may not be the same Debian release"
    return (f"builder {debian_release.describe(builder_image)} and runtime {debian_release.describe(runtime_image)} "
            f"{verdict}, with {what}: a library path or soname a build step records (PyCall's libpython, RCall, "
            "GDAL) may be missing at run time; use images of one release (an unset runtime_image follows the "
            "builder's)",)


def _cpu_targets(setting: str, series: tuple[int, int]) -> tuple[tuple[str, str], ...]:
    if setting == "portable":
        if series >= (1, 11):
            return PORTABLE_CPU_TARGETS
        return PORTABLE_CPU_TARGETS_1_10 if series >= (1, 10) else PORTABLE_CPU_TARGETS_OLD
    return (("default", setting),)
