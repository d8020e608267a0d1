"""The build context: which files enter it, decided by one walk that `generate`, `generate -o` and `build` share.

`walk` checks the whole tree and lists what will be copied (nothing is read or written); `write_context` and
`populate` copy that listing. So printing, writing and building give the same verdict on the same project.

What enters, in order (README "What enters the image"):
1. Exclusion patterns with Docker's `.dockerignore` semantics, the last matching line winning: the default
   exclusions (VCS folders, secrets, depots, caches), then the project's own `.dockerignore`, then
   `context_exclude`, then the sources of `--secret` files (those last, so nothing can bring them back).
   A path is judged under every name it is reached by: the path through symlinked directories (`alias/x`) and
   its real place (`data/x`); either one excluding it leaves it out.
2. Symlinks are resolved at every depth, inside symlinked directories too; a link whose target leaves the project
   is refused, a link to an excluded path is left out, a loop is refused.
3. Only regular files and directories: a FIFO, socket or device that is not excluded is refused.
4. A regular file with more hard links than the context holds names of is refused: its other name may be a file
   outside the project or one left out, and nothing tells which.
"""

from __future__ import annotations

import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from sysimage_containers.config import Config
from sysimage_containers.errors import UsageError
from sysimage_containers.plan import CONTEXT_TOOL, BuildPlan, ExtraFile
from sysimage_containers.project import VERSIONED_MANIFEST_RE, Environment
from sysimage_containers.tomlfiles import names as name_list

IGNORE_FILE = ".dockerignore"
MANIFEST_NAMES = ("Manifest.toml", "JuliaManifest.toml")
# Left out unless a `!pattern` in .dockerignore brings one back (which warns for these two groups).
VCS_EXCLUDES = ("**/.git", "**/.hg", "**/.svn", "**/.jj", "**/.bzr")  # history, and remote URLs with tokens
# Each ecosystem's documented place for credentials, at any depth (a project may hold a copied home directory).
SECRET_EXCLUDES = (
    "**/.env", "**/.env.*",  # dotenv files: API keys, passwords
    # private keys and key stores (PEM, PKCS#12, Java)
    "**/id_rsa*", "**/id_dsa*", "**/id_ecdsa*", "**/id_ed25519*", "**/*.pem", "**/*.key", "**/*.p12", "**/*.pfx",
    "**/*.jks",
    "**/.ssh", "**/.gnupg",  # SSH and GnuPG homes
    "**/.netrc", "**/.git-credentials",  # curl/git/Pkg's HTTP logins, git's credential store
    "**/.docker/config.json",  # registry logins
    "**/.npmrc", "**/.pypirc", "**/.gem/credentials", "**/.cargo/credentials", "**/.cargo/credentials.toml",
    "**/.pgpass", "**/.my.cnf",  # PostgreSQL and MySQL passwords
    "**/.aws", "**/.azure", "**/.config/gcloud", "**/.kube/config",  # cloud and cluster logins
    "**/.terraformrc", "**/.terraform.d/credentials.tfrc.json", "**/.vault-token",
)
OTHER_EXCLUDES = (
    "**/.julia",  # a Julia depot: the builder makes its own (and servers/*/auth.toml holds Pkg server tokens)
    "**/__pycache__",
)
DEFAULT_EXCLUDES = (*VCS_EXCLUDES, *SECRET_EXCLUDES, *OTHER_EXCLUDES)
# dotenv templates: brought back on purpose, holding no values (no warning for these)
DOTENV_TEMPLATES = ("**/.env.example", "**/.env.sample", "**/.env.template", "**/.env.dist")
_GLOB_CHARS = re.compile(r"[*?\[]")


def _default_regex(pattern: str) -> str:
    """`**/NAME[/NAME]` with `*` inside names (the only shapes DEFAULT_EXCLUDES has): a path is excluded when one
    of its ancestors, or itself, ends with those names, which is where Docker's matcher matches it too."""
    assert pattern.startswith("**/") and "**" not in pattern[3:] and not set(pattern) & set("?[\\!")
    return "[^/]*".join(re.escape(part) for part in pattern[3:].split("*"))


_DEFAULTS_RE = re.compile(r"(?:^|/)(?:" + "|".join(_default_regex(p) for p in DEFAULT_EXCLUDES) + r")(?:/|$)")
_SPECIAL = {stat.S_IFIFO: "a FIFO", stat.S_IFSOCK: "a socket", stat.S_IFCHR: "a character device",
            stat.S_IFBLK: "a block device"}


@dataclass(frozen=True)
class ContextFile:
    rel: str  # where it lands, relative to the context root
    source: Path  # the real file (symlinks resolved)
    size: int


@dataclass(frozen=True)
class Listing:
    """What the context will hold, and what was left out (paths as the user knows them)."""

    dirs: tuple[str, ...]
    files: tuple[ContextFile, ...]
    left_out: tuple[str, ...]
    ignore_files: tuple[str, ...]  # the .dockerignore files that were read
    warnings: tuple[str, ...] = ()  # `!` lines that bring back a default-excluded secret
    other_rules: tuple[str, ...] = ()  # the other sources of exclusions in effect: context_exclude, --secret

    @property
    def total_bytes(self) -> int:
        return sum(f.size for f in self.files)

    def notes(self) -> list[str]:
        if not self.left_out:
            return []
        rules = ["the default exclusions", *self.ignore_files, *self.other_rules]
        by = ", ".join(rules[:-1]) + " and " + rules[-1] if len(rules) > 1 else rules[0]
        return [f"left out of the build context by {by}: {name_list(list(self.left_out))} "
                "(a `!PATTERN` line in .dockerignore brings one back)"]

    def size_warnings(self, limit_mb: int) -> list[str]:
        total = self.total_bytes
        if limit_mb <= 0 or total <= limit_mb * 1_000_000:
            return []
        largest = sorted(self.files, key=lambda f: (-f.size, f.rel))[:3]
        shown = ", ".join(f"{f.rel} ({f.size / 1e6:.1f} MB)" for f in largest)
        return [f"the build context holds {total / 1e6:.1f} MB (over context_warn_mb = {limit_mb}); largest: "
                f"{shown}; leave files out with .dockerignore or context_exclude"]


def check_inputs(root: Path, config: Config) -> None:
    """Files named in the config must exist inside the project (symlinks included)."""
    for key, rel in _named_inputs(config):
        path = root / rel
        if not path.exists():
            raise UsageError(f"{key}: {rel}: file not found in the project")
        if not path.is_file():
            raise UsageError(f"{key}: {rel}: not a file")
        if not path.resolve().is_relative_to(root):
            raise UsageError(f"{key}: {rel}: resolves outside the project (symlink)")
        if key.startswith("hooks.") and not rel.endswith(".jl") and not path.stat().st_mode & 0o111:
            raise UsageError(f"{key}: {rel}: not executable (chmod +x it, or write the hook as a .jl file)")


def _named_inputs(config: Config) -> list[tuple[str, str]]:
    named = [("precompile_files", f) for f in config.precompile_files]
    named += [("statements_files", f) for f in config.statements_files]
    if config.script is not None:
        named.append(("script", config.script))
    if config.test_workload:
        named.append(("test_workload", "test/runtests.jl"))
    named += [(f"hooks.{stage}", f) for stage, files in config.hooks for f in files]
    return named


def walk(environment: Environment, plan: BuildPlan, config: Config, *, leave_out: tuple[str, ...] = (),
         skip: tuple[Path, ...] = (), secret_sources: tuple[Path, ...] = ()) -> Listing:
    """Check every path that would enter the context and list it; raises UsageError on the first refusal.

    `leave_out`: project-relative files that must never enter (secret sources); `secret_sources`: the same files
    (wherever they are), matched by identity whatever path or hard link reaches them; `skip`: directories never
    entered (a `-o` output inside the project and its staging copy).
    """
    project = environment.project
    selected = environment.manifest.file if environment.manifest else None
    acc = _Accumulator(secrets=_identities(secret_sources))
    if config.context_root is not None:
        acc.outer = _outer_rules(Path(plan.context_root), acc)
    roots = {d.name: d.resolved for d in environment.path_deps}
    for external in plan.external_deps:
        root = roots[external.name]
        _Walker(root, external.context_path, _matcher(root, config.context_exclude, (), acc), acc,
                skip=frozenset(skip), selected_manifest=None).run()
    _Walker(project.root, plan.app_context, _matcher(project.root, config.context_exclude, leave_out, acc), acc,
            skip=frozenset(skip), selected_manifest=selected).run()
    walked = frozenset([project.root, *roots.values()])
    for extra in plan.extra_files:
        _extra(project.root, Path(plan.context_root), extra, acc, frozenset(skip), walked)
    _check_hard_links(acc)
    listing = Listing(dirs=tuple(acc.dirs), files=tuple(acc.files), left_out=tuple(acc.left_out),
                      ignore_files=tuple(dict.fromkeys(acc.ignore_files)), warnings=_brought_back_warnings(acc),
                      other_rules=(*(["context_exclude"] if config.context_exclude else []),
                                   *(["the --secret sources"] if leave_out or secret_sources else [])))
    _check_required(listing, plan, config)
    return listing


def _outer_rules(context_root: Path, acc: _Accumulator) -> tuple[_Rules, Path] | None:
    """The context root's own .dockerignore, its patterns relative to the context root (as Docker reads the
    .dockerignore of a context): applied to every path under it, the project's and extra_files' too."""
    try:
        real = context_root.resolve(strict=True)
    except (OSError, RuntimeError):
        return None  # a missing context_root is reported where it is used
    _, lines = _read_ignore_file(real, acc)
    return (_Rules(lines), real) if lines else None


def _identities(paths: tuple[Path, ...]) -> frozenset[tuple[int, int]]:
    found = set()
    for path in paths:
        try:
            st = path.stat()
        except OSError:
            continue  # a missing secret source is the engine's error to report
        found.add((st.st_dev, st.st_ino))
    return frozenset(found)


def _extra(project_root: Path, context_root: Path, extra: ExtraFile, acc: _Accumulator, skip: frozenset[Path],
           walked: frozenset[Path]) -> None:
    """One of extra_files, a path or a glob (`walked`: the trees copied already, left out of a walk of the whole
    context root)."""
    path = Path(os.path.normpath(project_root / extra.configured))
    if not _GLOB_CHARS.search(extra.configured):
        _extra_path(path, extra.context_path, context_root, extra.configured, acc, skip | walked)
        return
    import glob  # only a glob pays for it

    # `**` is refused when the config is read: a match is at most as deep as the pattern, whatever links are met
    matches = sorted(glob.glob(str(path)))
    if not matches:
        raise UsageError(f"extra_files: {extra.configured}: matches nothing ({path})")
    depth = len(PurePosixPath(extra.context_path).parts) - 1  # the pattern's names below the mirrored tree root
    prefix = PurePosixPath(extra.context_path).parts[0]
    for match in matches:
        if Path(match).resolve() in walked:
            continue  # the project (`../*` matches it) or a path dependency: in the context already
        tail = Path(match).parts[-depth:]
        _extra_path(Path(match), "/".join((prefix, *tail)), context_root, extra.configured, acc, skip | walked)


def _extra_path(path: Path, context_path: str, context_root: Path, configured: str, acc: _Accumulator,
                skip: frozenset[Path]) -> None:
    """One file or directory of extra_files: it must exist and, symlinks resolved, stay inside context_root; the
    default exclusions and --secret sources hold for it under its written and its real path. A directory is walked
    with the default exclusions and its own .dockerignore (context_exclude is about the project)."""
    try:
        real = path.resolve(strict=True)
        boundary = context_root.resolve(strict=True)
    except FileNotFoundError:
        raise UsageError(f"extra_files: {configured}: not found ({path})") from None
    except (RuntimeError, OSError) as exc:
        raise UsageError(f"extra_files: {configured}: cannot read: {exc}") from None
    if not real.is_relative_to(boundary):
        raise UsageError(f"extra_files: {configured}: resolves outside context_root ({real})")
    if real == boundary and path != context_root:
        raise UsageError(f"extra_files: {configured}: resolves to context_root itself ({real}); name it as the "
                         "directory it is")
    defaults = _Rules([], with_defaults=True)
    names = (path.relative_to(context_root).as_posix(), real.relative_to(boundary).as_posix())
    for name in dict.fromkeys(n for n in names if n != "."):
        if defaults.excluded(name):
            raise UsageError(f"extra_files: {configured}: the default exclusions leave {name} out (secrets, "
                             "version control, depots); extra_files cannot bring it in")
        if acc.outer is not None and acc.outer[0].excluded(name):
            raise UsageError(f"extra_files: {configured}: {acc.outer[1]}/{IGNORE_FILE} leaves {name} out; "
                             "extra_files cannot bring it in")
    st = real.stat()
    if (st.st_dev, st.st_ino) in acc.secrets:
        raise UsageError(f"extra_files: {configured}: is the source of a --secret, which never enters the build "
                         "context")
    if real.is_dir():
        _Walker(real, context_path, _matcher(real, (), (), acc), acc, skip=skip, selected_manifest=None).run()
    elif real.is_file():
        if not os.access(real, os.R_OK):
            raise UsageError(f"extra_files: {configured}: permission denied")
        acc.dirs.append(context_path.rsplit("/", 1)[0])
        acc.add_file(ContextFile(context_path, real, st.st_size), st, path)
    else:
        raise UsageError(f"extra_files: {configured}: not a regular file or directory")


def _check_hard_links(acc: _Accumulator) -> None:
    """A file with more names than the context holds: another name may be outside the project (a hard link to a
    host file) or left out (an excluded secret); nothing tells which, so it is refused. Names reached twice
    (through a symlinked directory) are one name: they are counted by real path."""
    for identity, (nlink, shown) in sorted(acc.linked.items(), key=lambda item: str(item[1][1])):
        found = len(acc.names[identity])
        if found < nlink:
            raise UsageError(f"{shown}: has {nlink} hard links and the build context holds {found} of them; another "
                             "may be a file outside the project or one left out, so it is refused (replace it with "
                             "a copy, or leave it out with .dockerignore or context_exclude)")


def _brought_back_warnings(acc: _Accumulator) -> tuple[str, ...]:
    lines = []
    for where, names in acc.brought_back.items():
        shown = name_list(sorted(set(names)))
        lines.append(f"{where} brings back {shown}, which the default exclusions leave out as a secret or version "
                     "control: the image will hold it")
    return tuple(lines)


def _check_required(listing: Listing, plan: BuildPlan, config: Config) -> None:
    """Every file a COPY or the container needs must have survived the exclusions."""
    present = {f.rel for f in listing.files}
    needed = [c.source for c in (*plan.dependency_copies, *plan.workload_copies)]
    needed += [f"{plan.app_context}/{rel}" for _, rel in _named_inputs(config)]
    dirs = set(listing.dirs)
    for rel in needed:
        if rel not in present and rel not in dirs:
            shown = rel[len(plan.app_context) + 1:] if rel.startswith(plan.app_context + "/") else rel
            raise UsageError(f"{shown}: the image needs it, but .dockerignore or context_exclude leaves it out of "
                             "the build context")


@dataclass
class _Accumulator:
    dirs: list[str] = field(default_factory=list)
    files: list[ContextFile] = field(default_factory=list)
    left_out: list[str] = field(default_factory=list)
    ignore_files: list[str] = field(default_factory=list)
    secrets: frozenset[tuple[int, int]] = frozenset()
    # files with st_nlink > 1: identity -> (link count, first path shown); and the real paths found of each
    linked: dict[tuple[int, int], tuple[int, Path]] = field(default_factory=dict)
    names: dict[tuple[int, int], set[Path]] = field(default_factory=dict)
    brought_back: dict[str, list[str]] = field(default_factory=dict)  # `FILE:LINE: !PATTERN` -> files
    outer: tuple[_Rules, Path] | None = None  # context_root's .dockerignore, and context_root (real path)

    def add_file(self, item: ContextFile, st: os.stat_result, shown: Path) -> None:
        self.files.append(item)
        if st.st_nlink > 1:
            identity = (st.st_dev, st.st_ino)
            self.linked.setdefault(identity, (st.st_nlink, shown))
            self.names.setdefault(identity, set()).add(item.source)


def _matcher(root: Path, context_exclude: tuple[str, ...], leave_out: tuple[str, ...], acc: _Accumulator) -> _Rules:
    literal = ["".join("\\" + c if c in "\\*?[" else c for c in rel) for rel in leave_out]
    ignore_file, lines = _read_ignore_file(root, acc)
    reincluding = [(f"{ignore_file}:{number}: {line.strip()}", line) for number, line in enumerate(lines, start=1)
                   if line.strip().startswith("!")]
    reincluding += [(f"context_exclude: {p.strip()}", p) for p in context_exclude if p.strip().startswith("!")]
    return _Rules([*lines, *context_exclude, *literal], reincluding, with_defaults=True)


def _read_ignore_file(root: Path, acc: _Accumulator) -> tuple[str, list[str]]:
    path = root / IGNORE_FILE
    try:
        if not path.is_file():
            return str(path), []
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise UsageError(f"{path}: not valid UTF-8") from None
    except OSError as exc:
        raise UsageError(f"{path}: cannot read: {exc.strerror}") from None
    lines = text.splitlines()
    for number, line in enumerate(lines, start=1):
        try:
            _Rules([line])
        except ValueError as exc:
            raise UsageError(f"{path}:{number}: {exc}") from None
    acc.ignore_files.append(str(path))
    return str(path), lines


class _Rules:
    """Docker's own matcher (moby/patternmatcher, as ported by e2b-dockerfile-utils): parent directories are
    matched first, and the last matching pattern wins, `!` patterns re-including. `reincluding`: the `!` lines,
    as (where they are written, the line), to name the one that brings back a default-excluded secret.

    `with_defaults`: the default exclusions come first. Without a `!` line after them, nothing can bring one
    back, so they are one regular expression (`_DEFAULTS_RE`, the same verdict: a test compares them) and the
    matcher holds the other patterns only: a walk matches every path (twice through a symlinked directory), and
    Docker's matcher tries each pattern at each depth of it."""

    def __init__(self, patterns: list[str], reincluding: list[tuple[str, str]] | None = None,
                 with_defaults: bool = False) -> None:
        # imported here: only commands that look at a project's files pay for it
        from e2b_dockerfile_utils.dockerignore import PatternMatcher

        self._defaults = with_defaults and not any(p.strip().startswith("!") for p in patterns)
        self._matcher = PatternMatcher(patterns if self._defaults or not with_defaults
                                       else [*DEFAULT_EXCLUDES, *patterns])
        self.reincluding = [(where, PatternMatcher([line.strip()[1:]])) for where, line in reincluding or []]
        self._secret = PatternMatcher([*VCS_EXCLUDES, *SECRET_EXCLUDES]) if self.reincluding else None
        self._templates = PatternMatcher(list(DOTENV_TEMPLATES)) if self.reincluding else None

    def excluded(self, rel: str) -> bool:
        if self._defaults and _DEFAULTS_RE.search(rel):
            return True
        return bool(self._matcher.matches(rel))

    def may_reinclude_under(self, rel: str) -> bool:
        return bool(self._matcher.may_match_under(rel))

    def bringing_back(self, names: tuple[str, ...]) -> list[str]:
        """The `!` lines that bring back a file the default exclusions leave out as a secret (the file entered)."""
        if self._secret is None or self._templates is None or not any(self._secret.matches(n) for n in names):
            return []
        if all(self._templates.matches(n) for n in names):
            return []
        return [where for where, pattern in self.reincluding if any(pattern.matches(n) for n in names)]


class _Walker:
    """Depth-first over one tree (the project, or an outside path dependency) with symlinks resolved.

    Every entry is judged under each name that reaches it: `rel`, the path as walked (through symlinked
    directories, where it lands in the context), and its real place under the root; a symlink also under its
    target's. Either one excluded leaves it out, so `alias -> data` cannot bring back an excluded `data/x`."""

    def __init__(self, root: Path, prefix: str, rules: _Rules, acc: _Accumulator, *, skip: frozenset[Path],
                 selected_manifest: str | None) -> None:
        self.root, self.prefix, self.rules, self.acc = root, prefix, rules, acc
        self.skip, self.selected = skip, selected_manifest
        # the rule sets that judge a name: this tree's own, and context_root's with the name relative to it
        self.judges: list[tuple[_Rules, str]] = [(rules, "")]
        if acc.outer is not None and root.is_relative_to(acc.outer[1]):
            below = root.relative_to(acc.outer[1]).as_posix()
            self.judges.append((acc.outer[0], "" if below == "." else below + "/"))

    def _excluding(self, names: tuple[str, ...]) -> list[tuple[_Rules, str]]:
        return [(rules, f"{at}{n}") for rules, at in self.judges for n in names if rules.excluded(f"{at}{n}")]

    def run(self) -> None:
        self._directory(self.root, "", ancestors=(self._identity(self.root, self.root),))

    @staticmethod
    def _identity(real: Path, shown: Path) -> tuple[int, int]:
        try:
            st = real.stat()
        except OSError as exc:
            raise UsageError(f"{shown}: cannot read: {exc.strerror}") from None
        return st.st_dev, st.st_ino

    def _directory(self, real: Path, rel: str, ancestors: tuple[tuple[int, int], ...]) -> None:
        self.acc.dirs.append(self._dest(rel))
        try:
            with os.scandir(real) as it:
                names = sorted(entry.name for entry in it)
        except OSError as exc:
            raise UsageError(f"{self._shown(rel)}: cannot read: {exc.strerror}") from None
        for name in names:
            child_rel = f"{rel}/{name}" if rel else name
            self._entry(real / name, child_rel, ancestors)

    def _shown(self, rel: str) -> Path:
        """The path as the user sees it: through symlinked directories, not around them."""
        return self.root / rel if rel else self.root

    def _real_rel(self, path: Path) -> str:
        return path.relative_to(self.root).as_posix()

    def _entry(self, path: Path, rel: str, ancestors: tuple[tuple[int, int], ...]) -> None:
        # `path` is the entry's real place: its parent directory is always walked at its real path
        if path in self.skip:
            return
        real_rel = self._real_rel(path)
        if "/" not in real_rel and self.selected is not None and _other_manifest(real_rel, self.selected):
            return  # a manifest Julia would not load in the image
        shown = self._shown(rel)
        try:
            st = path.lstat()
        except OSError as exc:
            raise UsageError(f"{shown}: cannot read: {exc.strerror}") from None
        names = (rel,) if real_rel == rel else (rel, real_rel)
        excluding = self._excluding(names)
        if excluding:
            # an excluded directory is still entered when a `!pattern` may bring back something below it; what is
            # below is judged under all its names again
            if stat.S_ISDIR(st.st_mode) and all(rules.may_reinclude_under(n) for rules, n in excluding):
                self._enter(path, rel, ancestors, listed=False)
            else:
                self.acc.left_out.append(rel if real_rel == rel else f"{rel} -> {real_rel}")
            return
        real = path
        if stat.S_ISLNK(st.st_mode):
            real = self._resolve_link(path, shown)
            target_rel = self._real_rel(real)
            if target_rel != "." and self._excluding((target_rel,)):
                self.acc.left_out.append(f"{rel} -> {target_rel}")
                return
            names = (*names, target_rel)
            st = real.stat()
        if stat.S_ISDIR(st.st_mode):
            self._enter(real, rel, ancestors, listed=True)
        elif stat.S_ISREG(st.st_mode):
            if (st.st_dev, st.st_ino) in self.acc.secrets:
                self.acc.left_out.append(f"{rel} (a --secret source)")
                return
            if not os.access(real, os.R_OK):
                raise UsageError(f"{shown}: permission denied while reading the project")
            for where in self.rules.bringing_back(names):
                self.acc.brought_back.setdefault(where, []).append(rel)
            self.acc.add_file(ContextFile(self._dest(rel), real, st.st_size), st, shown)
        else:
            kind = _SPECIAL.get(stat.S_IFMT(st.st_mode), "not a regular file")
            raise UsageError(f"{shown}: is {kind}, which a build context cannot hold; leave it out with "
                             ".dockerignore or context_exclude")

    def _enter(self, real: Path, rel: str, ancestors: tuple[tuple[int, int], ...], listed: bool) -> None:
        shown = self._shown(rel)
        identity = self._identity(real, shown)
        if identity in ancestors:
            raise UsageError(f"{shown}: symlink loop: it leads back to {real}, a directory that contains it")
        if not os.access(real, os.R_OK | os.X_OK):
            raise UsageError(f"{shown}: permission denied while reading the project")
        if listed and _earlier_output(real):
            self.acc.left_out.append(rel)
            return
        before = (len(self.acc.dirs), len(self.acc.files))
        self._directory(real, rel, (*ancestors, identity))
        if not listed and (len(self.acc.dirs), len(self.acc.files)) == (before[0] + 1, before[1]):
            # walked only for re-included paths, and none was found: the directory stays out
            self.acc.dirs.pop()
            self.acc.left_out.append(rel)

    def _resolve_link(self, path: Path, shown: Path) -> Path:
        try:
            target = path.resolve(strict=True)
        except FileNotFoundError:
            raise UsageError(f"{shown}: dangling symlink (to {os.readlink(path)}); remove it or leave it out with "
                             ".dockerignore") from None
        except (RuntimeError, OSError):  # Python 3.11 raises RuntimeError on a loop, later ones OSError (ELOOP)
            raise UsageError(f"{shown}: symlink loop ({os.readlink(path)})") from None
        if not target.is_relative_to(self.root):
            raise UsageError(f"{shown}: symlink points outside the project ({target}); refusing to copy it")
        return target

    def _dest(self, rel: str) -> str:
        return f"{self.prefix}/{rel}" if rel else self.prefix


def _earlier_output(path: Path) -> bool:
    """A context written by `generate -o` inside the project."""
    return (path / "Dockerfile").is_file() and (path / CONTEXT_TOOL / "plan.toml").is_file()


def _other_manifest(name: str, selected: str) -> bool:
    return name != selected and (name in MANIFEST_NAMES or VERSIONED_MANIFEST_RE.match(name) is not None)


def write_context(dest: Path, listing: Listing, files: dict[str, str]) -> None:
    """Create `dest` as a complete build context, atomically: a failure leaves nothing behind."""
    import shutil  # only writing pays for these (tempfile imports `random`)
    import tempfile

    dest = dest.absolute()
    try:
        if dest.exists() and not dest.is_dir():
            raise UsageError(f"{dest}: exists and is not a directory")
        if dest.is_dir() and any(dest.iterdir()) and not (dest / CONTEXT_TOOL / "plan.toml").is_file():
            raise UsageError(f"{dest}: exists and is not empty (and not an earlier sysimage-docker output)")
        dest.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".sysimage-docker-", dir=dest.parent))
    except OSError as exc:
        raise UsageError(f"{dest}: cannot write the build context here: {exc.strerror}") from None
    try:
        populate(staging, listing, files)
        if dest.exists():
            shutil.rmtree(dest)
        staging.rename(dest)
    except OSError as exc:
        shutil.rmtree(staging, ignore_errors=True)
        raise UsageError(f"{dest}: cannot write the build context: {exc.strerror}") from None
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def populate(target: Path, listing: Listing, files: dict[str, str]) -> None:
    """Copy the listing and the generated files into `target` (an empty directory)."""
    import shutil

    for rel in listing.dirs:
        (target / rel).mkdir(parents=True, exist_ok=True)
    for item in listing.files:
        try:
            shutil.copy2(item.source, target / item.rel)
        except PermissionError:
            raise UsageError(f"{item.source}: permission denied while copying the project") from None
    for rel, text in files.items():
        path = target / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def external_notes(plan: BuildPlan) -> list[str]:
    return [*(f"path dependency {d.name} ({d.written}) copied into the context as {d.context_path}/"
              for d in plan.external_deps),
            *(f"extra file {e.configured} copied into the context as {e.context_path}, into the image as "
              f"{e.image_path}" for e in plan.extra_files)]
