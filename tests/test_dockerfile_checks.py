"""Every generated Dockerfile parses with BuildKit's own parser into the planned instructions and passes
hadolint; every shipped Julia script parses with tree-sitter-julia without error nodes."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import dockerfile
import pytest
import tree_sitter
import tree_sitter_julia
from conftest import CORPUS, EXAMPLES
from corpus_expectations import GENERATES

from sysimage_containers import render

VARIANTS = [
    [],
    ["--no-buildkit"],
    ["--julia-arg", "-O3", "--julia-arg", "--check-bounds=no"],
    ["--cpu-target", "native", "--no-buildkit", "--julia-version", "1.9"],
    ["--mode", "pkgimage"],
    ["--trace", "--private-git", "ssh"],
    ["--no-incremental", "--filter-stdlibs", "--private-git", "token"],
    ["--test-workload", "--mode", "app"],
]
HADOLINT = shutil.which("hadolint") or str(Path(sys.executable).parent / "hadolint")


def generated(cli, project: Path, *flags: str) -> str:
    result = cli("generate", project, *flags)
    assert result.code == 0, result.err
    return result.out


def instructions(text: str) -> list[str]:
    return [c.cmd for c in dockerfile.parse_string(text)]


# app mode with the test suite needs a package with julia_main and tests: the cli-tool example
NAMES = ("hello", "http-service", "cli-tool", "genie-app", "pycall-app")
CASES = [(name, flags) for name in NAMES for flags in VARIANTS
         if "app" not in flags or name == "cli-tool"]


@pytest.mark.parametrize(("name", "flags"), CASES, ids=[f"{n}-{' '.join(f) or 'default'}" for n, f in CASES])
def test_examples_parse_and_lint(cli, name: str, flags: list[str], tmp_path: Path) -> None:
    text = generated(cli, EXAMPLES / name, *flags)
    commands = dockerfile.parse_string(text)
    cmds = [c.cmd for c in commands]
    traced = "--trace" in flags or "--test-workload" in flags
    assert cmds.count("FROM") == (6 if traced else 4)  # tools, deps, [tracer, trace,] builder, runtime
    assert cmds[-2:] == ["ENTRYPOINT", "CMD"]
    assert all(c.json for c in commands if c.cmd in ("ENTRYPOINT", "CMD"))
    mounts = [f for c in commands for f in c.flags if f.startswith("--mount")]
    assert bool(mounts) == ("--no-buildkit" not in flags)
    (tmp_path / "Dockerfile").write_text(text)
    lint = subprocess.run([HADOLINT, "--failure-threshold", "info", str(tmp_path / "Dockerfile")],
                          capture_output=True, text=True)
    assert lint.returncode == 0, lint.stdout + lint.stderr


@pytest.mark.parametrize("project", sorted(GENERATES))
def test_corpus_dockerfiles_parse_and_lint(cli, project: str, tmp_path: Path) -> None:
    result = cli("generate", CORPUS / project)
    assert result.code == 0, result.err
    cmds = instructions(result.out)
    assert cmds[0] == "FROM" and cmds.count("FROM") == 4
    (tmp_path / "Dockerfile").write_text(result.out)
    lint = subprocess.run([HADOLINT, "--failure-threshold", "info", str(tmp_path / "Dockerfile")],
                          capture_output=True, text=True)
    assert lint.returncode == 0, lint.stdout + lint.stderr


def test_julia_scripts_parse_with_tree_sitter() -> None:
    parser = tree_sitter.Parser(tree_sitter.Language(tree_sitter_julia.language()))
    for name in render.JULIA_SCRIPTS:
        tree = parser.parse(render.julia_script(name).encode())
        assert not error_nodes(tree.root_node), f"{name}: {error_nodes(tree.root_node)}"


def error_nodes(node: tree_sitter.Node) -> list[tuple[tuple[int, int], str]]:
    found = [(node.start_point, node.type)] if node.type == "ERROR" or node.is_missing else []
    for child in node.children:
        found.extend(error_nodes(child))
    return found


def test_example_workloads_parse_with_tree_sitter() -> None:
    parser = tree_sitter.Parser(tree_sitter.Language(tree_sitter_julia.language()))
    for path in sorted(EXAMPLES.rglob("*.jl")):
        assert not parser.parse(path.read_bytes()).root_node.has_error, path


# Stdlibs in every default sysimage (julia stdlib/Makefile, STDLIBS_WITHIN_SYSIMG, old and new lists alike); TOML,
# Pkg, Dates... are not in recent ones: loading them under a custom sysimage compiles them at every start.
IN_EVERY_SYSIMAGE = {"Artifacts", "FileWatching", "Libdl", "SHA", "Random", "LinearAlgebra", "Sockets"}
# what runs in the runtime image or under the custom sysimage
RUN_TIME_SCRIPTS = ("run_main.jl", "healthcheck.jl", "verify.jl", "precompile_app.jl")


def loaded_modules(tree: tree_sitter.Tree, source: bytes) -> set[str]:
    found: set[str] = set()

    def walk(node: tree_sitter.Node) -> None:
        if node.type in ("using_statement", "import_statement"):
            for child in node.named_children:
                name = source[child.start_byte:child.end_byte].decode().split(":")[0].split(".")[0].strip()
                found.add(name)
        for child in node.children:
            walk(child)

    walk(tree.root_node)
    return found


def test_run_time_scripts_load_nothing_outside_every_sysimage() -> None:
    parser = tree_sitter.Parser(tree_sitter.Language(tree_sitter_julia.language()))
    seen = {}
    for name in RUN_TIME_SCRIPTS:
        source = render.julia_script(name).encode()
        seen[name] = loaded_modules(parser.parse(source), source)
        assert seen[name] <= IN_EVERY_SYSIMAGE, (name, seen[name])
    # the check sees what it should: the healthcheck's socket library, and a builder script's Pkg
    assert seen["healthcheck.jl"] == {"Sockets"}
    builder = render.julia_script("instantiate.jl").encode()
    assert "Pkg" in loaded_modules(parser.parse(builder), builder)


def called(tree: tree_sitter.Tree, source: bytes) -> set[str]:
    """The callee of every call in a Julia script, as written (`Base.require`, `println`, ...)."""
    found: set[str] = set()

    def walk(node: tree_sitter.Node) -> None:
        if node.type == "call_expression" and node.named_children:
            callee = node.named_children[0]
            found.add(source[callee.start_byte:callee.end_byte].decode())
        for child in node.children:
            walk(child)

    walk(tree.root_node)
    return found


def test_the_app_precompile_does_not_load_packages_before_1_11() -> None:
    # Base.require runs each package's __init__ in the builder (a GPU, the network or a secret it needs fails the
    # build); Base.compilecache writes the cache in a child process without loading the package here, as
    # Pkg.precompile does (base/loading.jl). 1.11+ uses Base.Precompilation.precompilepkgs.
    parser = tree_sitter.Parser(tree_sitter.Language(tree_sitter_julia.language()))
    source = render.julia_script("precompile_app.jl").encode()
    calls = called(parser.parse(source), source)
    assert "Base.require" not in calls and "require" not in calls
    assert {"Base.compilecache", "Base.isprecompiled", "Base.stale_cachefile",
            "Base.Precompilation.precompilepkgs"} <= calls
    # the check sees calls: the healthcheck connects
    health = render.julia_script("healthcheck.jl").encode()
    assert "connect" in called(parser.parse(health), health)
