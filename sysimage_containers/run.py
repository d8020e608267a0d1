"""`sysimage-docker run`: which image, and which ports and environment, for a project or an image reference."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from sysimage_containers.config import key_value
from sysimage_containers.errors import UsageError


def resolve_run(
    target: str,
    tag: str | None,
    ports: Sequence[int],
    env: Sequence[str],
    *,
    config_path: Path | None,
    environ: Mapping[str, str],
) -> tuple[str, tuple[int, ...], tuple[tuple[str, str], ...]]:
    """A project directory runs its build tag with its configured ports and env; anything else is an image."""
    pairs = [key_value(item, "--env") for item in env]
    if Path(target).is_dir():
        from sysimage_containers.build import default_tag
        from sysimage_containers.last_build import check_runnable
        from sysimage_containers.pipeline import prepare

        prepared = prepare(Path(target), config_path=config_path, environ=environ)
        image = tag or default_tag(prepared)
        check_runnable(image, prepared.environment.project.root)
        return image, tuple(dict.fromkeys((*prepared.config.ports, *ports))), tuple(pairs)
    if tag is not None:
        raise UsageError("--tag is for a project directory; give the image itself as TARGET")
    return target, tuple(ports), tuple(pairs)
