"""The buildx back end: python-on-whales' buildx.build, which maps every option (cache export, attestations,
multi-platform, push) itself."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import cast

from python_on_whales import DockerClient
from python_on_whales.exceptions import DockerException
from python_on_whales.utils import run as run_cli

from sysimage_containers.config import spec_fields
from sysimage_containers.engine.types import BuildRequest, EngineInfo
from sysimage_containers.errors import UsageError


def build_lines(docker: DockerClient, request: BuildRequest, metadata_file: Path) -> Iterator[str]:
    """`metadata_file`: where buildx writes its own build results (the pushed digest)."""
    if len(request.cache_to) > 1:
        raise UsageError("--cache-to: buildx takes one cache export")
    logs = docker.buildx.build(
        str(request.context), tags=list(request.tags), build_args=dict(request.build_args),
        labels=dict(request.labels),
        target=request.target, network=request.network, cache=not request.no_cache, pull=request.pull,
        platforms=list(request.platforms) or None, push=request.push, load=request.load and not request.push
        and not request.output and len(request.platforms) <= 1,
        cache_from=[cache_spec(c) for c in request.cache_from] or None,
        cache_to=cache_spec(request.cache_to[0]) if request.cache_to else None,
        secrets=list(request.secrets), ssh=",".join(request.ssh) or None, builder=request.builder,
        output=cache_spec(request.output) if request.output else {}, progress="plain", stream_logs=True,
        metadata_file=metadata_file,
        sbom=True if request.attest_sbom else None, provenance=True if request.attest_provenance else None,
    )
    yield from cast(Iterator[str], logs)


def cache_spec(text: str) -> dict[str, str]:
    """`type=registry,ref=R,mode=max` (or a bare image reference) as the dict python-on-whales takes."""
    if "=" not in text:
        return {"type": "registry", "ref": text}
    return spec_fields(text)


def builder_driver(client: list[str], builder: str | None) -> tuple[str | None, str | None]:
    """The builder a build goes to (the named one, else the current one) and its driver, from `docker buildx
    inspect` (it has no JSON output in buildx 0.13: `Name:` and `Driver:` are its first lines)."""
    try:
        out = cast(str, run_cli([*client, "buildx", "inspect", *([builder] if builder else [])]))
    except DockerException:
        return builder, None  # an unknown builder: buildx itself names it when the build starts
    fields = dict(line.split(":", 1) for line in out.splitlines()[:4] if ":" in line)
    return (fields.get("Name", "").strip() or builder), (fields.get("Driver", "").strip() or None)


OTHER_BUILDER = ("a docker-container builder (`docker buildx create --driver docker-container --use`) or a remote "
                 "one (--builder NAME)")


def docker_driver_limits(request: BuildRequest) -> list[str]:
    """What a build asks that the `docker` driver cannot do: it builds in the daemon's own BuildKit, which
    exports no cache but the inline one, builds one platform and attaches no attestations."""
    exports = [spec for spec in request.cache_to if cache_spec(spec).get("type") != "inline"]
    asked = {
        f"--cache-to {exports[0] if exports else ''}": bool(exports),
        "several --platform values": len(request.platforms) > 1,
        "--sbom (BuildKit's attestation)": request.attest_sbom,
        "--provenance (BuildKit's attestation)": request.attest_provenance,
    }
    return [what for what, yes in asked.items() if yes]


def check_docker_driver(info: EngineInfo, request: BuildRequest) -> None:
    limits = docker_driver_limits(request)
    if limits:
        raise UsageError(f"{limits[0]}: the buildx builder {info.builder or 'default'} uses the docker driver, "
                         f"which cannot do that; use {OTHER_BUILDER}")


def pushed_digest(metadata_file: Path) -> str:
    """The manifest digest buildx pushed, from its `--metadata-file` (`containerimage.digest`)."""
    try:
        data = json.loads(metadata_file.read_text())
    except (OSError, ValueError):
        return "unknown"
    return str(data.get("containerimage.digest") or "unknown") if isinstance(data, dict) else "unknown"
