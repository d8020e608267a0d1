"""Provenance labels: the git remote without credentials, the commit (dirty or not), the creation time
(SOURCE_DATE_EPOCH, else the commit time), as build-time labels; reproducible with SOURCE_DATE_EPOCH."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest
from conftest import EXAMPLES

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
    if shutil.which("git") is None:  # .ci/run installs git: under CI a missing git is a failure
        if os.environ.get("CI"):
            pytest.fail("git is not installed")
        pytest.skip("git is not installed")
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
