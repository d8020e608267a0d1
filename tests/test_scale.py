"""Big inputs stay linear: no per-dependency scan of the manifest, and batch parsing that reads exactly what a
whole-document parse reads. (Speed itself is measured by scripts/bench_generate.py, never by a timed test.)"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from conftest import CORPUS, EXAMPLES
from hypothesis import given, settings
from hypothesis import strategies as st

from sysimage_containers import project as project_module
from sysimage_containers.errors import UsageError
from sysimage_containers.pipeline import prepare


class CountingEntries(tuple):  # type: ignore[type-arg]
    """A manifest's entries that count how often something walks through all of them."""

    walks = 0

    def __iter__(self):  # type: ignore[no-untyped-def]
        CountingEntries.walks += 1
        return super().__iter__()


def big_project(tmp_path: Path, entries: int, direct: int) -> Path:
    project = tmp_path / "big"
    project.mkdir()
    uuid = "00000000-0000-4000-8000-{:012d}".format
    (project / "Project.toml").write_text("[deps]\n" + "".join(f'P{i} = "{uuid(i)}"\n' for i in range(direct)))
    (project / "Manifest.toml").write_text('julia_version = "1.11.5"\nmanifest_format = "2.0"\n\n' + "".join(
        f'[[deps.P{i}]]\ndeps = ["P{(i + 1) % entries}"]\nuuid = "{uuid(i)}"\nversion = "1.0.{i}"\n\n'
        for i in range(entries)))
    return project


def test_no_lookup_walks_the_manifest_per_dependency(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    project = big_project(tmp_path, entries=10_000, direct=1_000)
    read = project_module.read_manifest

    def counted(*args, **kwargs):  # type: ignore[no-untyped-def]
        manifest = read(*args, **kwargs)
        return dataclasses.replace(manifest, entries=CountingEntries(manifest.entries))

    monkeypatch.setattr(project_module, "read_manifest", counted)
    CountingEntries.walks = 0
    prepared = prepare(project)
    assert len(prepared.plan.baked) == 1_000
    # a scan per direct dependency would be 1,000 or more; a few whole passes are linear
    assert CountingEntries.walks <= 4, CountingEntries.walks


def whole(project: project_module.JuliaProject, name: str) -> project_module.Manifest:
    """The manifest read as one document (the batch reader switched off)."""
    original = project_module._parse_in_batches

    def refuse(text: str):  # type: ignore[no-untyped-def]
        raise project_module._NotPkgShaped

    project_module._parse_in_batches = refuse
    try:
        return project_module.read_manifest(project, name)
    finally:
        project_module._parse_in_batches = original


MANIFESTS = sorted((p.parent.name, p.name) for p in CORPUS.glob("*/*Manifest*.toml"))


@pytest.mark.parametrize(("entry", "name"), MANIFESTS)
def test_batches_read_every_corpus_manifest_as_a_whole_parse_does(entry: str, name: str,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    project = project_module.read_project(CORPUS / entry)
    expected = whole(project, name)
    # and the batch path is the one taken for what Pkg writes: a whole-document parse would fail here
    monkeypatch.setattr(project_module, "_load_text", lambda *a: pytest.fail("parsed whole"))
    assert project_module.read_manifest(project, name) == expected


BASE = (EXAMPLES / "http-service" / "Manifest.toml").read_text()
pieces = st.sampled_from([
    '[[deps.A]]\nuuid = "00000000-0000-4000-8000-000000000001"\n', '[[deps.A]]\nuuid = "x"\n',
    '[deps.A]\nuuid = "00000000-0000-4000-8000-000000000001"\n', 'x = """\n[[deps.B]]\n"""\n',
    'y = [\n[[1]]\n]\n', '[[B]]\nuuid = "00000000-0000-4000-8000-000000000002"\n', 'julia_version = "1.10.0"\n',
    'manifest_format = "2.0"\n', '[[deps.C]]\ndeps = ["A"]\nuuid = "00000000-0000-4000-8000-000000000003"\n',
    "[[deps.A.x]]\n", "deps = 1\n", "\n", "# [[deps.Z]]\n",
    '  [[deps.D]]\nuuid = "00000000-0000-4000-8000-000000000004"\n',
])


@settings(max_examples=200, deadline=None)
@given(parts=st.lists(pieces, max_size=8), prefix=st.booleans())
def test_batches_and_whole_parse_agree_on_any_manifest(tmp_path_factory, parts: list[str], prefix: bool) -> None:
    directory = tmp_path_factory.mktemp("m")
    (directory / "Project.toml").write_text("")
    (directory / "Manifest.toml").write_text((BASE if prefix else "") + "".join(parts))
    project = project_module.read_project(directory)
    outcomes = []
    for read in (project_module.read_manifest, whole):
        try:
            outcomes.append(read(project, "Manifest.toml"))
        except UsageError as exc:
            outcomes.append(exc.message)
    assert outcomes[0] == outcomes[1]


def one_by_one(monkeypatch: pytest.MonkeyPatch) -> None:
    """Switch the column reader off: every table is read entry by entry."""
    monkeypatch.setattr(project_module._Columns, "check", staticmethod(lambda table: None))


def read_tables(tables: list[dict]) -> tuple | str:
    try:
        return project_module._read_entries("Manifest.toml", iter(tables))
    except UsageError as exc:
        return exc.message
    except project_module._NotPkgShaped:  # a name in two tables (batches): the whole-document parse decides
        return "whole"


def mostly(valid: st.SearchStrategy, hostile: st.SearchStrategy) -> st.SearchStrategy:
    """Valid fifteen times in sixteen: a table takes the column reader only when every value in it is valid."""
    return st.integers(0, 15).flatmap(lambda n: valid if n else hostile)


NAMES = mostly(st.sampled_from(["A", "B", "Twin", "Pkg!", "_x9"]), st.sampled_from(["", "a b", "A\nB", "A\tB", "é"]))
UUIDS = mostly(st.sampled_from(["00000000-0000-4000-8000-000000000001", "00000000-0000-4000-8000-00000000000A"]),
               st.sampled_from(["00000000-0000-4000-8000-000000000002\n", "x", "00000000000040008000000000000001"]))
STRINGS = mostly(st.sampled_from(["1.0.0", "", "1.0.0+build", "46e44e869b4d90b96bd8ed1fdcf32244fddfb6cc",
                                  "https://git.example.com/X.jl", "../X"]),
                 st.sampled_from(["x\ny", "a\tb", "2f4b\n", "https://u:tok@git.example.com/X.jl"]))
VALUES = mostly(st.none() | STRINGS, st.integers(0, 2) | st.lists(STRINGS, max_size=2))
ITEMS = st.fixed_dictionaries({"uuid": mostly(UUIDS, st.integers(0, 1))}, optional={
    "version": VALUES, "path": VALUES, "repo-url": VALUES, "repo-rev": VALUES, "git-tree-sha1": VALUES,
    "registries": mostly(st.none() | st.sampled_from(["General", "Acme", ""]),
                         st.lists(st.sampled_from(["General", 1]), max_size=2)),
    "deps": mostly(st.lists(NAMES, max_size=3), st.lists(st.integers(0, 1), min_size=1, max_size=2) |
                   st.dictionaries(NAMES, UUIDS, max_size=1) | st.just(1))})
TABLES = st.dictionaries(NAMES, mostly(st.lists(ITEMS, min_size=1, max_size=1), st.lists(ITEMS, max_size=2) | ITEMS),
                         max_size=4)


@settings(max_examples=400, deadline=None)
@given(tables=st.lists(TABLES, min_size=1, max_size=3))
def test_the_column_reader_reads_what_the_entry_by_entry_reader_reads(tables: list[dict]) -> None:
    # the same entries, or the same refusal, whichever reader takes a table: the column reader only ever hands a
    # table over (returns None), it never judges one differently
    columns = read_tables(tables)
    with pytest.MonkeyPatch.context() as patch:
        one_by_one(patch)
        assert read_tables(tables) == columns


def test_the_column_reader_reads_what_pkg_writes() -> None:
    # a table as Pkg writes it is read by columns (no hand-over), registries and by-name lists included
    table = {"A": [{"uuid": "00000000-0000-4000-8000-00000000000A", "version": "1.0.0", "deps": ["B"],
                    "git-tree-sha1": "46e44e869b4d90b96bd8ed1fdcf32244fddfb6cc", "registries": "General"}],
             "B": [{"uuid": "00000000-0000-4000-8000-00000000000b", "version": "0.1.0"}]}
    columns = project_module._Columns.check(table)
    assert columns is not None
    assert columns.entries() == [
        project_module.ManifestEntry("A", "00000000-0000-4000-8000-00000000000a", "1.0.0", None, None, None,
                                     "46e44e869b4d90b96bd8ed1fdcf32244fddfb6cc", ("General",)),
        project_module.ManifestEntry("B", "00000000-0000-4000-8000-00000000000b", "0.1.0", registries=())]
    assert (columns.names, columns.named) == ("A\nB\n", "B\n")


PADDING = "".join(f'[[deps.P{i:05d}]]\nuuid = "00000000-0000-4000-8000-{i:012d}"\nversion = "1.0.{i}"\n'
                  f'git-tree-sha1 = "{i:040x}"\n\n' for i in range(1, 1500))  # over 128 KB: several batches


MORE = PADDING.replace("[[deps.P", "[[deps.Q")


@pytest.mark.parametrize(("tail", "message"), [
    # an entry's array defined again inline, [deps] declared twice, a table over an array of tables: TOML forbids
    # each, whichever batches they are in
    ('[deps]\nDup = [{uuid = "22222222-1111-4111-8111-111111111111", version = "2.0.0"}]\n',
     "invalid TOML: Cannot overwrite a value"),
    ("[deps]\n" + MORE + "[deps]\n", "invalid TOML: Cannot declare ('deps',) twice"),
    ('[deps.Dup]\nuuid = "22222222-1111-4111-8111-111111111111"\n',
     "invalid TOML: Cannot declare ('deps', 'Dup') twice"),
    # TOML 1.1 (a trailing comma in an inline table), which rtoml accepts and Julia does not, in a later batch
    ('[[deps.Z]]\nuuid = "33333333-1111-4111-8111-111111111111"\nx = {a = 1,}\n',
     "invalid TOML: Invalid initial character for a key part"),
])
def test_what_toml_forbids_across_batches_is_refused(cli, tmp_path: Path, tail: str, message: str) -> None:
    project = tmp_path / "big"
    project.mkdir()
    (project / "Project.toml").write_text("")
    (project / "Manifest.toml").write_text(
        'julia_version = "1.11.5"\nmanifest_format = "2.0"\n\n[[deps.Dup]]\n'
        'uuid = "11111111-1111-4111-8111-111111111111"\nversion = "1.0.0"\n\n' + PADDING + tail)
    assert len(PADDING) > 2 * project_module._BATCH_CHARS
    result = cli("generate", project, "-o", tmp_path / "out")
    assert result.code == 2 and result.err.startswith("sysimage-docker: error: Manifest.toml:")
    assert message in result.err and len(result.err.splitlines()) == 1
    assert not (tmp_path / "out").exists()


def test_a_name_in_two_batches_reads_as_a_whole_parse_does(tmp_path: Path) -> None:
    # TOML appends to an array of tables wherever its header comes again: a whole parse keeps a name's entries
    # together, so the batch reader hands such a manifest to it
    directory = tmp_path / "big"
    directory.mkdir()
    (directory / "Project.toml").write_text("")
    twin = '[[deps.Twin]]\nuuid = "{}"\nversion = "1.0.0"\n\n'
    (directory / "Manifest.toml").write_text(
        'julia_version = "1.11.5"\nmanifest_format = "2.0"\n\n' + twin.format("11111111-1111-4111-8111-111111111111")
        + PADDING + twin.format("22222222-1111-4111-8111-111111111111"))
    project = project_module.read_project(directory)
    manifest = project_module.read_manifest(project, "Manifest.toml")
    assert manifest == whole(project, "Manifest.toml")
    assert [e.name for e in manifest.entries[:2]] == ["Twin", "Twin"]


def test_a_top_level_array_after_the_entries_reads_as_a_whole_parse_does(tmp_path: Path) -> None:
    # a later batch that holds no deps at all (a top-level [[other]] array): the whole parse decides, no crash
    directory = tmp_path / "big"
    directory.mkdir()
    (directory / "Project.toml").write_text("")
    (directory / "Manifest.toml").write_text('julia_version = "1.11.5"\nmanifest_format = "2.0"\n\n' + PADDING
                                             + "[[other]]\nx = 1\n")
    project = project_module.read_project(directory)
    manifest = project_module.read_manifest(project, "Manifest.toml")
    assert manifest == whole(project, "Manifest.toml") and len(manifest.entries) == 1499
    # and a batch that is nothing but such an array is handed over too
    for data in ({"other": [{"x": 1}]}, {"deps": [{"x": 1}]}, {"deps": {}, "other": [{"x": 1}]}):
        with pytest.raises(project_module._NotPkgShaped):
            project_module._entries_of(data, nested=True)


@pytest.mark.parametrize(("levels", "refused"), [(80, False), (81, True)])
def test_the_depth_limit_holds_where_tomllib_decides(levels: int, refused: bool) -> None:
    # a document tomllib parses (a TOML 1.1 shape in a comment sends it there) is held to rtoml's 80 levels
    from sysimage_containers import tomlfiles

    text = "# \\e\na = " + "[" * levels + "]" * levels + "\n"
    if refused:
        with pytest.raises(UsageError, match="nested more than 80 levels deep"):
            tomlfiles.loads(text, "Manifest.toml")
    else:
        assert tomlfiles.depth(tomlfiles.loads(text, "Manifest.toml")) == 80
