"""The one table of options: key, type, default, environment variable, flag, help, example.

The CLI flags, the config-file schema, the env lookup, `init`'s commented file and the README table are all
generated from OPTIONS, so each option is documented exactly once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

Kind = Literal["str", "bool", "int", "list", "intlist", "table", "requests", "hooks"]
ENV_PREFIX = "SYSIMAGE_DOCKER_"


@dataclass(frozen=True)
class Option:
    key: str
    kind: Kind
    default: Any
    help: str
    example: str
    flag: str | None = None  # None: config file and env only
    repeatable: bool = False  # a repeatable flag builds the list; otherwise comma-separated
    env: bool = True
    scope: Literal["image", "engine"] = "image"  # engine options apply to build/run/doctor, not generate

    @property
    def env_var(self) -> str | None:
        return ENV_PREFIX + self.key.upper() if self.env else None

    @property
    def default_text(self) -> str:
        if self.default is None:
            return "auto"
        if isinstance(self.default, bool):
            return "true" if self.default else "false"
        if self.default in ([], {}):
            return "none"
        return str(self.default)


OPTIONS: tuple[Option, ...] = (
    Option("julia_version", "str", None,
           "Julia to build with; `1.11` means its newest known patch. auto: the manifest's julia_version, "
           "else the newest release allowed by [compat] julia, else the LTS.",
           '"1.11.5"', flag="--julia-version"),
    Option("builder_image", "str", None,
           "Image of the builder stage (needs Julia at julia_path). auto: `julia:<julia_version>`.",
           '"registry.example.com/julia:1.11.5"', flag="--builder-image"),
    Option("runtime_image", "str", None,
           "Base of the runtime stage; Julia is copied in from the builder, so any glibc image works (mode = app: "
           "glibc at least the builder's). auto: `debian:<release>-slim` of the builder's Debian release "
           "(julia:1.11.5 is bookworm, 1.11.6+ and 1.12 trixie; a tag such as 1.12.7-trixie names it), "
           "debian:trixie-slim when the builder's name does not tell.",
           '"ubuntu:24.04"', flag="--runtime-image"),
    Option("julia_path", "str", "/usr/local/julia",
           "Where Julia is installed in the builder image (the official images use /usr/local/julia); the same "
           "path in the runtime image, so not a system directory (see Trust).",
           '"/opt/julia"', flag="--julia-path"),
    Option("cpu_target", "str", "portable",
           "CPU target of the sysimage: `portable` (a multi-target list per architecture), `native` "
           "(this machine only), or a Julia cpu-target string.",
           '"generic;haswell,clone_all"', flag="--cpu-target"),
    Option("mode", "str", "sysimage",
           "What the builder makes: `sysimage` (a custom sysimage, -J in the entrypoint), `pkgimage` (no sysimage: "
           "the depot precompiled for the portable CPU target; fastest rebuilds) or `app` (a PackageCompiler "
           "create_app bundle of a package with julia_main; no Julia installation in the runtime image).",
           '"pkgimage"', flag="--mode"),
    Option("incremental", "bool", True,
           "Build the sysimage on top of Julia's own (true) or from an empty one (false: about 70 MB smaller, "
           "loses the REPL/Pkg precompiles). mode = app: false unless set (create_app's own default).",
           "false", flag="--incremental"),
    Option("filter_stdlibs", "bool", False,
           "Keep only the stdlibs the project uses (needs incremental = false, mode = app's default); another "
           "stdlib loaded at run time "
           "is compiled at first use, slowly.",
           "true", flag="--filter-stdlibs"),
    Option("packages", "list", None,
           "Packages baked into the sysimage (direct dependencies). auto: every direct dependency.",
           '["HTTP", "JSON3"]', flag="--packages"),
    Option("exclude", "list", [],
           "Direct dependencies left out of the sysimage (they load from the precompiled depot instead).",
           '["Plots"]', flag="--exclude"),
    Option("include_project", "bool", False,
           "Bake the project's own package too. Then the source is copied before the sysimage step, so every "
           "source edit rebuilds the sysimage.",
           "true", flag="--include-project"),
    Option("precompile_files", "list", [],
           "Precompile execution scripts (PackageCompiler `precompile_execution_file`), relative to the "
           "project. They run before your source is copied, so they may use dependencies only.",
           '["precompile/workload.jl"]', flag="--precompile-file", repeatable=True),
    Option("statements_files", "list", [],
           "Ready-made `precompile(...)` statement files, e.g. from `julia --trace-compile`.",
           '["precompile/statements.jl"]', flag="--statements-file", repeatable=True),
    Option("test_workload", "bool", False,
           "Use the project's test suite (test/runtests.jl, with its test-only dependencies) as a workload. It "
           "loads the project, so source edits re-run the trace.",
           "true", flag="--test-workload"),
    Option("warmup", "requests", [],
           "HTTP requests sent to the running app during the trace (needs ports and script, command (`-e CODE` "
           "or `SCRIPT.jl ARGS`) or julia_module): the app is started, each request must answer its status "
           "(default 200), then it is stopped.",
           '[{ path = "/health" }, { method = "POST", path = "/echo", body = "hi", status = 200 }]', env=False),
    Option("trace", "bool", False,
           "Run the workloads in a separate trace stage with --trace-compile and feed the statements to the "
           "sysimage step; export them with `build --target trace -o type=local,dest=DIR`. Implied by "
           "test_workload and warmup.",
           "true", flag="--trace"),
    Option("allow_workload_errors", "bool", False,
           "Keep building when a workload fails (a warning instead of an error), e.g. a test suite that fails "
           "in a container.",
           "true", flag="--allow-workload-errors"),
    Option("buildkit", "bool", True,
           "Render BuildKit features (cache mounts); false renders for the classic builder and podman.",
           "false", flag="--buildkit"),
    Option("resolve", "bool", False,
           "Resolve versions in the builder when the manifest is missing or lacks a dependency "
           "(the image is then not reproducible).",
           "true", flag="--resolve"),
    Option("packagecompiler_version", "str", None,
           "PackageCompiler version (a Pkg version range). auto: 2.4 for Julia 1.10+, 2.1 for 1.6-1.9.",
           '"2.4"', flag="--packagecompiler-version"),
    Option("script", "str", None,
           "Script the container runs (CMD), relative to the project.",
           '"bin/server.jl"', flag="--script"),
    Option("julia_main", "bool", False,
           "Run the project package's `julia_main()` (CMD); exit status is its return value.",
           "true", flag="--julia-main"),
    Option("command", "list", [],
           "Arguments after the Julia flags, as the container's CMD (exec form), for entry points other than a "
           "script: e.g. `-e` and code. One of script, julia_main, command, julia_module.",
           '["-e", "using Genie; Genie.loadapp(); up(8000, \\"0.0.0.0\\"; async=false)"]', env=False),
    Option("julia_module", "str", None,
           "Run `julia -m MODULE` (its `@main` / `main(ARGS)`; Julia 1.12+): the project's package or one of its "
           "dependencies.",
           '"MyApp"', flag="--julia-module"),
    Option("julia_args", "list", [],
           "Extra Julia flags in the ENTRYPOINT, after -J, --project and --startup-file=no.",
           '["--threads=auto"]', flag="--julia-arg", repeatable=True),
    Option("ports", "intlist", [],
           "Ports the service listens on (EXPOSE; `run` publishes them on 127.0.0.1).",
           "[8080]", flag="--port", repeatable=True),
    Option("healthcheck_path", "str", None,
           "HTTP path probed by HEALTHCHECK on the first port (a GET must answer 2xx/3xx).",
           '"/health"', flag="--healthcheck-path"),
    Option("healthcheck_interval", "int", 30,
           "Seconds between two health-check probes (HEALTHCHECK --interval).",
           "10", flag="--healthcheck-interval"),
    Option("env", "table", {},
           "Environment variables of the runtime image.",
           '{ JULIA_NUM_THREADS = "auto" }', flag="--env", repeatable=True, env=False),
    Option("system_packages", "list", [],
           "System packages the app needs at run time (e.g. tzdata, libgomp1, python3), installed with the base "
           "images' own package manager (apt-get, apk, dnf/microdnf) in the runtime stage and in the builder, "
           "where the sysimage step loads the same code. A project's apt.txt (or binder/apt.txt) is read too.",
           '["tzdata", "python3"]', flag="--system-package", repeatable=True),
    Option("builder_packages", "list", [],
           "System packages for the build only (e.g. git, cmake, python3-pip), installed in the builder stage "
           "and absent from the runtime image.",
           '["git", "cmake"]', flag="--builder-package", repeatable=True),
    Option("build_env", "table", {},
           "Environment of the builder's Julia steps and hooks (instantiate, sysimage, precompile, trace), kept "
           "out of the runtime image; changing it rebuilds from the PackageCompiler step. Never secrets: stages "
           "are pushed with cache_repo, so names and values that look like credentials are refused; use "
           "private_git or a BuildKit secret.",
           '{ PYTHON = "python3", JULIA_PKG_SERVER = "https://pkg.example.com" }', flag="--build-env",
           repeatable=True, env=False),
    Option("hooks", "hooks", {},
           "Project files run during the build: `after_instantiate` (in the app environment, before the sysimage "
           "step: Pkg.build, Conda setup), `after_source` (after the source is copied: assets), `runtime` (in the "
           "runtime stage as root, before USER: system setup). A .jl file runs with the builder's Julia, any "
           "other file must be executable and runs as is.",
           '{ after_instantiate = ["deploy/build_pycall.jl"], runtime = ["deploy/setup.sh"] }',
           flag="--hook", repeatable=True, env=False),
    Option("hook_inputs", "list", [],
           "Project files that hooks read (paths or globs, e.g. `requirements.txt`, `deploy/*.yml`), copied "
           "before the first after_instantiate hook (and beside runtime hooks): only they and the hook files "
           "invalidate those steps. after_source hooks see the whole project anyway.",
           '["requirements.txt", "deploy/*.yml"]', flag="--hook-input", repeatable=True),
    Option("depot_dirs", "list", [],
           "Depot subdirectories to ship besides packages, artifacts and compiled: e.g. `conda` (Conda.jl's "
           "prefix, which PyCall uses with PYTHON=\"\"), `datadeps`, `environments` (a shared `@name` "
           "environment a hook made). Registries, logs, scratch spaces and clones never ship.",
           '["conda", "environments"]', flag="--depot-dir", repeatable=True),
    Option("runtime_paths", "list", [],
           "Absolute builder paths that hooks produced outside the project and the depot, copied to the same "
           "path in the runtime image (a Conda prefix, a model directory).",
           '["/opt/conda", "/opt/models"]', flag="--runtime-path", repeatable=True),
    Option("writable_paths", "list", [],
           "Directories the runtime user may write: relative ones inside the project (e.g. Genie's log), or "
           "absolute outside system directories (see Trust); created owned by user_id and group 0, with the "
           "project's files in them. The rest of the app stays read-only.",
           '["log", "sessions", "/data"]', flag="--writable-path", repeatable=True),
    Option("volumes", "list", [],
           "Writable paths also declared as VOLUME (each is added to writable_paths).",
           '["/data"]', flag="--volume", repeatable=True),
    Option("timezone", "str", None,
           "Time zone of the runtime image (an IANA name): sets TZ and installs tzdata.",
           '"Europe/Berlin"', flag="--timezone"),
    Option("locale", "str", None,
           "LANG and LC_ALL of the runtime image: C.UTF-8 (built into glibc images), C or POSIX.",
           '"C.UTF-8"', flag="--locale"),
    Option("labels", "table", {},
           "Extra image labels (OCI labels and the baked package list are always set).",
           '{ "org.opencontainers.image.source" = "https://example.com/app" }',
           flag="--label", repeatable=True, env=False),
    Option("registries", "table", {},
           "Extra Pkg registries (name = git URL), added before instantiating, e.g. a private registry; "
           "General stays.",
           '{ MyRegistry = "https://github.com/org/MyRegistry.git" }', flag="--registry", repeatable=True,
           env=False),
    Option("private_git", "str", "none",
           "Credentials for private registries and repo-url packages, used only by the instantiate step: "
           "`token` mounts the BuildKit secret `git-credentials` (a git-credentials file, pass it with "
           "`--secret id=git-credentials,src=FILE`), `ssh` forwards the SSH agent (`--ssh default`); "
           "needs BuildKit.",
           '"token"', flag="--private-git"),
    Option("user_id", "int", 1000,
           "Numeric uid:gid the runtime stage runs as (never root).",
           "10001", flag="--user-id"),
    Option("context_exclude", "list", [],
           "Patterns left out of the build context, in `.dockerignore` syntax relative to the project; applied "
           "after the default exclusions and the project's own `.dockerignore` (with context_root, that directory's "
           "own `.dockerignore` holds too, relative to it).",
           '["data/*", "docs/build"]'),
    Option("context_root", "str", None,
           "A directory above the project (`..`, `../..`) whose files extra_files may name; the image mirrors it "
           "under /app, with the project at its place inside. Nothing outside it is read. Set in a project file, it "
           "must stay inside the project's git repository; wider needs the flag or the variable; `/` never.",
           '".."', flag="--context-root"),
    Option("extra_files", "list", [],
           "Files or directories beside the project, relative to it (e.g. `../notebooks`), copied into the image "
           "at the same place relative to the project; they must lie inside context_root (`..` when context_root "
           "is `..`: all of it). Wildcards `*`, `?`, `[...]` within a name (`../notebooks/*.ipynb`); no `**`.",
           '["../notebooks", "../assets/logo.png"]', flag="--extra-file", repeatable=True),
    Option("context_warn_mb", "int", 100,
           "Warn, naming the largest files, when the build context is bigger than this many MB (0: never).",
           "500"),
    Option("cache_repo", "str", None,
           "Registry repository for the build cache, so a cold CI runner reuses every layer that did not change: "
           "the tools stage (compiler, PackageCompiler), the tracer (with a trace), the builder and the runtime "
           "stage are pushed there as REPO:tools, REPO:tracer, REPO:builder, REPO:runtime with inline cache "
           "metadata (when their layers changed) and read back with "
           "--cache-from (buildx on a docker-container or remote builder: one REPO:buildcache, mode=max; podman: "
           "every layer, to REPO). Needs BuildKit or podman, and a login to the registry.",
           '"registry.example.com/team/app-cache"', flag="--cache-repo", scope="engine"),
    Option("engine", "str", "auto",
           "Build back end: auto, buildx, docker (the CLI's own BuildKit, or the classic builder) or podman. "
           "auto tries them in that order.",
           '"docker"', flag="--engine", scope="engine"),
    Option("docker_client", "str", None,
           "Client binary (path or name). auto: `docker` on PATH, or `podman` for engine = podman.",
           '"/usr/bin/docker"', flag="--docker-client", scope="engine"),
    Option("docker_context", "str", None,
           "Docker context (`docker context ls`) of the engine to use, e.g. a remote one; DOCKER_HOST and "
           "DOCKER_CONTEXT in the environment are honoured too. auto: the client's current context.",
           '"build-server"', flag="--context", scope="engine"),
    Option("network", "str", None,
           "Network mode of the RUN steps during the build (e.g. `host`, `none`). auto: the engine's default.",
           '"host"', flag="--network", scope="engine"),
)

BY_KEY = {o.key: o for o in OPTIONS}
# Keys that existed once: a file that still has one gets this line instead of "unknown key"
REMOVED = {
    "replace_default": "removed in 0.2: every sysimage-mode image now ships its sysimage as Julia's default "
                       "lib/julia/sys.so (and no stock one), so plain `julia` uses it; delete the key",
}
