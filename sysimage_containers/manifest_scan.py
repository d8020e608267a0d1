"""A batch of manifest entries as Pkg writes them, read without a TOML parser.

Pkg writes a manifest with `TOML.print(io, raw_manifest, sorted=true)` (Pkg.jl src/manifest.jl, write_manifest):
one `[[deps.Name]]` table per entry, its keys sorted, one `key = value` line each, strings in double quotes,
arrays inline, an entry's `extensions` and `weakdeps` tables as indented sub-tables. Parsing 100,000 such entries
into dicts was half of `generate` (rtoml, 0.65 s of 2.1 s on a slow host); this reads them into columns instead.

It accepts only text whose TOML meaning it can state exactly, and returns None for anything else (the caller then
parses the batch): no backslash (no escapes), no control character but the newline, no empty string (nor a
triple quote), keys in Pkg's order, each at most once. The text is split at its double quotes: the odd pieces are
the string values, verbatim; the even ones, joined with a NUL where each value stood, are the batch's skeleton,
in which each entry's keys (the text after its header, up to its sub-tables) must match _BODY. Those repeat (most
entries differ only in their values), so each distinct one is matched once, and says which column each of its
values belongs to. The sub-tables (the names of extensions and weak dependencies: nearly all distinct) are
checked together, by one regex over all of a batch's, and owe the entry nothing but their count of values.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from itertools import accumulate, chain, compress
from operator import itemgetter, methodcaller, mul
from typing import NamedTuple

VALUE = "\x00"  # where a string value stood in the skeleton (refused in the text itself)
# A TOML bare key (a package name with a `!` is quoted: the parser's); whether a name is a package name is the
# column check's (project.py, _Columns.of)
_KEY = r"[A-Za-z0-9_-]+"
_LIST = rf"\[{VALUE}(?:, {VALUE})*\]"
_HEADER = re.compile(rf"\[\[deps\.({_KEY})\]\]\n")
# An entry's keys, in the order sorted=true writes them
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
    r"\n*")
# Where an entry's sub-tables start, as Pkg writes them: after a blank line, indented by four spaces
_SUBTABLES = "\n    [deps."
# An entry's sub-tables as sorted=true writes them, [deps.Name.extensions] (each extension's weak dependency, or
# several) then [deps.Name.weakdeps] (each one's uuid), led by the entry's name and \x01 (_SUBTABLES cut off);
# all the entries', each ended by a NUL. The backreferences hold each table to its own entry (TOML would add another
# entry's to that one); whether one holds a key twice is _TWICE's.
_EXTENSIONS = rf"(?P=name)\.extensions\]\n(?:    {_KEY} = (?:{VALUE}|{_LIST})\n)+"
_WEAKDEPS = rf"(?P=name)\.weakdeps\]\n(?:    {_KEY} = {VALUE}\n)+"
_ONE_TABLES = rf"(?P<name>{_KEY})\x01(?:{_EXTENSIONS}(?:\n    \[deps\.{_WEAKDEPS})?|{_WEAKDEPS})\n*"
_TABLES = re.compile(rf"(?:{_ONE_TABLES}{VALUE})+")
# a key twice in one table: its lines are consecutive, and a header, a blank line or the next entry ends them
_TWICE = re.compile(rf"\n    ({_KEY}) = [^\n]*\n(?:    {_KEY} = [^\n]*\n)*?    \1 = ")

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
    """What one distinct set of keys says: the column of each of its values (codes), its `deps` line as a
    template of the by-name line (a NUL per name, tab-separated, newline-ended), whether it has a `weakdeps`
    array (then a [deps.Name.weakdeps] table would define the key twice)."""

    codes: bytes
    listed: str
    weak: bool


class Scanned(NamedTuple):
    """A batch's entries as columns, in the order they stand: every entry's name and uuid; per optional column
    None when no entry has it, else one value or None per entry; the names each entry lists in `deps`, as lines
    of tab-separated names (an empty line when it lists none), one per entry."""

    names: list[str]
    uuids: list[str]
    columns: dict[str, list[str | None] | None]
    listed: str


@functools.lru_cache(maxsize=4096)
def _shape(body: str) -> _Shape | None:
    """(Cached across batches: a manifest's entries have a few hundred distinct sets of keys.)"""
    found = _BODY.fullmatch(body)
    if found is None:
        return None
    deps = found["deps"].count(VALUE) if found["deps"] else 0
    codes = bytes([DEPS]) * deps + bytes(code for group, code in _OPTIONAL if found[group]) + bytes(
        [_CODE["uuid"], *([_CODE["version"]] if found["version"] else [])])
    codes += bytes([IGNORED]) * (body.count(VALUE) - len(codes))  # weakdeps
    return _Shape(codes, "\t".join(VALUE * deps) + "\n", found["weak"] is not None)


def _owned(names: list[str], tables: list[str], weak: Iterable[bool]) -> bool:
    """The grammar, each entry's own, no key twice, and a weakdeps table only without a weakdeps array (else the
    key is defined twice), for all the sub-tables at once (C-level passes: no Python code per entry)."""
    joined = VALUE.join(map("\x01".join, zip(compress(names, tables), filter(None, tables), strict=True))) + VALUE
    return _TABLES.fullmatch(joined) is not None and _TWICE.search(joined) is None and not any(
        map(methodcaller("__contains__", "weakdeps]"), compress(tables, weak)))


def scan(batch: str) -> Scanned | None:
    """The batch's entries, or None when it holds anything _BODY does not describe exactly. The batch must start
    at an entry's `[[deps.Name]]` line."""
    if batch.encode().translate(None, _ALLOWED):
        return None
    pieces = batch.split('"')
    values = pieces[1::2]
    if len(pieces) % 2 == 0 or "" in values:  # an unclosed string; an empty one, or part of a triple quote
        return None
    skeleton = VALUE.join(pieces[0::2])
    parts = _HEADER.split(skeleton)
    if parts[0]:  # something before the first entry
        return None
    names, bodies = parts[1::2], parts[2::2]
    tables: list[str] | None = None
    if _SUBTABLES in skeleton:  # the sub-tables cut off: they are checked together, below
        cut = list(map(methodcaller("partition", _SUBTABLES), bodies))
        bodies, tables = list(map(itemgetter(0), cut)), list(map(itemgetter(2), cut))
    shapes: dict[str, _Shape] = {}
    for body in set(bodies):
        shape = _shape(body)
        if shape is None:
            return None
        shapes[body] = shape
    codes_of = {body: shape.codes for body, shape in shapes.items()}
    if tables is None:
        codes = b"".join(map(codes_of.__getitem__, bodies))
    else:
        if not _owned(names, tables, map({body: shape.weak for body, shape in shapes.items()}.__getitem__, bodies)):
            return None
        # a sub-table's values are read by no column: the entry's codes end with one IGNORED (a zero byte) each
        per_entry = list(map(codes_of.__getitem__, bodies))
        for index in compress(range(len(tables)), tables):  # (a quarter of the entries, in real manifests)
            per_entry[index] += bytes(tables[index].count(VALUE))
        codes = b"".join(per_entry)
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
        # some entries lack it: None for those. Each entry's place in `found` (from 1; 0: absent) by C-level passes
        has = list(map({body: code in shape.codes for body, shape in shapes.items()}.__getitem__, bodies))
        columns[column] = list(map([None, *found].__getitem__, map(mul, accumulate(has), has)))
    # the by-name lines: each entry's template, the NULs filled with the deps values in order
    template = "".join(map({body: shape.listed for body, shape in shapes.items()}.__getitem__, bodies)).split(VALUE)
    listed = "".join(chain.from_iterable(zip(template, compress(values, codes.translate(_PICK[DEPS])),
                                             strict=False))) + template[-1]  # (one piece more than values)
    return Scanned(names, uuids, columns, listed[:-1])
