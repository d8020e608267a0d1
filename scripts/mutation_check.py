"""Mutation check: plant one small bug at a time in the core modules and run the engine-free suite; a mutant the
suite does not fail on is a survivor (an untested decision, or an equivalent change).

    python scripts/mutation_check.py [--sample N] [--seed S] [--jobs J] [--modules config,plan,...]

Operators: comparison swaps (== !=, < >=, > <=, in / not in, is / is not), and <-> or, dropping `not`, True <-> False,
an integer n -> n + 1, and a `raise` replaced by `pass` (a refusal that no longer happens). Each worker mutates its
own copy of the tracked files (under a temporary directory), so the checkout is never
touched. Too slow for CI (a few seconds per mutant): run it by hand and keep the README's numbers current.
"""

from __future__ import annotations

import argparse
import ast
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
MODULES = ("config", "plan", "render", "project", "pkg_compat", "context", "options")
# the engine-free tests that exercise those modules (the packaging test builds a wheel: too slow per mutant)
TESTS = ("test_decisions", "test_bad_input", "test_config", "test_plan", "test_golden", "test_pkg_compat",
         "test_corpus", "test_context", "test_properties", "test_docs", "test_init", "test_regcache", "test_sbom",
         "test_fuzz", "test_dockerfile_checks", "test_julia_versions", "test_scale", "test_engine_unit",
         "test_progress", "test_ci_templates", "test_provenance")
SWAPS: dict[type, type] = {ast.Eq: ast.NotEq, ast.NotEq: ast.Eq, ast.Lt: ast.GtE, ast.GtE: ast.Lt, ast.Gt: ast.LtE,
                           ast.LtE: ast.Gt, ast.In: ast.NotIn, ast.NotIn: ast.In, ast.Is: ast.IsNot,
                           ast.IsNot: ast.Is}


@dataclass(frozen=True)
class Mutant:
    module: str
    index: int  # the index-th mutable site of the module, in ast.walk order
    line: int
    what: str


def _docstrings(tree: ast.AST) -> set[int]:
    ids = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.FunctionDef | ast.ClassDef | ast.AsyncFunctionDef) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                ids.add(id(first.value))
    return ids


def _annotations(tree: ast.AST) -> set[int]:
    ids = set()
    for node in ast.walk(tree):
        parts = []
        if isinstance(node, ast.AnnAssign | ast.arg) and node.annotation is not None:
            parts.append(node.annotation)
        elif isinstance(node, ast.FunctionDef) and node.returns is not None:
            parts.append(node.returns)
        for part in parts:
            ids.update(id(n) for n in ast.walk(part))
    return ids


def sites(tree: ast.AST) -> list[tuple[ast.AST, str]]:
    """(node, description) of every mutable place, in a stable order."""
    skip = _docstrings(tree) | _annotations(tree)
    found: list[tuple[ast.AST, str]] = []
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Compare) and type(node.ops[0]) in SWAPS:
            found.append((node, f"{type(node.ops[0]).__name__} -> {SWAPS[type(node.ops[0])].__name__}"))
        elif isinstance(node, ast.BoolOp):
            found.append((node, "and -> or" if isinstance(node.op, ast.And) else "or -> and"))
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            found.append((node, "drop not"))
        elif isinstance(node, ast.Constant) and isinstance(node.value, bool):
            found.append((node, f"{node.value} -> {not node.value}"))
        elif isinstance(node, ast.Constant) and type(node.value) is int:
            found.append((node, f"{node.value} -> {node.value + 1}"))
        elif isinstance(node, ast.Raise):
            found.append((node, "raise -> pass"))
    return found


def mutate(source: str, index: int) -> str:
    tree = ast.parse(source)
    node, _ = sites(tree)[index]
    if isinstance(node, ast.Compare):
        node.ops[0] = SWAPS[type(node.ops[0])]()
    elif isinstance(node, ast.BoolOp):
        node.op = ast.Or() if isinstance(node.op, ast.And) else ast.And()
    elif isinstance(node, ast.UnaryOp):
        replacement = node.operand
        for parent in ast.walk(tree):
            for field, value in ast.iter_fields(parent):
                if value is node:
                    setattr(parent, field, replacement)
                elif isinstance(value, list) and node in value:
                    value[value.index(node)] = replacement
    elif isinstance(node, ast.Constant):
        node.value = (not node.value) if isinstance(node.value, bool) else node.value + 1
    elif isinstance(node, ast.Raise):
        for parent in ast.walk(tree):
            for _, value in ast.iter_fields(parent):
                if isinstance(value, list) and node in value:
                    value[value.index(node)] = ast.Pass()
    return ast.unparse(ast.fix_missing_locations(tree))


def all_mutants(modules: tuple[str, ...]) -> list[Mutant]:
    out = []
    for module in modules:
        tree = ast.parse((REPO / "sysimage_containers" / f"{module}.py").read_text())
        out += [Mutant(module, i, getattr(node, "lineno", 0), what) for i, (node, what) in enumerate(sites(tree))]
    return out


def workspace() -> Path:
    """A copy of the tracked files (the corpus is among them, under tests/corpus)."""
    top = Path(tempfile.mkdtemp(prefix="sysimage-docker-mutants-"))
    files = subprocess.run(["git", "ls-files"], cwd=REPO, capture_output=True, text=True, check=True).stdout.split()
    for rel in files:
        target = top / "main" / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / rel, target)
    return top / "main"


def run_suite(copy: Path, timeout: float) -> bool:
    """True when the suite fails (the mutant is killed); a hang is a kill too."""
    cmd = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", "-m", "not docker",
           *(f"tests/{t}.py" for t in TESTS)]
    env = {**os.environ, "CI": "true", "PYTHONDONTWRITEBYTECODE": "1"}
    try:
        done = subprocess.run(cmd, cwd=copy, capture_output=True, text=True, timeout=timeout, env=env)
    except subprocess.TimeoutExpired:
        return True
    return done.returncode != 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sample", type=int, default=200, help="mutants to try (0: all)")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--modules", default=",".join(MODULES))
    parser.add_argument("--timeout", type=float, default=300)
    args = parser.parse_args()
    modules = tuple(m for m in args.modules.split(",") if m)
    mutants = all_mutants(modules)
    chosen = mutants if args.sample <= 0 else sorted(random.Random(args.seed).sample(mutants, min(args.sample,
                                                                                                  len(mutants))),
                                                     key=lambda m: (m.module, m.index))
    copies = [workspace() for _ in range(args.jobs)]
    for copy in copies:
        if run_suite(copy, args.timeout):
            sys.exit(f"the unmutated suite fails in {copy}: fix that first")
    print(f"{len(mutants)} mutable sites in {', '.join(modules)}; trying {len(chosen)} (seed {args.seed})",
          flush=True)
    free = list(copies)
    started = time.monotonic()

    def attempt(mutant: Mutant) -> tuple[Mutant, bool]:
        copy = free.pop()
        path = copy / "sysimage_containers" / f"{mutant.module}.py"
        original = path.read_text()
        try:
            path.write_text(mutate(original, mutant.index))
            return mutant, run_suite(copy, args.timeout)
        finally:
            path.write_text(original)
            free.append(copy)

    survivors: list[Mutant] = []
    per_module: dict[str, list[int]] = {m: [0, 0] for m in modules}
    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        for done, (mutant, killed) in enumerate(pool.map(attempt, chosen), 1):
            per_module[mutant.module][1] += 1
            per_module[mutant.module][0] += killed
            if not killed:
                survivors.append(mutant)
            if done % 20 == 0:
                print(f"  {done}/{len(chosen)} tried, {len(survivors)} survived "
                      f"({time.monotonic() - started:.0f} s)", flush=True)
    for copy in copies:
        shutil.rmtree(copy.parent, ignore_errors=True)
    killed = len(chosen) - len(survivors)
    for module, (k, n) in per_module.items():
        if n:
            print(f"{module:12} {k}/{n} killed")
    print(f"score: {killed}/{len(chosen)} killed = {100 * killed / max(1, len(chosen)):.1f} % "
          f"in {time.monotonic() - started:.0f} s")
    for mutant in survivors:
        print(f"survived: {mutant.module}.py:{mutant.line} {mutant.what}")


if __name__ == "__main__":
    main()
