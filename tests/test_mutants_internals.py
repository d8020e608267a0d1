"""behaviours the mutation check found untested"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from conftest import EXAMPLES, REPO, require_git

from sysimage_containers import provenance, tomlfiles, verify
from sysimage_containers.engine import ImageInfo, buildx, clients
from sysimage_containers.engine.client import Engine
from sysimage_containers.errors import BuildFailed, UsageError
from sysimage_containers.pipeline import prepare
from sysimage_containers.pkg_compat import parse_spec
from sysimage_containers.progress import LogParser

NOBODY = 65534


# -- unreadable files in the build context ------------------------------------------------------------------------
def _make_unreadable(path: Path) -> None:
    """As root without capabilities (see _cli_unprivileged) a file of another user is judged by its "other" bits."""
    if os.geteuid() == 0:
        os.chown(path, NOBODY, NOBODY)
    path.chmod(0o000)


def _cli_unprivileged(args: list[str], home: Path) -> subprocess.CompletedProcess[str]:
    """The CLI in a child process; as root with every capability dropped, so that permission bits stop a read."""
    prefix: list[str] = []
    if os.geteuid() == 0:
        if shutil.which("setpriv") is None:
            pytest.fail("setpriv (util-linux) is needed to run the CLI without capabilities")
        prefix = ["setpriv", "--bounding-set=-all", "--inh-caps=-all", "--ambient-caps=-all", "--no-new-privs"]
    env = {"PATH": os.environ["PATH"], "PYTHONPATH": str(REPO), "HOME": str(home), "XDG_CACHE_HOME": str(home)}
    return subprocess.run([*prefix, sys.executable, "-m", "sysimage_containers", *args], capture_output=True,
                          text=True, env=env, timeout=60)


def _hello(tmp_path: Path) -> Path:
    project = tmp_path / "top" / "proj"
    shutil.copytree(EXAMPLES / "hello", project)
    return project


def test_an_unreadable_extra_file_is_refused_as_permission_denied(tmp_path: Path) -> None:
    project = _hello(tmp_path)
    notes = tmp_path / "top" / "notes.txt"
    notes.write_text("x")
    (tmp_path / "top" / ".git").mkdir()  # the repository bounds how far context_root may reach
    config = project / "sysimage-docker.toml"
    config.write_text('context_root = ".."\nextra_files = ["../notes.txt"]\n' + config.read_text())
    assert _cli_unprivileged(["generate", str(project), "-o", str(tmp_path / "ok")], tmp_path).returncode == 0
    _make_unreadable(notes)
    result = _cli_unprivileged(["generate", str(project), "-o", str(tmp_path / "ctx")], tmp_path)
    assert (result.returncode, result.stderr.splitlines()[-1]) == (
        2, "sysimage-docker: error: extra_files: ../notes.txt: permission denied")


def test_an_unreadable_file_deep_in_the_project_is_refused_as_permission_denied(tmp_path: Path) -> None:
    project = _hello(tmp_path)
    secret = project / "data" / "deeper" / "key.txt"
    secret.parent.mkdir(parents=True)
    secret.write_text("x")
    _make_unreadable(secret)
    result = _cli_unprivileged(["generate", str(project), "-o", str(tmp_path / "ctx")], tmp_path)
    assert (result.returncode, result.stderr.splitlines()[-1]) == (
        2, f"sysimage-docker: error: {secret}: permission denied while reading the project")


# -- buildx -------------------------------------------------------------------------------------------------------
def test_pushed_digest_reads_buildx_metadata_and_is_unknown_without_it(tmp_path: Path) -> None:
    meta = tmp_path / "meta.json"
    digest = "sha256:" + "a" * 64
    meta.write_text(json.dumps({"containerimage.digest": digest, "image.name": "reg/x:1"}))
    assert buildx.pushed_digest(meta) == digest
    meta.write_text(json.dumps({"image.name": "reg/x:1"}))
    assert buildx.pushed_digest(meta) == "unknown"
    meta.write_text(json.dumps({"containerimage.digest": ""}))
    assert buildx.pushed_digest(meta) == "unknown"


def test_builder_driver_reads_buildx_inspect_whose_values_contain_colons(monkeypatch: pytest.MonkeyPatch) -> None:
    out = ("Name:          ci-builder\nDriver:        docker-container\nLast Activity: 2024-05-01 12:34:56 +0000 UTC\n"
           "\nNodes:\nName:      ci-builder0\nEndpoint:  unix:///var/run/docker.sock\n")
    seen: list[list[str]] = []
    monkeypatch.setattr(buildx, "run_cli", lambda cmd, *a, **k: seen.append(cmd) or out)
    assert buildx.builder_driver(["docker"], None) == ("ci-builder", "docker-container")
    assert seen == [["docker", "buildx", "inspect"]]


# -- the engine facade, with a stand-in client script ----------------------------------------------------------------
def _fake_client(tmp_path: Path, body: str) -> Engine:
    script = tmp_path / "fake-docker"
    script.write_text("#!/bin/sh\n" + textwrap.dedent(body))
    script.chmod(0o755)
    return Engine("docker", client=str(script))


def test_layers_are_the_image_inspect_answer_and_none_when_it_fails(tmp_path: Path) -> None:
    engine = _fake_client(tmp_path, """\
        case "$4" in
          '{{json .RootFS.Layers}}') [ "$5" = there:1 ] || { echo "No such image: $5" >&2; exit 1; }
                                     echo '["sha256:aa","sha256:bb"]' ;;
        esac
        """)
    assert engine.layers("there:1") == ("sha256:aa", "sha256:bb")
    assert engine.layers("missing:1") == ()


def test_a_service_that_does_not_start_is_named_with_the_clients_last_line(tmp_path: Path) -> None:
    engine = _fake_client(tmp_path, """\
        case "$1" in
          network) echo bridge ;;
          run) echo "starting" >&2; echo "Bind for 127.0.0.1:8080 failed: port is already allocated" >&2; exit 125 ;;
        esac
        """)
    with pytest.raises(BuildFailed) as failed:
        engine.time_service("app:1", 8080, "/", timeout=1)
    assert str(failed.value) == "app:1 did not start: Bind for 127.0.0.1:8080 failed: port is already allocated"


def test_an_interrupt_reaches_the_clients_this_process_started_in_their_own_session() -> None:
    # in a child interpreter: the check walks /proc for this process's children and interrupts them
    code = textwrap.dedent("""\
        import signal, subprocess, time
        from sysimage_containers.engine.client import _interrupt_children
        # a background job of a non-interactive shell starts with SIGINT ignored, and its children inherit that
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        child = subprocess.Popen(["sleep", "20"], start_new_session=True, stdout=subprocess.DEVNULL,
                                 stderr=subprocess.DEVNULL)
        time.sleep(0.2)
        _interrupt_children()
        try:
            print(child.wait(timeout=5))
        except subprocess.TimeoutExpired:
            child.kill()
            print("still running")
        """)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                          env={**os.environ, "PYTHONPATH": str(REPO)}, start_new_session=True)
    assert done.stdout.strip() == str(-signal.SIGINT), done.stderr


def test_no_client_found_is_not_said_to_be_podman(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    assert clients.configured_client("auto", None) == (None, False)
    assert clients.configured_client("docker", "/nonexistent/docker") == (None, False)


# -- verify ----------------------------------------------------------------------------------------------------------
class _ImageOnly:
    """An engine that has the image and only inspects it."""

    def __init__(self, entrypoint: tuple[str, ...]) -> None:
        self.entrypoint = entrypoint

    def ensure_local(self, image: str) -> bool:
        return True

    def inspect(self, image: str) -> ImageInfo:
        return ImageInfo(id="sha256:" + "0" * 64, size=1, tags=(image,), entrypoint=self.entrypoint)


@pytest.mark.parametrize(("entrypoint", "shown"), [((), "none"), (("/bin/sh", "-c"), "/bin/sh -c")])
def test_verify_refuses_an_image_whose_entrypoint_is_not_julia(entrypoint: tuple[str, ...], shown: str) -> None:
    with pytest.raises(UsageError) as refused:
        verify.run_verify(_ImageOnly(entrypoint), "other:1", None)  # type: ignore[arg-type]
    assert str(refused.value) == (f"other:1: its entrypoint is not julia ({shown}); was it built by "
                                  "sysimage-docker?")


# -- compat specs ---------------------------------------------------------------------------------------
def test_compat_specs_are_immutable_hashable_values() -> None:
    spec = parse_spec("1.6, 2")
    assert len({spec, parse_spec("^1.6, ^2"), parse_spec("1.6.0 - 2")}) == 1
    assert {spec: "cached"}[parse_spec("^1.6, 2")] == "cached"  # usable as a cache key
    with pytest.raises(dataclasses.FrozenInstanceError):
        spec.ranges[0].lower = spec.ranges[0].upper  # type: ignore[misc]


# -- the classic builder's log ---------------------------------------------------------------------------------------
def test_classic_steps_are_keyed_by_number_and_hooks_come_in_dockerfile_order() -> None:
    ticks = iter(range(1000))
    parser = LogParser(clock=lambda: float(next(ticks)))
    for line in ("Step 1/10 : FROM julia:1.11.5 AS runtime", " ---> 1234",
                 "Step 2/10 : RUN SYSIMAGE_DOCKER_HOOK=runtime /bin/sh /opt/hooks/runtime/zz-last-name.sh",
                 " ---> Using cache",
                 "Step 3/10 : RUN SYSIMAGE_DOCKER_HOOK=runtime /bin/sh /opt/hooks/runtime/aa-first-name.sh",
                 "ok"):
        parser.feed(line)
    parser.finish()
    assert list(parser.steps) == ["classic-1", "classic-2", "classic-3"]
    assert [s.index for s in parser.steps.values()] == [1, 2, 3]
    assert list(parser.hook_steps()) == ["runtime /opt/hooks/runtime/zz-last-name.sh",
                                         "runtime /opt/hooks/runtime/aa-first-name.sh"]


# -- provenance ------------------------------------------------------------------------------------------------------
def test_a_filter_driver_with_dots_in_its_name_is_switched_off_too(tmp_path: Path) -> None:
    require_git()
    root = tmp_path / "repo"
    root.mkdir()
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path)}
    subprocess.run(["git", "-C", str(root), "init", "-q"], check=True, env=env)
    for key in ("clean", "smudge", "process"):
        subprocess.run(["git", "-C", str(root), "config", f"filter.my.dotted.drv.{key}", f"touch {tmp_path}/{key}"],
                       check=True, env=env)
    for key in ("clean", "smudge", "process"):
        assert provenance.git(root, "config", "--get", f"filter.my.dotted.drv.{key}") == ""
    assert provenance.git(root, "config", "--get", "filter.my.dotted.drv.required") == "false"


# -- the SBOM --------------------------------------------------------------------------------------------------------
def _sbom_properties(project: Path) -> dict[str, str]:
    doc = json.loads(prepare(project).files["sysimage-docker/sbom.cdx.json"])
    return {p["name"]: p["value"] for p in doc["metadata"]["properties"]}


def test_the_sbom_says_the_manifest_is_resolved_in_the_builder_only_without_one(tmp_path: Path) -> None:
    project = tmp_path / "hello"
    shutil.copytree(EXAMPLES / "hello", project)
    assert "sysimage-docker:manifest" not in _sbom_properties(project)
    (project / "Manifest.toml").unlink()
    config = project / "sysimage-docker.toml"
    config.write_text("resolve = true\n" + config.read_text())
    assert _sbom_properties(project)["sysimage-docker:manifest"] == "resolved in the builder"


# -- TOML input limits -----------------------------------------------------------------------------------------------
def test_a_manifest_one_byte_over_64_mib_is_refused(cli, tmp_path: Path) -> None:
    project = tmp_path / "hello"
    shutil.copytree(EXAMPLES / "hello", project)
    limit = 64 * 1024 * 1024
    with (project / "Manifest.toml").open("r+b") as fh:
        fh.truncate(limit + 1)  # sparse: costs no disk
    result = cli("generate", project, "-o", tmp_path / "ctx")
    assert (result.code, result.err.splitlines()[-1]) == (
        2, f"sysimage-docker: error: Manifest.toml: file is {limit + 1} bytes, over the {limit} byte limit")


def test_nesting_too_deep_for_the_fallback_parser_is_refused_in_one_line() -> None:
    # rtoml refuses this document for its second line; the stdlib parser, asked again for its message, runs out of
    # stack in the first one (here: a lowered recursion limit stands for a deep document in a deep call stack)
    text = "x = " + "[" * 60 + "]" * 60 + "\ny = = 1\n"
    depth = 0
    frame = sys._getframe()
    while frame is not None:
        depth, frame = depth + 1, frame.f_back
    old = sys.getrecursionlimit()
    sys.setrecursionlimit(depth + 80)
    try:
        with pytest.raises(UsageError) as refused:
            tomlfiles.loads(text, "Project.toml")
    finally:
        sys.setrecursionlimit(old)
    assert str(refused.value) == tomlfiles.too_deep("Project.toml")
