"""templates/keep_artifacts.sh, run with the host's sh: a build step's new artifacts are copied to where they ship.
(Pkg installs into the first depot's artifacts/: Pkg src/Artifacts.jl download_artifact, `first(artifacts_dirs())`.)"""

from __future__ import annotations

import subprocess
from pathlib import Path

from conftest import REPO

SCRIPT = REPO / "templates" / "keep_artifacts.sh"
OLD, NEW, TRACED = "1" * 40, "2" * 40, "3" * 40


def keep(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["sh", str(SCRIPT), *args], capture_output=True, text=True, cwd=tmp_path, timeout=30)


def test_new_artifacts_of_the_first_depot_and_the_tracers_are_kept(tmp_path: Path) -> None:
    first, shipped, traced = tmp_path / "pc-depot" / "artifacts", tmp_path / "depot" / "artifacts", tmp_path / "tr"
    (first / OLD).mkdir(parents=True)  # there before the step (PackageCompiler's own): stays out
    (traced / TRACED).mkdir(parents=True)
    (traced / TRACED / "data").write_text("traced")
    step = (f"mkdir -p {first}/{NEW}/lib {first}/jl_tmp123 && echo lazy > {first}/{NEW}/lib/data && "
            f"ln -s data {first}/{NEW}/lib/link && echo o > {first}/Overrides.toml")
    result = keep(tmp_path, str(shipped), "--new", str(first), "--all", str(traced), "--", "sh", "-c", step)
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in shipped.iterdir()) == [NEW, TRACED]
    assert (shipped / NEW / "lib" / "data").read_text() == "lazy\n"
    assert (shipped / NEW / "lib" / "link").is_symlink()  # artifacts keep their symlinks
    assert f"artifact {NEW}, installed while the step ran, kept in {shipped}" in result.stdout


def test_an_artifact_the_shipped_depot_has_is_not_copied_and_a_failing_step_keeps_its_status(tmp_path: Path) -> None:
    first, shipped = tmp_path / "first", tmp_path / "shipped"
    (shipped / NEW).mkdir(parents=True)
    result = keep(tmp_path, str(shipped), "--new", str(first), "--", "sh", "-c", f"mkdir -p {first}/{NEW}/x")
    assert result.returncode == 0 and result.stdout == "" and not (shipped / NEW / "x").exists()
    failed = keep(tmp_path, str(tmp_path / "other"), "--new", str(first), "--", "sh", "-c", "exit 7")
    assert failed.returncode == 7 and not (tmp_path / "other").exists()
