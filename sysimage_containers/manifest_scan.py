"""A batch of manifest entries as Pkg writes them, read without a TOML parser.

Pkg writes a manifest with `TOML.print(io, raw_manifest, sorted=true)` (Pkg.jl src/manifest.jl, write_manifest):
one `[[deps.Name]]` table per entry, its keys sorted, one `key = value` line each, strings in double quotes,
arrays inline, an entry's `extensions` and `weakdeps` tables as indented sub-tables. Parsing 100,000 such entries
into dicts was half of `generate` (rtoml, 0.65 s of 2.1 s on a slow host); this reads them into columns instead.

It accepts only text whose TOML meaning it can state exactly, and returns None for anything else (the caller then
parses the batch): no backslash (no escapes), no control character but the newline, no empty string (nor a
triple quote), keys in Pkg's order, each at most once. The text is split at its double quotes: the odd pieces are
the string values, verbatim; the even ones, joined with a NUL where each value stood, are the batch's skeleton,
in which each entry's body (the text after its header) must match _BODY. Bodies repeat (most entries differ only
in their values), so each distinct body is matched once, and says which column each of its values belongs to.
"""

from __future__ import annotations

import re
from itertools import chain, compress
from typing import NamedTuple

VALUE = "\x00"  # where a string value stood in the skeleton (refused in the text itself)
# A TOML bare key (a package name with a `!` is quoted: the parser's); whether a name is a package name is the
# column check's (project.py, _Columns.of)
_KEY = r"[A-Za-z0-9_-]+"
_LIST = rf"\[{VALUE}(?:, {VALUE})*\]"
_HEADER = re.compile(rf"\[\[deps\.({_KEY})\]\]\n")
# An entry's body, in the order sorted=true writes its keys. A `weakdeps` array and a [deps.Name.weakdeps] table
# are the same key, so the table is allowed only without the array (TOML forbids defining a key twice).
_BODY = re.compile(
    rf"(?P<deps>deps = {_LIST}\n)?"
    rf"(?P<tree>git-tree-sha1 = {VALUE}\n)?"
    rf"(?P<path>path = {VALUE}\n)?"
    r"(?:pinned = (?:true|false)\n)?"
    rf"(?P<registries>registries = {VALUE}\n)?"
    rf"(?P<rev>repo-rev = {VALUE}\n)?"
    rf"(?P<subdir>repo-subdir = {VALUE}\n)?"
    rf"(?P<url>repo-url = {VALUE}\n)?"
    rf"uuid = {VALUE}\n"
    rf"(?P<version>version = {VALUE}\n)?"
    rf"(?P<weak>weakdeps = {_LIST}\n)?"
    rf"(?:\n*[ \t]*\[deps\.(?P<extensions_of>{_KEY})\.extensions\]\n"
    rf"(?P<extensions>(?:[ \t]*{_KEY} = (?:{VALUE}|{_LIST})\n)+))?"
    rf"(?(weak)|(?:\n*[ \t]*\[deps\.(?P<weakdeps_of>{_KEY})\.weakdeps\]\n"
    rf"(?P<weakdeps>(?:[ \t]*{_KEY} = {VALUE}\n)+))?)"
    r"\n*")
_TABLE_KEY = re.compile(rf"^[ \t]*({_KEY}) = ", re.M)

# The columns a value can belong to, as codes (a body's values as one bytes object each)
IGNORED, DEPS = 0, 1
COLUMNS = ("version", "path", "repo-url", "repo-rev", "git-tree-sha1", "registries", "uuid")
_CODE = {column: code for code, column in enumerate(COLUMNS, start=2)}
# the optional keys whose values follow an entry's deps, in the order they stand (repo-subdir is not read)
_OPTIONAL = (("tree", _CODE["git-tree-sha1"]), ("path", _CODE["path"]), ("registries", _CODE["registries"]),
             ("rev", _CODE["repo-rev"]), ("subdir", IGNORED), ("url", _CODE["repo-url"]))
_PICK = {code: bytes(int(byte == code) for byte in range(256)) for code in (DEPS, *_CODE.values())}
# every byte a batch may hold, deleted by translate(): what is left is a byte it may not hold (a control
# character, DEL, a backslash or the NUL the skeleton uses); UTF-8 text is bytes of 0x80 and over
_ALLOWED = bytes([0x0A, *range(0x20, 0x5C), *range(0x5D, 0x7F), *range(0x80, 0x100)])


class _Shape(NamedTuple):
    """What one distinct body says: the column of each of its values (codes), its `deps` line as a template of
    the by-name line (a NUL per name, tab-separated, newline-ended), the name its sub-tables are of (None: it has
    none)."""

    codes: bytes
    listed: str
    owner: str | None


class Scanned(NamedTuple):
    """A batch's entries as columns, in the order they stand: every entry's name and uuid; per optional column
    None when no entry has it, else one value or None per entry; the names each entry lists in `deps`, as lines
    of tab-separated names (an empty line when it lists none), one per entry."""

    names: list[str]
    uuids: list[str]
    columns: dict[str, list[str | None] | None]
    listed: str


def _shape(body: str) -> _Shape | None:
    found = _BODY.fullmatch(body)
    if found is None:
        return None
    owners = {found["extensions_of"], found["weakdeps_of"]} - {None}
    if len(owners) > 1:  # each sub-table must be the entry's own: checked against its name by scan()
        return None
    for table in (found["extensions"], found["weakdeps"]):
        keys = _TABLE_KEY.findall(table) if table else []
        if len(set(keys)) != len(keys):  # a key twice in one table: TOML refuses it
            return None
    deps = found["deps"].count(VALUE) if found["deps"] else 0
    codes = bytes([DEPS]) * deps + bytes(code for group, code in _OPTIONAL if found[group]) + bytes(
        [_CODE["uuid"], *([_CODE["version"]] if found["version"] else [])])
    codes += bytes([IGNORED]) * (body.count(VALUE) - len(codes))  # weakdeps, the sub-tables
    return _Shape(codes, "\t".join(VALUE * deps) + "\n", owners.pop() if owners else None)


def scan(batch: str) -> Scanned | None:
    """The batch's entries, or None when it holds anything _BODY does not describe exactly. The batch must start
    at an entry's `[[deps.Name]]` line."""
    if batch.encode().translate(None, _ALLOWED):
        return None
    pieces = batch.split('"')
    values = pieces[1::2]
    if len(pieces) % 2 == 0 or "" in values:  # an unclosed string; an empty one, or part of a triple quote
        return None
    parts = _HEADER.split(VALUE.join(pieces[0::2]))
    if parts[0]:  # something before the first entry
        return None
    names, bodies = parts[1::2], parts[2::2]
    shapes: dict[str, _Shape] = {}
    for body in set(bodies):
        shape = _shape(body)
        if shape is None:
            return None
        shapes[body] = shape
    owned = {body for body, shape in shapes.items() if shape.owner is not None}
    if owned and any(shapes[body].owner != name for name, body in zip(names, bodies, strict=True) if body in owned):
        return None  # a sub-table of another entry: TOML would add to that one
    # per entry, through dicts of the distinct bodies: C-level passes, no Python code per entry
    codes = b"".join(map({body: shape.codes for body, shape in shapes.items()}.__getitem__, bodies))
    assert len(codes) == len(values)  # each body's codes are one per value in it
    uuids: list[str] = list(compress(values, codes.translate(_PICK[_CODE["uuid"]])))  # every entry has one
    columns: dict[str, list[str | None] | None] = {}
    for column, code in _CODE.items():
        if column == "uuid":
            continue
        found: list[str | None] = list(compress(values, codes.translate(_PICK[code]))) if code in codes else []
        if not found or len(found) == len(names):
            columns[column] = found or None
            continue
        has = {body: code in shape.codes for body, shape in shapes.items()}  # some entries lack it: None for those
        values_of = iter(found)
        columns[column] = [next(values_of) if present else None for present in map(has.__getitem__, bodies)]
    # the by-name lines: each entry's template, the NULs filled with the deps values in order
    template = "".join(map({body: shape.listed for body, shape in shapes.items()}.__getitem__, bodies)).split(VALUE)
    listed = "".join(chain.from_iterable(zip(template, compress(values, codes.translate(_PICK[DEPS])),
                                             strict=False))) + template[-1]  # (one piece more than values)
    return Scanned(names, uuids, columns, listed[:-1])
