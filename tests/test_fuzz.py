"""Fuzzing the inputs: Project.toml, Manifest.toml and sysimage-docker.toml contents, and raw bytes.

For any input the tool either renders a Dockerfile that BuildKit's parser reads as exactly the planned
instructions, or refuses with one line (UsageError, exit 2). Nothing else: no traceback, no other exception.
Examples per test: SYSIMAGE_DOCKER_FUZZ_EXAMPLES (default 60; CI uses the default, about 10 s in all).
"""

from __future__ import annotations

import os
import shutil
import tomllib
from pathlib import Path

import dockerfile
import pytest
import tomlkit
from conftest import EXAMPLES
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from sysimage_containers.errors import UsageError
from sysimage_containers.options import OPTIONS
from sysimage_containers.pipeline import prepare
from sysimage_containers.plan import BuildPlan

EXAMPLES_PER_TEST = int(os.environ.get("SYSIMAGE_DOCKER_FUZZ_EXAMPLES", "60"))
SETTINGS = settings(max_examples=EXAMPLES_PER_TEST, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
BASE = EXAMPLES / "http-service"

scalars = st.one_of(
    st.text(max_size=30), st.integers(min_value=-(2**63), max_value=2**63 - 1), st.booleans(),
    st.floats(allow_nan=False), st.sampled_from(["1.6", "^1.10", "1.11.5", "..", "../x", "/etc", "a b", "$(id)",
                                                 "cd3eb016-35fb-5094-929b-558a96fad6f3", "HTTP", "\n", "8080"]),
)
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner,
                                                                                             max_size=4), max_leaves=12)
keys = st.text(max_size=16) | st.sampled_from(["name", "uuid", "version", "deps", "compat", "weakdeps", "extras",
                                                "targets", "workspace", "manifest", "sources"])


def planned_instructions(plan: BuildPlan) -> list[str]:
    """The instruction sequence the template must produce for this plan (stages tools, deps, tracer, trace,
    builder, runtime)."""
    arg = ["ARG"] if plan.buildkit else []  # TARGETARCH: BuildKit sets it, the classic builder and podman do not
    deps = ["FROM", *arg, "ENV"] + (["COPY"] if plan.installs_packages else []) + ["RUN"]
    deps += ["RUN"] if plan.system_packages or plan.builder_packages else []
    deps += ["ENV"] if plan.build_env else []
    deps += ["COPY"]  # the Julia scripts
    deps += ["COPY"] if plan.mode != "pkgimage" else []  # keep_artifacts.sh
    deps += ["ENV", "RUN"] if plan.mode != "pkgimage" else []
    deps += ["FROM", *arg]  # the deps stage, after the tools stage
    deps += ["COPY"] * len(plan.dependency_copies) + ["COPY", "RUN"]
    deps += ["COPY"] * len(plan.hook_input_copies)  # before the first after_instantiate hook
    deps += ["COPY", "WORKDIR", "RUN"] * len(plan.hooks_at("after_instantiate"))
    deps += ["COPY"] + ["COPY"] * len(plan.workload_copies)
    source_hooks = ["WORKDIR", "RUN"] * len(plan.hooks_at("after_source"))
    deps += ["COPY", *source_hooks] if plan.source_early else []
    trace = []
    if plan.trace:
        trace = ["FROM", *arg] + (["COPY"] if (plan.test_workload or plan.warmup) and not plan.source_early else [])
        trace += (["RUN"] if plan.test_workload else []) + ["RUN"]
        trace += ["WORKDIR", "RUN"] if plan.test_workload else []  # the test suite, from test/
        trace += ["FROM", "COPY"]
    builder = ["FROM", *arg] + (["COPY", "COPY"] if plan.trace else []) + (["RUN"] if plan.mode != "pkgimage" else [])
    builder += ([] if plan.source_early else ["COPY", *source_hooks]) + ([] if plan.mode == "app" else ["RUN"])
    builder += ["RUN"] if plan.mode != "app" else []  # the depot check (and depot_dirs made)
    builder += ["RUN"] if plan.runtime_paths else []  # they exist; writable ones handed to the user
    builder += ["RUN"]  # the runtime user's home (and writable_paths inside the project) with their owners
    runtime = ["FROM"] + (["COPY", "RUN"] if plan.system_packages else [])
    runtime += ["COPY"] * len(plan.runtime_hook_input_copies)
    runtime += ["COPY", "RUN"] * len(plan.hooks_at("runtime")) + (["RUN"] if plan.writable_outside_tree else [])
    if plan.mode == "app":  # the bundle
        runtime += ["COPY"]
    else:  # Julia (and the sysimage), the depot's three folders, scripts, plan, the app tree
        runtime += ["COPY"] + (["COPY"] if plan.mode == "sysimage" else []) + ["COPY"] * 3 + ["COPY"] * 3
        runtime += ["COPY"] * len(plan.depot_dirs)
        runtime += ["COPY"] * len(plan.writable_in_tree)
    runtime += ["COPY"] * (len(plan.runtime_paths) + len(plan.writable_runtime_paths))
    runtime += ["COPY", "COPY"]  # the user's home, the SBOM
    runtime += ["ENV", "USER", "WORKDIR"] + ["EXPOSE"] * len(plan.ports) + (["VOLUME"] if plan.volumes else [])
    runtime += ["HEALTHCHECK"] if plan.healthcheck else []
    return [*deps, *trace, *builder, *runtime, "LABEL", "ENTRYPOINT", "CMD"]


def check(project: Path) -> None:
    try:
        prepared = prepare(project)
    except UsageError as exc:
        assert exc.message and "\n" not in exc.message
        return
    commands = dockerfile.parse_string(prepared.files["Dockerfile"])
    assert [c.cmd for c in commands] == planned_instructions(prepared.plan)
    assert next(c for c in commands if c.cmd == "ENTRYPOINT").value == prepared.plan.entrypoint
    assert next(c for c in commands if c.cmd == "CMD").value == prepared.plan.cmd


def fresh(tmp_path_factory) -> Path:
    project = tmp_path_factory.mktemp("fuzz") / "p"
    shutil.copytree(BASE, project)
    return project


def dumps(data: dict) -> str | None:
    try:
        return tomlkit.dumps(data)
    except (TypeError, ValueError):  # a value TOML cannot hold (tomlkit refuses): not an input a user can write
        return None


def test_planned_instructions_match_the_examples() -> None:
    for name in ("hello", "http-service", "cli-tool", "genie-app", "pycall-app"):
        check(EXAMPLES / name)


@pytest.mark.parametrize("flags", [[], ["--no-buildkit"], ["--mode", "app", "--writable-path", "/data"]])
def test_planned_instructions_with_every_real_project_option(tmp_path_factory, flags: list[str]) -> None:
    # the options of "When your Dockerfile did more" together (the engine test's migrated project)
    from test_real_projects_engine import migrated_project

    project = migrated_project(fresh(tmp_path_factory))
    if "app" in flags:  # an app bundle has no project tree: absolute writable paths only
        config = project / "sysimage-docker.toml"
        config.write_text(config.read_text().replace('writable_paths = ["log"]', "writable_paths = []")
                          .replace('script = "bin/server.jl"\n', "").replace('healthcheck_path = "/health"\n', "")
                          .replace('julia_args = ["--threads=auto"]\n', ""))
    cli = {"buildkit": False} if "--no-buildkit" in flags else {"mode": "app"} if "app" in flags else {}
    prepared = prepare(project, cli=cli)
    commands = dockerfile.parse_string(prepared.files["Dockerfile"])
    assert [c.cmd for c in commands] == planned_instructions(prepared.plan)
    assert prepared.plan.hooks and prepared.plan.system_packages and prepared.plan.volumes


@SETTINGS
@given(changes=st.dictionaries(keys, values, max_size=4))
def test_fuzz_project_toml(tmp_path_factory, changes: dict) -> None:
    project = fresh(tmp_path_factory)
    data = {**tomllib.loads((project / "Project.toml").read_text()), **changes}
    text = dumps(data)
    if text is not None:
        (project / "Project.toml").write_text(text)
        check(project)


@SETTINGS
@example(entry="HTTP", field="uuid", value=[], top={"deps": {"\n": ""}})  # once a two-line message
@example(entry="HTTP", field="path", value="\x00", top={})  # once a crash in Path.resolve
@given(entry=st.sampled_from(["HTTP", "JSON3", "Dates", "NewPkg"]), field=st.sampled_from(
    ["uuid", "version", "path", "repo-url", "git-tree-sha1", "deps"]), value=values, top=st.dictionaries(
    st.sampled_from(["julia_version", "manifest_format", "project_hash", "deps"]), values, max_size=1))
def test_fuzz_manifest_toml(tmp_path_factory, entry: str, field: str, value: object, top: dict) -> None:
    project = fresh(tmp_path_factory)
    data = tomllib.loads((project / "Manifest.toml").read_text())
    data["deps"].setdefault(entry, [{"uuid": "00000000-0000-0000-0000-000000000001"}])[0][field] = value
    data.update(top)
    text = dumps(data)
    if text is not None:
        (project / "Manifest.toml").write_text(text)
        check(project)


@SETTINGS
@given(config=st.dictionaries(st.sampled_from([o.key for o in OPTIONS]) | st.text(max_size=10), values, max_size=4))
@example(config={"env": {"\n": 0}})  # once printed a two-line error
def test_fuzz_config_file(tmp_path_factory, config: dict) -> None:
    project = fresh(tmp_path_factory)
    text = dumps(config)
    if text is not None:
        (project / "sysimage-docker.toml").write_text(text)
        check(project)


@SETTINGS
@given(which=st.sampled_from(["Project.toml", "Manifest.toml", "sysimage-docker.toml"]), raw=st.binary(max_size=200))
def test_fuzz_raw_bytes(tmp_path_factory, which: str, raw: bytes) -> None:
    project = fresh(tmp_path_factory)
    (project / which).write_bytes(raw)
    check(project)


OUTSIDE = "OUTSIDE-MARKER-c41e"
names = st.sampled_from(["a", "b", "data", ".git", ".env", "id_rsa", "x.pem", "src", "keep.txt", "n.md"])
rel_paths = st.lists(names, min_size=1, max_size=4).map("/".join)
tree_items = st.lists(st.tuples(rel_paths, st.sampled_from(
    ["file", "dir", "link-in", "link-dir-up", "link-out", "link-dangling", "fifo"])), max_size=8)
ignore_lines = st.lists(st.sampled_from(
    ["a", "!a/keep.txt", "**/*.md", "data/", "!data/**", "*/b", "!.env", "src/**/x.pem", "[", "#c", "", "**",
     "!bin/**", "!Project.toml", "!Manifest.toml", "!precompile/**", "!sysimage-docker.toml"]), max_size=6)


def _plant(project: Path, outside: Path, rel: str, kind: str) -> None:
    path = project / rel
    if os.path.lexists(path):
        return  # taken by an earlier item (opening a planted FIFO to write would block)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        if kind == "file":
            path.write_text(rel)
        elif kind == "dir":
            path.mkdir(exist_ok=True)
        elif kind == "fifo":
            os.mkfifo(path)
        else:
            target = {"link-in": project / "src", "link-dir-up": path.parent, "link-out": outside,
                      "link-dangling": project / "nowhere"}[kind]
            path.symlink_to(target)
    except OSError:
        pass  # a file where a directory should be: not planted


@settings(SETTINGS, max_examples=max(EXAMPLES_PER_TEST // 2, 10))
@given(items=tree_items, ignore=ignore_lines)
def test_fuzz_project_tree(tmp_path_factory, items: list[tuple[str, str]], ignore: list[str]) -> None:
    """Any tree and any .dockerignore: the same verdict printed and written, one line when refused, nothing
    written then, and never a byte from outside the project in the context."""
    from sysimage_containers import context

    base = tmp_path_factory.mktemp("tree")
    outside = base / "outside.txt"
    outside.write_text(OUTSIDE)
    project = base / "p"
    shutil.copytree(BASE, project)
    for rel, kind in items:
        _plant(project, outside, rel, kind)
    if ignore:
        (project / ".dockerignore").write_text("\n".join(ignore) + "\n")
    out = base / "out"
    try:
        prepared = prepare(project, skip=(out,))
    except UsageError as exc:
        assert exc.message and "\n" not in exc.message
        event("refused")
        return
    event("written")
    context.write_context(out, prepared.listing, prepared.files)
    for path in out.rglob("*"):
        assert not path.is_symlink()
        if path.is_file():
            assert OUTSIDE.encode() not in path.read_bytes(), path


# --- the build context over hostile trees (issue 19): symlinked files and directories, chains, hard links, `..` ---
OUTSIDE = "OUTSIDE-c41f0a"  # in every file outside the project
SECRET = "SECRET-93be27"  # in every file that an exclusion or --secret leaves out, by its real path
TREE_DIRS = ("", "data", "data/vault", "sub", "sub/deep")
LINK_NAMES = ("alias", "l1", "up", "private.csv", "x")
SECRET_NAMES = (".env", "id_rsa", "tls.key", "private.csv", ".npmrc")  # excluded at any depth (defaults, **/)
PARTS = ("..", ".", "data", "vault", "sub", "deep", "outside", "odir", "o.txt", "hidden.txt", "v.txt", "p", "alias",
         "creds")
inside_target = st.sampled_from(["data", "../data", "vault", "../../data/vault", "../alias", "deep/..", "v.txt",
                                 "hidden.txt", "../data/public.txt", "data/hidden.txt", "public.txt", "sub/deep"])
link_target = st.one_of(
    inside_target, inside_target,  # twice: a tree that is written tests more than one that is refused
    st.lists(st.sampled_from(PARTS), min_size=1, max_size=5).map("/".join),  # relative, with `..` components
    st.sampled_from(["@outside/o.txt", "@outside/odir", "@p/data", "@p/data/vault", "@p/sub", "@p"]),  # absolute
)
tree_op = st.one_of(
    st.tuples(st.just("link"), st.sampled_from(TREE_DIRS), st.sampled_from(LINK_NAMES), link_target),
    st.tuples(st.just("hardlink"), st.sampled_from(TREE_DIRS), st.sampled_from(("h1", "h2", "copy.txt")),
              st.sampled_from(["@outside/o.txt", "@p/data/hidden.txt", "@p/data/vault/v.txt", "@p/creds",
                               "@p/data/public.txt"])),
    st.tuples(st.just("secret"), st.sampled_from(TREE_DIRS), st.sampled_from(SECRET_NAMES), st.just("")),
)
# mostly none: a path dependency out of the project refuses the whole tree
path_dep = st.none() | st.none() | st.none() | st.sampled_from(
    ["../outside/odir", "@outside/odir", "sub/../../outside/odir", "data/../../../x", "sub/deep", "sub/../sub/deep"])


def _hostile_tree(base: Path, ops: list[tuple[str, str, str, str]], dep: str | None) -> Path:
    (base / "outside" / "odir").mkdir(parents=True)
    (base / "outside" / "o.txt").write_text(OUTSIDE)
    (base / "outside" / "odir" / "Project.toml").write_text(f'name = "Odir"  # {OUTSIDE}\n')
    project = base / "p"
    shutil.copytree(BASE, project)
    for rel in TREE_DIRS[1:]:
        (project / rel).mkdir(exist_ok=True)
    (project / "data" / "public.txt").write_text("public\n")
    (project / "data" / "hidden.txt").write_text(SECRET)  # excluded by its anchored path only
    (project / "data" / "vault" / "v.txt").write_text(SECRET)  # excluded with its directory
    (project / "creds").write_text(SECRET)  # the --secret source
    (project / "sub" / "deep" / "Project.toml").write_text('name = "Deep"\n')
    (project / ".dockerignore").write_text("data/hidden.txt\ndata/vault/\n**/private.csv\n")
    absolute = {"@outside": str(base / "outside"), "@p": str(project)}

    def real(target: str) -> str:
        head, _, tail = target.partition("/")
        return f"{absolute[head]}/{tail}".rstrip("/") if head in absolute else target

    for kind, parent, name, target in ops:
        path = project / parent / name
        if os.path.lexists(path):
            continue
        if kind == "link":
            path.symlink_to(real(target))
        elif kind == "hardlink":
            os.link(real(target), path)
        else:
            path.write_text(SECRET)
    if dep is not None:
        with (project / "Manifest.toml").open("a") as fh:
            fh.write(f'\n[[deps.Dep]]\npath = "{real(dep)}"\nuuid = "00000000-0000-4000-8000-000000000009"\n')
    return project


def _markers(root: Path) -> list[str]:
    found = []
    for path in root.rglob("*"):
        assert not path.is_symlink(), path  # the context holds copies only
        if path.is_file():
            data = path.read_bytes()
            found += [f"{path.relative_to(root)}: {m}" for m in (OUTSIDE, SECRET) if m.encode() in data]
    return found


@SETTINGS
@given(ops=st.lists(tree_op, max_size=6), dep=path_dep)
def test_no_outside_or_excluded_file_enters_whatever_path_reaches_it(tmp_path_factory, ops: list, dep: str | None,
                                                                      ) -> None:
    """For any tree: `generate -o` (prepare, then write_context) writes nothing from outside the project and no
    excluded or --secret file, or refuses in one line and writes nothing."""
    from sysimage_containers import context
    from sysimage_containers.build import secret_files_inside, secret_sources

    base = tmp_path_factory.mktemp("tree")
    project = _hostile_tree(base, ops, dep)
    spec = (f"id=c,src={project}/creds",)
    out = base / "out"
    try:
        prepared = prepare(project, environ={}, leave_out=secret_files_inside(project, spec),
                           secret_sources=secret_sources(spec), skip=(out,))
    except UsageError as exc:
        assert "\n" not in str(exc)
        event("refused")
        return
    context.write_context(out, prepared.listing, prepared.files)
    event("written")
    assert _markers(out) == []
    assert (out / "app" / "data" / "public.txt").read_text() == "public\n"  # the scan reaches the copied tree
    shutil.rmtree(base)


DEFAULT_PARTS = (".git", "git", ".env", ".env.prod", "env", "id_rsa", "id_rsa.pub", "x.pem", "pem", "a.key", "key",
                 ".docker", "config.json", "config", ".kube", ".cargo", "credentials", "credentials.toml", ".config",
                 "gcloud", ".julia", "__pycache__", "src", "a.jl", ".ssh", "x.p12", ".terraform.d",
                 "credentials.tfrc.json", ".npmrc", "npmrc", "a.b", "",
                 ".github", ".envrc", "x.pem.bak", "a.keys", ".sshd", "config.json.bak", "credentials.bak",
                 ".gitignore")


@SETTINGS
@given(parts=st.lists(st.sampled_from(DEFAULT_PARTS) | st.text(alphabet="a.-_ke*[", max_size=6), min_size=1,
                      max_size=5))
def test_the_default_exclusions_regex_agrees_with_dockers_matcher(parts: list[str]) -> None:
    from e2b_dockerfile_utils.dockerignore import PatternMatcher

    from sysimage_containers.context import _DEFAULTS_RE, DEFAULT_EXCLUDES

    path = "/".join(p for p in parts if p) or "x"
    assert bool(_DEFAULTS_RE.search(path)) == PatternMatcher(list(DEFAULT_EXCLUDES)).matches(path), path
