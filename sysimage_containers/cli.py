"""Command line: every `sysimage-docker` command. `generate`, `init`, `versions`, `options`, `ci` and `sbom PROJECT`
need no engine; `build`, `run`, `verify`, `bench`, `doctor` and `sbom IMAGE` use one (through engine/), importing
it and rich only when they run, so that the others start fast.

Flags for the shared options are generated from options.OPTIONS. Every error is one line on stderr with the
exit status its class carries (see errors.EXIT_CODES); click's own usage errors are folded into that form.
"""

from __future__ import annotations

import gc
import json
import os
import sys
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from sysimage_containers import __version__
from sysimage_containers.errors import EXIT_CODES, BuildFailed, SysimageDockerError, UsageError
from sysimage_containers.options import OPTIONS, Option

if TYPE_CHECKING:
    from rich.console import Console


@cache
def err() -> Console:
    """stderr for the engine commands' live output; created on first use, as rich costs ~30 ms to import."""
    from rich.console import Console

    return Console(stderr=True, highlight=False, soft_wrap=True)


def stdout_console() -> Console:
    from rich.console import Console

    return Console(highlight=False, soft_wrap=True)


def long_running() -> None:
    """The entry point pauses the garbage collector for a fast start; a command that runs for minutes (and
    streams a build log) needs it."""
    gc.enable()


def say(line: str) -> None:
    """One plain line on stderr."""
    click.echo(line, err=True)


def fail_line(message: str) -> None:
    say(f"sysimage-docker: error: {message}")


def warn(message: str) -> None:
    say(f"sysimage-docker: warning: {message}")


def option_flags(*scopes: str, skip: tuple[str, ...] = (), helps: dict[str, str] | None = None,
                 ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Attach a flag for every option of these scopes but `skip`; values arrive keyed by option key. `helps`
    words an option for this command (the table's text may describe another command's use of it)."""

    def attach(command: Callable[..., Any]) -> Callable[..., Any]:
        for option in reversed(OPTIONS):
            if option.flag is not None and option.scope in scopes and option.key not in skip:
                command = _flag(option, (helps or {}).get(option.key))(command)
        return command

    return attach


# the engine options of the commands that start a container from an image and build nothing
CONTAINER_FLAGS: dict[str, Any] = {
    "skip": ("cache_repo",),
    "helps": {"network": "Network of the container this command starts (e.g. `host`, `none`). auto: the engine's "
                         "default."},
}


def _flag(option: Option, help_override: str | None = None) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    name = option.flag
    assert name is not None
    help_text = f"{help_override or option.help} [default: {option.default_text}; env {option.env_var or '-'}]"
    if option.kind == "bool":
        negative = "--no-" + name[2:]
        return click.option(f"{name}/{negative}", option.key, default=None, help=help_text)
    if option.repeatable:
        kind: Any = int if option.kind == "intlist" else str
        metavar = "KEY=VALUE" if option.kind == "table" else ("PORT" if kind is int else "VALUE")
        return click.option(name, option.key, multiple=True, type=kind, metavar=metavar, help=help_text)
    if option.kind == "int":
        return click.option(name, option.key, type=int, default=None, help=help_text)
    metavar = "A,B,..." if option.kind == "list" else "TEXT"
    return click.option(name, option.key, default=None, metavar=metavar, help=help_text)


def cli_values(params: dict[str, Any]) -> dict[str, Any]:
    """The option values given on the command line (unset flags are None and do not override)."""
    out: dict[str, Any] = {}
    for option in OPTIONS:
        if option.flag is None or option.key not in params:
            continue
        value = params.pop(option.key)
        if option.repeatable:
            value = list(value) if value else None
        out[option.key] = value
    return out


def _epilog() -> str:
    codes = "\n".join(f"  {code}  {meaning}" for code, meaning in EXIT_CODES.items())
    return f"\b\nExit status:\n{codes}"


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110},
             epilog=_epilog())
@click.version_option(__version__, prog_name="sysimage-docker")
def main_group() -> None:
    """Turn a Julia project into a container image with a custom sysimage that starts fast."""


project_argument = click.argument("path", type=click.Path(path_type=Path), default=Path("."), required=False)
config_option = click.option("--config", "config_path", type=click.Path(path_type=Path), default=None,
                             help="Config file [default: PATH/sysimage-docker.toml if present]")


@main_group.command()
@project_argument
@config_option
@click.option("-o", "--output", type=click.Path(path_type=Path), default=None,
              help="Write the whole build context into this directory instead of printing the Dockerfile.")
@option_flags("image")
def generate(path: Path, config_path: Path | None, output: Path | None, **params: Any) -> None:
    """Print the Dockerfile for the Julia project at PATH, or write the build context with -o."""
    from sysimage_containers import context
    from sysimage_containers.engine import clients
    from sysimage_containers.pipeline import prepare, without_buildkit

    skip = (output.resolve(),) if output is not None else ()
    survey = clients.Survey()
    try:
        prepared = prepare(path, config_path=config_path, environ=os.environ, cli=cli_values(params), skip=skip,
                           on_config=lambda cfg: survey.begin(cfg.engine, cfg.docker_client, cfg.buildkit))
        cfg = prepared.config
        # render for the client a build would run, as `build` and `build --dry-run` do
        backend, client = (clients.rendering_backend(cfg.engine, cfg.docker_client, survey) if cfg.buildkit
                           else (None, None))
        if cfg.buildkit and backend is not None and backend not in clients.BUILDKIT_BACKENDS:
            warn(clients.no_buildkit_warning(backend, client, survey))
            prepared = without_buildkit(prepared)
    finally:
        survey.close()
    for message in prepared.warnings:
        warn(message)
    for note in prepared.notes:
        say(note)
    if output is None:
        click.echo(prepared.rendered["Dockerfile"], nl=False)
        return
    context.write_context(output, prepared.listing, prepared.files)
    command = clients.build_command(backend, client, str(output), prepared.plan.buildkit)
    say(f"wrote the build context to {output} (build it with: {command})")


@main_group.command()
@project_argument
@config_option
@click.option("-t", "--tag", "tags", multiple=True, help="Image name:tag [default: <name>:<version> from Project.toml]")
@click.option("--build-arg", "build_args", multiple=True, metavar="KEY=VALUE", help="Build argument (repeatable).")
@click.option("--target", default=None, help="Build only up to this stage (builder, runtime).")
@click.option("--no-cache", is_flag=True, help="Do not use the engine's layer cache.")
@click.option("--pull", is_flag=True, help="Always pull newer base images.")
@click.option("--progress", type=click.Choice(["auto", "plain", "tty"]), default="auto", show_default=True,
              help="Live display on a terminal (tty) or one line per step (plain).")
@click.option("--dry-run", is_flag=True, help="Print the plan and the Dockerfile; build nothing.")
@click.option("--platform", "platforms", multiple=True, help="Target platform, e.g. linux/arm64 (several need buildx).")
@click.option("--push", is_flag=True, help="Push every tag after the build, with the engine's own login (buildx "
              "pushes itself; the docker CLI and podman run `push`); the summary shows each digest.")
@click.option("--cache-from", "cache_from", multiple=True, help="External cache source (e.g. type=registry,ref=...).")
@click.option("--cache-to", "cache_to", multiple=True, help="Cache export (buildx), e.g. type=registry,ref=R,mode=max.")
@click.option("--secret", "secrets", multiple=True, help="Build secret id=...,src=...|env=... (BuildKit).")
@click.option("--ssh", "ssh", multiple=True, help="SSH agent socket or keys to expose, e.g. default (BuildKit).")
@click.option("--builder", default=None, help="buildx builder instance (e.g. a remote or kubernetes builder).")
@click.option("-o", "--output", default=None, help="BuildKit output instead of an image, e.g. type=local,dest=DIR.")
@click.option("--verify", "verify_after", is_flag=True, help="Run `verify` on the image right after the build.")
@click.option("--metadata-file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the build metadata (JSON: image id, tags, pushed digests, packages, heavy steps cached or "
                   "ran, stage times, sysimage size; `error` when the build failed) to this file.")
@click.option("--json", "as_json", is_flag=True,
              help="Print the build metadata (with --dry-run: the plan) as JSON on stdout instead of the summary.")
@click.option("--sbom-file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Also write the image's CycloneDX SBOM (the one in /opt/sysimage-docker/sbom.cdx.json) here.")
@click.option("--sbom", "attest_sbom", is_flag=True,
              help="Also attach BuildKit's own SBOM attestation (buildx; the Julia SBOM is in every image anyway).")
@click.option("--provenance", "attest_provenance", is_flag=True,
              help="Attach BuildKit's provenance attestation (buildx).")
@option_flags("image", "engine")
def build(path: Path, config_path: Path | None, tags: tuple[str, ...], build_args: tuple[str, ...],
          target: str | None, no_cache: bool, pull: bool, progress: str, dry_run: bool,
          platforms: tuple[str, ...], push: bool, cache_from: tuple[str, ...], cache_to: tuple[str, ...],
          secrets: tuple[str, ...], ssh: tuple[str, ...], builder: str | None, output: str | None,
          verify_after: bool, metadata_file: Path | None, as_json: bool, sbom_file: Path | None,
          attest_sbom: bool, attest_provenance: bool, **params: Any) -> None:
    """Build the image for the Julia project at PATH (in a temporary build context)."""
    long_running()
    from sysimage_containers.build import run_build
    from sysimage_containers.config import key_value
    from sysimage_containers.engine.types import BuildRequest

    request = BuildRequest(tags=tags, build_args=tuple(key_value(a, "--build-arg") for a in build_args),
                           target=target, no_cache=no_cache, pull=pull, platforms=platforms, push=push,
                           cache_from=cache_from, cache_to=cache_to, secrets=secrets, ssh=ssh, builder=builder,
                           output=output, attest_sbom=attest_sbom, attest_provenance=attest_provenance)

    def emit(data: dict[str, Any]) -> None:
        if metadata_file is not None and not dry_run:
            from sysimage_containers import metadata

            metadata.write(metadata_file, data)
        if as_json:
            click.echo(json.dumps(data, indent=2))

    out = stdout_console() if dry_run and not as_json else err()
    prepared, tag = run_build(path, request, console=out, config_path=config_path, environ=os.environ,
                              cli=cli_values(params), warn=warn, progress=progress, dry_run=dry_run,
                              as_json=as_json, emit=emit)
    if sbom_file is not None and tag is not None:
        from sysimage_containers.metadata import write_text
        from sysimage_containers.plan import CONTEXT_SBOM

        write_text(sbom_file, prepared.files[CONTEXT_SBOM], "--sbom-file")
    if verify_after and tag is not None:
        from sysimage_containers.engine import Engine
        from sysimage_containers.verify import run_verify, show, summary_error

        cfg = prepared.config
        verdict = run_verify(Engine.from_config(cfg), tag, cfg.network)
        show(err(), tag, verdict)
        if not verdict.ok:
            raise BuildFailed(summary_error(tag, verdict))


@main_group.command(context_settings={"ignore_unknown_options": True})
@click.argument("target", default=".", required=False)
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
@config_option
@click.option("-t", "--tag", default=None, help="Image to run when TARGET is a project [default: its build tag].")
@click.option("-p", "--publish", "ports", multiple=True, type=int, help="Publish this port on 127.0.0.1 (repeatable).")
@click.option("-e", "--env", "env", multiple=True, metavar="KEY=VALUE", help="Environment variable (repeatable).")
@click.option("-i", "--interactive", is_flag=True, help="Attach a terminal (for the REPL).")
@option_flags("engine", **CONTAINER_FLAGS)
def run(target: str, args: tuple[str, ...], config_path: Path | None, tag: str | None, ports: tuple[int, ...],
        env: tuple[str, ...], interactive: bool, **params: Any) -> None:
    """Run the built image of the project at TARGET (or an image), streaming its output: sysimage-docker run
    [PATH|IMAGE] [-- ARGS]. ARGS go to the app (after the image's CMD: the script or julia_main); the
    container's exit status becomes this command's."""
    long_running()
    from sysimage_containers import config as config_module
    from sysimage_containers.engine import Engine
    from sysimage_containers.run import resolve_run

    image, run_ports, run_env = resolve_run(target, tag, ports, env, config_path=config_path, environ=os.environ)
    project = Path(target) if Path(target).is_dir() else None
    cfg = config_module.resolve(project, config_path=config_path if project else None, environ=os.environ,
                                cli=cli_values(params))
    engine = Engine.from_config(cfg)
    engine.detect()
    if not engine.image_exists(image):
        raise UsageError(f"no image {image!r}: build it first (sysimage-docker build {target})")
    # docker would replace the CMD (the app's script) with ARGS; keep it and pass ARGS to the app
    command = [*engine.inspect(image).cmd, *args]
    sys.exit(engine.run(image, command, ports=run_ports, env=run_env, network=cfg.network, interactive=interactive))


@main_group.command()
@click.argument("image")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON (for CI).")
@option_flags("engine", **CONTAINER_FLAGS)
def verify(image: str, as_json: bool, **params: Any) -> None:
    """Check what IMAGE really loads: its sysimage, Julia, CPU target, each baked package's version against the
    image's manifest (a mismatch exits 1), packages loaded from the depot instead, missing artifacts."""
    long_running()
    from sysimage_containers import config as config_module
    from sysimage_containers.engine import Engine
    from sysimage_containers.verify import run_verify, show, summary_error

    cfg = config_module.resolve(None, environ=os.environ, cli=cli_values(params))
    engine = Engine.from_config(cfg)
    engine.detect()
    verdict = run_verify(engine, image, cfg.network)
    if as_json:
        import json

        click.echo(json.dumps({**verdict.report, "mismatched": list(verdict.mismatched), "ok": verdict.ok}))
    else:
        show(stdout_console(), image, verdict)
    if not verdict.ok:
        raise BuildFailed(summary_error(image, verdict))


@main_group.command()
@click.argument("target", default=".")
@config_option
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the SBOM to this file instead of stdout.")
@option_flags("engine", **CONTAINER_FLAGS)
def sbom(target: str, config_path: Path | None, output: Path | None, **params: Any) -> None:
    """Print the CycloneDX SBOM of the Julia side: for a project directory TARGET, what its image will hold (every
    manifest entry, Julia, which packages are in the sysimage); for an image, the SBOM it carries."""
    if Path(target).is_dir():
        from sysimage_containers.pipeline import prepare
        from sysimage_containers.plan import CONTEXT_SBOM

        text = prepare(Path(target), config_path=config_path, environ=os.environ).files[CONTEXT_SBOM]
    else:
        long_running()
        from sysimage_containers import config as config_module
        from sysimage_containers.engine import Engine
        from sysimage_containers.plan import SBOM_FILE

        cfg = config_module.resolve(None, environ=os.environ, cli=cli_values(params))
        engine = Engine.from_config(cfg)
        engine.detect()
        if not engine.ensure_local(target):  # an image only in its registry is pulled
            raise UsageError(f"{target}: no such project directory or image (here or in its registry)")
        status, text, _ = engine.run_capture(target, "cat", [SBOM_FILE], cfg.network)
        if status != 0:
            raise BuildFailed(f"{target} carries no SBOM at {SBOM_FILE} (built by sysimage-docker before 0.3?)")
    if output is None:
        from sysimage_containers.urls import redact  # an image from an older version may hold a repo-url token

        click.echo(redact(text), nl=False)
    else:
        from sysimage_containers.metadata import write_text

        write_text(output, text, "--output")
        say(f"wrote {output}")


@main_group.command()
@click.argument("kind", type=click.Choice(["github", "gitlab"]))
@project_argument
@config_option
@click.option("--image", default=None, help="Image repository to push (tags: the commit, a git tag, latest on the "
              "default branch) [default: the CI's own registry: ghcr.io/OWNER/REPO, or $CI_REGISTRY_IMAGE].")
@click.option("--cache-repo", default=None, help="Registry cache repository [default: cache_repo from the config, "
              "else IMAGE-cache (GitHub) or $CI_REGISTRY_IMAGE/cache (GitLab)].")
@click.option("--platform", "platforms", multiple=True, help="Target platform (repeatable).")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Where to write [default: .github/workflows/sysimage-docker.yml or .gitlab-ci.yml at the "
                   "repository's root].")
@click.option("--force", is_flag=True, help="Replace an existing file.")
def ci(kind: str, path: Path, config_path: Path | None, image: str | None, cache_repo: str | None,
       platforms: tuple[str, ...], output: Path | None, force: bool) -> None:
    """Write a CI workflow (GitHub Actions or GitLab CI) that builds the project at PATH with --push and the
    registry cache (pull/merge requests: without pushing), keeps the metadata and the SBOM as artifacts, and
    verifies the image. INSTALL_SYSIMAGE_DOCKER in the CI's variables installs another version of the tool."""
    from sysimage_containers import ci_templates
    from sysimage_containers.metadata import write_text
    from sysimage_containers.pipeline import prepare

    prepared = prepare(path, config_path=config_path, environ=os.environ)  # the project must generate
    root = prepared.environment.project.root
    target = output or ci_templates.output_path(kind, root)
    project = os.path.relpath(root, target.parent.parent.parent if kind == "github" else target.parent) \
        if output is None else os.path.relpath(root)
    text = ci_templates.render(kind, project, image, cache_repo or prepared.config.cache_repo, platforms)
    if target.exists() and not force:
        raise UsageError(f"{target}: exists; pass --force to replace it")
    write_text(target, text, "--output")
    say(f"wrote {target}")


@main_group.command()
@click.argument("target", default=".")
@click.argument("peers", nargs=-1)
@config_option
@click.option("-n", "--runs", type=click.IntRange(1, 100), default=5, show_default=True,
              help="Starts per image.")
@click.option("-e", "--env", "env", multiple=True, metavar="KEY=VALUE", help="Environment of the timed containers.")
@click.option("--chart", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Also write the chart as CHART.png and CHART.svg (needs the plot extra: matplotlib).")
@click.option("--max-startup", type=float, default=None,
              help="Fail (exit 1) when the first image's median start-to-exit time exceeds this many seconds.")
@click.option("--metadata-file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Record the results under `bench` in this JSON file (build metadata written there is kept).")
@option_flags("engine", skip=("cache_repo",), helps={
    "network": "Network of the timed containers, and of the RUN steps of a project's two builds (e.g. `host`). "
               "auto: the engine's default."})
def bench(target: str, peers: tuple[str, ...], config_path: Path | None, runs: int, env: tuple[str, ...],
          chart: Path | None, max_startup: float | None, metadata_file: Path | None, **params: Any) -> None:
    """Time what users feel: start to exit of the image's command, N times, side by side. For a project TARGET:
    its image as configured against the same project with mode = pkgimage (both built first; the layer cache
    makes that quick). For images: TARGET, then each PEER."""
    long_running()
    from sysimage_containers import bench as bench_module
    from sysimage_containers import config as config_module
    from sysimage_containers.engine import Engine

    pairs = tuple(config_module.key_value(item, "--env") for item in env)
    if chart is not None:
        bench_module.require_matplotlib()
    project = Path(target) if Path(target).is_dir() else None
    cfg = config_module.resolve(project, config_path=config_path if project else None, environ=os.environ,
                                cli=cli_values(params))
    engine = Engine.from_config(cfg)
    engine.detect()
    if project is not None:
        if peers:
            raise UsageError("PEERS are for images; a project is compared with its own pkgimage build")
        images = bench_module.project_images(project, config_path, cli_values(params), err(), warn)
    else:
        images = [(image, engine.inspect(image).labels.get("dev.sysimage-docker.mode", "image"))
                  for image in (target, *peers)]
    standin = bench_module.uses_standin(engine, images[0][0], cfg.network)
    timings = [bench_module.measure(engine, image, label, pairs, cfg.network, runs) for image, label in images]
    console = stdout_console()
    header = f"start to exit (services: to the first answer), {runs} run{'s' if runs > 1 else ''} each"
    if standin:
        header += " (the stand-in julia of sysimage-docker's tests: these are its configured delays, not Julia's)"
    console.print(header, markup=False, highlight=False)
    table = bench_module.rows(timings)
    from rich.table import Table

    shown = Table("image", "mode", "median s", "min s", "max s", "ratio")
    for row in table:
        shown.add_row(row["image"], row["mode"], f"{row['median']:.3f}", f"{row['min']:.3f}", f"{row['max']:.3f}",
                      "-" if row["ratio"] is None else f"{row['ratio']:.2f}")
    console.print(shown)
    for line in bench_module.terminal_chart(timings):
        console.print(line, markup=False, highlight=False)
    if chart is not None:
        title = f"{runs} start{'s' if runs > 1 else ''} each" + (" (stand-in julia)" if standin else "")
        for path in bench_module.write_charts(timings, chart, title):
            say(f"wrote {path}")
    if metadata_file is not None:
        from sysimage_containers import metadata

        metadata.merge(metadata_file, "bench", {"runs": runs, "standin": standin, "images": table,
                                                 "max_startup": max_startup})
    if max_startup is not None and timings[0].median > max_startup:
        raise BuildFailed(f"{timings[0].image}: median start-to-exit {timings[0].median:.2f} s is over "
                          f"--max-startup {max_startup:g} s")


@main_group.command()
@option_flags("engine", skip=("cache_repo", "network"))
def doctor(**params: Any) -> None:
    """Check the container engine for sysimage builds: client, daemon, buildx, BuildKit, podman, memory, disk."""
    long_running()
    from sysimage_containers.doctor import diagnose

    sys.exit(diagnose(err(), os.environ, cli_values(params)))


@main_group.command()
@project_argument
@click.option("--from-dockerfile", "dockerfile", is_flag=False, flag_value="", default=None, metavar="[FILE]",
              help="Map a hand-written Dockerfile (default: PATH/Dockerfile) onto a new sysimage-docker.toml; "
                   "what does not map is listed as comments naming its line. Nothing in it runs.")
def init(path: Path, dockerfile: str | None) -> None:
    """Write a commented sysimage-docker.toml for PATH, detecting what it can; re-run to add new keys."""
    if dockerfile is not None:
        from sysimage_containers.migrate_writer import write_from_dockerfile

        for line in write_from_dockerfile(path, Path(dockerfile) if dockerfile else None):
            say(line)
        return
    from sysimage_containers.init_config import write_config

    say(write_config(path))


@main_group.command()
@click.option("--refresh", is_flag=True, help="Download the list of Julia releases (needs network).")
@click.option("--url", default=None, help="Where to download versions.json from.")
def versions(refresh: bool, url: str | None) -> None:
    """List the Julia releases sysimage-docker knows (the current LTS is marked)."""
    from sysimage_containers import julia_versions

    if refresh:
        try:
            target = julia_versions.refresh(url or julia_versions.DEFAULT_VERSIONS_URL)
        except (OSError, ValueError) as exc:
            raise SysimageDockerError(f"could not refresh the Julia release list: {exc}") from None
        say(f"wrote {target}")
    known = julia_versions.KnownReleases.load()
    for v in known.releases:
        mark = "  (LTS)" if f"{v.major}.{v.minor}" == known.lts else ""
        click.echo(f"{v}{mark}")


@main_group.command("options")
@click.option("--markdown", is_flag=True, help="Print the README's options table.")
def options_command(markdown: bool) -> None:
    """List every option with its config key, environment variable, flag and default."""
    from sysimage_containers.options_doc import markdown_table, plain_table

    click.echo(markdown_table() if markdown else plain_table(), nl=False)


def main(argv: list[str] | None = None) -> None:
    try:
        main_group.main(args=argv, prog_name="sysimage-docker", standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        fail_line("interrupted")
        sys.exit(130)
    except click.ClickException as exc:
        fail_line(exc.format_message().replace("\n", " "))
        sys.exit(UsageError.exit_code if isinstance(exc, click.UsageError) else exc.exit_code)
    except SysimageDockerError as exc:  # usage errors are one line; build failures add the step's last log lines
        fail_line(exc.message)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        fail_line("interrupted")
        sys.exit(130)
    except Exception as exc:  # a bug: still one line, unless debugging
        if os.environ.get("SYSIMAGE_DOCKER_DEBUG"):
            raise
        fail_line(f"internal error ({type(exc).__name__}: {exc}); rerun with SYSIMAGE_DOCKER_DEBUG=1 and report it")
        sys.exit(70)
    sys.exit(0)
