"""Provenance labels for the image `build` makes: where the source came from and when.

`org.opencontainers.image.source` (the git remote `origin` when it is a network URL, credentials stripped; no
label for a local path), `.revision` (the commit, `-dirty` when the
work tree has changes) and `.created` (SOURCE_DATE_EPOCH when set, else the commit time, else now). They are passed
to the engine as build-time labels (`--label`), not rendered into the Dockerfile, so that `generate` stays
deterministic and a new commit does not change the rendered files.
"""

from __future__ import annotations

import subprocess
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from sysimage_containers.errors import UsageError

SOURCE, REVISION, CREATED = ("org.opencontainers.image.source", "org.opencontainers.image.revision",
                             "org.opencontainers.image.created")


def git(root: Path, *args: str) -> str | None:
    """A read-only git query in `root`; None when git is missing or says no."""
    try:
        done = subprocess.run(["git", "-c", "safe.directory=*", "-C", str(root), *args], capture_output=True,
                              text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def strip_credentials(url: str) -> str:
    """https://user:token@host/path -> https://host/path; scp-like git@host:path has no password to strip."""
    parts = urlsplit(url)
    if not parts.scheme or not parts.netloc or "@" not in parts.netloc:
        return url
    host = parts.netloc.rsplit("@", 1)[1]
    return urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))


def remote_source(url: str) -> str | None:
    """The remote as a label value: a network URL (credentials stripped), or None for a local repository.

    Git's own rule decides what is local (connect.c, url_is_local_not_ssh): no "://" and either no ':' or a '/'
    before the first ':' is a path; `file://` is a path too. A path names the builder's disk, not a source anyone
    else can fetch, and may reveal a user name.
    """
    if "://" in url:
        parts = urlsplit(url)
        if parts.scheme.lower() == "file" or not parts.hostname:
            return None
        return strip_credentials(url)
    host, colon, _ = url.partition(":")
    if not colon or "/" in host or not host:
        return None
    return url


def created(environ: Mapping[str, str], commit_time: str | None, now: datetime | None = None) -> str:
    epoch = environ.get("SOURCE_DATE_EPOCH", "").strip()
    if epoch:
        if not epoch.isdigit():
            raise UsageError(f"SOURCE_DATE_EPOCH: {epoch!r} is not a number of seconds since 1970")
        moment = datetime.fromtimestamp(int(epoch), UTC)
    elif commit_time:
        moment = datetime.fromisoformat(commit_time).astimezone(UTC)
    else:
        moment = now or datetime.now(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def labels(root: Path, environ: Mapping[str, str]) -> dict[str, str]:
    found: dict[str, str] = {}
    commit = git(root, "rev-parse", "HEAD")
    if commit:
        dirty = git(root, "status", "--porcelain", "--untracked-files=no")
        found[REVISION] = commit + ("-dirty" if dirty else "")
        remote = git(root, "remote", "get-url", "origin")
        source = remote_source(remote) if remote else None
        if source:
            found[SOURCE] = source
    found[CREATED] = created(environ, git(root, "log", "-1", "--format=%cI") if commit else None)
    return found
