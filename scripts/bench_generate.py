"""Benchmark: a cold `sysimage-docker generate` (a new process each time, as CI jobs and editor hooks run it).

    python scripts/bench_generate.py [--runs N] [--repo2docker] [--venvs DIR]

1. Side by side with repo2docker's Dockerfile generator (`repo2docker --no-build --debug`), when `--repo2docker` is
   given: both tools installed into their own virtual environments under --venvs as a user installs them (pip,
   not editable); runs alternate (ours, theirs, ours, ...) on corpus entry 16 and examples/hello, and for `--help`;
   the median of each and their ratio are printed. repo2docker asks julialang.org for versions.json; a server on
   127.0.0.1 answers it with the releases sysimage-docker knows (a sitecustomize in its process points the URL
   there), so both tools work offline on the same data.
2. Scaling: synthetic projects of 1,000 / 10,000 / 100,000 manifest entries with 1 % and 10 % of them direct
   dependencies: wall time, CPU time and peak memory (ru_maxrss from wait4) of one cold `generate` each (best of
   3), and the growth exponent of time from 1k to 100k entries; then about 100,000 entries made of the corpus's
   manifests (copied and renamed: the shapes of real entries, where the synthetic ones all have one); then the
   largest synthetic one with `-o DIR`, which also writes the build context (a 29 MB SBOM and the 18 MB manifest
   among it). The host's load average is printed at the start and the end: on a shared host wall times grow with
   it, CPU times much less.
Numbers recorded in README.md ("Benchmarks") come from this script.
"""

from __future__ import annotations

import argparse
import http.server
import json
import math
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import tomllib
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "tests" / "corpus"
ENTRY_16 = CORPUS / "16-legend-exp--legend-julia-environments--base"
SITECUSTOMIZE = '''import os
_answer = os.environ.get("BENCH_VERSIONS_URL")
if _answer:
    import requests.sessions
    _request = requests.sessions.Session.request
    def request(self, method, url, *args, **kwargs):
        if url == "https://julialang-s3.julialang.org/bin/versions.json":
            url = _answer
        return _request(self, method, url, *args, **kwargs)
    requests.sessions.Session.request = request
'''


def venv(path: Path, *requirements: str) -> Path:
    python = path / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(path)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", *requirements],
                       check=True)
    return path / "bin"


def cold(cmd: list[str], env: dict[str, str] | None = None) -> tuple[float, int, float]:
    """Wall seconds, peak resident memory (bytes) and CPU seconds (user + system: what a busy host does not
    inflate as much as wall time) of one process."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    stderr = proc.stderr.read().decode() if proc.stderr else ""
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} exited {proc.returncode}:\n{stderr[-2000:]}")
    return seconds, usage.ru_maxrss * 1024, usage.ru_utime + usage.ru_stime


def versions_server() -> tuple[str, http.server.ThreadingHTTPServer]:
    known = tomllib.loads((ROOT / "sysimage_containers" / "data" / "julia_releases.toml").read_text())
    body = json.dumps({v: {"stable": True, "files": []} for v in known["releases"]}).encode()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_port}/versions.json", server


def side_by_side(ours: Path, theirs: Path, runs: int, tmp: Path) -> None:
    url, server = versions_server()
    site = tmp / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(SITECUSTOMIZE)
    env = {**os.environ, "BENCH_VERSIONS_URL": url, "PYTHONPATH": str(site)}
    cases = [
        (f"generate {ENTRY_16.name[:2]}", [str(ours / "sysimage-docker"), "generate", str(ENTRY_16)],
         [str(theirs / "repo2docker"), "--no-build", "--debug", str(ENTRY_16)]),
        ("generate examples/hello", [str(ours / "sysimage-docker"), "generate", str(ROOT / "examples" / "hello")],
         [str(theirs / "repo2docker"), "--no-build", "--debug", str(ROOT / "examples" / "hello")]),
        ("--help", [str(ours / "sysimage-docker"), "--help"], [str(theirs / "repo2docker"), "--help"]),
    ]
    print(f"side by side, {runs} alternating cold runs each (median ms):")
    print(f"  {'case':28s} {'sysimage-docker':>16s} {'repo2docker':>12s} {'ratio':>7s}")
    try:
        for name, mine, other in cases:
            cold(mine, env), cold(other, env)  # warm the file cache and write bytecode caches
            a, b = [], []
            for _ in range(runs):
                a.append(cold(mine, env)[0])
                b.append(cold(other, env)[0])
            ma, mb = statistics.median(a), statistics.median(b)
            print(f"  {name:28s} {ma * 1000:16.1f} {mb * 1000:12.1f} {ma / mb:7.2f}")
    finally:
        server.shutdown()


def synthetic(tmp: Path, entries: int, direct_share: float) -> Path:
    """An environment with `entries` registered packages, each depending on two others by name."""
    project = tmp / f"synthetic-{entries}-{int(direct_share * 100)}"
    project.mkdir()
    direct = range(0, entries, round(1 / direct_share))
    with (project / "Project.toml").open("w") as fh:
        fh.write("[deps]\n")
        fh.writelines(f'Pkg{i} = "{uuid(i)}"\n' for i in direct)
    with (project / "Manifest.toml").open("w") as fh:
        fh.write('julia_version = "1.11.5"\nmanifest_format = "2.0"\n'
                 f'project_hash = "{"0" * 40}"\n\n')
        for i in range(entries):
            fh.write(f'[[deps.Pkg{i}]]\ndeps = ["Pkg{(i + 1) % entries}", "Pkg{(i + 7) % entries}"]\n'
                     f'git-tree-sha1 = "{i:040x}"\nuuid = "{uuid(i)}"\nversion = "1.0.{i}"\n\n')
    return project


# a quoted string in a manifest that is a package name (not a version, a UUID or a git-tree-sha1)
QUOTED_NAME = re.compile(r'"((?![0-9a-f]{40}")[A-Za-z_][A-Za-z0-9_]*)"')
ENTRY_UUID = re.compile(r'^uuid = "[0-9a-f-]{24}[0-9a-f]{12}"$', re.M)


def corpus_shaped(tmp: Path, at_least: int, direct_share: float) -> Path:
    """An environment of at least `at_least` entries made of the corpus's manifests as Pkg wrote them (stdlibs,
    extensions and weak dependencies, git dependencies), copied whole with every package renamed per copy and
    given a UUID of its own; `direct_share` of the entries are the project's dependencies. The synthetic
    manifests have one shape of entry; real ones have hundreds."""
    project = tmp / f"corpus-shaped-{at_least}"
    project.mkdir()
    sources = [text[text.index("[[deps."):] for path in sorted(CORPUS.glob("*/Manifest.toml"))
               if "manifest_format" in (text := path.read_text()) and "\npath = " not in text]  # no path deps
    parts = ['julia_version = "1.11.5"\nmanifest_format = "2.0"\n\n']
    count, copy, direct = 0, 0, []
    while count < at_least:
        for index, body in enumerate(sources):
            suffix = f"C{copy}M{index}"
            body = QUOTED_NAME.sub(rf'"\1{suffix}"', body)
            body = re.sub(r"(\[\[?deps\.)([A-Za-z_][A-Za-z0-9_]*)", rf"\1\2{suffix}", body)
            entries = re.split(r"(?m)^(?=\[\[deps\.)", body)
            for entry in filter(None, entries):
                count += 1
                entry = ENTRY_UUID.sub(f'uuid = "{uuid(count)}"', entry, count=1)
                parts.append(entry)
                if count % round(1 / direct_share) == 0:
                    direct.append((entry[7:entry.index("]]")], uuid(count)))
        copy += 1
    (project / "Manifest.toml").write_text("".join(parts))
    (project / "Project.toml").write_text("[deps]\n" + "".join(f'{name} = "{u}"\n' for name, u in direct))
    return project


def uuid(i: int) -> str:
    return f"00000000-0000-4000-8000-{i:012d}"


def scaling(ours: Path, tmp: Path) -> None:
    print("scaling (one cold `generate`, best of 3):")
    print(f"  {'entries':>8s} {'direct':>7s} {'time ms':>9s} {'cpu ms':>8s} {'peak MB':>8s} {'us/entry':>9s}")
    generate = [str(ours / "sysimage-docker"), "generate"]
    sizes = (1_000, 10_000, 100_000)
    for share in (0.01, 0.10):
        times = [row(synthetic(tmp, entries, share), lambda _, project: [*generate, str(project)])
                 for entries in sizes]
        exponent = math.log(times[-1] / times[0]) / math.log(sizes[-1] / sizes[0])
        print(f"  growth exponent 1k -> 100k entries ({int(share * 100)} % direct): {exponent:.2f}")
    row(corpus_shaped(tmp, sizes[-1], 0.10), lambda _, project: [*generate, str(project)],
        "the corpus's manifests copied, renamed: real entries' shapes")
    # the largest case again, writing the whole build context (-o): the SBOM and the manifest copy on disk too
    row(tmp / f"synthetic-{sizes[-1]}-10",
        lambda attempt, project: [*generate, str(project), "-o", str(tmp / f"context-{attempt}")],
        "generate -o DIR: the whole context written", written=tmp / "context-{}")


def row(project: Path, command: Callable[[int, Path], list[str]], note: str = "", written: Path | None = None) -> float:
    """Three cold runs of `command` on `project`: one line of the table (best time and CPU, peak memory).
    `written`: what each run writes (a format string for the attempt), removed after it."""
    runs = []
    for attempt in range(3):
        runs.append(cold(command(attempt, project)))
        if written is not None:
            shutil.rmtree(str(written).format(attempt))
    seconds, peak, cpu = min(r[0] for r in runs), max(r[1] for r in runs), min(r[2] for r in runs)
    entries = (project / "Manifest.toml").read_text().count("[[deps.")
    direct = (project / "Project.toml").read_text().count("\n") - 1
    print(f"  {entries:8d} {direct:7d} {seconds * 1000:9.1f} {cpu * 1000:8.1f} {peak / 1e6:8.1f} "
          f"{seconds / entries * 1e6:9.2f}" + (f"  ({note})" if note else ""))
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=21, help="alternating runs per tool and case (default 21)")
    parser.add_argument("--repo2docker", action="store_true", help="also run the side-by-side comparison")
    parser.add_argument("--venvs", type=Path, default=Path(tempfile.gettempdir()) / "sysimage-docker-bench",
                        help="where the two tools' virtual environments are kept")
    args = parser.parse_args()
    print(f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"{time.strftime('%Y-%m-%d %H:%M')}, load average {os.getloadavg()[0]:.1f}")
    # ours as a user installs it; rebuilt every run so the numbers are for this tree
    shutil.rmtree(args.venvs / "sysimage-docker", ignore_errors=True)
    ours = venv(args.venvs / "sysimage-docker", str(ROOT))
    with tempfile.TemporaryDirectory() as tmp:
        if args.repo2docker:
            theirs = venv(args.venvs / "repo2docker", "jupyter-repo2docker")
            version = subprocess.run([str(theirs / "repo2docker"), "--version"], capture_output=True, text=True)
            print(f"repo2docker {version.stdout.strip() or version.stderr.strip()}")
            side_by_side(ours, theirs, args.runs, Path(tmp))
        scaling(ours, Path(tmp))
    print(f"load average at the end {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
