"""The package as users get it: a wheel built from this tree carries the top-level templates/ as package data,
and installed into a fresh virtual environment outside the checkout it generates the same Dockerfile."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

from conftest import EXAMPLES, REPO

from sysimage_containers.render import JULIA_SCRIPTS


def test_the_wheel_installs_and_generates_outside_the_checkout(tmp_path: Path) -> None:
    wheels = tmp_path / "wheels"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(wheels), str(REPO)],
                   check=True, capture_output=True, timeout=300)
    (wheel,) = wheels.glob("sysimage_docker-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    expected = {"sysimage_containers/templates/Dockerfile.j2", "sysimage_containers/templates/dockerignore.j2",
                "sysimage_containers/templates/install_packages.sh", "sysimage_containers/templates/keep_artifacts.sh",
                "sysimage_containers/data/julia_releases.toml",
                *(f"sysimage_containers/templates/julia/{name}" for name in JULIA_SCRIPTS)}
    assert expected <= names
    # every module of the source tree (a subpackage left out of [tool.setuptools] packages breaks `build`)
    modules = {p.relative_to(REPO).as_posix() for p in (REPO / "sysimage_containers").rglob("*.py")}
    assert modules <= names, sorted(modules - names)
    assert not any(n.startswith(("tests/", "templates/", "examples/")) for n in names)

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    subprocess.run([str(venv / "bin" / "pip"), "install", "-q", "--disable-pip-version-check", str(wheel)],
                   check=True, capture_output=True, timeout=600)
    result = subprocess.run([str(venv / "bin" / "sysimage-docker"), "generate", str(EXAMPLES / "hello")],
                            capture_output=True, text=True, cwd=tmp_path, timeout=60,
                            env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)})
    assert result.returncode == 0, result.stderr
    assert result.stdout == (REPO / "tests" / "golden" / "hello.Dockerfile").read_text()
    dry_run = subprocess.run([str(venv / "bin" / "sysimage-docker"), "build", str(EXAMPLES / "hello"), "--dry-run"],
                             capture_output=True, text=True, cwd=tmp_path, timeout=60,
                             env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)})
    assert dry_run.returncode == 0, dry_run.stderr  # imports the build and the engine package
    where = subprocess.run([str(venv / "bin" / "python"), "-c",
                            "import sysimage_containers.templates as t; print(t.DIRECTORY)"],
                           capture_output=True, text=True, cwd=tmp_path, check=True)
    assert where.stdout.strip().startswith(str(venv))
