"""`sysimage-docker build`: plan, a temporary build context, the engine, live progress and the summary.

The temporary context is removed on success, failure, Ctrl-C and SIGTERM.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from rich.console import Console

from sysimage_containers import context, failures, imageref, last_build, provenance, regcache
from sysimage_containers.config import spec_fields
from sysimage_containers.engine import (
    BACKEND_BUILDX,
    BACKEND_DOCKER_BUILDKIT,
    BACKEND_DOCKER_CLASSIC,
    BuildRequest,
    Engine,
    EngineInfo,
    clients,
)
from sysimage_containers.errors import BuildFailed, EngineUnavailable
from sysimage_containers.metadata import BuildFacts, StepState, Verdict, build_json, plan_json
from sysimage_containers.pipeline import Prepared, prepare, without_buildkit
from sysimage_containers.plan import GIT_SECRET_ID
from sysimage_containers.progress import ProgressView, step_line

OOM_ADVICE = ("the step was killed for lack of memory (exit 137 / ProcessSignaled(9)): PackageCompiler needs several "
              "GB for big dependency sets; give the engine more memory (Docker Desktop: Settings > Resources), "
              "bake fewer packages (packages = [...]), or build on a larger machine or a remote buildx builder")


def default_tag(prepared: Prepared) -> str:
    """`<name>:<version>` from Project.toml, lower-cased into a valid image reference."""
    name = re.sub(r"[^a-z0-9._-]+", "-", prepared.plan.project_name.lower()).strip("._-") or "julia-app"
    version = re.sub(r"[^A-Za-z0-9_.-]+", "-", prepared.plan.project_version or "latest")
    return f"{name}:{version}"


def check_tag(tag: str) -> str:
    return imageref.check(tag, "--tag", digest=False)


@contextmanager
def temporary_context() -> Iterator[Path]:
    """A build context directory that disappears whatever happens, SIGTERM included."""
    path = Path(tempfile.mkdtemp(prefix="sysimage-docker-ctx-"))

    def on_term(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, on_term)
    try:
        yield path
    finally:
        signal.signal(signal.SIGTERM, previous)
        shutil.rmtree(path, ignore_errors=True)


def run_build(
    path: Path,
    request: BuildRequest,
    *,
    console: Console,
    config_path: Path | None,
    environ: Mapping[str, str],
    cli: dict[str, Any],
    warn: Any,
    progress: str = "auto",
    dry_run: bool = False,
    as_json: bool = False,
    emit: Callable[[dict[str, Any]], None] = lambda data: None,
) -> tuple[Prepared, str | None]:
    """Build the image; returns what was built and the main tag (None on --dry-run). `request` holds the user's
    engine options (its tags may be empty: the default tag is used; the context is filled in here). `as_json`: the
    metadata (or the plan) goes to `emit` only, no human summary. `emit` receives the build metadata (also of a
    failed build) or, on --dry-run, the plan."""
    for tag in request.tags:
        check_tag(tag)
    leave_out = secret_files_inside(path.resolve(), request.secrets)
    sources = secret_sources(request.secrets)

    connected = None
    if dry_run:
        prepared = _prepare_dry_run(path, config_path, environ, cli, leave_out, sources, warn)
    else:
        prepared = prepare(path, config_path=config_path, environ=environ, cli=cli, leave_out=leave_out,
                           secret_sources=sources)
        try:
            connected = connect(prepared, request.builder, warn)
        except EngineUnavailable as exc:  # the metadata file says so too, for the pipeline that reads it
            emit(build_json(BuildFacts(tags=request.tags or (default_tag(prepared),), error=exc.message),
                            prepared.plan, None))
            raise
        prepared = connected.prepared
    announce(prepared, leave_out, console, warn)
    request = replace(request, tags=request.tags or (default_tag(prepared),))
    if connected is None:
        if not as_json:
            print_plan(console, prepared, request.tags)
            console.print(prepared.rendered["Dockerfile"], markup=False, highlight=False, end="")
        emit(plan_json(prepared.plan, request.tags))
        return prepared, None
    engine, info = connected.engine, connected.info
    request, cache = engine_request(engine, info, request, prepared, environ, console, warn)
    for message in engine_warnings(info, request):
        warn(message)
    console.print(f"building {', '.join(request.tags)} with {info.backend} ({info.client} {info.client_version}, "
                  f"engine {info.server_version} at {info.where})", markup=False)
    missing_credentials(prepared.plan.private_git, request, warn)
    started = time.monotonic()
    view = ProgressView(console, progress)

    def failed(message: str) -> BuildFailed:
        """The metadata of a failed build (`error` set, what ran until then), then the failure itself."""
        facts = BuildFacts(tags=request.tags, seconds=time.monotonic() - started, stages=view.parser.stage_seconds(),
                           heavy=view.parser.heavy_steps(), hooks=view.parser.hook_steps(), error=message)
        emit(build_json(facts, prepared.plan, info))
        return BuildFailed(message)

    pushed, push_seconds, push_error, cache_note = run_engine(engine, info, request, prepared, view, console, warn,
                                                              failed, cache)
    # buildx's docker driver stores what it pushes in the daemon too; other builders only push
    local = request.output is None and not (request.push and info.backend == BACKEND_BUILDX
                                            and not info.docker_driver)
    facts = gather_facts(engine, prepared, view, request.tags, time.monotonic() - started, request.target, local)
    facts.pushed, facts.push_seconds, facts.error, facts.cache_error = pushed, push_seconds, push_error, cache_note
    if push_error is not None:
        emit(build_json(facts, prepared.plan, info))
        raise BuildFailed(push_error)
    if not as_json:
        for line in summary_lines(facts, prepared.plan):
            console.print(line, markup=False, highlight=False)
    emit(build_json(facts, prepared.plan, info))
    return prepared, request.tags[0]


def _prepare_dry_run(path: Path, config_path: Path | None, environ: Mapping[str, str] | None,
                     cli: Mapping[str, Any] | None, leave_out: tuple[str, ...], sources: tuple[Path, ...],
                     warn: Any) -> Prepared:
    """Prepared and rendered for the client alone (no engine is asked), which is asked while the project is
    read."""
    survey = clients.Survey()
    try:
        prepared = prepare(path, config_path=config_path, environ=environ, cli=cli, leave_out=leave_out,
                           secret_sources=sources,
                           on_config=lambda cfg: survey.begin(cfg.engine, cfg.docker_client, cfg.buildkit))
        config = prepared.config
        return render_for(prepared, *clients.rendering_backend(config.engine, config.docker_client, survey), warn,
                          survey)
    finally:
        survey.close()


@dataclass(frozen=True)
class Connected:
    engine: Engine
    info: EngineInfo
    prepared: Prepared  # rendered again without BuildKit when the engine lacks it


def connect(prepared: Prepared, builder: str | None, warn: Any) -> Connected:
    """The engine and its back end; the project is rendered again for the classic builder when that is what runs."""
    engine = Engine.from_config(prepared.config)
    info = engine.detect(builder)
    if not prepared.config.buildkit and info.backend == BACKEND_DOCKER_BUILDKIT:
        # asked for the classic rendering: build it with the classic builder too
        info = replace(info, backend=BACKEND_DOCKER_CLASSIC)
    return Connected(engine, info, render_for(prepared, info.backend, info.client, warn))


def render_for(prepared: Prepared, backend: str | None, client: str | None, warn: Any,
               survey: clients.Survey | None = None) -> Prepared:
    """The project rendered for the back end that builds it (a dry run decides from the client alone, the same
    way): again without BuildKit when that back end lacks it."""
    if prepared.config.buildkit and backend is not None and backend not in clients.BUILDKIT_BACKENDS:
        warn(clients.no_buildkit_warning(backend, client, survey))
        return without_buildkit(prepared)
    return prepared


def announce(prepared: Prepared, leave_out: tuple[str, ...], console: Console, warn: Any) -> None:
    """The project's warnings and notes, before anything is built or printed."""
    for message in prepared.warnings:
        warn(message)
    for rel in leave_out:
        warn(f"the secret file {rel} is inside the project: it is left out of the build context")
    for note in prepared.notes:
        console.print(note, markup=False)


@dataclass(frozen=True)
class CacheRead:
    """What the cache registry gave before the build."""
    problem: str | None = None  # why it could not be read: the build goes without it
    pulled: tuple[tuple[str, tuple[str, ...]], ...] = ()  # stage image -> the layers the registry had
    warming: tuple[tuple[str, BuildRequest], ...] = ()  # the stage builds before the user's (regcache.warming)


def engine_request(engine: Engine, info: EngineInfo, request: BuildRequest, prepared: Prepared,
                   environ: Mapping[str, str], console: Console, warn: Any) -> tuple[BuildRequest, CacheRead | None]:
    """The user's request completed for this engine: the network, the provenance labels, the registry cache;
    refused here when the back end cannot do it. Also returns what the cache registry gave, with a cache_repo."""
    cfg = prepared.config
    network = cfg.network
    if network is None and (info.backend == BACKEND_DOCKER_BUILDKIT or info.docker_driver) \
            and not engine.has_network("bridge"):
        # BuildKit's RUN steps default to the bridge network, which a dockerd started with --bridge=none lacks
        network = "host"
        console.print("the engine has no bridge network: RUN steps use --network host (set network to choose)",
                      markup=False)
    configured = dict(prepared.plan.labels)  # the user's own source/revision/created labels win
    build_labels = tuple((k, v) for k, v in provenance.labels(prepared.environment.project.root, environ, warn).items()
                         if k not in configured)
    request = replace(request, network=network, labels=(*request.labels, *build_labels))
    cache = None
    if cfg.cache_repo is not None:
        regcache.reading(request, info, cfg.cache_repo, prepared.plan)  # refuses a back end without one
        cache = pull_cache(engine, info, cfg.cache_repo, prepared, console, warn)
        if cache.problem is None:
            cache = replace(cache, warming=regcache.warming(request, info, cfg.cache_repo, prepared.plan))
            request = regcache.reading(request, info, cfg.cache_repo, prepared.plan)
    engine.check_capabilities(info, request)
    return request, cache


def run_engine(engine: Engine, info: EngineInfo, request: BuildRequest, prepared: Prepared, view: ProgressView,
               console: Console, warn: Any, failed: Callable[[str], BuildFailed], cache: CacheRead | None
               ) -> tuple[list[tuple[str, str]], float, str | None, str | None]:
    """The build in a temporary context (after the stage builds that warm the local cache from the registry, shown
    as part of it), then the cache images and the tags pushed. Returns (tag, digest) of each push, the seconds
    pushing took, a refused push's message (the image is built all the same) and what went wrong with the cache
    registry. A failed build is raised through `failed`."""
    cache_repo = prepared.config.cache_repo
    root = prepared.environment.project.root
    pushed: list[tuple[str, str]] = []
    with temporary_context() as ctx:
        context.populate(ctx, prepared.listing, prepared.files)
        request = replace(request, context=ctx)
        try:
            with view:
                for _, warm in cache.warming if cache is not None else ():
                    engine.build(info, replace(warm, context=ctx), view.line)
                    view.next_build()
                buildx_digest = engine.build(info, request, view.line)
        except (BuildFailed, KeyboardInterrupt) as exc:
            for tag in request.tags:  # `run PATH` must not start the older image these tags still name
                last_build.record(tag, root, failed=True)
            if isinstance(exc, KeyboardInterrupt):
                raise
            raise failed(failure_message(view)) from None
        for tag in request.tags:
            last_build.record(tag, root, failed=False)
        cache_note = cache.problem if cache is not None else None  # unreachable before the build
        push_started = time.monotonic()
        push_error = None
        try:
            if cache_repo is not None and cache is not None and cache.problem is None:
                cache_note = push_cache(engine, info, request, cache_repo, prepared, dict(cache.pulled), console,
                                        warn)
            if buildx_digest is not None:  # buildx pushed every tag as part of the build: one manifest
                pushed += [(tag, buildx_digest) for tag in request.tags]
            elif request.push:  # the others push after the build
                for tag in request.tags:
                    console.print(f"pushing {tag}", markup=False)
                    pushed.append((tag, engine.push_image(tag)))
        except BuildFailed as exc:  # a refused push: the image was built all the same
            push_error = exc.message
    return pushed, time.monotonic() - push_started, push_error, cache_note


def pull_cache(engine: Engine, info: EngineInfo, repo: str, prepared: Prepared, console: Console,
               warn: Any) -> CacheRead:
    """Before the build: the cache registry reached, and the stage images pulled, so that after the build a stage
    image whose layers are still these is not pushed again. A registry that cannot be reached is a warning and a
    build without the cache."""
    # buildx on a builder that exports a cache, and podman, read it themselves: one probe says whether it answers
    stage_images = regcache.uses_stage_images(info)
    refs = regcache.stage_refs(repo, prepared.plan) if stage_images else (f"{repo}:buildcache",)
    pulled = []
    for ref in refs:
        found, said = engine.pull(ref)
        if not found and not failures.reachable(said):
            last = said.strip().splitlines()[-1] if said.strip() else "no answer"
            hint = failures.registry_hint(said, imageref.registry(ref), os.path.basename(engine.client))
            problem = f"{ref}: {last} ({hint})"
            warn(f"cache: the cache registry cannot be reached, building without it: {problem}")
            return CacheRead(problem=problem)
        if stage_images:
            console.print(f"cache: {ref} {'pulled' if found else 'not in the registry yet'}", markup=False)
            pulled.append((ref, engine.layers(ref) if found else ()))
    return CacheRead(pulled=tuple(pulled))


def push_cache(engine: Engine, info: EngineInfo, request: BuildRequest, repo: str, prepared: Prepared,
               pulled: Mapping[str, tuple[str, ...]], console: Console, warn: Any) -> str | None:
    """The stage cache images pushed: those before the last were made by the warming builds, the last is built now
    from the local cache the build just filled. One whose layers are those pulled from the registry is not pushed
    again (all its steps came from the cache): a no-change cold build uploads nothing but the user's tags."""
    for _, stage_request in regcache.stage_requests(request, info, repo, prepared.plan):
        engine.build(info, stage_request, lambda line: None)
    for ref, before in pulled.items():
        if before and engine.layers(ref) == before:
            console.print(f"cache: {ref} unchanged, not pushed", markup=False)
            continue
        try:
            console.print(f"cache: pushed {ref}@{engine.push_image(ref)}", markup=False)
        except BuildFailed as exc:  # the image is built; only the next cold build misses this cache
            warn(f"cache: {exc.message}; the image is built, but the next cold build will not find this cache")
            return exc.message
    return None


ARCHITECTURES = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}


def engine_warnings(info: EngineInfo, request: BuildRequest) -> list[str]:
    """What the chosen back end will do that the user would not expect, said before the build starts."""
    out = []
    if request.cache_from and info.backend == BACKEND_DOCKER_CLASSIC:
        out.append("the classic builder given --cache-from ignores the local layer cache for every step it cannot "
                   "match in those images (measured: all heavy steps ran again); use BuildKit for --cache-from")
    native = ARCHITECTURES.get(info.architecture or "")
    foreign = sorted({p.split("/")[1] for p in request.platforms if p.count("/") >= 1} - {native, None})
    if native and foreign:
        out.append(f"building for {', '.join('linux/' + a for a in foreign)} on an {native} engine runs under "
                   "emulation, where PackageCompiler takes hours; build on a native engine "
                   "(DOCKER_HOST, or a buildx --builder on that architecture)")
    return out


def missing_credentials(private_git: str, request: BuildRequest, warn: Any) -> None:
    """BuildKit skips a secret or ssh mount nobody provided; say so before git fails for lack of it."""
    ids = {spec_fields(spec).get("id") for spec in request.secrets}
    if private_git == "token" and GIT_SECRET_ID not in ids:
        warn(f"private_git = token but no --secret id={GIT_SECRET_ID},src=FILE: private packages cannot be fetched")
    if private_git == "ssh" and not request.ssh:
        warn("private_git = ssh but no --ssh default: private packages cannot be fetched")


def secret_sources(secrets: tuple[str, ...]) -> tuple[Path, ...]:
    """The source files of --secret, symlinks resolved: no path or hard link may bring one into the context."""
    found = []
    for spec in secrets:
        fields = spec_fields(spec)
        source = fields.get("src") or fields.get("source")
        if source is not None:
            found.append(Path(source).expanduser().resolve())
    return tuple(found)


def secret_files_inside(root: Path, secrets: tuple[str, ...]) -> tuple[str, ...]:
    """Source files of --secret that lie in the project: they must never be copied into the context."""
    return tuple(path.relative_to(root).as_posix() for path in secret_sources(secrets) if path.is_relative_to(root))


# The engine's own words for failures outside the Dockerfile's steps, and the way out.
BASE_IMAGE_RE = re.compile(r"load metadata for (\S+?):?$|^Step \d+/\d+ : FROM (\S+)", re.MULTILINE)
FETCH_FAILED_RE = re.compile(r"(?i)pull access denied|manifest unknown|not found|no such host|connection refused|"
                             r"repository does not exist|unauthorized|i/o timeout|toomanyrequests")


def failure_message(view: ProgressView) -> str:
    parser = view.parser
    step = parser.failed_step
    tail = list(step.lines)[-12:] if step else []
    error = parser.error or (None if step else parser.engine_error()) or ""
    oom = "exit code: 137" in error or any("ProcessSignaled(9)" in line or line.strip() == "Killed" for line in tail)
    parts = [f"build failed at {step_line(step)}" if step else "build failed before any step ran"]
    if tail:
        parts.append("last log lines:\n    " + "\n    ".join(tail))
    if error:
        parts.append(f"the engine said: {error}")
    hint = _hint(error or "\n".join(tail), "\n".join(parser.tail))
    if hint:
        parts.append(hint)
    if oom:
        parts.append(OOM_ADVICE)
    return "\n".join(parts)


def _hint(error: str, log: str) -> str | None:
    if "network bridge not found" in error:
        return ("hint: the engine has no bridge network (dockerd --bridge=none): give the build another one with "
                "--network host (or none, if the build needs no downloads)")
    images = [a or b for a, b in BASE_IMAGE_RE.findall(log)]
    if images and FETCH_FAILED_RE.search(error):
        way_out = ("check the name and your access to its registry (docker login)" if failures.cause(error) is None
                   else failures.registry_hint(error, _registry_of(images[-1]), "docker"))
        return (f"hint: the base image {images[-1]} could not be fetched: {way_out}; or choose another with "
                "--builder-image / --runtime-image")
    return None


def _registry_of(image: str) -> str:
    """The registry of an image named in the engine's log (which the grammar may not take as it stands)."""
    try:
        return imageref.registry(image)
    except Exception:  # the reference library's own parse errors; the name as the log gave it is still useful
        return image.split("/", 1)[0]


def human_size(size: int) -> str:
    return f"{size / 1e6:.1f} MB" if size >= 1e6 else f"{size / 1e3:.1f} kB"


def compiled_layer_size(engine: Engine, tag: str, plan: Any) -> int | None:
    """The size of the layer that carries the sysimage (or the app bundle) in the runtime image."""
    if plan.mode == "pkgimage":
        return None
    marker = "/opt/app" if plan.mode == "app" else plan.sysimage_path
    for size, created in engine.layer_sizes(tag):
        if "COPY" in created and marker in created:
            return size
    return None


STOCK_SYSIMAGE_RE = re.compile(r"sysimage-docker: stock sysimage left out of the runtime image: (\d+) bytes")


def stock_sysimage_bytes(parser: Any) -> int | None:
    """From the deps step's log line; a cached step prints nothing, and then neither does the summary."""
    for step in parser.steps.values():
        for line in step.lines:
            match = STOCK_SYSIMAGE_RE.search(line)
            if match:
                return int(match.group(1))
    return None


DEPOT_LEFT_RE = re.compile(r"sysimage-docker: depot directories not shipped: (.*)")


def depot_not_shipped(parser: Any) -> tuple[str, ...]:
    """From the builder's depot check line (a cached step prints nothing: nothing changed since it did)."""
    for step in parser.steps.values():
        for line in step.lines:
            match = DEPOT_LEFT_RE.search(line)
            if match:
                return tuple(match.group(1).split())
    return ()


def print_plan(console: Console, prepared: Prepared, tags: tuple[str, ...]) -> None:
    plan = prepared.plan
    console.print(f"# plan: {', '.join(tags)}; Julia {plan.julia_version} ({plan.julia_reason}); "
                  f"builder {plan.builder_image}; runtime {plan.runtime_image}", markup=False, highlight=False)
    console.print(f"# baked: {' '.join(f'{p.name}@{p.version}' for p in plan.baked) or 'nothing'}", markup=False,
                  highlight=False)


def gather_facts(engine: Engine, prepared: Prepared, view: ProgressView, tags: tuple[str, ...], seconds: float,
                 target: str | None, local: bool) -> BuildFacts:
    """`local`: the image is in the engine (not only pushed by buildx, not exported with --output)."""
    plan, parser = prepared.plan, view.parser
    facts = BuildFacts(tags=tags, seconds=seconds, stages=parser.stage_seconds(), heavy=parser.heavy_steps(),
                       hooks=parser.hook_steps(), stock_sysimage_bytes=stock_sysimage_bytes(parser),
                       depot_not_shipped=depot_not_shipped(parser))
    if local:
        image = engine.inspect(tags[0])
        facts.image_id = "sha256:" + image.id.removeprefix("sha256:")  # podman's ids have no algorithm prefix
        facts.size = image.size
        if target in (None, "runtime"):
            facts.sysimage_size = compiled_layer_size(engine, tags[0], plan)
    return facts


def verdict_text(verdict: Verdict) -> str:
    """"cached", "failed" or "ran (1.2 s)", as the summary says it."""
    if verdict.state is StepState.RAN:
        return f"ran ({verdict.seconds or 0.0:.1f} s)"
    return verdict.state.value


def summary_lines(facts: BuildFacts, plan: Any) -> list[str]:
    lines = []
    if facts.image_id is not None:
        lines.append(f"image {facts.image_id[:19]}  {', '.join(facts.tags)}  {human_size(facts.size or 0)}")
    lines.append(f"built in {facts.seconds:.1f} s; per stage: "
                 + ", ".join(f"{stage} {secs:.1f} s" for stage, secs in facts.stages.items()))
    if facts.heavy:
        lines.append("heavy steps: " + ", ".join(f"{name} {verdict_text(v)}" for name, v in facts.heavy.items()))
    if facts.hooks:
        lines.append("hooks: " + ", ".join(f"{name} {verdict_text(v)}" for name, v in facts.hooks.items()))
    if plan.mode != "pkgimage":
        lines.append(f"baked into the sysimage: {' '.join(f'{p.name}@{p.version}' for p in plan.baked) or 'nothing'}")
    if facts.sysimage_size is not None:
        what = "app bundle" if plan.mode == "app" else "sysimage"
        step = f" (sysimage step {verdict_text(facts.heavy['sysimage'])})" if "sysimage" in facts.heavy else ""
        lines.append(f"{what} size: {human_size(facts.sysimage_size)}{step}")
    if facts.stock_sysimage_bytes is not None:
        lines.append(f"stock sysimage left out of the runtime image: {human_size(facts.stock_sysimage_bytes)} "
                     "(one sysimage ships)")
    if facts.depot_not_shipped:
        lines.append(f"warning: the build wrote depot directories that the image does not ship: "
                     f"{', '.join(facts.depot_not_shipped)} (depot_dirs = {list(facts.depot_not_shipped)} ships "
                     "them)".replace("'", '"'))
    workloads = [*plan.precompile_files, *plan.statements_files]
    lines.append(f"workloads: {', '.join(workloads) if workloads else 'none (only the packages load code)'}")
    lines += [f"pushed {tag}@{digest}" for tag, digest in facts.pushed]
    if facts.pushed and facts.push_seconds is not None:
        lines.append(f"pushing took {facts.push_seconds:.1f} s of the {facts.seconds:.1f} s")
    return lines
