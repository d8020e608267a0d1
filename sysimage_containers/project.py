"""Reading a Julia project: Project.toml, the manifest Julia would load, path and git dependencies.

Everything here is I/O and validation of the user's files; later stages receive frozen values only.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import cached_property, partial
from itertools import chain, groupby, repeat
from operator import itemgetter
from pathlib import Path, PurePosixPath
from typing import Any, NamedTuple

from sysimage_containers import manifest_scan, tomlfiles
from sysimage_containers.boundary import WIDER, Root
from sysimage_containers.errors import UsageError
from sysimage_containers.julia_versions import CompatSpec, Version, parse_version
from sysimage_containers.pkg_compat import HashInput, project_hash
from sysimage_containers.urls import strip_credentials

PROJECT_FILES = ("JuliaProject.toml", "Project.toml")
# base/loading.jl `preferences_names`: the first one present beside the project file is read
PREFERENCES_FILES = ("JuliaLocalPreferences.toml", "LocalPreferences.toml")
# repo2docker's convention for system packages: one Debian package a line, `#` comments
APT_FILES = ("apt.txt", "binder/apt.txt")
# Package names of Debian (policy 5.6.1), Alpine and Fedora together, optionally pinned as NAME=VERSION
# (apt-get and apk syntax; dnf gets NAME-VERSION).
SYSTEM_PACKAGE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.+_-]*(?:=[A-Za-z0-9][A-Za-z0-9.+~:_-]*)?\Z")
_UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"  # lower case: IGNORECASE where either is meant
UUID_RE = re.compile(rf"^{_UUID}\Z", re.IGNORECASE | re.ASCII)
# Julia identifiers as Pkg accepts them for package names (ASCII letters, digits, underscore, `!`)
# \Z, not $: `$` also matches before a final newline, and "Foo\n" is no package name
_NAME = r"[A-Za-z_][A-Za-z0-9_!]*"
PKG_NAME_RE = re.compile(rf"^{_NAME}\Z")
# Julia's VersionNumber syntax (Base.VERSION_REGEX): numbers, then optional -prerelease and +build parts
_IDENTIFIERS = r"[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*"
JULIA_VERSION_RE = re.compile(rf"^v?\d+(?:\.\d+){{0,2}}(?:-{_IDENTIFIERS})?(?:\+{_IDENTIFIERS})?\Z")
VERSIONED_MANIFEST_RE = re.compile(r"^(Julia)?Manifest-v(\d+)\.(\d+)\.toml\Z")


class ManifestEntry(NamedTuple):
    """One manifest entry. A NamedTuple rather than a frozen dataclass, immutable all the same: a manifest can hold
    100,000 of them, and a frozen dataclass's __init__ (one object.__setattr__ per field) took 2.2 s per million
    where a tuple takes 0.5 (measured, scripts/bench_generate.py's 100,000-entry manifest)."""

    name: str
    uuid: str
    version: str | None = None
    path: str | None = None
    repo_url: str | None = None
    repo_rev: str | None = None
    tree_hash: str | None = None
    # the registries the entry was added from (ids in Manifest.registries), as Pkg records them since manifest
    # format 2.1 (Pkg.jl #4460, src/manifest.jl: `registries` is a string or a list of strings); () before that
    registries: tuple[str, ...] = ()

    @property
    def is_stdlib(self) -> bool:
        return self.tree_hash is None and self.path is None and self.repo_url is None


@dataclass(frozen=True)
class Manifest:
    file: str  # relative to the project directory
    format: str
    julia_version: str | None
    entries: tuple[ManifestEntry, ...]
    sha256: str
    project_hash: str | None = None
    # format 2.1's top-level [registries.<id>] tables: (id, uuid, url or None when Pkg recorded none)
    registries: tuple[tuple[str, str, str | None], ...] = ()

    @cached_property
    def _by_name(self) -> dict[str, ManifestEntry]:
        # the first entry of a name, as a scan would find: built from the last, so that earlier ones overwrite
        return dict(zip(map(itemgetter(0), reversed(self.entries)), reversed(self.entries), strict=True))

    def get(self, name: str) -> ManifestEntry | None:
        """Constant time: it is called for every direct dependency, and manifests have 100,000 entries."""
        return self._by_name.get(name)


@dataclass(frozen=True)
class PathDependency:
    name: str
    written: str  # as the manifest writes it, e.g. "../Kora.jl"
    resolved: Path


@dataclass(frozen=True)
class JuliaProject:
    root: Path
    project_file: str
    sha256: str
    name: str | None
    uuid: str | None
    version: str | None
    deps: tuple[tuple[str, str], ...]
    compat: tuple[tuple[str, str], ...]
    workspace_members: tuple[str, ...]  # project files of workspace members, relative to root
    manifest_candidates: tuple[str, ...]  # manifests present, in Julia's preference order
    explicit_manifest: str | None = None
    hash_inputs: tuple[HashInput, ...] = ()  # what Pkg's project_hash covers: this project, then its members
    preference_files: tuple[str, ...] = ()  # copied with the project file: packages read them when compiled
    apt_file: str | None = None  # repo2docker's apt.txt, when present
    apt_packages: tuple[str, ...] = ()
    license: str | None = None  # Project.toml `license` (not a Pkg field, but common): the OCI licenses label
    # Project.toml `entryfile` (or `path`): the package's source file when not src/<Name>.jl, relative to the
    # project (Julia 1.12's loading reads it: base/loading.jl project_file_path, julia #53939)
    entryfile: str | None = None

    @property
    def is_package(self) -> bool:
        return self.name is not None and self.uuid is not None

    @cached_property
    def dep_names(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.deps)

    @cached_property
    def _compat_by_name(self) -> dict[str, str]:
        return dict(self.compat)

    def compat_for(self, name: str) -> str | None:
        return self._compat_by_name.get(name)


@dataclass(frozen=True)
class Environment:
    """A project together with the manifest chosen for one Julia version, and its path dependencies."""

    project: JuliaProject
    manifest: Manifest | None
    path_deps: tuple[PathDependency, ...]
    warnings: tuple[str, ...] = field(default=())


def read_project(directory: Path) -> JuliaProject:
    if not directory.exists():
        raise UsageError(f"{directory}: no such directory")
    if not directory.is_dir():
        raise UsageError(f"{directory}: not a directory (give the Julia project's directory)")
    root = directory.resolve()
    project_file = next((n for n in PROJECT_FILES if (root / n).is_file()), None)
    if project_file is None:
        raise UsageError(f"{directory}: no Project.toml or JuliaProject.toml (is this a Julia project?)")
    text = tomlfiles.read_text(root / project_file, project_file, tomlfiles.MAX_SMALL_TOML_BYTES)
    data = _load_text(text, project_file)

    name = _opt_str(data, "name", project_file)
    if name is not None and not PKG_NAME_RE.match(name):
        raise UsageError(f"{project_file}: name {name!r} is not a valid Julia package name")
    uuid = _opt_str(data, "uuid", project_file)
    if uuid is not None and not UUID_RE.match(uuid):
        raise UsageError(f"{project_file}: uuid {uuid!r} is not a UUID")
    version = _opt_str(data, "version", project_file)
    if version is not None and not JULIA_VERSION_RE.match(version):
        raise UsageError(f"{project_file}: version {version!r} is not a version number (e.g. 1.2.0)")
    deps = _uuid_table(data, "deps", project_file)
    for table in ("weakdeps", "extras"):  # checked like [deps], though only the manifest's view of them is used
        _uuid_table(data, table, project_file)
    compat = _str_table(data, "compat", project_file)
    for dep, spec in compat:
        try:
            CompatSpec(spec)
        except ValueError as exc:
            raise UsageError(f"{project_file}: [compat] {dep}: {exc}") from None
    targets_raw = data.get("targets", {})
    if not isinstance(targets_raw, dict) or not all(
        isinstance(v, list) and all(isinstance(x, str) for x in v) for v in targets_raw.values()
    ):
        raise UsageError(f"{project_file}: [targets] must map target names to lists of package names")
    explicit = _manifest_key(data, project_file)
    members: list[tuple[str, HashInput]] = []
    _workspace_members(root, data, project_file, seen=set(), found=members)
    return JuliaProject(
        root=root,
        project_file=project_file,
        sha256=hashlib.sha256(text.encode()).hexdigest(),
        name=name,
        uuid=uuid,
        version=version,
        deps=deps,
        compat=compat,
        workspace_members=tuple(rel for rel, _ in members),
        manifest_candidates=_manifest_candidates(root),
        explicit_manifest=explicit,
        entryfile=_entryfile(data, project_file),
        hash_inputs=(_hash_input(data), *(inputs for _, inputs in members)),
        preference_files=tuple(n for n in PREFERENCES_FILES if (root / n).is_file()),
        license=_license(data, project_file),
        **_apt_packages(root),
    )


def _license(data: dict[str, Any], shown: str) -> str | None:
    value = data.get("license")
    if value is None or not isinstance(value, str):
        return None
    if not re.fullmatch(r"[A-Za-z0-9 .+()-]{1,200}", value):  # an SPDX expression
        raise UsageError(f"{shown}: license {value[:80]!r} is not an SPDX license expression")
    return value


def _apt_packages(root: Path) -> dict[str, Any]:
    """repo2docker's apt.txt (or binder/apt.txt): one package a line; `#` starts a comment."""
    name = next((n for n in APT_FILES if (root / n).is_file()), None)
    if name is None:
        return {}
    text = tomlfiles.read_text(root / name, name, tomlfiles.MAX_SMALL_TOML_BYTES)
    packages = []
    for number, line in enumerate(text.splitlines(), 1):
        for word in line.split("#", 1)[0].split():
            if not SYSTEM_PACKAGE_RE.match(word) or len(word) > 200:
                raise UsageError(f"{name}:{number}: {word[:80]!r} is not a system package name (letters, digits "
                                 "and . + _ -, optionally =VERSION)")
            packages.append(word)
    return {"apt_file": name, "apt_packages": tuple(dict.fromkeys(packages))}


def _hash_input(data: dict[str, Any]) -> HashInput:
    def table(key: str) -> dict[str, str]:
        value = data.get(key, {})
        return {k: v for k, v in value.items() if isinstance(v, str)} if isinstance(value, dict) else {}

    name, uuid = data.get("name"), data.get("uuid")
    return HashInput(name=name if isinstance(name, str) else None,
                     uuid=uuid.lower() if isinstance(uuid, str) else None,
                     deps={k: v.lower() for k, v in table("deps").items()},
                     weakdeps={k: v.lower() for k, v in table("weakdeps").items()}, compat=table("compat"))


def _load_text(text: str, shown: str) -> dict[str, Any]:
    return tomlfiles.loads(text, shown)


def _manifest_key(data: dict[str, Any], shown: str) -> str | None:
    """Project.toml's `manifest = "path"` (Pkg reads it relative to the project): a file inside the project, since
    nothing outside it enters the image."""
    value = _opt_str(data, "manifest", shown)
    if value is None:
        return None
    if re.search(r"[\x00-\x1f\x7f]", value) or not value.strip():
        raise UsageError(f"{shown}: manifest {value[:80]!r} is not a usable path")
    if value.startswith(("/", "~")) or ".." in Path(value).parts:
        raise UsageError(f"{shown}: manifest {value[:80]!r} must be a file inside the project")
    return value


def _entryfile(data: dict[str, Any], shown: str) -> str | None:
    """Project.toml's `entryfile = "path"`, or its soft-deprecated spelling `path`, which Julia reads first
    (base/loading.jl project_file_path): a file inside the project (normalised, POSIX), where the sysimage step
    puts a stand-in. Both are checked; nothing outside the project is named in the image."""
    found = None
    for key in ("entryfile", "path"):
        value = _opt_str(data, key, shown)
        if value is None:
            continue
        parts = PurePosixPath(value).parts
        if (not value.isprintable() or "\\" in value or value.startswith(("/", "~")) or ".." in parts
                or value.endswith("/") or PurePosixPath(value).as_posix() in (".", "")):
            raise UsageError(f"{shown}: {key} {value[:80]!r} must be a file inside the project")
        if len(value) > 1024 or any(len(part.encode()) > 255 for part in parts):
            raise UsageError(f"{shown}: {key} is longer than a file name may be ({len(value)} characters)")
        found = PurePosixPath(value).as_posix()  # `path` last: it wins
    return found


def _opt_str(data: dict[str, Any], key: str, shown: str) -> str | None:
    value = data.get(key)
    if value is not None and not isinstance(value, str):
        raise UsageError(f"{shown}: {key} must be a string, got {type(value).__name__}")
    return value


def _uuid_table(data: dict[str, Any], key: str, shown: str) -> tuple[tuple[str, str], ...]:
    table = data.get(key, {})
    if not isinstance(table, dict):
        raise UsageError(f"{shown}: [{key}] must be a table of package = \"uuid\"")
    out = []
    for name, uuid in table.items():
        if not PKG_NAME_RE.match(name):
            raise UsageError(f"{shown}: [{key}] {name!r} is not a valid Julia package name")
        if not isinstance(uuid, str) or not UUID_RE.match(uuid):
            raise UsageError(f"{shown}: [{key}] {name}: {uuid!r} is not a UUID")
        out.append((name, uuid.lower()))
    return tuple(sorted(out))


def _str_table(data: dict[str, Any], key: str, shown: str) -> tuple[tuple[str, str], ...]:
    table = data.get(key, {})
    if not isinstance(table, dict) or not all(isinstance(v, str) for v in table.values()):
        raise UsageError(f"{shown}: [{key}] must be a table of name = \"string\"")
    return tuple(sorted(table.items()))


def _workspace_members(root: Path, data: dict[str, Any], shown: str, seen: set[Path],
                       found: list[tuple[str, HashInput]]) -> None:
    """Workspace member project files (recursively), relative to root, with what the hash needs of each."""
    workspace = data.get("workspace", {})
    projects = workspace.get("projects", []) if isinstance(workspace, dict) else None
    if not isinstance(projects, list) or not all(isinstance(p, str) for p in projects):
        raise UsageError(f"{shown}: [workspace] projects must be a list of directory names")
    base = (root / shown).parent
    for rel in projects:
        member_dir = (base / rel).resolve()
        if member_dir in seen:
            continue
        seen.add(member_dir)
        if not member_dir.is_relative_to(root):  # refused before anything outside the project is looked at
            raise UsageError(f"{shown}: [workspace] project {rel!r} lies outside the project")
        member_file = next((member_dir / n for n in PROJECT_FILES if (member_dir / n).is_file()), None)
        if member_file is None:
            raise UsageError(f"{shown}: [workspace] project {rel!r} has no Project.toml")
        relative = member_file.relative_to(root)
        member_data = tomlfiles.load(member_file, relative.as_posix(), tomlfiles.MAX_SMALL_TOML_BYTES)
        found.append((relative.as_posix(), _hash_input(member_data)))
        _workspace_members(root, member_data, relative.as_posix(), seen, found)


def _manifest_candidates(root: Path) -> tuple[str, ...]:
    """Manifests present, ordered as Julia tries them: versioned (newest first), then plain."""
    versioned = []
    for child in root.iterdir():
        match = VERSIONED_MANIFEST_RE.match(child.name)
        if match and child.is_file():
            versioned.append(((int(match.group(2)), int(match.group(3))), 0 if match.group(1) else 1, child.name))
    versioned.sort(key=lambda t: (-t[0][0], -t[0][1], t[1]))
    plain = [n for n in ("JuliaManifest.toml", "Manifest.toml") if (root / n).is_file()]
    return tuple(name for _, _, name in versioned) + tuple(plain)


def manifest_for(project: JuliaProject, series: tuple[int, int] | None) -> str | None:
    """The manifest Julia X.Y loads: `[Julia]Manifest-vX.Y.toml`, else the plain one.

    Without a version yet: the manifest written by the newest Julia; on a tie the versioned file, as Julia
    of that series prefers it.
    """
    if project.explicit_manifest is not None:
        return project.explicit_manifest
    plain = [n for n in project.manifest_candidates if not VERSIONED_MANIFEST_RE.match(n)]
    versioned = [n for n in project.manifest_candidates if VERSIONED_MANIFEST_RE.match(n)]
    if series is None:
        if not versioned:
            return plain[0] if plain else None
        if plain:
            plain_version = _version_or_none(_top_level_julia_version(project.root / plain[0]))
            if plain_version is not None and (plain_version.major, plain_version.minor) > _series_of(versioned[0]):
                return plain[0]
        return versioned[0]
    for name in versioned:
        if _series_of(name) == series:
            return name
    return plain[0] if plain else None


def manifest_julia_series(project: JuliaProject) -> tuple[int, int] | None:
    """The Julia series the project's preferred manifest was resolved with, read from its header only."""
    if not project.manifest_candidates:
        return None
    version = _version_or_none(_top_level_julia_version(project.root / project.manifest_candidates[0]))
    return None if version is None else (version.major, version.minor)


_TOP_KEY_RE = re.compile(r'^julia_version\s*=\s*"([^"\\]*)"\s*(?:#.*)?$')


def _top_level_julia_version(path: Path) -> str | None:
    """`julia_version` of a manifest without parsing all of it: it is a top-level key, so it stands before the
    first table header. Only used to compare manifests; the chosen one is fully read and checked."""
    try:
        with path.open(encoding="utf-8-sig", errors="replace") as fh:
            for line in fh:
                stripped = line.strip()
                if stripped.startswith("["):
                    return None
                match = _TOP_KEY_RE.match(stripped)
                if match:
                    return match.group(1)
    except OSError:
        return None
    return None


def _version_or_none(text: str | None) -> Version | None:
    try:
        return parse_version(text) if text else None
    except ValueError:
        return None


def _series_of(versioned_name: str) -> tuple[int, int]:
    match = VERSIONED_MANIFEST_RE.match(versioned_name)
    assert match is not None
    return int(match.group(2)), int(match.group(3))


def read_manifest(project: JuliaProject, name: str) -> Manifest:
    path = project.root / name
    text = tomlfiles.read_text(path, name)
    with tomlfiles.paused_gc():
        try:
            header, groups = _parse_in_batches(text)
            fmt, julia_version, project_hash = _read_header(name, header)
            entries = _read_entries(name, groups)
        except _NotPkgShaped:  # anything unusual: the whole document at once, with the same checks
            header = _load_text(text, name)
            fmt, julia_version, project_hash = _read_header(name, header)
            deps = header.get("deps", {}) if fmt != "1.0" else header
            if not isinstance(deps, dict):
                raise UsageError(f"{name}: [deps] must be a table") from None
            entries = _read_entries(name, iter((deps,)))
    return Manifest(
        file=name,
        format=fmt,
        julia_version=julia_version,
        entries=entries,
        sha256=hashlib.sha256(text.encode()).hexdigest(),
        project_hash=project_hash,
        registries=_read_registries(name, header.get("registries") if fmt != "1.0" else None),
    )


def _read_registries(name: str, table: Any) -> tuple[tuple[str, str, str | None], ...]:
    """[registries.<id>] with a string `uuid` and an optional string `url` (Pkg.jl src/manifest.jl,
    read_registry_entry, which refuses anything else)."""
    if table is None:
        return ()
    if not isinstance(table, dict):
        raise UsageError(f"{name}: registries must be a table of [registries.<name>] tables")
    found: list[tuple[str, str, str | None]] = []
    for registry_id, info in sorted(table.items()):
        if not isinstance(info, dict) or not isinstance(info.get("uuid"), str) or not UUID_RE.match(info["uuid"]):
            raise UsageError(f"{name}: [registries.{registry_id!r}] needs a uuid")
        url = info.get("url")
        if url is not None and not isinstance(url, str):
            raise UsageError(f"{name}: [registries.{registry_id!r}]: url must be a string")
        found.append((registry_id, info["uuid"].lower(), url))
    return tuple(found)


class _NotPkgShaped(Exception):
    """The batch reader met something Pkg does not write; the whole document is parsed instead."""


# A line that opens an array-of-tables entry, `[[deps.Name]]` (format 2) or `[[Name]]` (format 1)
_ENTRY_HEADER_RE = re.compile(r"^[ \t]*\[\[", re.M)
_BATCH_CHARS = 64 * 1024  # a batch's parser objects stay in the CPU's caches (256 KB: 10 % slower)


def _parse_in_batches(text: str) -> tuple[dict[str, Any], Iterator[dict[str, Any] | _Columns]]:
    """The manifest's top-level keys, and its entries batch by batch (each batch a table of name -> entries).

    Parsed whole, a 100,000-entry manifest is a 250 MB tree of dicts; Pkg writes one `[[deps.Name]]` table per
    entry, so batches of them, cut where such a line starts, parse alone into the same entries while only
    compact ManifestEntry values are kept. A cut can only fall inside a value (a multi-line string or array) if
    that value is unterminated in the batch before it, which then fails to parse: any failure, and any shape
    Pkg does not write, raises _NotPkgShaped and the whole document is parsed instead.
    """
    first = _ENTRY_HEADER_RE.search(text)
    cut = first.start() if first else len(text)
    header = _parse_batch(text[:cut])
    nested = "manifest_format" in header
    # format 2 has scalars before its entries; in format 1 every top-level key is an entry
    # (format 2.1's [registries.<id>] tables stand among the top-level keys, before the entries)
    if "deps" in header or any(isinstance(v, list | dict) for k, v in header.items() if k != "registries") or (
            header and not nested):
        raise _NotPkgShaped

    def batches() -> Iterator[dict[str, Any] | _Columns]:
        begin = cut
        while begin < len(text):
            end = _batch_end(text, begin)
            scanned = manifest_scan.scan(text[begin:end]) if nested else None
            columns = scanned and _Columns.of(scanned.names, scanned.uuids, scanned.columns, scanned.listed)
            if columns is not None:
                yield columns
            else:  # anything unusual in this batch: the TOML parser reads it
                _check_tables(text, begin, end, nested)
                # not kept in a local: the reader frees each batch before it stores the entries (see _Columns)
                yield _entries_of(_parse_batch(text[begin:end]), nested)
            begin = end

    return header, batches()


# A table header that is not an array-of-tables header, and the only ones Pkg writes among the entries: an entry's
# [deps.<Name>.extensions] and [deps.<Name>.weakdeps] (format 2; format 1 has none). Led by the newline, a literal
# the regex engine skips to: `^` with re.M took 106 ms on the 17 MB manifest, this 13 ms. (A batch starts with
# an entry's [[...]] line, so no header stands at its very start.)
_TABLE_HEADER_RE = re.compile(r"\n[ \t]*\[(?!\[)[^\n]*")
_ENTRY_SUBTABLE_RE = re.compile(r"\n[ \t]*\[deps\.[A-Za-z_][A-Za-z0-9_!]*\.(?:extensions|weakdeps)\][ \t\r]*")


def _check_tables(text: str, begin: int, end: int, nested: bool) -> None:
    """A batch parses alone, so what TOML forbids across batches (declaring [deps] again, defining an entry's
    array twice) would go unseen: any other table header sends the manifest to the whole-document parse."""
    for header in _TABLE_HEADER_RE.finditer(text, begin, end):
        if not nested or not _ENTRY_SUBTABLE_RE.fullmatch(header.group()):
            raise _NotPkgShaped


def _entries_of(data: dict[str, Any], nested: bool) -> dict[str, Any]:
    if nested:
        if set(data) != {"deps"} or not isinstance(data["deps"], dict):
            raise _NotPkgShaped
        data = data["deps"]
    if not _all_of_type(data.values(), list):
        raise _NotPkgShaped
    return data


def _batch_end(text: str, begin: int) -> int:
    """The first entry start at least _BATCH_CHARS after `begin`, or the end of the text. (`^` matches only at a
    line's start, also when the search starts inside a line: one search per batch, not one match per entry.)"""
    found = _ENTRY_HEADER_RE.search(text, begin + _BATCH_CHARS)
    return found.start() if found else len(text)


def _parse_batch(text: str) -> dict[str, Any]:
    try:
        return tomlfiles.loads_fast(text)
    except ValueError:
        raise _NotPkgShaped from None


def _read_header(name: str, top: dict[str, Any]) -> tuple[str, str | None, str | None]:
    """Format, julia_version and project_hash from the top-level keys (format 1.0 has none of them)."""
    fmt = top.get("manifest_format")
    if fmt is None:
        return "1.0", None, None
    if not isinstance(fmt, str) or not fmt.startswith("2."):
        raise UsageError(f"{name}: manifest_format {fmt!r} is not supported (expected 1.0 or 2.x)")
    julia_version = top.get("julia_version")
    if julia_version is not None and not isinstance(julia_version, str):
        raise UsageError(f"{name}: julia_version must be a string")
    project_hash = top.get("project_hash")
    return fmt, julia_version, project_hash if isinstance(project_hash, str) else None


def _read_entries(name: str, tables: Iterator[dict[str, Any] | _Columns]) -> tuple[ManifestEntry, ...]:
    """Validate every entry; the same checks whichever way the manifest was parsed.

    Each table (a batch of the manifest, or all of it) is checked column by column, a handful of C-level passes
    over all its entries (validating each entry alone was a third of `generate` at 100,000 entries); when a
    column holds anything unusual, the entry-by-entry check runs on that table and names the entry at fault.
    """
    entries: list[ManifestEntry] = []
    by_name: list[tuple[str, str | list[Any]]] = []  # (names, what they list by name) of each table or entry
    for table in tables:
        columns = table if isinstance(table, _Columns) else _Columns.check(table)
        if columns is None:
            assert isinstance(table, dict)  # scanned batches come checked
            read, named = _one_by_one(name, table)
            entries += read
            by_name += named
            continue
        del table  # the parsed batch goes before its entries are made (see _Columns)
        entries += columns.entries()
        by_name.append((columns.names, columns.named))
    names = list(map(itemgetter(0), entries))
    unique = set(names)
    if len(unique) != len(names) and len(runs := [pkg for pkg, _ in groupby(names)]) != len(set(runs)):
        # a name's entries apart: the batches cut between them, where a whole parse puts them together
        raise _NotPkgShaped
    _check_named_deps(name, by_name, names, unique)
    return tuple(entries)


def _check_named_deps(shown: str, by_name: list[tuple[str, str | list[Any]]], names: list[str],
                      unique: set[str]) -> None:
    """An entry may list its dependencies by name only when each name has exactly one entry: Pkg refuses the
    manifest otherwise (Pkg.jl src/manifest.jl, `Manifest(raw::Dict)`: "ambiguious dependency").

    `by_name` holds, per entry, its name and its list; or, per table read by columns, the names one per line and
    the lists one per line, tab-separated (one string each: no parser objects stay alive for this check)."""
    counts = None
    if len(unique) != len(names):  # a name with several entries (Pkg writes that when two packages share it)
        counts = Counter(names)
        unique = {pkg for pkg, count in counts.items() if count == 1}
    texts = [named for _, named in by_name if isinstance(named, str)]
    lists = [named for _, named in by_name if isinstance(named, list)]
    try:
        listed = set("\t".join(texts).replace("\n", "\t").split("\t"))
        listed.discard("")
        fine = unique.issuperset(listed) and unique.issuperset(chain.from_iterable(lists))  # C calls
    except TypeError:  # an unhashable item (a table or an array): not a name
        fine = False
    if fine:
        return
    counts = counts or Counter(names)
    for pkg, named in by_name:
        pairs = zip(pkg.split("\n"), (line.split("\t") if line else [] for line in named.split("\n")), strict=False) \
            if isinstance(named, str) else [(pkg, named)]
        for entry, deps in pairs:
            for dep in deps:
                count = counts.get(dep, 0) if isinstance(dep, str) else 0
                if count != 1:
                    what = "no entry" if count == 0 else f"{count} entries"
                    raise UsageError(f"{shown}: {entry} lists its dependency {dep!r} by name, but the manifest has "
                                     f"{what} of that name: Pkg refuses it as ambiguous; re-resolve the manifest")


# Whole columns matched at once: each value followed by a newline, which no valid value contains (a value with
# one inside would add a line, so the count of newlines is checked too)
_NAMES_RE = re.compile(rf"(?:{_NAME}\n)*")
# lower-case hex digits as x: a column of hex values checked by one bytes translate (UUIDs here, hashes in sbom.py)
HEX_AS_X = bytes.maketrans(b"0123456789abcdef", b"x" * 16)
_UUID_LINE = b"xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx\n"  # _UUID, lower case, as HEX_AS_X writes it
_STRINGS = {str, type(None)}


def _all_of_type(values: Iterable[Any], *types: type) -> bool:
    return set(map(type, values)).issubset(types)  # exact types: TOML values are never subclasses


def lines_of(values: list[Any] | tuple[Any, ...]) -> str | None:
    """The values one per line, when each is a str without a newline; else None."""
    if not _all_of_type(values, str):
        return None
    joined = "\n".join(values) + "\n" if values else ""
    return joined if joined.count("\n") == len(values) else None


def _column(items: list[dict[str, Any]], key: str) -> list[Any]:
    return list(map(dict.get, items, repeat(key)))


@dataclass(frozen=True)
class _Columns:
    """One table's entries, checked, as columns: each a newline-joined string where it can be (one allocation
    instead of one per entry), else the values. The entries are made from them only after the parsed table is
    freed, so that the strings kept for 100,000 entries lie together instead of among the freed parser objects
    (which held twice the memory the entries need: measured with sys._debugmallocstats)."""

    names: str
    uuids: str
    optional: tuple[str | list[str | None] | None, ...]  # _FIELDS, in order; None: no entry has it
    registries: list[tuple[str, ...]] | None  # None: none recorded
    named: str  # per entry, the names it lists in `deps`, tab-separated

    @staticmethod
    def check(table: dict[str, Any]) -> _Columns | None:
        """A parsed table's columns, checked; None when any value needs a closer look (then the entry-by-entry
        check runs and says what is wrong)."""
        groups = list(table.values())
        if not _all_of_type(groups, list):
            return None
        if set(map(len, groups)) == {1}:  # what Pkg writes: one entry per name
            items, names = list(map(itemgetter(0), groups)), list(table)
        else:
            items = list(chain.from_iterable(groups))
            names = [pkg for pkg, group in table.items() for _ in group]
        if not _all_of_type(items, dict):
            return None
        present = set().union(*items)  # the keys any entry has: a column no entry fills is not read
        columns = {key: _column(items, key) if key in present else None for key in (*_FIELDS, "registries")}
        # what each entry lists by name (a table of name = uuid is not by name), as one string: tab-separated
        # names, a line per entry (neither tab nor newline inside a name, nor an empty name: the counts say so)
        named = [deps if type(deps) is list else [] for deps in _column(items, "deps")] if "deps" in present else \
            [[]] * len(items)
        try:
            listed = "\n".join(map("\t".join, named))
        except TypeError:  # a name that is not a string
            return None
        if listed.count("\n") != len(named) - 1 or listed.count("\t") != sum(map(len, named)) - (
                len(named) - named.count([])) or "" in set(chain.from_iterable(named)):
            return None
        return _Columns.of(names, _column(items, "uuid"), columns, listed)

    @staticmethod
    def of(names: list[Any], uuids: list[Any], columns: dict[str, list[Any] | None], listed: str) -> _Columns | None:
        """The columns, checked: `columns` holds one list per key of _FIELDS and `registries` (None: no entry has
        the key), `listed` the names each entry lists in `deps` (_Columns.named). None when any value needs a
        closer look. (A listed name that is no package name needs none: no entry has it, which
        _check_named_deps reports.)"""
        joined = lines_of(names)
        if joined is None or not _NAMES_RE.fullmatch(joined):
            return None
        lowered = lines_of(uuids)
        # each line a UUID: its hex digits as x, the lines are all the same one (a C-level pass; a regex took 10x)
        if lowered is None or (lowered := lowered.lower()).encode().translate(HEX_AS_X) != _UUID_LINE * len(uuids):
            return None
        optional: list[str | list[str | None] | None] = []
        for key in _FIELDS:
            column = columns[key]
            if column is None:
                optional.append(None)
                continue
            types = set(map(type, column))
            if not types.issubset(_STRINGS):
                return None
            lines = lines_of(column) if types == {str} else None
            optional.append(column if lines is None else lines)
        urls = optional[2]
        if urls is not None and any(url is not None and (not url.isprintable() or strip_credentials(url) != url)
                                    for url in (urls.split("\n") if isinstance(urls, str) else urls)):
            return None  # refused by the entry-by-entry check, which says why
        registries: list[tuple[str, ...]] | None = None
        if (recorded := columns["registries"]) is not None:
            if not _all_of_type(recorded, str, type(None)):
                return None  # lists of strings, and what is refused, are the entry-by-entry check's
            registries = [() if r is None else (r,) for r in recorded]
        return _Columns(joined, lowered, tuple(optional), registries, listed)

    def entries(self) -> list[ManifestEntry]:
        def split(lines: str) -> list[str]:
            return lines.split("\n")[:-1]

        optional = [repeat(None) if c is None else split(c) if isinstance(c, str) else c for c in self.optional]
        # tuple.__new__ over the zipped columns: no Python-level call per entry
        return list(map(partial(tuple.__new__, ManifestEntry),
                        zip(split(self.names), split(self.uuids), *optional, self.registries or repeat(()),
                            strict=False)))  # (the repeat()s are endless)


_FIELDS = ("version", "path", "repo-url", "repo-rev", "git-tree-sha1")  # ManifestEntry's optional strings, in order


def _one_by_one(name: str, table: dict[str, Any]) -> tuple[list[ManifestEntry], list[tuple[str, list[Any]]]]:
    entries: list[ManifestEntry] = []
    named: list[tuple[str, list[Any]]] = []
    for pkg, items in table.items():
        if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
            raise UsageError(f"{name}: entry {pkg!r} must be an array of tables ([[deps.{pkg}]])")
        for item in items:
            entries.append(_entry(name, pkg, item))
            deps = item.get("deps")
            if isinstance(deps, list):
                named.append((pkg, deps))
    return entries, named


def _entry(shown: str, pkg: str, item: dict[str, Any]) -> ManifestEntry:
    if not PKG_NAME_RE.match(pkg):
        raise UsageError(f"{shown}: {pkg!r} is not a valid Julia package name")
    uuid = item.get("uuid")
    if not isinstance(uuid, str) or not UUID_RE.match(uuid):
        raise UsageError(f"{shown}: {pkg}: uuid {uuid!r} is not a UUID")
    values: dict[str, str | None] = {}
    for key in ("version", "path", "repo-url", "repo-rev", "git-tree-sha1"):
        value = item.get(key)
        if value is not None and not isinstance(value, str):
            raise UsageError(f"{shown}: {pkg}: {key} must be a string")
        values[key] = value
    registries = item.get("registries")
    if registries is None:
        registries = ()
    elif isinstance(registries, str):
        registries = (registries,)
    elif isinstance(registries, list) and all(isinstance(r, str) for r in registries):
        registries = tuple(registries)
    else:
        raise UsageError(f"{shown}: {pkg}: registries must be a string or an array of strings")
    repo_url = values["repo-url"]
    if repo_url is not None and not repo_url.isprintable():  # urlsplit drops tabs and newlines: a check would miss
        raise UsageError(f"{shown}: {pkg}: repo-url holds unprintable characters, which no URL has")  # what follows
    if repo_url is not None and strip_credentials(repo_url) != repo_url:  # the URL itself is not shown: it holds them
        raise UsageError(f"{shown}: {pkg}: repo-url carries credentials, and the manifest is copied into the image: "
                         "remove them and pass a git-credentials secret (private_git = \"token\", --secret)")
    return ManifestEntry(
        name=pkg,
        uuid=uuid.lower(),
        version=values["version"],
        path=values["path"],
        repo_url=values["repo-url"],
        repo_rev=values["repo-rev"],
        tree_hash=values["git-tree-sha1"],
        registries=registries,
    )


def load_environment(project: JuliaProject, series: tuple[int, int] | None, resolve: bool,
                     root: Root | None = None) -> Environment:
    """Pick and read the manifest for a Julia series; check it covers the project; find path deps (which must lie
    inside `root`, the project itself when None)."""
    name = manifest_for(project, series)
    if name is None:
        if resolve:
            return Environment(
                project=project,
                manifest=None,
                path_deps=(),
                warnings=("no manifest: the builder resolves versions itself (resolve = true), "
                          "so the image is not reproducible",),
            )
        raise UsageError(
            f"{project.root.name}: no Manifest.toml: commit one (julia --project -e 'using Pkg; Pkg.resolve()') "
            "or set resolve = true to resolve in the builder"
        )
    manifest = read_manifest(project, name)
    warnings: list[str] = []
    missing = [dep for dep in project.dep_names if manifest.get(dep) is None]
    if missing and not resolve:
        raise UsageError(
            f"{name} is out of sync with {project.project_file}: it lacks {tomlfiles.names(missing)}; "
            "re-resolve (julia --project -e 'using Pkg; Pkg.resolve()') or set resolve = true"
        )
    if missing:
        warnings.append(f"{name} lacks {tomlfiles.names(missing)}: resolving in the builder (resolve = true)")
    else:
        warnings.extend(_hash_warning(project, manifest))
    for dep in project.dep_names:
        entry, spec = manifest.get(dep), project.compat_for(dep)
        if entry is None or spec is None or entry.version is None or entry.is_stdlib:
            continue
        try:
            in_range = CompatSpec(spec).contains(parse_version(entry.version))
        except ValueError:
            continue
        if not in_range:
            warnings.append(
                f"{name} has {dep} {entry.version}, outside [compat] {dep} = {spec!r}: "
                "the manifest was not resolved against the current Project.toml"
            )
    return Environment(
        project=project,
        manifest=manifest,
        path_deps=_path_dependencies(project, manifest, root),
        warnings=tuple(warnings),
    )


def _hash_warning(project: JuliaProject, manifest: Manifest) -> list[str]:
    """Recompute project_hash as the Pkg that wrote the manifest does (it exists since Julia 1.8)."""
    writer = manifest_julia_version(manifest)
    if manifest.project_hash is None or writer is None or (writer.major, writer.minor) < (1, 8):
        return []
    try:
        expected = project_hash(project.hash_inputs[0], project.hash_inputs[1:], (writer.major, writer.minor))
    except ValueError:
        return []  # a member's [compat] Pkg itself would reject; instantiate reports it
    if expected == manifest.project_hash:
        return []
    return [f"{manifest.file}: its project_hash does not match {project.project_file} ([deps] or [compat] changed "
            f"after the last resolve; Julia {writer.major}.{writer.minor} says so too): re-resolve so that the image "
            "has what the project asks for"]


def _submodule_hint(missing: Path) -> str:
    """When a .gitmodules of the repository names the directory: a git submodule that is not checked out."""
    for top in missing.parents:
        try:
            text = (top / ".gitmodules").read_text("utf-8", errors="replace")
        except OSError:
            text = ""
        paths = re.findall(r"(?m)^\s*path\s*=\s*(.+?)\s*$", text)
        if any(missing == top / p or missing.is_relative_to(top / p) for p in paths):
            return ": it is a git submodule that is not checked out (git submodule update --init)"
        if (top / ".git").exists():
            break  # the repository's root: no further
    return ""


def _path_dependencies(project: JuliaProject, manifest: Manifest, root: Root | None) -> tuple[PathDependency, ...]:
    found = []
    inside, what = (root.path, root.what) if root is not None else (project.root, f"the project ({project.root})")
    for entry in manifest.entries:
        if entry.path is None:
            continue
        if not entry.path or any(not c.isprintable() for c in entry.path):
            raise UsageError(f"{manifest.file}: path dependency {entry.name}: {entry.path!r} is not a usable path")
        # judged as written before anything there is looked at, then again with symlinks resolved
        lexical = Path(os.path.normpath(project.root / entry.path))
        try:
            resolved = lexical.resolve() if lexical.is_relative_to(inside) else lexical
        except (OSError, RuntimeError) as exc:
            raise UsageError(f"{manifest.file}: path dependency {entry.name} at {entry.path!r}: {exc}") from None
        if not resolved.is_relative_to(inside):
            shown = "" if resolved == lexical else f", resolving to {resolved}"
            raise UsageError(f"{manifest.file}: path dependency {entry.name} at {entry.path!r} lies outside {what}"
                             f"{shown}; refusing to read it ({WIDER})")
        if resolved == project.root:
            continue  # Julia 1.12 records a named project in its own manifest with path = "."
        if not resolved.is_dir():
            raise UsageError(
                f"{manifest.file}: path dependency {entry.name} at {entry.path!r}: directory not found "
                f"({resolved}){_submodule_hint(resolved)}"
            )
        if not any((resolved / n).is_file() for n in PROJECT_FILES):
            raise UsageError(
                f"{manifest.file}: path dependency {entry.name} at {entry.path!r}: no Project.toml in {resolved}"
                f"{_submodule_hint(resolved)}"
            )
        found.append(PathDependency(name=entry.name, written=entry.path, resolved=resolved))
    return tuple(sorted(found, key=lambda d: d.name))


def manifest_julia_version(manifest: Manifest | None) -> Version | None:
    return _version_or_none(manifest.julia_version if manifest is not None else None)
