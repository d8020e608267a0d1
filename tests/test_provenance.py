"""Provenance labels: the git remote without credentials, the commit (dirty or not), the creation time
(SOURCE_DATE_EPOCH, else the commit time), as build-time labels; reproducible with SOURCE_DATE_EPOCH."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from conftest import EXAMPLES, REPO, require_git

from sysimage_containers import provenance

TOKEN = "ghp_provenanceTokenMustNotLeak123"


def git(root: Path, *args: str) -> str:
    env = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@example.com", "GIT_COMMITTER_DATE": "2025-03-04T05:06:07+01:00",
           "GIT_AUTHOR_DATE": "2025-03-04T05:06:07+01:00", "PATH": "/usr/bin:/bin", "HOME": str(root)}
    return subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True, check=True,
                          env=env).stdout.strip()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    require_git()
    root = tmp_path / "repo"
    shutil.copytree(EXAMPLES / "hello", root)
    git(root, "init", "-q")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "first")
    git(root, "remote", "add", "origin", f"https://ci-bot:{TOKEN}@github.com/acme/hello.git")
    return root


@pytest.mark.parametrize(("url", "shown"), [
    (f"https://ci-bot:{TOKEN}@github.com/acme/app.git", "https://github.com/acme/app.git"),
    (f"https://{TOKEN}@gitlab.example.com:8443/acme/app", "https://gitlab.example.com:8443/acme/app"),
    ("git@github.com:acme/app.git", "git@github.com:acme/app.git"),
    ("https://github.com/acme/app", "https://github.com/acme/app"),
    (f"ci:{TOKEN}@github.com:acme/app.git", "github.com:acme/app.git"),
    (f"https://github.com/acme/app.git?private_token={TOKEN}&ref=main", "https://github.com/acme/app.git?ref=main"),
    (f"https://bucket.s3.amazonaws.com/p.tar?X-Amz-Credential=AKIA1&X-Amz-Signature={TOKEN}&v=1",
     "https://bucket.s3.amazonaws.com/p.tar?v=1"),
    (f"https://acct.blob.core.windows.net/c/p?sv=2020&sig={TOKEN}", "https://acct.blob.core.windows.net/c/p?sv=2020"),
    (f"https://host/p?access_token={TOKEN}", "https://host/p"),
    (f"https://[::1:{TOKEN}@host/p", "https://host/p"),
])
def test_credentials_are_stripped(url: str, shown: str) -> None:
    assert provenance.strip_credentials(url) == shown


@pytest.mark.parametrize(("url", "label"), [
    (f"https://ci-bot:{TOKEN}@github.com/acme/app.git", "https://github.com/acme/app.git"),
    ("ssh://git@example.com:2222/acme/app.git", "ssh://example.com:2222/acme/app.git"),
    ("git@github.com:acme/app.git", "git@github.com:acme/app.git"),
    ("/home/alice/src/app", None),
    ("../app.git", None),
    ("./app", None),
    ("app.git", None),
    ("file:///home/alice/src/app", None),
    ("FILE://localhost/srv/app", None),
    ("foo/bar:baz", None),  # a '/' before the first ':' makes it a path for git
])
def test_only_a_network_remote_is_a_source(url: str, label: str | None) -> None:
    assert provenance.remote_source(url) == label


def test_a_local_remote_gives_no_source_label(repo: Path) -> None:
    git(repo, "remote", "set-url", "origin", str(repo.parent / "upstream.git"))
    found = provenance.labels(repo, {})
    assert provenance.SOURCE not in found and provenance.REVISION in found


def test_created_prefers_source_date_epoch_then_the_commit() -> None:
    assert provenance.created({"SOURCE_DATE_EPOCH": "1700000000"}, "2025-01-01T00:00:00+00:00") == (
        "2023-11-14T22:13:20Z")
    assert provenance.created({}, "2025-03-04T05:06:07+01:00") == "2025-03-04T04:06:07Z"
    assert provenance.created({}, None, now=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)) == "2026-01-02T03:04:05Z"


def test_labels_from_a_repository(repo: Path) -> None:
    commit = git(repo, "rev-parse", "HEAD")
    found = provenance.labels(repo, {})
    assert found == {provenance.SOURCE: "https://github.com/acme/hello.git", provenance.REVISION: commit,
                     provenance.CREATED: "2025-03-04T04:06:07Z"}
    (repo / "bin" / "hello.jl").write_text("# changed\n")
    assert provenance.labels(repo, {})[provenance.REVISION] == f"{commit}-dirty"
    assert provenance.labels(repo.parent, {"SOURCE_DATE_EPOCH": "0"}) == {provenance.CREATED: "1970-01-01T00:00:00Z"}


@pytest.mark.docker
def test_the_image_carries_provenance_and_never_the_token(docker_env, repo: Path, tmp_path: Path) -> None:
    tags = [docker_env.unique_tag("provenance-a"), docker_env.unique_tag("provenance-b")]
    for tag in tags:
        result = docker_env.build(repo, "-t", tag, SOURCE_DATE_EPOCH="1700000000")
        assert result.returncode == 0, result.stderr
    config = [json.loads(docker_env.docker("image", "inspect", tag).stdout)[0]["Config"] for tag in tags]
    labels = config[0]["Labels"]
    assert labels[provenance.SOURCE] == "https://github.com/acme/hello.git"
    assert labels[provenance.REVISION] == git(repo, "rev-parse", "HEAD")
    assert labels[provenance.CREATED] == "2023-11-14T22:13:20Z"
    assert config[0]["Labels"] == config[1]["Labels"]  # the same inputs and SOURCE_DATE_EPOCH: the same labels
    for tag in tags:
        assert TOKEN not in docker_env.docker("image", "inspect", tag).stdout
        assert TOKEN not in docker_env.docker("history", "--no-trunc", tag).stdout
    # and the rendered files are byte-identical
    outs = [tmp_path / "a", tmp_path / "b"]
    for out in outs:
        assert docker_env.cli("generate", repo, "-o", out, SOURCE_DATE_EPOCH="1700000000").returncode == 0
    files = [sorted((p.relative_to(out), p.read_bytes()) for p in out.rglob("*") if p.is_file()) for out in outs]
    assert files[0] == files[1]


# A hostile .git/config: every way it could make a git command run a program writes MARK into the marker directory.
HOSTILE = {
    "core.fsmonitor": "touch {m}/fsmonitor; false",
    "filter.evil.clean": "touch {m}/clean; cat",
    "filter.evil.smudge": "touch {m}/smudge; cat",
    "filter.evil.process": "touch {m}/process",
    "filter.evil.required": "true",
    "diff.external": "touch {m}/extdiff",
    "diff.evil.textconv": "touch {m}/textconv; cat",
    "core.pager": "touch {m}/pager; cat",
    "log.showSignature": "true",
    "gpg.program": "touch {m}/gpg",
    "core.askPass": "touch {m}/askpass",
    "credential.helper": "!touch {m}/credential",
    "core.sshCommand": "touch {m}/ssh",
    "alias.status": "!touch {m}/alias",
    "include.path": "{m}/included",
}
HOOKS = ("post-index-change", "post-checkout", "pre-commit", "reference-transaction", "fsmonitor-watchman")


@pytest.fixture
def shared_tmp() -> Iterator[Path]:
    """A directory every user can enter (pytest's tmp_path is root's alone), removed afterwards."""
    top = Path(tempfile.mkdtemp(prefix="sysimage-docker-git-"))
    top.chmod(0o755)
    yield top
    shutil.rmtree(top, ignore_errors=True)


def hostile_repo(top: Path, dirty: bool = True) -> tuple[Path, Path]:
    """A committed repository whose own config, attributes and hooks would run programs; a tracked file changed."""
    markers = top / "markers"
    markers.mkdir()
    markers.chmod(0o777)  # whoever ran a hostile command could write here
    root = top / "repo"
    shutil.copytree(EXAMPLES / "hello", root)
    (root / ".gitattributes").write_text("* filter=evil diff=evil\n")
    git(root, "init", "-q")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "first")
    git(root, "remote", "add", "origin", f"https://ci-bot:{TOKEN}@github.com/acme/hello.git")
    (markers / "included").write_text(f"[core]\n\tfsmonitor = touch {markers}/included-fsmonitor; false\n")
    for key, value in HOSTILE.items():
        git(root, "config", key, value.format(m=markers))
    for hook in HOOKS:
        script = root / ".git" / "hooks" / hook
        script.write_text(f"#!/bin/sh\ntouch {markers}/hook-{hook}\n")
        script.chmod(0o755)
    if dirty:
        (root / "bin" / "hello.jl").write_text("# changed\n")  # the dirty check must look at the work tree
    for path in [top, *top.rglob("*")]:
        if not path.is_symlink():
            path.chmod(path.stat().st_mode | 0o755 if path.is_dir() else path.stat().st_mode | 0o644)
    return root, markers


def test_a_hostile_repository_of_ones_own_runs_nothing_and_gives_the_labels(shared_tmp: Path) -> None:
    root, markers = hostile_repo(shared_tmp)
    commit = git(root, "rev-parse", "HEAD")
    warnings: list[str] = []
    found = provenance.labels(root, {}, warnings.append)
    assert sorted(p.name for p in markers.iterdir()) == ["included"]
    assert warnings == []
    assert found == {provenance.SOURCE: "https://github.com/acme/hello.git", provenance.REVISION: f"{commit}-dirty",
                     provenance.CREATED: "2025-03-04T04:06:07Z"}
    # the control: plain git status in the same repository runs the project's programs
    subprocess.run(["git", "-C", str(root), "status"], capture_output=True, env={"PATH": "/usr/bin:/bin"})
    assert (markers / "included-fsmonitor").exists()  # the included file's fsmonitor, read after .git/config's


def test_the_dirty_check_sees_a_clean_tree_as_clean(shared_tmp: Path) -> None:
    root, markers = hostile_repo(shared_tmp, dirty=False)
    found = provenance.labels(root, {})
    assert found[provenance.REVISION] == git(root, "rev-parse", "HEAD")
    assert sorted(p.name for p in markers.iterdir()) == ["included"]


@pytest.mark.skipif(os.geteuid() != 0, reason="changing a repository's owner needs root")
def test_a_repository_owned_by_another_user_is_refused_with_a_warning_as_root(shared_tmp: Path) -> None:
    root, markers = hostile_repo(shared_tmp)
    for path in [root, *root.rglob("*")]:
        os.lchown(path, 65534, 65534)
    warnings: list[str] = []
    found = provenance.labels(root, {"SOURCE_DATE_EPOCH": "0"}, warnings.append)
    assert found == {provenance.CREATED: "1970-01-01T00:00:00Z"}
    assert warnings == [f"no source and revision labels: git refused the repository (detected dubious ownership "
                        f"in repository at '{root}')"]
    assert sorted(p.name for p in markers.iterdir()) == ["included"]


AS_NOBODY = """
import sys
from pathlib import Path
from sysimage_containers import provenance
print(provenance.labels(Path(sys.argv[1]), {"SOURCE_DATE_EPOCH": "0"}, lambda m: print("warning:", m)))
"""


@pytest.mark.skipif(os.geteuid() != 0, reason="switching to another user needs root")
@pytest.mark.parametrize("owner", ["root", "nobody"])
def test_as_an_unprivileged_user(shared_tmp: Path, owner: str) -> None:
    """uid 65534 reads a repository owned by root (refused) and one of its own (labels, nothing run)."""
    if shutil.which("setpriv") is None:
        pytest.fail("setpriv (util-linux) is needed to run as an unprivileged user")
    root, markers = hostile_repo(shared_tmp)
    commit = git(root, "rev-parse", "HEAD")
    if owner == "nobody":
        for path in [root, *root.rglob("*")]:
            os.lchown(path, 65534, 65534)
    # uid 65534 keeps one capability, reading and searching any directory: the interpreter and this checkout may
    # lie under a directory only root can enter (/root, or .ci/run's mktemp copy). Git's ownership check compares
    # uids, so a capability to read changes nothing it decides; writing anything of another uid's stays refused.
    done = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                           "--bounding-set=-all,+dac_read_search", "--inh-caps=-all,+dac_read_search",
                           "--ambient-caps=-all,+dac_read_search", sys.executable, "-c", AS_NOBODY, str(root)],
                          capture_output=True, text=True, timeout=60,
                          env={"PATH": os.environ["PATH"], "PYTHONPATH": str(REPO), "HOME": str(shared_tmp)})
    assert done.returncode == 0, done.stderr
    if owner == "root":
        assert done.stdout.splitlines() == [
            "warning: no source and revision labels: git refused the repository (detected dubious ownership in "
            f"repository at '{root}')", "{'org.opencontainers.image.created': '1970-01-01T00:00:00Z'}"]
    else:
        assert done.stdout.splitlines() == [str({provenance.REVISION: f"{commit}-dirty",
                                                 provenance.SOURCE: "https://github.com/acme/hello.git",
                                                 provenance.CREATED: "1970-01-01T00:00:00Z"})]
    assert sorted(p.name for p in markers.iterdir()) == ["included"]


@pytest.mark.docker
@pytest.mark.parametrize("owner", ["root", "nobody"])
def test_building_a_hostile_repository(docker_env, shared_tmp: Path, owner: str) -> None:
    """`build` as root on the engine: a repository of its own gives the labels, another user's none and a warning;
    neither runs a program the repository names, and the remote's token is nowhere."""
    if owner == "nobody" and os.geteuid() != 0:
        pytest.skip("changing a repository's owner needs root")
    root, markers = hostile_repo(shared_tmp)
    commit = git(root, "rev-parse", "HEAD")
    if owner == "nobody":
        for path in [root, *root.rglob("*")]:
            os.lchown(path, 65534, 65534)
    tag = docker_env.unique_tag(f"hostile-git-{owner}")
    meta = shared_tmp / "build.json"
    result = docker_env.build(root, "-t", tag, "--metadata-file", str(meta), SOURCE_DATE_EPOCH="0")
    assert result.returncode == 0, result.stderr
    labels = json.loads(docker_env.docker("image", "inspect", tag).stdout)[0]["Config"]["Labels"]
    refusal = ("sysimage-docker: warning: no source and revision labels: git refused the repository (detected "
               f"dubious ownership in repository at '{root}')")
    if owner == "nobody":
        assert refusal in result.stderr.splitlines()
        assert provenance.SOURCE not in labels and provenance.REVISION not in labels
    else:
        assert refusal not in result.stderr.splitlines()
        assert labels[provenance.SOURCE] == "https://github.com/acme/hello.git"
        assert labels[provenance.REVISION] == f"{commit}-dirty"
    assert labels[provenance.CREATED] == "1970-01-01T00:00:00Z"
    assert sorted(p.name for p in markers.iterdir()) == ["included"]
    image = subprocess.run([docker_env.client, "save", tag], capture_output=True, check=True, timeout=120).stdout
    history = docker_env.docker("history", "--no-trunc", tag).stdout
    for text in (image.decode("latin-1"), history, json.dumps(labels), meta.read_text(), result.stderr):
        assert TOKEN not in text


def test_dirty_means_changed_content_not_a_touched_file(tmp_path: Path) -> None:
    """diff-index without a refresh sees stat changes only; a touched or chmod-ed file with the same content is
    hashed (no filters run) and stays clean, also for a project in a subdirectory of its repository."""
    top = tmp_path / "repo"
    (top / "sub").mkdir(parents=True)
    (top / "sub" / "a.txt").write_text("x\n")
    (top / "b.txt").write_text("y\n")
    for args in (("init", "-q"), ("add", "."), ("-c", "user.name=t", "-c", "user.email=t@example.org",
                                                 "commit", "-qm", "m")):
        subprocess.run(["git", "-C", str(top), *args], check=True, capture_output=True)
    commit = subprocess.run(["git", "-C", str(top), "rev-parse", "HEAD"], check=True, capture_output=True,
                            text=True).stdout.strip()
    later = time.time() + 5
    os.utime(top / "sub" / "a.txt", (later, later))
    os.chmod(top / "b.txt", 0o644)
    assert provenance.labels(top / "sub", {})[provenance.REVISION] == commit
    (top / "b.txt").write_text("changed\n")  # outside the project's directory, inside its repository
    assert provenance.labels(top / "sub", {})[provenance.REVISION] == commit + "-dirty"
