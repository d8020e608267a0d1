"""The pipeline's re-rendering for a client without BuildKit: the same result as preparing with --buildkit false,
without reading, walking or putting the project into the SBOM again."""

from __future__ import annotations

import pytest
from conftest import EXAMPLES

from sysimage_containers import pipeline
from sysimage_containers.errors import UsageError


@pytest.mark.parametrize("name", sorted(p.name for p in EXAMPLES.iterdir() if p.is_dir()))
def test_without_buildkit_is_what_the_flag_gives(name: str) -> None:
    flagged = pipeline.prepare(EXAMPLES / name, cli={"buildkit": False})
    rendered = pipeline.without_buildkit(pipeline.prepare(EXAMPLES / name))
    assert rendered.files == flagged.files
    assert rendered.plan == flagged.plan
    assert rendered.config == flagged.config
    assert rendered.listing == flagged.listing
    assert "--mount=type=cache" not in rendered.files["Dockerfile"]


def test_without_buildkit_refuses_what_needs_it(monkeypatch) -> None:
    cli = {"private_git": "token"}
    prepared = pipeline.prepare(EXAMPLES / "hello", cli=cli)
    with pytest.raises(UsageError) as flagged:
        pipeline.prepare(EXAMPLES / "hello", cli={**cli, "buildkit": False})
    with pytest.raises(UsageError) as rendered:
        pipeline.without_buildkit(prepared)
    assert str(rendered.value) == str(flagged.value)


def test_a_client_without_buildkit_reads_the_project_once(monkeypatch, cli, example) -> None:
    from sysimage_containers import project
    from sysimage_containers.engine import clients

    monkeypatch.setattr(clients, "rendering_backend", lambda engine, client, survey=None: ("docker-classic",
                                                                                          "/usr/bin/docker"))
    reads = []
    real = project.load_environment
    monkeypatch.setattr(project, "load_environment", lambda *a, **k: reads.append(1) or real(*a, **k))
    result = cli("generate", example("hello"))
    assert result.code == 0, result.err
    assert "--mount=type=cache" not in result.out and "has no BuildKit" in result.err
    assert len(reads) == 1
