"""Golden Dockerfiles for the examples: the exact output users get. UPDATE_GOLDEN=1 rewrites them."""

from __future__ import annotations

import os
import sys

import pytest
from conftest import EXAMPLES, REPO

GOLDEN_DIR = REPO / "tests" / "golden"
GOLDEN = GOLDEN_DIR  # where test_golden_dockerfile looks (a test points it elsewhere)
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
    expected = golden.read_text() if golden.exists() else None  # read before any rewrite: compared, not copied
    if result.out != expected and os.environ.get("UPDATE_GOLDEN") and not os.environ.get("CI"):  # CI never rewrites
        golden.write_text(result.out)
        pytest.fail(f"rewrote {golden} (UPDATE_GOLDEN): review the diff; a run without UPDATE_GOLDEN then passes")
    assert result.out == expected, f"regenerate with UPDATE_GOLDEN=1 if the change is intended: {golden}"


def test_update_golden_reports_what_it_rewrote(cli, tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys.modules[__name__], "GOLDEN", tmp_path)
    monkeypatch.setenv("UPDATE_GOLDEN", "1")
    monkeypatch.delenv("CI", raising=False)
    stale = tmp_path / "hello.Dockerfile"
    stale.write_text("FROM stale\n")
    with pytest.raises(pytest.fail.Exception, match=r"rewrote .*hello\.Dockerfile"):
        test_golden_dockerfile("hello", cli)
    assert stale.read_text() == (GOLDEN_DIR / "hello.Dockerfile").read_text()
    test_golden_dockerfile("hello", cli)  # now current: compared and passes
    monkeypatch.setenv("CI", "true")
    stale.write_text("FROM stale\n")
    with pytest.raises(AssertionError):
        test_golden_dockerfile("hello", cli)
    assert stale.read_text() == "FROM stale\n"  # CI compares, never rewrites


def test_rendering_is_deterministic(cli, tmp_path) -> None:
    first = cli("generate", EXAMPLES / "http-service", "-o", tmp_path / "a")
    second = cli("generate", EXAMPLES / "http-service", "-o", tmp_path / "b")
    assert first.code == second.code == 0
    for path in sorted((tmp_path / "a").rglob("*")):
        twin = tmp_path / "b" / path.relative_to(tmp_path / "a")
        assert twin.exists(), twin
        if path.is_file():
            assert path.read_bytes() == twin.read_bytes(), path
