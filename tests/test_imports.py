"""Importing the tool or its tests touches nothing of the user's: the release list and the template bytecode cache
live in the user cache, which is resolved when first used (tests point XDG_CACHE_HOME elsewhere before that)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from conftest import REPO


def test_importing_every_module_creates_no_user_cache(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    package = REPO / "sysimage_containers"
    modules = sorted({f"sysimage_containers.{p.stem}" for p in package.glob("*.py")} |
                     {f"sysimage_containers.engine.{p.stem}" for p in (package / "engine").glob("*.py")} |
                     {p.stem for p in (REPO / "tests").glob("test_*.py")})
    code = ("import importlib, sys\nsys.path.insert(0, 'tests')\n"
            "for m in sys.argv[1:]:\n    importlib.import_module(m)\n")
    env = {k: v for k, v in os.environ.items() if k != "XDG_CACHE_HOME"}
    done = subprocess.run([sys.executable, "-c", code, *modules], cwd=REPO, env={**env, "HOME": str(home)},
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert sorted(p.relative_to(home).as_posix() for p in home.rglob("*")) == []
