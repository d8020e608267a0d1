"""The buildx back end: python-on-whales' buildx.build, which maps every option (cache export, attestations,
multi-platform, push) itself."""

from __future__ import annotations

from collections.abc import Iterator
from typing import cast

from python_on_whales import DockerClient

from sysimage_containers.config import spec_fields
from sysimage_containers.engine.types import BuildRequest
from sysimage_containers.errors import UsageError


def build_lines(docker: DockerClient, request: BuildRequest) -> Iterator[str]:
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
        sbom=True if request.attest_sbom else None, provenance=True if request.attest_provenance else None,
    )
    yield from cast(Iterator[str], logs)


def cache_spec(text: str) -> dict[str, str]:
    """`type=registry,ref=R,mode=max` (or a bare image reference) as the dict python-on-whales takes."""
    if "=" not in text:
        return {"type": "registry", "ref": text}
    return spec_fields(text)
