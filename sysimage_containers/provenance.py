"""Provenance labels for the image `build` makes: where the source came from and when.

`org.opencontainers.image.source` (the git remote `origin` when it is a network URL, credentials stripped; no
label for a local path), `.revision` (the commit, `-dirty` when the
work tree has changes) and `.created` (SOURCE_DATE_EPOCH when set, else the commit time, else now). They are passed
to the engine as build-time labels (`--label`), not rendered into the Dockerfile, so that `generate` stays
deterministic and a new commit does not change the rendered files.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

from sysimage_containers.errors import UsageError
from sysimage_containers.urls import strip_credentials

SOURCE, REVISION, CREATED = ("org.opencontainers.image.source", "org.opencontainers.image.revision",
                             "org.opencontainers.image.created")

# The repository's own .git/config is the project's, so untrusted: every key it could use to make the commands
# below run a program is overridden on the command line, which outranks it (git-config(1), "FILES"). The commands
# are plumbing (rev-parse, diff-index, config, log with a fixed format), which use no pager, alias, editor,
# credential helper or ssh; what remains is what reading the index and comparing the work tree can run:
# core.fsmonitor (run whenever the index is read), hooks (post-index-change when an index is written; also
# GIT_OPTIONAL_LOCKS=0, so nothing is written), external diff and textconv, signature checks (gpg.program via
# log.showSignature), and the clean/process filters of .gitattributes (run when a racily clean file is hashed),
# which are switched off per driver below. trace2.* targets (files, sockets) are read from system and global config
# only (git Documentation/config/trace2.txt). git's ownership check (safe.directory) stays: the operator's global
# config may trust a directory, the project's cannot (git-config(1), safe.directory: "only respected when
# specified in a system or global config").
NEUTRAL_CONFIG = ("core.fsmonitor=false", "core.hooksPath=/dev/null", "core.untrackedCache=false",
                  "diff.external=", "log.showSignature=false", "core.pager=cat", "gc.auto=0",
                  "maintenance.auto=false")
FILTER_KEYS = ("clean", "smudge", "process")
REFUSED = "dubious ownership"  # git's own words when the repository belongs to another user


def _environment() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("GIT_EXTERNAL_DIFF", "GIT_PAGER", "PAGER")}
    env.update({"GIT_OPTIONAL_LOCKS": "0", "GIT_TERMINAL_PROMPT": "0", "GIT_PAGER": "cat", "LC_ALL": "C"})
    return env


def _run(root: Path, config: tuple[str, ...], args: tuple[str, ...]) -> subprocess.CompletedProcess[str] | None:
    command = ["git", "--no-pager"]
    for item in config:
        command += ["-c", item]
    try:
        return subprocess.run([*command, "-C", str(root), *args], capture_output=True, text=True, timeout=20,
                              env=_environment(), stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired):
        return None


def _filter_overrides(root: Path) -> tuple[str, ...]:
    """Every filter driver any config defines, emptied (an empty command is no filter) and made optional."""
    done = _run(root, NEUTRAL_CONFIG, ("config", "--null", "--name-only", "--get-regexp", r"^filter\..*\."))
    if done is None or done.returncode != 0:
        return ()
    drivers = {name[len("filter."):].rsplit(".", 1)[0] for name in done.stdout.split("\0") if name}
    return tuple(f"filter.{d}.{key}=" for d in sorted(drivers) for key in FILTER_KEYS) + tuple(
        f"filter.{d}.required=false" for d in sorted(drivers))


def git(root: Path, *args: str, refused: Callable[[str], None] | None = None) -> str | None:
    """A read-only git query in `root` that runs nothing the repository names; None when git is missing or says
    no. `refused` hears git's one-line reason when it refuses a repository owned by another user."""
    done = _run(root, NEUTRAL_CONFIG + _filter_overrides(root), args)
    if done is None:
        return None
    if done.returncode != 0:
        if refused is not None and REFUSED in done.stderr:
            refused(done.stderr.strip().splitlines()[0].removeprefix("fatal: "))
        return None
    return done.stdout.strip()


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


def _dirty(root: Path) -> bool:
    """Whether a tracked file differs from HEAD, without refreshing the index (nothing is written) and without
    running a filter: diff-index compares stat data only, so a file whose stat changed but not its content (a chmod,
    a touch, a fresh copy) is reported with an unknown new blob; such files are hashed as they are on disk
    (`hash-object --no-filters`, which runs no clean filter) and count only when their content differs. A file
    that a configured filter would normalise therefore reads as changed: dirty errs on the side of saying so."""
    config = NEUTRAL_CONFIG + _filter_overrides(root)
    raw = _run(root, config, ("diff-index", "-z", "--raw", "--no-renames", "--no-ext-diff", "--no-textconv",
                              "--ignore-submodules", "HEAD", "--"))
    if raw is None or raw.returncode != 0:
        return False
    fields = raw.stdout.split("\0")
    unknown: list[tuple[str, str]] = []  # (path, blob in HEAD) whose content must be compared
    for head, path in zip(fields[0::2], fields[1::2], strict=False):
        if not head.startswith(":"):
            continue
        old_mode, new_mode, old_blob, new_blob, status = head[1:].split(" ")
        if status != "M" or old_mode != new_mode or set(new_blob) != {"0"}:
            return True
        unknown.append((path, old_blob))
    if not unknown:
        return False
    top = _run(root, config, ("rev-parse", "--show-toplevel"))  # diff-index names paths from the top
    if top is None or top.returncode != 0:
        return True
    hashed = _run(Path(top.stdout.strip()), config, ("hash-object", "--no-filters", "--",
                                                     *(path for path, _ in unknown)))
    if hashed is None or hashed.returncode != 0:
        return True
    return hashed.stdout.split() != [blob for _, blob in unknown]


def labels(root: Path, environ: Mapping[str, str], warn: Callable[[str], None] | None = None) -> dict[str, str]:
    found: dict[str, str] = {}
    refusal: list[str] = []
    commit = git(root, "rev-parse", "--verify", "-q", "HEAD", refused=refusal.append)
    if refusal and warn is not None:
        warn(f"no source and revision labels: git refused the repository ({refusal[0]})")
    if commit:
        found[REVISION] = commit + ("-dirty" if _dirty(root) else "")
        remote = git(root, "config", "--get", "remote.origin.url")
        source = remote_source(remote) if remote else None
        if source:
            found[SOURCE] = source
    found[CREATED] = created(environ, git(root, "log", "-1", "--no-show-signature", "--format=%cI", "HEAD")
                             if commit else None)
    return found
