"""A CycloneDX 1.6 SBOM of the Julia side of the image, which image scanners cannot see (they know apt and pip,
not a Julia depot): every manifest entry the image holds, Julia itself, and which packages are in the sysimage.

Package URLs follow the purl-spec `julia` type (types/julia-definition.json: no namespace, case-sensitive name, the
package UUID as the required `uuid` qualifier, General as the default repository, another registry named by the
`repository_url` qualifier). A package's `git-tree-sha1` is the git tree hash of its source directory (Pkg checks
downloads with GitTools.tree_hash, git's algorithm), not a file hash: it is given as the component's Software
Heritage identifier `swh:1:dir:<sha1>` (CycloneDX 1.6 `component.swhid`; SWHID directory identifiers are git tree
hashes, docs.softwareheritage.org swh-model persistent-identifiers). A path package is a local component; stdlibs
are marked.

Which registry a registered package came from: a format-2.1 manifest records it per entry (Pkg.jl #4460,
src/manifest.jl: `registries = "General"` with a top-level `[registries.<id>]` table giving uuid and url); another
registry than General becomes the purl's `repository_url` (credentials stripped). Older manifests do not record it:
with no `[registries]` configured the builder has only General, so General it is (the type's default, no qualifier);
with registries configured it cannot be known from the files, and each such package says `julia:registry = unknown`.

The document is written here as JSON text, deterministically (no timestamp, a serial number derived from the
inputs), one component per line, each written directly (every free-form value escaped by the json module's own C
escaper): manifests reach 100,000 entries, and the CycloneDX library's model (29 s for 10,000 components),
indented json.dumps and even one dict per component passed to the encoder were the bulk of `generate` (measured).
The tests validate this output against the CycloneDX 1.6 schema with the CycloneDX library and check every value
against the manifest.
"""

from __future__ import annotations

import json
import re
import uuid
from operator import itemgetter
from typing import Any
from urllib.parse import quote, urlsplit

from sysimage_containers.plan import BuildPlan
from sysimage_containers.project import HEX_AS_X, Environment, Manifest, ManifestEntry, lines_of
from sysimage_containers.urls import strip_credentials

SPEC_VERSION = "1.6"
PROPERTY = "sysimage-docker:"  # our property names, in CycloneDX's namespace convention
GENERAL = "General"
GENERAL_UUID = "23338594-aafe-5451-b93e-139f81909106"  # JuliaRegistries/General's Registry.toml

# a str as a quoted, escaped JSON string, non-ASCII as \u escapes: the function json.dumps itself uses
_json_str = json.encoder.encode_basestring_ascii
_encode = json.JSONEncoder(separators=(",", ":")).encode
# what purl percent-encoding leaves as it is: RFC 3986 unreserved characters, and ':' and '/' as packageurl-python
# leaves them (urllib's quote with '/' safe, then '%3A' back to ':'); the tests compare with that library
_PLAIN_CHARS = "[A-Za-z0-9_.~:/-]"
_PLAIN = re.compile(f"{_PLAIN_CHARS}*")
_TREE_HASH = re.compile(r"[0-9a-fA-F]{40}")
# an absolute URL the schema's `iri-reference` format accepts for sure (ASCII, valid escapes, one scheme, no
# fragment); others, e.g. git's scp-like `git@host:path` (no scheme), stay a property, as written
_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://(?:[A-Za-z0-9._~:/?@!$&'()*+,;=-]|%[0-9A-Fa-f]{2})*")


def _is_url(text: str) -> bool:
    if not _URL.fullmatch(text):
        return False
    try:
        urlsplit(text).port  # noqa: B018 (a port that is not a number raises)
    except ValueError:
        return False
    return True
_BAKED = f',{{"name":"{PROPERTY}baked","value":"true"}}'
_BAKED_PROPERTIES = f',"properties":[{_BAKED[1:]}]}}'


def _pct(text: str) -> str:
    return text if _PLAIN.fullmatch(text) else quote(text, safe=":/")


def purl(entry: ManifestEntry, version: str | None, repository_url: str | None = None) -> str:
    """The canonical purl of a julia package: no namespace, no subpath, qualifiers sorted by key. The reader has
    validated the UUID (lower-case hex and dashes)."""
    name = _pct(entry.name)
    text = f"pkg:julia/{name}@{_pct(version)}" if version else f"pkg:julia/{name}"
    if repository_url:
        return f"{text}?repository_url={_pct(repository_url)}&uuid={entry.uuid}"
    return f"{text}?uuid={entry.uuid}"


class _Registries:
    """Where the registered packages of one manifest came from (see the module docstring)."""

    def __init__(self, manifest: Manifest | None, plan: BuildPlan) -> None:
        recorded = manifest.registries if manifest is not None else ()
        self.general = {rid for rid, ruuid, _ in recorded if ruuid == GENERAL_UUID} | {GENERAL}
        self.urls = {rid: strip_credentials(url) for rid, _, url in recorded if url}
        self.configured_others = any(name != GENERAL for name, _ in plan.registries)

    def of(self, entry: ManifestEntry) -> tuple[str | None, bool]:
        """(repository_url, unknown) of a registered package."""
        return self.of_ids(entry.registries)

    def of_ids(self, ids: tuple[str, ...]) -> tuple[str | None, bool]:
        if not ids:
            return None, self.configured_others
        if any(rid in self.general for rid in ids):
            return None, False
        for rid in ids:
            if rid in self.urls:
                return self.urls[rid], False
        return None, True


def _component(entry: ManifestEntry, julia_version: str, baked: frozenset[str], registries: _Registries) -> str:
    """One component as JSON text: keys fixed here, every value escaped."""
    stdlib = entry.is_stdlib
    version = entry.version or (julia_version if stdlib else None)
    repository_url, unknown = None, False
    if entry.tree_hash is not None and entry.repo_url is None and entry.path is None and (
            entry.registries or registries.configured_others):
        repository_url, unknown = registries.of(entry)
    ref = _json_str(purl(entry, version, repository_url))
    out = ['{"type":"library","bom-ref":', ref, ',"name":', _json_str(entry.name)]
    if version is not None:
        out += (',"version":', _json_str(version))
    out += (',"purl":', ref)
    properties: list[str] = []  # each starting with a comma; the UUID is the purl's required qualifier
    if entry.tree_hash is not None:
        if _TREE_HASH.fullmatch(entry.tree_hash):
            out += (',"swhid":["swh:1:dir:', entry.tree_hash.lower(), '"]')
        else:  # not a SHA-1 as Pkg writes it: kept as written, never claimed as an identifier
            properties += (',{"name":"julia:git-tree-sha1","value":', _json_str(entry.tree_hash), "}")
    if entry.repo_url is not None:
        repo_url = strip_credentials(entry.repo_url)  # the reader refuses credentials; never written all the same
        if _is_url(repo_url):
            out += (',"externalReferences":[{"type":"vcs","url":', _json_str(repo_url), "}]")
        else:
            properties += (',{"name":"julia:repo-url","value":', _json_str(repo_url), "}")
    if stdlib:
        properties.append(',{"name":"julia:stdlib","value":"true"}')
    if entry.path is not None:
        properties += (',{"name":"julia:path","value":', _json_str(entry.path), "}")
    if entry.repo_rev is not None:
        properties += (',{"name":"julia:repo-rev","value":', _json_str(entry.repo_rev), "}")
    if unknown:
        properties.append(',{"name":"julia:registry","value":"unknown"}')
    if entry.name in baked:  # absent: loaded from the depot (a list of 100,000 "false" would be 5 MB)
        properties.append(_BAKED)
    if properties:
        properties[0] = properties[0][1:]
        out += (',"properties":[', *properties, "]")
    out.append("}")
    return "".join(out)


def _head(environment: Environment, plan: BuildPlan) -> dict[str, Any]:
    manifest = environment.manifest
    project = environment.project
    seed = f"{project.name}|{project.uuid}|{manifest.sha256 if manifest else ''}|{plan.julia_version}|{plan.mode}"
    subject: dict[str, Any] = {"type": "application", "bom-ref": "project", "name": plan.project_name}
    if plan.project_version:
        subject["version"] = plan.project_version
    properties = [{"name": f"{PROPERTY}mode", "value": plan.mode},
                  {"name": f"{PROPERTY}sysimage", "value": plan.sysimage_path or "none"}]
    if manifest is None:  # resolved in the builder: the versions are only known after the build
        properties.append({"name": f"{PROPERTY}manifest", "value": "resolved in the builder"})
    return {
        "bomFormat": "CycloneDX",
        "specVersion": SPEC_VERSION,
        "serialNumber": f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, 'sysimage-docker:' + seed)}",
        "version": 1,
        "metadata": {
            "tools": {"components": [{"type": "application", "name": "sysimage-docker",
                                      "version": plan.tool_version}]},
            "component": subject,
            "properties": properties,
        },
    }


_PLAIN_VALUE = re.compile(f"{_PLAIN_CHARS}+")  # _PLAIN, not empty
_PLAIN_LINES = re.compile(rf"(?:{_PLAIN_VALUE.pattern}\n)*")  # ... one per line
# a version the f-string writes: _PLAIN and `+` (a JLL's build number), which the purl percent-encodes as %2B
_VERSION_VALUE = re.compile(r"[A-Za-z0-9_.~:/+-]+")
_VERSION_LINES = re.compile(rf"(?:{_VERSION_VALUE.pattern}\n)*")
_HASH_VALUE = re.compile(r"[0-9a-f]{40}")  # as Pkg writes it, lower case


def _lines_match(pattern: re.Pattern[str], values: tuple[Any, ...]) -> bool:
    """Every value a str matching `pattern`, one per line (the manifest reader's joined-column check)."""
    joined = lines_of(values)
    return joined is not None and pattern.fullmatch(joined) is not None


def _hashes_match(hashes: tuple[Any, ...]) -> bool:
    """Every value a lower-case SHA-1 in hex (_HASH_VALUE), checked as bytes: the digits as x, every line the same
    (a C-level pass; the regex took four times as long)."""
    joined = lines_of(hashes)
    return joined is not None and joined.encode().translate(HEX_AS_X) == (b"x" * 40 + b"\n") * len(hashes)


def _plain_entries(entries: tuple[ManifestEntry, ...], registries: _Registries) -> list[bool]:
    """Which entries _components writes by its f-string: a name that neither percent-encoding nor JSON escaping
    changes, a version that only needs its `+` encoded, a lower-case git-tree-sha1, no repo-url, path or repo-rev,
    General's registry (no qualifier). A whole column is checked at once; only a column that fails is looked at
    entry by entry (a manifest's stdlibs, say)."""
    if not entries:
        return []
    names, versions, paths, repo_urls, repo_revs, hashes, recorded = (
        _column(entries, field) for field in ("name", "version", "path", "repo_url", "repo_rev", "tree_hash",
                                               "registries"))
    plain = [True] * len(entries)

    def exclude(column: tuple[Any, ...], fine: Any) -> None:
        for index, value in enumerate(column):
            if not fine(value):
                plain[index] = False

    for column in (paths, repo_urls, repo_revs):
        if column.count(None) != len(column):
            exclude(column, lambda value: value is None)
    if not _lines_match(_VERSION_LINES, versions):
        exclude(versions, lambda value: value is not None and _VERSION_VALUE.fullmatch(value) is not None)
    if not _hashes_match(hashes):
        exclude(hashes, lambda value: value is not None and _HASH_VALUE.fullmatch(value) is not None)
    if not _lines_match(_PLAIN_LINES, names):  # `!`, the one character of a package name percent-encoded
        exclude(names, lambda value: _PLAIN_VALUE.fullmatch(value) is not None)
    kinds = set(recorded)  # a handful of distinct values: () or ("General",) for most manifests
    general = {ids for ids in kinds if registries.of_ids(ids) == (None, False)}
    if general != kinds:
        exclude(recorded, general.__contains__)
    return plain


def _components(entries: tuple[ManifestEntry, ...], julia_version: str, baked: frozenset[str],
                registries: _Registries) -> list[str]:
    """Every entry's component: a plain one (_plain_entries) by one f-string, which writes what _component writes
    for it character for character (the tests compare the two), at a fifth of the cost; the others by
    _component. The purl is made once (`ref :=`); a plain entry has a version (`or ""` only tells the type
    checker so)."""
    return [
        '{"type":"library",'
        f'''"bom-ref":"{(ref := f"pkg:julia/{name}@{(version or '').replace('+', '%2B')}?uuid={uuid}")}",'''
        f'"name":"{name}","version":"{version}","purl":"{ref}",'
        f'"swhid":["swh:1:dir:{tree_hash}"]{_BAKED_PROPERTIES if name in baked else "}"}'
        if plain else _component(entry, julia_version, baked, registries)
        for entry, plain in zip(entries, _plain_entries(entries, registries), strict=True)
        for name, uuid, version, _, _, _, tree_hash, _ in (entry,)]


def _column(entries: tuple[ManifestEntry, ...], field: str) -> tuple[Any, ...]:
    return tuple(map(_FIELD[field], entries))


_FIELD = {field: itemgetter(index) for index, field in enumerate(ManifestEntry._fields)}


def render(environment: Environment, plan: BuildPlan) -> str:
    """Compact JSON, one top-level key and one component per line (diffs and grep stay readable)."""
    manifest = environment.manifest
    julia = {"type": "platform", "bom-ref": "julia", "name": "julia", "version": plan.julia_version,
             "purl": f"pkg:generic/julia@{_pct(plan.julia_version)}",
             "externalReferences": [{"type": "website", "url": "https://julialang.org"}]}
    baked = frozenset(p.name for p in plan.baked)
    registries = _Registries(manifest, plan)
    entries = manifest.entries if manifest is not None else ()
    head = "".join(f"{_encode(key)}:{_encode(value)},\n" for key, value in _head(environment, plan).items())
    parts = [f"{{\n{head}\"components\":[\n{_encode(julia)}",
             *_components(entries, plan.julia_version, baked, registries)]
    parts[-1] += "\n]\n}\n"
    # one join, with the document's head and tail in its first and last part: the text (29 MB at 100,000 entries)
    # is made once, not copied again to add them
    return ",\n".join(parts)
