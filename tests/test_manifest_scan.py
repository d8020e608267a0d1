"""The manifest scanner (sysimage_containers/manifest_scan.py) reads what the TOML parser reads, or hands over.

Whenever the scanner reads a batch of entries, the parser must read the same batch into the same entries (or the
same refusal); whatever the scanner cannot state exactly it must hand to the parser (return None). The batches are
made of what Pkg writes and of what a hand edit or a hostile manifest puts in its place."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import CORPUS
from hypothesis import event, example, given, settings
from hypothesis import strategies as st

from sysimage_containers import manifest_scan
from sysimage_containers import project as project_module
from sysimage_containers.errors import UsageError

UUID = '"00000000-0000-4000-8000-0000000000{:02d}"'.format


HANDED = "handed to the whole-document parse"


def outcome(read) -> object:  # type: ignore[no-untyped-def]
    try:
        return read()
    except UsageError as exc:
        return exc.message
    except project_module._NotPkgShaped:
        return HANDED


def by_scanner(batch: str) -> object | None:
    """What the reader gets from the scanner, or None when the scanner (or the column check) hands over."""
    scanned = manifest_scan.scan(batch)
    if scanned is None:
        return None
    columns = project_module._Columns.of(scanned.names, scanned.uuids, scanned.columns, scanned.listed)
    if columns is None:
        return None
    return outcome(lambda: project_module._read_entries("Manifest.toml", iter([columns])))


def by_parser(batch: str) -> object:
    return outcome(lambda: project_module._read_entries(
        "Manifest.toml", iter([project_module._entries_of(project_module._parse_batch(batch), nested=True)])))


NAMES = ["A", "B", "Twin", "_x9"]
# values as TOML text: what Pkg writes, and what only a parser reads right (escapes, literal and multi-line
# strings, raw tabs, non-strings) or refuses (an unclosed string, a key that is no bare key)
PLAIN = ['"1.0.0"', '"1.0.0+0"', '"héllo"', '"a#b"', '"x]y"', '"[[deps.Z]]"', "\"a'b\"", '"../X"', '" a "',
         '"46e44e869b4d90b96bd8ed1fdcf32244fddfb6cc"', '"https://git.example.com/X.jl"']
HOSTILE = ['"1.0\\u0030"', "'lit'", '""', '"""x"""', '"a\tb"', "1", "true", '"open', '"a\\"b"',
           '"https://u:tok@h/X.jl"', '"\u2028"', '["x"]', '{a = "b"}']
LISTED = [*(f'"{name}"' for name in NAMES), '"Pkg!"', '"a b"', "'A'", '"A\\"B"', '""', "1"]
KEYS = ("deps", "git-tree-sha1", "path", "pinned", "registries", "repo-rev", "repo-subdir", "repo-url", "uuid",
        "version", "weakdeps")  # in Pkg's order
def rarely(common: list[str], rare: list[str], odds: int = 30) -> st.SearchStrategy[str]:
    """One of `common`, and one time in about `odds` one of `rare` (shrinking towards common[0])."""
    return st.sampled_from(common * odds * len(rare) + rare * len(common))


VALUE = rarely(PLAIN, HOSTILE)
LIST = st.lists(rarely(LISTED[:len(NAMES)], LISTED[len(NAMES):]), min_size=1, max_size=3).map(
    lambda items: "[" + ", ".join(items) + "]")
UUIDS = rarely([UUID(1), UUID(2), UUID(3)], ['"x"', "1", UUID(1).upper(), '"00000000000040008000000000000001"'])
KEY_VALUES = {"deps": LIST, "pinned": rarely(["true", "false"], ["1"]), "uuid": UUIDS, "weakdeps": LIST,
              "registries": rarely(['"General"', '"Acme"'], ['["General"]', '""', "1"])}
# an extension's weak dependencies, one or several; a weak dependency's uuid
TABLE_VALUES = {"extensions": rarely([*PLAIN, '["A", "B"]'], HOSTILE), "weakdeps": UUIDS}


@st.composite
def entry(draw: st.DrawFn) -> str:
    name = draw(rarely(NAMES, ['"Quoted"', "A.b", "A B", "Pkg!", "a-b", "1x"]))
    chosen = [key for key, keep in zip(KEYS, draw(st.lists(st.booleans(), min_size=11, max_size=11)), strict=True)
              if keep or key == "uuid"]
    lines = [f"[[deps.{name}]]", *(f"{key} = {draw(KEY_VALUES.get(key, VALUE))}" for key in chosen)]
    odd = draw(st.integers(0, 29))
    if odd == 0:
        lines[1:] = draw(st.permutations(lines[1:]))  # out of Pkg's order
    elif odd == 1:
        lines.append(draw(st.sampled_from(lines[1:])))  # a key twice
    for table in ("extensions", "weakdeps"):
        # (a weakdeps table beside a weakdeps array defines the key twice: rarely)
        if draw(st.integers(0, 3 if table not in chosen else 40)) == 0:
            owner = draw(rarely([name], NAMES, odds=10))
            keys_in = draw(st.lists(rarely(["AExt", "BExt", "A", "B"], ['"q"', "a.b"]), min_size=1, max_size=3,
                                    unique=draw(st.integers(0, 9)) > 0))
            lines += ["", f"    [deps.{owner}.{table}]",
                      *(f"    {key} = {draw(TABLE_VALUES[table])}" for key in keys_in)]
    text = "\n".join(lines) + "\n" + draw(st.sampled_from(["\n", "", "\n\n"]))
    if odd == 2:  # what a hand edit leaves: CRLF, a comment, trailing space, indentation, no last newline
        text = draw(st.sampled_from([text.replace("\n", "\r\n"), text.replace("\n", " # note\n", 1),
                                     text.replace("\n", " \n", 1), "  " + text, text.rstrip("\n")]))
    return text


@settings(max_examples=300, deadline=None)
@given(entries=st.lists(entry(), min_size=1, max_size=4))
@example(entries=['[[deps.A]]\nuuid = "00000000-0000-4000-8000-000000000001"\n'
                  'uuid = "00000000-0000-4000-8000-000000000002"\n'])
@example(entries=['[[deps.A]]\ndeps = ["Pkg!"]\nuuid = "00000000-0000-4000-8000-000000000001"\n\n',
                  '[[deps.Pkg!]]\nuuid = "00000000-0000-4000-8000-000000000002"\n\n'])
@example(entries=['[[deps.A]]\nuuid = "00000000-0000-4000-8000-000000000001"\nweakdeps = ["B"]\n\n'
                  '    [deps.A.weakdeps]\n    B = "00000000-0000-4000-8000-000000000002"\n'])
@example(entries=['[[deps.A]]\nuuid = "00000000-0000-4000-8000-000000000001"\n\n    [deps.A.extensions]\n'
                  '    AExt = "B"\n    AExt = "C"\n'])
@example(entries=['[[deps.A]]\nuuid = "00000000-0000-4000-8000-000000000001"\n',
                  '[[deps.B]]\nuuid = "00000000-0000-4000-8000-000000000002"\n\n    [deps.A.extensions]\n'
                  '    AExt = "B"\n'])
def test_the_scanner_reads_what_the_parser_reads_or_hands_over(entries: list[str]) -> None:
    batch = "".join(entries)
    scanned = by_scanner(batch)
    if scanned == HANDED:  # a name's entries apart: the parser puts them together, and the whole document decides
        scanned = None
    event("scanned" if scanned is not None else "handed over")
    if scanned is not None:
        assert scanned == by_parser(batch)


PKG_WRITES = (
    '[[deps.A]]\ndeps = ["B", "P"]\ngit-tree-sha1 = "46e44e869b4d90b96bd8ed1fdcf32244fddfb6cc"\n'
    'uuid = "00000000-0000-4000-8000-00000000000A"\nversion = "1.0.0+0"\nweakdeps = ["C"]\n\n'
    '    [deps.A.extensions]\n    AExt = "C"\n    ABExt = ["B", "C"]\n\n'
    '[[deps.B]]\npath = "../B"\nuuid = "00000000-0000-4000-8000-00000000000b"\nversion = "0.1.0"\n\n'
    '[[deps.Base64]]\nuuid = "00000000-0000-4000-8000-00000000000c"\n\n'
    '[[deps.P]]\ngit-tree-sha1 = "56e44e869b4d90b96bd8ed1fdcf32244fddfb6cc"\npinned = true\n'
    'registries = "General"\nrepo-rev = "main"\nrepo-subdir = "lib/P"\nrepo-url = "https://git.example.com/P.jl"\n'
    'uuid = "00000000-0000-4000-8000-00000000000d"\nversion = "2.0.0"\n\n'
    '    [deps.P.weakdeps]\n    C = "00000000-0000-4000-8000-00000000000e"\n\n')


def test_the_scanner_reads_every_key_pkg_writes() -> None:
    # one entry of each kind Pkg writes (a stdlib, a path dependency, a git one with its sub-tables)
    assert by_scanner(PKG_WRITES) == by_parser(PKG_WRITES)
    scanned = manifest_scan.scan(PKG_WRITES)
    assert scanned is not None
    assert scanned.names == ["A", "B", "Base64", "P"]
    assert scanned.columns == {
        "version": ["1.0.0+0", "0.1.0", None, "2.0.0"], "path": [None, "../B", None, None],
        "repo-url": [None, None, None, "https://git.example.com/P.jl"], "repo-rev": [None, None, None, "main"],
        "git-tree-sha1": ["46e44e869b4d90b96bd8ed1fdcf32244fddfb6cc", None, None,
                          "56e44e869b4d90b96bd8ed1fdcf32244fddfb6cc"],
        "registries": [None, None, None, "General"]}
    assert scanned.listed == "B\tP\n\n\n"
    # a name with a `!` is no bare key: Pkg quotes it, and the parser reads it
    quoted = PKG_WRITES.replace("deps.P]]", 'deps."P!"]]').replace("deps.P.", 'deps."P!".').replace('"P"', '"P!"')
    assert manifest_scan.scan(quoted) is None
    assert [entry.name for entry in by_parser(quoted)] == ["A", "B", "Base64", "P!"]  # type: ignore[attr-defined]


@pytest.mark.parametrize(("change", "why"), [
    (lambda t: t.replace('version = "0.1.0"', 'version = "0.1.\\u0030"'), "an escape"),
    (lambda t: t.replace("\n", "\r\n"), "CRLF line ends"),
    (lambda t: t.replace('uuid = "00000000-0000-4000-8000-00000000000b"\n', 'uuid = "00000000-0000-4000-8000-'
                         '00000000000b"\nuuid = "00000000-0000-4000-8000-00000000000f"\n'), "a key twice"),
    (lambda t: t.replace("    [deps.A.extensions]", "    [deps.B.extensions]"), "another entry's sub-table"),
    (lambda t: t.replace("    AExt = \"C\"\n", "    AExt = \"C\"\n    AExt = \"D\"\n"), "a sub-table key twice"),
    (lambda t: t.replace('path = "../B"\n', 'path = "../B" # moved\n'), "a comment"),
    (lambda t: t.replace('uuid = "00000000-0000-4000-8000-00000000000c"\n',
                         'uuid = "00000000-0000-4000-8000-00000000000c"\nversion = ""\n'), "an empty string"),
    (lambda t: t.replace('repo-rev = "main"', 'repo-rev = """main"""'), "a multi-line string"),
    (lambda t: t.replace('repo-rev = "main"', "repo-rev = 'main'"), "a literal string"),
    (lambda t: t.replace('version = "0.1.0"', 'version = "0.1.0\t"'), "a raw tab"),
    (lambda t: t.replace('"../B"', '"../B\x00"'), "a NUL"),
    (lambda t: t.replace('weakdeps = ["C"]\n', 'weakdeps = ["C"]\n\n    [deps.A.weakdeps]\n    C = "x"\n'),
     "weakdeps twice"),
])
def test_what_the_scanner_cannot_state_goes_to_the_parser(change, why: str) -> None:  # type: ignore[no-untyped-def]
    assert manifest_scan.scan(PKG_WRITES) is not None
    assert manifest_scan.scan(change(PKG_WRITES)) is None, why


MANIFESTS = sorted(p for p in CORPUS.glob("*/*Manifest*.toml") if "manifest_format" in p.read_text())


@pytest.mark.parametrize("path", MANIFESTS, ids=lambda p: f"{p.parent.name[:24]}/{p.name}")
def test_the_scanner_reads_every_batch_of_the_corpus(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # what Pkg wrote, from Julia 1.6 to 1.12, is the scanner's: the parser reads only the top-level keys
    handed: list[str] = []
    scan = manifest_scan.scan

    def counted(batch: str) -> manifest_scan.Scanned | None:
        scanned = scan(batch)
        if scanned is None:
            handed.append(batch[:80])
        return scanned

    monkeypatch.setattr(manifest_scan, "scan", counted)
    project = project_module.read_project(path.parent)
    manifest = project_module.read_manifest(project, path.name)
    assert manifest.entries and handed == []
