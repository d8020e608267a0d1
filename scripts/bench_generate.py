"""Benchmark: how long `generate` takes (project reading, planning, rendering) on real and synthetic inputs.

    python scripts/bench_generate.py [--repeat N]

Prints the best of N runs (in-process, no docker) for the examples, the largest corpus projects and a synthetic
manifest of 100,000 entries. The numbers recorded in README.md come from this script.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

from sysimage_containers.pipeline import prepare

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT.parent / "shared" / "corpus"


def best_of(path: Path, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        prepare(path)
        times.append(time.perf_counter() - start)
    return min(times)


def synthetic(tmp: Path, entries: int) -> Path:
    project = tmp / f"synthetic-{entries}"
    shutil.copytree(ROOT / "examples" / "http-service", project)
    with (project / "Manifest.toml").open("a") as fh:
        for i in range(entries):
            fh.write(f'\n[[deps.Pkg{i}]]\nuuid = "00000000-0000-4000-8000-{i:012d}"\nversion = "1.0.{i}"\n'
                     'git-tree-sha1 = "0123456789abcdef0123456789abcdef01234567"\n')
    return project


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    cases = [ROOT / "examples" / n for n in ("hello", "http-service", "cli-tool")]
    if CORPUS.is_dir():
        cases += [CORPUS / "16-legend-exp--legend-julia-environments--base", CORPUS / "02-Deltares--Ribasim"]
    with tempfile.TemporaryDirectory() as tmp:
        cases.append(synthetic(Path(tmp), 100_000))
        for path in cases:
            seconds = best_of(path, args.repeat)
            size = sum(p.stat().st_size for p in path.glob("*Manifest*.toml"))
            print(f"{path.name:55s} manifest {size / 1e6:6.2f} MB  generate {seconds * 1000:8.1f} ms")


if __name__ == "__main__":
    main()
