"""Golden Dockerfiles for the examples: the exact output users get. UPDATE_GOLDEN=1 rewrites them."""

from __future__ import annotations

import os

import pytest
from conftest import EXAMPLES, REPO

GOLDEN = REPO / "tests" / "golden"
CASES = {
    "hello": [],
    "http-service": [],
    "cli-tool": [],
    "hello.no-buildkit": ["--no-buildkit"],
    "http-service.native": ["--cpu-target", "native", "--julia-arg", "-O3"],
    "http-service.trace": ["--trace", "--exclude", "JSON3"],
    "hello.pkgimage": ["--mode", "pkgimage"],
    "cli-tool.app": ["--mode", "app"],
    "cli-tool.test-workload": ["--test-workload", "--include-project", "--no-incremental"],
    "genie-app": [],
    "pycall-app": [],
    "pycall-app.no-buildkit": ["--no-buildkit"],
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_golden_dockerfile(case: str, cli) -> None:
    example = case.split(".")[0]
    result = cli("generate", EXAMPLES / example, *CASES[case])
    assert result.code == 0, result.err
    golden = GOLDEN / f"{case}.Dockerfile"
    if os.environ.get("UPDATE_GOLDEN") and not os.environ.get("CI"):  # CI compares, never rewrites
        golden.write_text(result.out)
    assert result.out == golden.read_text(), f"regenerate with UPDATE_GOLDEN=1 if the change is intended: {golden}"


def test_rendering_is_deterministic(cli, tmp_path) -> None:
    first = cli("generate", EXAMPLES / "http-service", "-o", tmp_path / "a")
    second = cli("generate", EXAMPLES / "http-service", "-o", tmp_path / "b")
    assert first.code == second.code == 0
    for path in sorted((tmp_path / "a").rglob("*")):
        twin = tmp_path / "b" / path.relative_to(tmp_path / "a")
        assert twin.exists(), twin
        if path.is_file():
            assert path.read_bytes() == twin.read_bytes(), path
