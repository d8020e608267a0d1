"""Mutation check: plant one small bug at a time in the package's modules and run the engine-free suite; a mutant the
suite does not fail on is a survivor (an untested decision, or an equivalent change).

    python scripts/mutation_check.py [--sample N] [--seed S] [--jobs J] [--modules config,engine/client,...]
                                     [--json FILE]

Operators: comparison swaps (== !=, < >=, > <=, in / not in, is / is not), and <-> or, dropping `not`, True <-> False,
an integer n -> n + 1, and a `raise` replaced by `pass` (a refusal that no longer happens). Every module with logic
is mutated (all of sysimage_containers but the package markers and `__main__`). Each worker mutates its own copy of
the tracked files (under a temporary directory; the corpus is among them), so the
checkout is never touched.

Which tests run: the unmutated suite runs once under coverage (each test function is a coverage context, and
subprocesses are measured too). A mutant in a function body runs only the test functions that executed its line,
quickest first, then, if the line also ran in a subprocess (or at import), the test files that start the tool in a
subprocess. A decorator's argument (a click option) is tried the same way on the decorated function's body. Any
other mutant outside a function (a constant, a table: evaluated once, at import) runs every test function that ran a
line of its module. A mutant whose code no test runs survives without a run ("no engine-free test runs this line").
So the suite is not run whole per mutant: a test that would fail only through another module's use of a constant is
not tried, which can only under-count kills. Every run stops at the first failure (`-x`), recorded as the mutant's
killer. A run that outlives --timeout is a timeout, reported apart and not counted as a kill. A survivor's reason is
the coverage verdict, or comes from REASONS below (reviewed by hand), or says that none is recorded.
Too slow for CI (several seconds per mutant): run it by hand and keep the README's numbers current.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PACKAGE = REPO / "sysimage_containers"
SKIP_MODULES = ("__init__", "engine/__init__", "__main__")  # package markers; __main__ only pauses the gc
# the packaging test builds a wheel: too slow per mutant, and it tests the packaging, not the modules
SKIP_TESTS = ("test_packaging",)
# tests to run first for a module (then all the others): a kill then takes seconds, not the whole suite
NEAREST: dict[str, tuple[str, ...]] = {
    "build": ("test_engine_unit", "test_progress"),
    "cli": ("test_engine_unit", "test_bad_input", "test_docs"),
    "engine/buildx": ("test_engine_unit",),
    "engine/cli": ("test_engine_unit",),
    "engine/client": ("test_engine_unit",),
    "engine/podman": ("test_engine_unit",),
    "engine/types": ("test_engine_unit", "test_regcache"),
    "metadata": ("test_progress", "test_engine_unit"),
    "pipeline": ("test_bad_input", "test_plan"),
    "project": ("test_bad_input", "test_decisions", "test_corpus"),
    "options": ("test_docs", "test_config"),
    "options_doc": ("test_docs",),
    "render": ("test_golden", "test_plan"),
    "tomlfiles": ("test_bad_input", "test_corpus"),
}
SWAPS: dict[type, type] = {ast.Eq: ast.NotEq, ast.NotEq: ast.Eq, ast.Lt: ast.GtE, ast.GtE: ast.Lt, ast.Gt: ast.LtE,
                           ast.LtE: ast.Gt, ast.In: ast.NotIn, ast.NotIn: ast.In, ast.Is: ast.IsNot,
                           ast.IsNot: ast.Is}
FAILED_RE = re.compile(r"^(?:FAILED|ERROR) (\S+)", re.MULTILINE)

# Survivors reviewed by hand: (module, the mutated line's text, the mutation) -> why no test kills it. Keyed by the
# line's text, not its number, so that the reasons survive edits elsewhere in the module.
FROZEN = ("was taken for equivalent (no code assigns to these objects); killed since by tests/test_frozen.py, which "
          "holds the design's promise that the data flowing to the engine is frozen")
REASONS: dict[tuple[str, str, str], str] = {
    ("manifest_scan", "@functools.lru_cache(maxsize=4096)", "4096 -> 4097"):
        "equivalent: the size of a cache of a pure function (a manifest has a few hundred distinct sets of keys)",
    ("sbom", "for entry, plain in zip(entries, _plain_entries(entries, registries), strict=True)", "True -> False"):
        "equivalent: _plain_entries returns one flag per entry; strict only guards that",
    ("bench", "figure, axes = plt.subplots(figsize=(7, 1.2 + 0.9 * len(timings)))", "7 -> 8"):
        "cosmetic: the chart's width in inches; the tests check the files and the title, not the picture's size",
    ("build", "@dataclass(frozen=True)", "True -> False"): FROZEN,
    ("config", "@dataclass(frozen=True)", "True -> False"): FROZEN,
    ("progress",
     "index: int = 0  # the step's number in its stage (BuildKit) or in the build (classic): Dockerfile order",
     "0 -> 1"): "equivalent: every Step is made with its index (the dataclass default is never used)",
    ("julia_versions", "return (self.major, self.minor, self.patch, 1)", "1 -> 2"):
        "equivalent: a release sorts after its pre-releases (0) with 1 or 2 alike",
    ("julia_versions",
     'parts = tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in self.prerelease)', "1 -> 2"):
        "equivalent: a word part sorts after a number part (0) with 1 or 2 alike, as semver orders them",
    # survivors of the seed-2027 run that were then given tests (the reason says what was missing)
    ("cli", "title = f\"{runs} start{'s' if runs > 1 else ''} each\" + (\" (stand-in julia)\" if standin else \"\")",
     "Gt -> LtE"): "was untested (bench --chart); killed since by test_bench_times_each_image_and_holds_the_limit",
    ("config", '"timezone": (TIMEZONE_RE, "is not a time zone name such as Europe/Berlin or UTC", 100),', "100 -> 101"):
        "was an untested boundary; killed since by test_a_time_zone_name_may_have_100_characters and the "
        "catalogue's 101-character case",
    ("config", "raise UsageError(f\"{' and '.join(chosen[:2])} both set: the container runs one of them\")", "2 -> 3"):
        "was untested with three entry points; killed since by the catalogue's 'three entry points'",
    ("doctor", '"enough" if free >= DISK_WANTED else "builder images with a sysimage take several GB: free space")',
     "GtE -> Lt"): "was untested (the machine's disk decided); killed since by test_doctor_judges_the_free_disk",
    ("engine/buildx", "platforms=list(request.platforms) or None, push=request.push, load=request.load and not "
     "request.push", "or -> and"):
        "the platforms reaching buildx were unchecked; killed since by test_buildx_arguments_match_python_on_whales",
    ("engine/client", 'if "permission denied" in text and ("docker.sock" in text or "daemon socket" in text):',
     "or -> and"): "each socket wording alone was untested; killed since by test_unavailable_engine_is_classified",
    ("engine/client", 'if "permission denied" in text and ("docker.sock" in text or "daemon socket" in text):',
     "In -> NotIn"): "each socket wording alone was untested; killed since by test_unavailable_engine_is_classified",
    ("engine/client", "text = f\"{exc.stderr or ''}{exc.stdout or ''}\".lower()", "or -> and"):
        "a daemon error on stdout was untested; killed since by test_unavailable_engine_is_classified",
    ("engine/client", 'cmd=tuple(config.cmd or ()), user=config.user or "", env=tuple(config.env or ()),',
     "or -> and"): "the image's user and env were read only by docker tests; killed since by "
                   "test_inspect_reads_every_fact_of_the_image",
    ("metadata", '"seconds": round(facts.seconds, 3),', "3 -> 4"):
        "the rounding was unpinned; killed since by "
        "test_metadata_rounds_times_to_milliseconds_and_merge_keeps_other_keys",
    ("metadata", 'raise UsageError(f"--metadata-file {path}: exists and is not a JSON object") from None',
     "raise -> pass"): "no test merged into a file that was not JSON; killed since by "
                       "test_metadata_rounds_times_to_milliseconds_and_merge_keeps_other_keys",
    ("options_doc",
     "lines.append(f\"{o.key}  (env {o.env_var or '-'}, flag {o.flag or '-'}, default {o.default_text})\")",
     "or -> and"): "`options` without --markdown was untested; killed since by "
                   "test_options_lists_each_option_with_its_env_flag_and_default",
    ("plan", '"port": self.ports[0] if self.ports else 0,', "0 -> 1"):
        "the port of a project without one was unchecked; killed since by "
        "test_the_scripts_get_the_first_port_or_0_for_none",
    ("project", "count = counts.get(dep, 0) if isinstance(dep, str) else 0", "0 -> 1"):
        "a dependency named without an entry was untested; killed since by the catalogue's 'manifest dep by name "
        "without an entry'",
    ("project", "versioned.append(((int(match.group(2)), int(match.group(3))), 0 if match.group(1) else 1, "
     "child.name))", "0 -> 1"): "JuliaManifest before Manifest at one version was untested; killed since by "
                                "test_versioned_manifests_are_tried_newest_first_and_juliamanifest_before_manifest",
    ("project", "versioned.sort(key=lambda t: (-t[0][0], -t[0][1], t[1]))", "0 -> 1"):
        "equivalent on real names: it sorts by the minor version twice, and every versioned manifest is Julia 1.x",
    ("sbom", '"version": 1,', "1 -> 2"):
        "the CycloneDX document's own version number (1 for a first issue): pinned since the seed-2030 run "
        "(test_sbom::test_the_document_is_deterministic)",
    ("pkg_compat", "if upper.n == 0 and lower.n == 0:", "0 -> 1"):
        "equivalent: the general path also answers True when either bound is unbounded (the shortcut saves work)",
    ("engine/types", "@dataclass(frozen=True)", "True -> False"): FROZEN,
    ("engine/client", "capture_output=True, text=True)", "True -> False"):
        "output only: without capture the pull's own lines reach the terminal; the exit status, which decides, "
        "is the same (pull_if_present; the other captured runs are read, and a change there is caught)",
    ("build", 'console.print(prepared.files["Dockerfile"], markup=False, highlight=False, end="")', "False -> True"):
        "equivalent off a terminal: rich drops the highlighter's styles when the output is not a terminal, and "
        "the dry-run's Dockerfile is read from a pipe or a file",
    # reviewed survivors of the seed-2028 run
    ("context", 'raise UsageError(f"extra_files: {configured}: permission denied")', "raise -> pass"):
        "killed, unseen by coverage: the tests that reach it run the CLI as root without capabilities in a "
        "subprocess coverage does not follow (test_an_unreadable_extra_file_is_refused_as_permission_denied; "
        "checked by hand with the mutant applied)",
    ("context", 'raise UsageError(f"{shown}: permission denied while reading the project")', "raise -> pass"):
        "killed, unseen by coverage: as above (test_an_unreadable_file_deep_in_the_project_is_refused_as_"
        "permission_denied and test_context's ..._without_capabilities)",
    ("detect", 'SERVICE_PORTS = {"Genie": 8000, "Oxygen": 8080, "Dash": 8050, "Mux": 8000, "Bonito": 9384, '
     '"Pluto": 1234,', "8000 -> 8001"):
        "was Mux's default port, untested; killed since by "
        "test_init_proposes_the_frameworks_default_port_when_the_code_names_none[Mux]",
    ("ci_templates", 'if ":" in image.rsplit("/", 1)[-1]:', "1 -> 2"):
        "equivalent: the text after the last '/' is the same for any maxsplit of at least 1",
    ("tomlfiles", "name = stripped.split(\"=\", 1)[0].strip().strip('\"').strip(\"'\")", "1 -> 2"):
        "equivalent: the part before the first '=' is the same for any maxsplit of at least 1",
    ("engine/client", 'if stat.rsplit(")", 1)[-1].split()[1] == me:', "1 -> 2"):
        "equivalent when the rsplit's maxsplit is mutated: [-1] is the text after the last ')' either way (the "
        "field index is killed by test_an_interrupt_reaches_the_clients_this_process_started_in_their_own_session)",
    ("pkg_compat", "if upper.n == 0 and lower.n == 0:", "and -> or"):
        "equivalent: a shortcut; with either bound of length 0 the general path answers True as well (checked over "
        "every bound Bound.of makes up to three components)",
    ("pkg_compat", "if upper.n == 0 and lower.n == 0:", "Eq -> NotEq"):
        "equivalent: a shortcut; the general path answers the same for every bound (as above)",
    ("render", "auto_reload=False,", "False -> True"):
        "equivalent: the templates do not change while the process runs, so checking them for changes finds none",
    ("last_build", 'return user_cache_dir() / "builds" / f"{hashlib.sha256(tag.encode()).hexdigest()[:32]}.json"',
     "32 -> 33"): "equivalent: the record's name is written and read through this one function; no one else reads it",
    ("plan", "healthcheck_interval: int = 30", "30 -> 31"):
        "equivalent: make_plan always passes the configured interval (the dataclass default is never used)",
    ("project", "unique = {pkg for pkg, count in counts.items() if count == 1}", "Eq -> NotEq"):
        "equivalent: the set only lets the common case skip the entry-by-entry check, which decides with counts",
    ("sbom", 'return joined.count("\\n") == len(values) and pattern.fullmatch(joined) is not None', "Eq -> NotEq"):
        "equivalent: a column that fails the joined check is looked at value by value, with the same verdicts",
    ("project", "_BATCH_CHARS = 64 * 1024  # a batch's parser objects stay in the CPU's caches (256 KB: 10 % slower)",
     "64 -> 65"): "equivalent: the batch size changes where batches are cut, not what is read (tests/test_scale.py)",
    ("project", "versioned.sort(key=lambda t: (-t[0][0], -t[0][1], t[1]))", "1 -> 2"):
        "equivalent on real names: sorting by the file name also puts JuliaManifest-vX.Y before Manifest-vX.Y",
    ("tomlfiles",
     "raise UsageError(f\"{shown}:{exc.line}:{exc.col + 1}: invalid TOML: {str(exc).split(' at line ')[0]}\")"
     " from None",
     "0 -> 1"): "untested: no document is known that tomllib accepts and tomlkit refuses (init's own parse)",
    ("sbom", "exclude(hashes, lambda value: value is not None and _HASH_VALUE.fullmatch(value) is not None)",
     "IsNot -> Is"): "killed by hand: either `is not` made `is` fails test_sbom's general-writer comparisons "
                     "(1 and 23 tests); the run's coverage-chosen tests missed it",
    ("plan", "@dataclass(frozen=True)", "True -> False"): FROZEN + " (a dataclass's __init__ is generated code, "
        "which coverage does not count as a line of its module, so the run may not choose that test: checked by hand)",
    ("tomlfiles", "deepest, stack = 0, [(value, 0)]", "0 -> 1"):
        "equivalent for the first 0: the deepest level starts at 1 instead of 0 only for a document with no table or "
        "array, far below the limit (the second 0 is killed by test_the_depth_limit_holds_where_tomllib_decides)",
    ("plan", 'if config.timezone is not None and not any(p.split("=")[0] == "tzdata" for p in system_packages):',
     "Eq -> NotEq"):
        "untested in the seed-2030 run; given a test since (test_plan::test_a_timezone_installs_tzdata_once)",
}


@dataclass(frozen=True)
class Mutant:
    module: str  # relative to the package, without .py: "config", "engine/client"
    index: int  # the index-th mutable site of the module, in ast.walk order
    line: int
    end_line: int
    what: str
    source: str  # the mutated line's text
    in_function: bool  # inside a function body (run when called), not evaluated at import
    # a decorator's argument (a click option): it matters when the decorated function runs, so its body's lines
    owner: tuple[int, int] | None = None


@dataclass
class Outcome:
    module: str
    line: int
    what: str
    source: str
    status: str  # killed | survived | timeout
    detail: str  # the killing test; for a survivor, its reason
    seconds: float


def _docstrings(tree: ast.AST) -> set[int]:
    ids = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.FunctionDef | ast.ClassDef | ast.AsyncFunctionDef) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                ids.add(id(first.value))
    return ids


def _annotations(tree: ast.AST) -> set[int]:
    ids: set[int] = set()
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


def _function_body_nodes(tree: ast.AST) -> set[int]:
    """Nodes inside a function's body: run when the function is called (not its defaults or decorators)."""
    ids: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            for statement in node.body if isinstance(node.body, list) else [node.body]:
                ids.update(id(n) for n in ast.walk(statement))
    return ids


def _decorated_bodies(tree: ast.AST) -> dict[int, tuple[int, int]]:
    """Node id -> the (first, last) body line of the function whose decorator holds the node."""
    owners: dict[int, tuple[int, int]] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.decorator_list:
            body = (node.body[0].lineno, node.body[-1].end_lineno or node.body[-1].lineno)
            for decorator in node.decorator_list:
                owners.update((id(n), body) for n in ast.walk(decorator))
    return owners


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
        value = node.value
        node.value = (not value) if isinstance(value, bool) else value + 1 if isinstance(value, int) else value
    elif isinstance(node, ast.Raise):
        for parent in ast.walk(tree):
            for _, value in ast.iter_fields(parent):
                if isinstance(value, list) and node in value:
                    value[value.index(node)] = ast.Pass()
    return ast.unparse(ast.fix_missing_locations(tree))


def all_modules() -> tuple[str, ...]:
    names = (p.relative_to(PACKAGE).with_suffix("").as_posix() for p in sorted(PACKAGE.rglob("*.py")))
    return tuple(n for n in names if n not in SKIP_MODULES)


def all_mutants(modules: tuple[str, ...]) -> list[Mutant]:
    out = []
    for module in modules:
        text = (PACKAGE / f"{module}.py").read_text()
        lines = text.splitlines()
        tree = ast.parse(text)
        in_function = _function_body_nodes(tree)
        owners = _decorated_bodies(tree)
        for i, (node, what) in enumerate(sites(tree)):
            line = getattr(node, "lineno", 0)
            out.append(Mutant(module, i, line, getattr(node, "end_lineno", None) or line, what,
                              lines[line - 1].strip() if line else "", id(node) in in_function,
                              owners.get(id(node))))
    return out


def test_files(copy: Path, module: str) -> list[str]:
    """Every engine-free test file of the copy, the nearest to `module` first."""
    every = sorted(p.stem for p in (copy / "tests").glob("test_*.py") if p.stem not in SKIP_TESTS)
    own = f"test_{module.rsplit('/', 1)[-1]}"
    first = [t for t in (own, *NEAREST.get(module, ())) if t in every]
    return [f"tests/{t}.py" for t in dict.fromkeys([*first, *every])]


def workspace() -> Path:
    """A copy of the tracked files (the corpus is among them, under tests/corpus)."""
    top = Path(tempfile.mkdtemp(prefix="sysimage-docker-mutants-"))
    files = subprocess.run(["git", "ls-files"], cwd=REPO, capture_output=True, text=True, check=True).stdout.split()
    for rel in files:
        if not (REPO / rel).is_file():
            continue
        target = top / "main" / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / rel, target)
    # the Quick start test runs the Install step's .venv (the suite runs with CI set, where its absence fails)
    if (REPO / ".venv").is_dir():
        (top / "main" / ".venv").symlink_to(REPO / ".venv")
    return top / "main"


Coverage = dict[str, dict[int, set[str]]]  # module -> line -> test node ids ("" for no test function)
DURATIONS: dict[str, float] = {}  # test node id (function) -> its longest case's seconds in the unmutated run


def measure(copy: Path) -> tuple[Coverage, float]:
    """Run the unmutated suite under coverage in `copy`; returns which tests ran each line, and the run's seconds.
    Each test's time is kept in DURATIONS, so that a mutant's tests run the quickest first."""
    import xml.etree.ElementTree as ElementTree

    from coverage import CoverageData

    data_dir = Path(tempfile.mkdtemp(prefix="sysimage-docker-coverage-"))
    rc = data_dir / "coveragerc"
    rc.write_text(f"[run]\ndynamic_context = test_function\npatch = subprocess\nparallel = true\n"
                  f"source = {copy / 'sysimage_containers'}\ndata_file = {data_dir / '.coverage'}\n")
    junit = data_dir / "junit.xml"
    cmd = [sys.executable, "-m", "coverage", "run", "-m", "pytest", "-q", "-p", "no:cacheprovider", "-m",
           "not docker", f"--junitxml={junit}", *test_files(copy, "")]
    env = {**os.environ, "CI": "true", "PYTHONDONTWRITEBYTECODE": "1", "COVERAGE_RCFILE": str(rc)}
    began = time.monotonic()
    done = subprocess.run(cmd, cwd=copy, capture_output=True, text=True, env=env)
    seconds = time.monotonic() - began
    if done.returncode != 0:
        sys.exit(f"the unmutated suite fails in {copy}: fix that first\n{done.stdout[-3000:]}")
    for case in ElementTree.parse(junit).iter("testcase"):
        module, name = case.get("classname", "").split(".")[-1], case.get("name", "").split("[")[0]
        node = f"tests/{module}.py::{name}"
        DURATIONS[node] = max(DURATIONS.get(node, 0.0), float(case.get("time") or 0))
    found: Coverage = {}
    for part in data_dir.glob(".coverage.*"):
        data = CoverageData(basename=str(part))
        data.read()
        for filename in data.measured_files():
            module = Path(filename).relative_to(copy / "sysimage_containers").with_suffix("").as_posix()
            lines = found.setdefault(module, {})
            for line, contexts in data.contexts_by_lineno(filename).items():
                lines.setdefault(line, set()).update(_node_id(copy, c) for c in contexts)
    shutil.rmtree(data_dir, ignore_errors=True)
    return found, seconds


def _node_id(copy: Path, context: str) -> str:
    """`test_config.test_x` (coverage's test_function context) -> `tests/test_config.py::test_x`; "" for code that
    ran outside a test function of a test module (imports, fixtures, subprocesses)."""
    module, _, name = context.partition(".")
    if not name or not (copy / "tests" / f"{module}.py").is_file() or "<locals>" in name:
        return ""
    return f"tests/{module}.py::{name.replace('.', '::')}"


# test files that run the tool in a subprocess (coverage sees that code, but not which test ran it)
SUBPROCESS_TESTS = ("tests/test_ci_templates.py", "tests/test_context.py", "tests/test_dockerfile_checks.py")


def plan_runs(copy: Path, mutant: Mutant, coverage: Coverage) -> list[list[str]] | None:
    """The pytest runs that try to kill `mutant`, in order (each a list of tests); None: no test runs its code.

    A line in a function body: the test functions that ran it, then, if it also ran in a subprocess or at import,
    the test files that start the tool in a subprocess. A decorator's argument: the same for the decorated
    function's body. Any other line outside a function (a constant, a table, evaluated once at import): every test
    function that ran any line of the module."""
    lines = coverage.get(mutant.module, {})
    if mutant.in_function or mutant.owner is not None:
        first, last = (mutant.line, mutant.end_line) if mutant.in_function else mutant.owner or (0, 0)
        ran = set().union(*(lines.get(n, set()) for n in range(first, last + 1)))
    else:
        ran = set().union(*lines.values()) - {""}
    if not ran:
        return None
    named = sorted(ran - {""}, key=lambda node: (DURATIONS.get(node, 60.0), node))
    runs = [named] if named else []
    subprocess_files = [f for f in SUBPROCESS_TESTS if (copy / f).is_file()]
    return [*runs, subprocess_files] if "" in ran else runs


def run_suite(copy: Path, tests: list[str], timeout: float) -> tuple[str, str]:
    """("killed", first failing test) | ("survived", "") | ("timeout", "")."""
    cmd = [sys.executable, "-m", "pytest", "-x", "-q", "-rfE", "-p", "no:cacheprovider", "-m", "not docker", *tests]
    env = {**os.environ, "CI": "true", "PYTHONDONTWRITEBYTECODE": "1"}
    try:
        done = subprocess.run(cmd, cwd=copy, capture_output=True, text=True, timeout=timeout, env=env)
    except subprocess.TimeoutExpired:
        return "timeout", ""
    if done.returncode == 0:
        return "survived", ""
    # any failure is the mutant's doing: the tests were collected from the unmutated copy (exit 4 and 5 are a
    # mutant that breaks a test module's or conftest's import, so that the named tests cannot be collected)
    found = FAILED_RE.search(done.stdout)
    last = (done.stderr.strip() or done.stdout.strip() or "?").splitlines()[-1]
    return "killed", found.group(1) if found else f"pytest exit {done.returncode}, collection failed: {last[:160]}"


NOT_RUN = "no engine-free test runs this line (coverage)"


def key(mutant: Mutant) -> tuple[str, str, str]:
    return mutant.module, mutant.source, mutant.what


def reason(mutant: Mutant) -> str:
    return REASONS.get(key(mutant), "no reason recorded: not reviewed yet")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sample", type=int, default=200, help="mutants to try (0: all)")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--modules", default="", help="comma-separated, e.g. config,engine/client [default: all]")
    parser.add_argument("--timeout", type=float, default=0,
                        help="seconds per mutant [default: 3 times the unmutated suite's time, at least 120]")
    parser.add_argument("--json", type=Path, default=None, help="also write every mutant's outcome here")
    parser.add_argument("--report", type=Path, default=None,
                        help="print the report of an earlier --json FILE again, with the reasons now in REASONS")
    args = parser.parse_args()
    if args.report is not None:
        reprint(args.report)
        return
    modules = tuple(m for m in args.modules.split(",") if m) or all_modules()
    mutants = all_mutants(modules)
    chosen = mutants if args.sample <= 0 else sorted(random.Random(args.seed).sample(mutants, min(args.sample,
                                                                                                  len(mutants))),
                                                     key=lambda m: (m.module, m.index))
    copies = [workspace() for _ in range(args.jobs)]
    coverage, baseline = measure(copies[0])
    timeout = args.timeout or max(120.0, 2 * baseline)
    print(f"{len(mutants)} mutable sites in {len(modules)} modules; trying {len(chosen)} (seed {args.seed}); "
          f"unmutated suite under coverage {baseline:.0f} s, timeout {timeout:.0f} s", flush=True)
    unrun: dict[str, int] = {}
    for mutant in mutants:
        if plan_runs(copies[0], mutant, coverage) is None:
            unrun[mutant.module] = unrun.get(mutant.module, 0) + 1
    print(f"of all {len(mutants)} sites, {sum(unrun.values())} are on lines no engine-free test runs: "
          + ", ".join(f"{m} {n}" for m, n in sorted(unrun.items(), key=lambda kv: -kv[1])), flush=True)
    free = list(copies)
    started = time.monotonic()

    def attempt(mutant: Mutant) -> Outcome:
        runs = plan_runs(copies[0], mutant, coverage)
        if runs is None:
            return Outcome(mutant.module, mutant.line, mutant.what, mutant.source, "survived",
                           REASONS.get(key(mutant), NOT_RUN), 0.0)
        copy = free.pop()
        path = copy / "sysimage_containers" / f"{mutant.module}.py"
        original = path.read_text()
        began = time.monotonic()
        status, test = "survived", ""
        try:
            path.write_text(mutate(original, mutant.index))
            for tests in runs:
                status, test = run_suite(copy, tests, timeout)
                if status != "survived":
                    break
        finally:
            path.write_text(original)
            free.append(copy)
        detail = test if status == "killed" else reason(mutant) if status == "survived" else f"over {timeout:.0f} s"
        return Outcome(mutant.module, mutant.line, mutant.what, mutant.source, status, detail,
                       round(time.monotonic() - began, 1))

    outcomes: list[Outcome] = []
    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        for done, outcome in enumerate(pool.map(attempt, chosen), 1):
            outcomes.append(outcome)
            print(f"  {done}/{len(chosen)} {outcome.module}.py:{outcome.line} {outcome.what}: {outcome.status} "
                  f"({outcome.detail}, {outcome.seconds:.0f} s)", flush=True)
    for copy in copies:
        shutil.rmtree(copy.parent, ignore_errors=True)
    report(outcomes, args.seed, time.monotonic() - started)
    if args.json is not None:
        args.json.write_text(json.dumps({"seed": args.seed, "sites": len(mutants),
                                         "seconds": round(time.monotonic() - started),
                                         "outcomes": [asdict(o) for o in outcomes]}, indent=1) + "\n")


def reprint(path: Path) -> None:
    data = json.loads(path.read_text())
    outcomes = [Outcome(**o) for o in data["outcomes"]]
    for o in outcomes:
        if o.status == "survived":
            o.detail = REASONS.get((o.module, o.source, o.what), o.detail)
    report(outcomes, data["seed"], data.get("seconds", 0.0))


def report(outcomes: list[Outcome], seed: int, seconds: float) -> None:
    per_module: dict[str, list[int]] = {}
    for o in outcomes:
        counts = per_module.setdefault(o.module, [0, 0])
        counts[0] += o.status == "killed"
        counts[1] += 1
    for module, (k, n) in sorted(per_module.items()):
        print(f"{module:16} {k}/{n} killed")
    killed = sum(o.status == "killed" for o in outcomes)
    timeouts = [o for o in outcomes if o.status == "timeout"]
    print(f"score: {killed}/{len(outcomes)} killed = {100 * killed / max(1, len(outcomes)):.1f} % "
          f"(seed {seed}; {len(timeouts)} timed out, not counted as killed) in {seconds:.0f} s")
    for o in timeouts:
        print(f"timeout: {o.module}.py:{o.line} {o.what}: {o.source}")
    for o in outcomes:
        if o.status == "survived":
            print(f"survived: {o.module}.py:{o.line} {o.what}: {o.source}\n    reason: {o.detail}")


if __name__ == "__main__":
    main()
