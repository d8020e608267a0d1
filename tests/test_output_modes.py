"""Files the tool writes outside the build context (the SBOM, CI workflows, metadata) get the mode a plain write
would: 0666 less the umask for a new file, an existing file's own mode when replaced. An atomic write through
mkstemp gave 0600, which hides CI artifacts from the other users of a runner."""

from __future__ import annotations

import os
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import EXAMPLES

from sysimage_containers import metadata


@pytest.fixture(params=[0o022, 0o027, 0o002])
def umask(request: pytest.FixtureRequest) -> Iterator[int]:
    old = os.umask(request.param)
    try:
        yield request.param
    finally:
        os.umask(old)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_sbom_ci_and_metadata_follow_the_umask(cli, umask: int, tmp_path: Path) -> None:
    expected = 0o666 & ~umask
    sbom = tmp_path / "out" / "sbom.cdx.json"
    assert cli("sbom", EXAMPLES / "hello", "-o", sbom).code == 0
    repo = tmp_path / "repo"
    project = repo / "app"
    project.parent.mkdir()
    import shutil

    shutil.copytree(EXAMPLES / "hello", project)
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    assert cli("ci", "gitlab", project).code == 0
    meta = tmp_path / "build.json"
    metadata.merge(meta, "bench", {"runs": 1})
    assert [mode(p) for p in (sbom, repo / ".gitlab-ci.yml", meta)] == [expected] * 3
    assert os.umask(umask) == umask  # writing read the umask and put it back


def test_a_replaced_file_keeps_its_mode(tmp_path: Path) -> None:
    meta = tmp_path / "build.json"
    meta.write_text("{}")
    meta.chmod(0o640)
    metadata.merge(meta, "bench", {"runs": 1})
    assert mode(meta) == 0o640 and '"bench"' in meta.read_text()
