"""The build context: which files enter it, decided by one walk that `generate`, `generate -o` and `build` share.

`walk` checks the whole tree and lists what will be copied (nothing is read or written); `write_context` and
`populate` copy that listing. So printing, writing and building give the same verdict on the same project.

What enters, in order (README "What enters the image"):
1. Exclusion patterns with Docker's `.dockerignore` semantics, the last matching line winning: the default
   exclusions (VCS folders, secrets, depots, caches), then the project's own `.dockerignore`, then
   `context_exclude`, then the sources of `--secret` files (those last, so nothing can bring them back).
2. Symlinks are resolved at every depth, inside symlinked directories too; a link whose target leaves the project
   is refused, a link to an excluded path is left out, a loop is refused.
3. Only regular files and directories: a FIFO, socket or device that is not excluded is refused.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

from sysimage_containers.config import Config
from sysimage_containers.errors import UsageError
from sysimage_containers.plan import CONTEXT_TOOL, BuildPlan, ExtraFile
from sysimage_containers.project import VERSIONED_MANIFEST_RE, Environment
from sysimage_containers.tomlfiles import names as name_list

IGNORE_FILE = ".dockerignore"
MANIFEST_NAMES = ("Manifest.toml", "JuliaManifest.toml")
# Left out unless a `!pattern` in .dockerignore brings one back: what no image needs and no image should hold.
DEFAULT_EXCLUDES = (
    "**/.git", "**/.hg", "**/.svn", "**/.jj", "**/.bzr",  # version control
    "**/.env", "**/.env.*",  # dotenv files: API keys, passwords
    "**/id_rsa*", "**/id_dsa*", "**/id_ecdsa*", "**/id_ed25519*", "**/*.pem", "**/*.key",  # private keys
    "**/.ssh", "**/.aws", "**/.docker/config.json", "**/.netrc", "**/.git-credentials",  # credentials
    "**/.julia",  # a Julia depot: the builder makes its own
    "**/__pycache__",
)
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

    @property
    def total_bytes(self) -> int:
        return sum(f.size for f in self.files)

    def notes(self) -> list[str]:
        if not self.left_out:
            return []
        by = "the default exclusions" + (f" and {', '.join(self.ignore_files)}" if self.ignore_files else "")
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
         skip: tuple[Path, ...] = ()) -> Listing:
    """Check every path that would enter the context and list it; raises UsageError on the first refusal.

    `leave_out`: project-relative files that must never enter (secret sources); `skip`: directories never
    entered (a `-o` output inside the project and its staging copy).
    """
    project = environment.project
    selected = environment.manifest.file if environment.manifest else None
    acc = _Accumulator()
    roots = {d.name: d.resolved for d in environment.path_deps}
    for external in plan.external_deps:
        root = roots[external.name]
        _Walker(root, external.context_path, _matcher(root, config.context_exclude, (), acc), acc,
                skip=frozenset(skip), selected_manifest=None).run()
    _Walker(project.root, plan.app_context, _matcher(project.root, config.context_exclude, leave_out, acc), acc,
            skip=frozenset(skip), selected_manifest=selected).run()
    for extra in plan.extra_files:
        _extra(project.root, Path(plan.context_root), extra, acc, frozenset(skip))
    listing = Listing(dirs=tuple(acc.dirs), files=tuple(acc.files), left_out=tuple(acc.left_out),
                      ignore_files=tuple(acc.ignore_files))
    _check_required(listing, plan, config)
    return listing


def _extra(project_root: Path, context_root: Path, extra: ExtraFile, acc: _Accumulator, skip: frozenset[Path]) -> None:
    """One of extra_files: it must exist and, symlinks resolved, stay inside context_root. A directory is walked
    with the default exclusions and its own .dockerignore (context_exclude is about the project)."""
    path = Path(os.path.normpath(project_root / extra.configured))
    try:
        real = path.resolve(strict=True)
        boundary = context_root.resolve(strict=True)
    except FileNotFoundError:
        raise UsageError(f"extra_files: {extra.configured}: not found ({path})") from None
    except (RuntimeError, OSError) as exc:
        raise UsageError(f"extra_files: {extra.configured}: cannot read: {exc}") from None
    if real == boundary or not real.is_relative_to(boundary):
        raise UsageError(f"extra_files: {extra.configured}: resolves outside context_root ({real})")
    if real.is_dir():
        _Walker(real, extra.context_path, _matcher(real, (), (), acc), acc, skip=skip, selected_manifest=None).run()
    elif real.is_file():
        if not os.access(real, os.R_OK):
            raise UsageError(f"extra_files: {extra.configured}: permission denied")
        acc.dirs.append(extra.context_path.rsplit("/", 1)[0])
        acc.files.append(ContextFile(extra.context_path, real, real.stat().st_size))
    else:
        raise UsageError(f"extra_files: {extra.configured}: not a regular file or directory")


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


def _matcher(root: Path, context_exclude: tuple[str, ...], leave_out: tuple[str, ...], acc: _Accumulator) -> _Rules:
    literal = ["".join("\\" + c if c in "\\*?[" else c for c in rel) for rel in leave_out]
    patterns = [*DEFAULT_EXCLUDES, *_read_ignore_file(root, acc), *context_exclude, *literal]
    return _Rules(patterns)


def _read_ignore_file(root: Path, acc: _Accumulator) -> list[str]:
    path = root / IGNORE_FILE
    try:
        if not path.is_file():
            return []
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
    return lines


class _Rules:
    """Docker's own matcher (moby/patternmatcher, as ported by e2b-dockerfile-utils): parent directories are
    matched first, and the last matching pattern wins, `!` patterns re-including."""

    def __init__(self, patterns: list[str]) -> None:
        # imported here: only commands that look at a project's files pay for it
        from e2b_dockerfile_utils.dockerignore import PatternMatcher

        self._matcher = PatternMatcher(patterns)

    def excluded(self, rel: str) -> bool:
        return bool(self._matcher.matches(rel))

    def may_reinclude_under(self, rel: str) -> bool:
        return bool(self._matcher.may_match_under(rel))


class _Walker:
    """Depth-first over one tree (the project, or an outside path dependency) with symlinks resolved."""

    def __init__(self, root: Path, prefix: str, rules: _Rules, acc: _Accumulator, *, skip: frozenset[Path],
                 selected_manifest: str | None) -> None:
        self.root, self.prefix, self.rules, self.acc = root, prefix, rules, acc
        self.skip, self.selected = skip, selected_manifest

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

    def _entry(self, path: Path, rel: str, ancestors: tuple[tuple[int, int], ...]) -> None:
        if path in self.skip:
            return
        if "/" not in rel and self.selected is not None and _other_manifest(rel, self.selected):
            return  # a manifest Julia would not load in the image
        shown = self._shown(rel)
        try:
            st = path.lstat()
        except OSError as exc:
            raise UsageError(f"{shown}: cannot read: {exc.strerror}") from None
        if self.rules.excluded(rel):
            # an excluded directory is still entered when a `!pattern` may bring back something below it
            if stat.S_ISDIR(st.st_mode) and self.rules.may_reinclude_under(rel):
                self._enter(path, rel, ancestors, listed=False)
            else:
                self.acc.left_out.append(rel)
            return
        real = path
        if stat.S_ISLNK(st.st_mode):
            real = self._resolve_link(path, shown)
            target_rel = real.relative_to(self.root).as_posix()
            if target_rel != "." and self.rules.excluded(target_rel):
                self.acc.left_out.append(f"{rel} -> {target_rel}")
                return
            st = real.stat()
        if stat.S_ISDIR(st.st_mode):
            self._enter(real, rel, ancestors, listed=True)
        elif stat.S_ISREG(st.st_mode):
            if not os.access(real, os.R_OK):
                raise UsageError(f"{shown}: permission denied while reading the project")
            self.acc.files.append(ContextFile(self._dest(rel), real, st.st_size))
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
