"""Command line: `sysimage-docker generate | init | versions | options` (build/run/doctor in engine commands).

Flags for the shared options are generated from options.OPTIONS. Every error is one line on stderr with the
exit status its class carries (see errors.EXIT_CODES); click's own usage errors are folded into that form.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
from rich.console import Console

from sysimage_containers import __version__
from sysimage_containers.errors import EXIT_CODES, SysimageDockerError, UsageError
from sysimage_containers.options import OPTIONS, Option

err = Console(stderr=True, highlight=False, soft_wrap=True)


def fail_line(message: str) -> None:
    err.print(f"sysimage-docker: error: {message}", markup=False)


def warn(message: str) -> None:
    err.print(f"sysimage-docker: warning: {message}", markup=False)


def option_flags(command: Callable[..., Any]) -> Callable[..., Any]:
    """Attach a flag for every option that has one; values arrive in `opts` keyed by option key."""
    for option in reversed(OPTIONS):
        if option.flag is None:
            continue
        command = _flag(option)(command)
    return command


def _flag(option: Option) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    name = option.flag
    assert name is not None
    help_text = f"{option.help} [default: {option.default_text}; env {option.env_var or '-'}]"
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
@option_flags
def generate(path: Path, config_path: Path | None, output: Path | None, **params: Any) -> None:
    """Print the Dockerfile for the Julia project at PATH, or write the build context with -o."""
    from sysimage_containers import context
    from sysimage_containers.pipeline import prepare

    prepared = prepare(path, config_path=config_path, environ=os.environ, cli=cli_values(params))
    for message in prepared.plan.warnings:
        warn(message)
    if output is None:
        click.echo(prepared.files["Dockerfile"], nl=False)
        return
    notes = context.write_context(output, prepared.environment, prepared.plan, prepared.files)
    for note in notes:
        err.print(note, markup=False)
    err.print(f"wrote the build context to {output} (build it with: docker build {output})", markup=False)


@main_group.command()
@project_argument
def init(path: Path) -> None:
    """Write a commented sysimage-docker.toml for PATH, detecting what it can; re-run to add new keys."""
    from sysimage_containers.init_config import write_config

    result = write_config(path)
    err.print(result, markup=False)


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
        err.print(f"wrote {target}", markup=False)
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
    except SysimageDockerError as exc:
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
