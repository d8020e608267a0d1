"""The one-way flow: project -> config -> environment and Julia version -> plan -> rendered files."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from functools import cached_property
from pathlib import Path
from typing import Any

from sysimage_containers import __version__, boundary, context, hook_inputs, sbom
from sysimage_containers import config as config_module
from sysimage_containers import project as project_module
from sysimage_containers.errors import UsageError
from sysimage_containers.julia_versions import KnownReleases, choose_julia_version, resolve_configured
from sysimage_containers.plan import CONTEXT_SBOM, BuildPlan, make_plan
from sysimage_containers.render import UnsafeValue, render_all


@dataclass(frozen=True)
class Prepared:
    environment: project_module.Environment
    config: config_module.Config
    plan: BuildPlan
    rendered: dict[str, str]  # the generated files of the build context but the SBOM, by their paths in it
    listing: context.Listing  # what enters the build context: the same for printing, writing and building

    @cached_property
    def files(self) -> dict[str, str]:
        """Every generated file of the build context. The SBOM is rendered here, at the first use: printing the
        Dockerfile needs none of it, and it is a quarter of `generate` at 100,000 manifest entries. (It refuses
        nothing: what it holds was checked when the manifest was read.)"""
        return {**self.rendered, CONTEXT_SBOM: sbom.render(self.environment, self.plan)}

    @property
    def notes(self) -> list[str]:
        """What the user is told besides warnings: what was left out of the context, copied path deps."""
        notes = [*self.listing.notes(), *context.external_notes(self.plan)]
        project = self.environment.project
        if project.apt_file is not None:
            notes.append(f"{project.apt_file} (repo2docker's convention) read: system packages "
                         f"{' '.join(project.apt_packages) or 'none'}")
        return notes

    @property
    def warnings(self) -> list[str]:
        return [*self.plan.warnings, *self.listing.warnings, *self.listing.size_warnings(self.config.context_warn_mb)]


def _config_file_in(root: Path, config_path: Path | None) -> tuple[Path, ...]:
    """The configuration file, as the context walk meets it: it never enters the context or the image (plan.toml
    carries what the build needs; build_env values and the file's comments belong to the build, not the image)."""
    try:
        return ((config_path or root / config_module.CONFIG_FILE).resolve(),)
    except OSError:
        return ()


def prepare(
    path: Path,
    *,
    config_path: Path | None = None,
    environ: Mapping[str, str] | None = None,
    cli: Mapping[str, Any] | None = None,
    leave_out: tuple[str, ...] = (),
    skip: tuple[Path, ...] = (),
    secret_sources: tuple[Path, ...] = (),
    on_config: Callable[[config_module.Config], object] | None = None,
) -> Prepared:
    """`leave_out`: project files never to copy (secret sources, as project paths); `secret_sources`: the same
    files wherever they are, never copied by any path or hard link; `skip`: directories never to walk (an output
    directory inside the project); `on_config`: told the configuration as soon as it is known, before the
    manifest is read (to ask the container client meanwhile)."""
    project = project_module.read_project(path)
    cfg = config_module.resolve(project.root, config_path=config_path, environ=environ, cli=cli)
    if on_config is not None:
        on_config(cfg)
    context.check_inputs(project.root, cfg)
    root = boundary.context_boundary(project.root, cfg)
    known = KnownReleases.load()
    series = None
    if cfg.julia_version is not None:
        configured = resolve_configured(cfg.julia_version, known)
        series = (configured.major, configured.minor)
    environment = project_module.load_environment(project, series, cfg.resolve, root)
    manifest = environment.manifest
    choice = choose_julia_version(
        manifest_version=manifest.julia_version if manifest else None,
        manifest_name=manifest.file if manifest else None,
        configured=cfg.julia_version,
        compat=project.compat_for("julia"),
        known=known,
        manifest_format=manifest.format if manifest else None,
    )
    if cfg.builder_image is None:  # the default builder is the official image, which must exist
        published, warning = known.published_image(choice.version)
        if warning is not None:
            choice = replace(choice, version=published, warnings=(*choice.warnings, warning))
    plan = make_plan(environment, cfg, choice, tool_version=__version__)
    listing = context.walk(environment, plan, cfg, leave_out=leave_out,
                           skip=(*skip, *_config_file_in(project.root, config_path)), secret_sources=secret_sources)
    plan = hook_inputs.with_inputs(plan, cfg, listing)  # globs match what the context holds
    return Prepared(environment=environment, config=cfg, plan=plan, rendered=_render(plan), listing=listing)


def without_buildkit(prepared: Prepared) -> Prepared:
    """The same build rendered for the classic builder (the client that will build has no BuildKit). Only the
    Dockerfile's form depends on BuildKit, so nothing is read or walked again (on a 100,000-entry manifest a second
    `prepare` doubled generate's time); the SBOM is rendered by whichever of the two is used."""
    cfg = config_module.without_buildkit(prepared.config)
    plan = replace(prepared.plan, buildkit=False)
    return replace(prepared, config=cfg, plan=plan, rendered=_render(plan))


def _render(plan: BuildPlan) -> dict[str, str]:
    try:
        return render_all(plan)
    except UnsafeValue as exc:  # validation should have refused it earlier; the template guard still does
        raise UsageError(f"a value cannot be placed safely in a Dockerfile: {exc}") from None
