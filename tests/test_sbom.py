"""The Julia SBOM (CycloneDX 1.6): validated against the CycloneDX schema with the CycloneDX project's library,
exactly the manifest's entries with purl-spec `julia` package URLs, and carried by the built image."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import tomli_w
from conftest import CORPUS, EXAMPLES
from corpus_expectations import GENERATES
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator
from hypothesis import given, settings
from hypothesis import strategies as st
from packageurl import PackageURL

from sysimage_containers import sbom
from sysimage_containers.pipeline import prepare


def document(project: Path) -> tuple[dict, object]:
    prepared = prepare(project)
    text = prepared.files["sysimage-docker/sbom.cdx.json"]
    assert JsonStrictValidator(SchemaVersion.V1_6).validate_str(text) is None
    return json.loads(text), prepared


def props(component: dict) -> dict[str, str]:
    return {p["name"]: p["value"] for p in component.get("properties", [])}


def test_815_packages_exactly_as_the_manifest_has_them() -> None:
    doc, prepared = document(CORPUS / "16-legend-exp--legend-julia-environments--base")
    entries = prepared.environment.manifest.entries
    julia, *libraries = doc["components"]
    assert (julia["name"], julia["version"], julia["type"]) == ("julia", "1.12.4", "platform")
    assert len(libraries) == len(entries) == 815
    parsed = {c["name"]: PackageURL.from_string(c["purl"]) for c in libraries}
    assert sorted((name, purl.qualifiers["uuid"]) for name, purl in parsed.items()) == sorted(
        (e.name, e.uuid) for e in entries)
    by_name = {c["name"]: c for c in libraries}
    for entry in entries:
        component = by_name[entry.name]
        purl = parsed[entry.name]  # percent-encoded per the spec (`+` in jll versions)
        assert (purl.type, purl.namespace, purl.name, purl.version, purl.qualifiers) == (
            "julia", None, entry.name, component["version"], {"uuid": entry.uuid})
        assert component["purl"] == component["bom-ref"] == str(purl)  # the canonical form, as the library has it
        # a git tree hash is a directory identifier (SWHID), not a file hash
        assert "hashes" not in component
        assert component.get("swhid") == ([f"swh:1:dir:{entry.tree_hash}"] if entry.tree_hash else None)
        assert (props(component).get("julia:stdlib") == "true") == entry.is_stdlib
        assert "julia:registry" not in props(component)  # no [registries] configured: General's
    baked = {p.name for p in prepared.plan.baked}
    assert {c["name"] for c in libraries if props(c).get("sysimage-docker:baked") == "true"} == baked
    assert {props(c).get("sysimage-docker:baked") for c in libraries} == {"true", None}


def test_git_packages_and_stdlibs_without_versions() -> None:
    # a format-1.0 manifest of Julia 1.6 with a repo-url package (PlutoSliderServer from its git repository)
    doc, _ = document(CORPUS / "04-mattborghi--pluto-deploy--pluto-deployment-environment")
    by_name = {c["name"]: c for c in doc["components"]}
    slider = by_name["PlutoSliderServer"]
    assert slider["externalReferences"] == [{"type": "vcs", "url": "https://github.com/JuliaPluto/PlutoSliderServer.jl"}]
    assert props(slider)["julia:repo-rev"] == "main"
    assert props(by_name["Dates"])["julia:stdlib"] == "true" and by_name["Dates"]["version"] == "1.6.7"


def test_the_document_is_deterministic(cli, tmp_path: Path) -> None:
    first = cli("sbom", EXAMPLES / "http-service")
    second = cli("sbom", EXAMPLES / "http-service", "-o", tmp_path / "sbom.json")
    assert first.code == second.code == 0
    assert first.out == (tmp_path / "sbom.json").read_text()
    assert "timestamp" not in first.out
    assert json.loads(first.out)["version"] == 1  # the document's own version: a first issue
    assert json.loads(first.out)["metadata"]["component"] == {"type": "application", "bom-ref": "project",
                                                               "name": "GreetService", "version": "0.1.0"}


GENERAL = '[registries.General]\nuuid = "23338594-aafe-5451-b93e-139f81909106"\nurl = "https://github.com/JuliaRegistries/General.git"\n'
PRIVATE = '[registries.Acme]\nuuid = "5f1d2f2c-1111-4222-8333-444455556666"\nurl = "https://ci:s3cret@git.example.com/acme/Registry.git"\n'


def _manifest_21(tmp_path: Path, top: str, entries: str) -> Path:
    project = tmp_path / "app"
    project.mkdir()
    (project / "Project.toml").write_text('[deps]\nPub = "00000000-0000-4000-8000-000000000001"\n'
                                          'Priv = "00000000-0000-4000-8000-000000000002"\n')
    (project / "Manifest.toml").write_text(f'julia_version = "1.12.4"\nmanifest_format = "2.1"\n{top}\n{entries}')
    return project


ENTRIES_21 = ('[[deps.Pub]]\ngit-tree-sha1 = "46e44e869b4d90b96bd8ed1fdcf32244fddfb6cc"\n'
              'uuid = "00000000-0000-4000-8000-000000000001"\nversion = "0.5.3"\nregistries = "General"\n\n'
              '[[deps.Priv]]\ngit-tree-sha1 = "56e44e869b4d90b96bd8ed1fdcf32244fddfb6cc"\n'
              'uuid = "00000000-0000-4000-8000-000000000002"\nversion = "1.0.0"\nregistries = ["Acme"]\n')


def test_a_package_from_another_registry_names_it_in_the_purl(tmp_path: Path) -> None:
    # format 2.1 (Pkg.jl #4460; test/manifest/formats/v2.1/Manifest.toml) records each entry's registries
    doc, _ = document(_manifest_21(tmp_path, GENERAL + PRIVATE, ENTRIES_21))
    by_name = {c["name"]: c for c in doc["components"]}
    assert by_name["Pub"]["purl"] == "pkg:julia/Pub@0.5.3?uuid=00000000-0000-4000-8000-000000000001"
    private = PackageURL.from_string(by_name["Priv"]["purl"])
    assert private.qualifiers == {"repository_url": "https://git.example.com/acme/Registry.git",
                                  "uuid": "00000000-0000-4000-8000-000000000002"}  # the credentials stripped
    assert by_name["Priv"]["purl"] == str(private)
    assert "s3cret" not in json.dumps(doc)
    assert "julia:registry" not in props(by_name["Priv"])


def test_an_unknown_registry_is_said_to_be_unknown(cli, tmp_path: Path) -> None:
    # a registry id without a url, and an older manifest with [registries] configured: nothing tells which
    no_url = PRIVATE.replace('url = "https://ci:s3cret@git.example.com/acme/Registry.git"\n', "")
    project = _manifest_21(tmp_path, GENERAL + no_url, ENTRIES_21)
    doc, _ = document(project)
    by_name = {c["name"]: c for c in doc["components"]}
    assert props(by_name["Priv"])["julia:registry"] == "unknown" and "repository_url" not in by_name["Priv"]["purl"]
    assert "julia:registry" not in props(by_name["Pub"])
    service = tmp_path / "service"
    shutil.copytree(EXAMPLES / "http-service", service)
    with (service / "sysimage-docker.toml").open("a") as fh:
        fh.write('\n[registries]\nAcme = "https://git.example.com/acme/Registry.git"\n')
    doc, _ = document(service)
    registered = [c for c in doc["components"][1:] if "swhid" in c]
    assert registered and all(props(c)["julia:registry"] == "unknown" for c in registered)
    assert all("julia:registry" not in props(c) for c in doc["components"][1:] if "swhid" not in c)


@given(name=st.from_regex(r"[A-Za-z_][A-Za-z0-9_!]{0,12}", fullmatch=True),
       version=st.none() | st.text(min_size=1, max_size=12).filter(lambda v: v == v.strip()),  # the library strips
       repository=st.none() | st.sampled_from(["https://github.com/HolyLab/HolyLabRegistry", "git@h.example:a/R.git",
                                               "https://h.example/a b?c=d&e#f"]))
def test_purl_is_what_the_purl_library_writes(name: str, version: str | None, repository: str | None) -> None:
    from sysimage_containers.project import ManifestEntry

    entry = ManifestEntry(name=name, uuid="44cfe95a-1eb2-52ea-b672-e2afdf69b78f", version=version)
    qualifiers = {"uuid": entry.uuid, **({"repository_url": repository} if repository else {})}
    assert sbom.purl(entry, version, repository) == str(
        PackageURL(type="julia", name=name, version=version or None, qualifiers=qualifiers))


def test_hostile_manifest_values_stay_values(tmp_path: Path) -> None:
    hostile = 'a"b\\c\n\x01é</script>'
    printable = 'a"b\\c é</script>'
    project = tmp_path / "app"
    project.mkdir()
    # X is an indirect dependency: a baked one's version reaches the image label, whose guard refuses control characters
    (project / "Project.toml").write_text("[deps]\n")
    (project / "Manifest.toml").write_text(tomli_w.dumps({
        "julia_version": "1.11.5", "manifest_format": "2.0", "deps": {"X": [{
            # (a repo-url with control characters is refused: test_bad_input, "repo-url with a token after a newline")
            "git-tree-sha1": hostile, "repo-url": f"https://e.example/{printable}", "repo-rev": hostile,
            "uuid": "00000000-0000-4000-8000-000000000001", "version": f"1.0.0-{hostile}"}]}}))
    doc, prepared = document(project)
    entry = prepared.environment.manifest.entries[0]
    assert entry.repo_rev == hostile
    component = doc["components"][1]
    assert component["version"] == entry.version
    assert props(component)["julia:repo-rev"] == hostile
    assert props(component)["julia:git-tree-sha1"] == hostile and "swhid" not in component
    # not a URL the schema accepts: kept as a property, as written (so is git's scp-like git@host:path)
    assert props(component)["julia:repo-url"] == entry.repo_url and "externalReferences" not in component
    assert PackageURL.from_string(component["purl"]).version == entry.version


@given(st.text(alphabet=st.characters(codec="ascii"), max_size=40).map(lambda t: "https://" + t) |
       st.sampled_from(["git@github.com:acme/X.jl.git", "ssh://git@h.example:22/x.git", "https://h:port/x",
                        "https://h.example/a%zz", "file:///srv/x.git", "https://h.example/x#a#b"]))
def test_a_vcs_url_is_one_the_schema_accepts(url: str) -> None:
    from jsonschema import FormatChecker

    if sbom._is_url(url):
        assert FormatChecker().conforms(url, "iri-reference")


def test_purl_escapes_per_the_spec() -> None:
    from sysimage_containers.project import ManifestEntry

    entry = ManifestEntry(name="Pkg!", uuid="44cfe95a-1eb2-52ea-b672-e2afdf69b78f", version="1.0.0+build.1")
    assert sbom.purl(entry, entry.version) == ("pkg:julia/Pkg%21@1.0.0%2Bbuild.1"
                                               "?uuid=44cfe95a-1eb2-52ea-b672-e2afdf69b78f")


@pytest.mark.docker
def test_the_image_carries_its_sbom(docker_env, example, tmp_path: Path) -> None:
    project = example("http-service")
    tag = docker_env.unique_tag("sbom")
    result = docker_env.build(project, "-t", tag, "--sbom-file", str(tmp_path / "out.cdx.json"))
    assert result.returncode == 0, result.stderr
    from_project = docker_env.cli("sbom", project).stdout
    from_image = docker_env.cli("sbom", tag)
    assert from_image.returncode == 0, from_image.stderr
    assert from_image.stdout == from_project == (tmp_path / "out.cdx.json").read_text()
    labels = json.loads(docker_env.docker("image", "inspect", tag).stdout)[0]["Config"]["Labels"]
    assert labels["dev.sysimage-docker.sbom"] == "/opt/sysimage-docker/sbom.cdx.json"
    missing = docker_env.cli("sbom", "sysimage-docker-test/not-there:1")
    assert missing.returncode == 2 and "no such project directory or image" in missing.stderr


def each_by_component(entries, registries) -> list[bool]:  # type: ignore[no-untyped-def]
    return [False] * len(entries)


@pytest.mark.parametrize("project", [CORPUS / name for name in sorted(GENERATES)] + [
    EXAMPLES / "http-service", EXAMPLES / "pycall-app"], ids=lambda p: p.name[:24])
def test_the_fast_components_are_what_the_general_writer_writes(project: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    # most components are written by one f-string (sbom._components); the general writer, _component, written
    # once per entry, is the reference: the same document, character for character
    prepared = prepare(project)
    fast = sbom.render(prepared.environment, prepared.plan)
    monkeypatch.setattr(sbom, "_plain_entries", each_by_component)
    assert fast == sbom.render(prepared.environment, prepared.plan)


TEXT = st.sampled_from(["1.0.0", "1.0.0+build.1", "0.1.0-DEV", "", "a\"b", "x\ny", "é", "~:/._-", "1 0",
                        "46e44e869b4d90b96bd8ed1fdcf32244fddfb6cc", "46E44E869B4D90B96BD8ED1FDCF32244FDDFB6CC",
                        "https://github.com/JuliaPluto/X.jl", "git@h.example:a/X.git", "../Dev"])


def usually(common: st.SearchStrategy) -> st.SearchStrategy:
    """The value most entries have three times in four, else anything: whole entries of the common shape come up
    often, and so do entries one value away from it."""
    return st.integers(0, 3).flatmap(lambda n: common if n else st.none() | TEXT)


ROWS = st.lists(st.tuples(
    st.sampled_from(["Pkg", "Pkg!", "A_b9", "Twin"]), usually(st.sampled_from(["1.0.0", "1.0.0+build.1"])),
    usually(st.none()), usually(st.none()), usually(st.none()),
    usually(st.sampled_from(["46e44e869b4d90b96bd8ed1fdcf32244fddfb6cc", "46E44E869B4D90B96BD8ED1FDCF32244FDDFB6CC"])),
    st.sampled_from([(), ("General",), ("Acme",), ("Other",), ("Acme", "General")])), max_size=6)


@settings(max_examples=300)
@given(rows=ROWS, others=st.booleans(), baked=st.sets(st.sampled_from(["Pkg", "Twin"])))
def test_any_entry_is_written_as_the_general_writer_writes_it(rows, others: bool, baked: set[str]) -> None:
    from types import SimpleNamespace

    from sysimage_containers.project import ManifestEntry

    entries = tuple(ManifestEntry(name, "44cfe95a-1eb2-52ea-b672-e2afdf69b78f", version, path, url, rev, tree, ids)
                    for name, version, path, url, rev, tree, ids in rows)
    manifest = SimpleNamespace(registries=(("General", sbom.GENERAL_UUID, None),
                                           ("Acme", "5f1d2f2c-1111-4222-8333-444455556666", "https://a.example/R")))
    plan = SimpleNamespace(registries=(("Other", "https://o.example/R"),) if others else ())
    registries = sbom._Registries(manifest, plan)  # type: ignore[arg-type]
    expected = [sbom._component(e, "1.11.5", frozenset(baked), registries) for e in entries]
    assert sbom._components(entries, "1.11.5", frozenset(baked), registries) == expected


def test_a_stdlib_beside_an_unusual_version_is_written_as_the_general_writer_writes_it() -> None:
    # the version column fails its one-pass check (a stdlib has none, another entry's has a space): the entries are
    # then judged one by one, the stdlib's None included
    from types import SimpleNamespace

    from sysimage_containers.project import ManifestEntry

    entries = (ManifestEntry("Base64", "2a0f44e3-6c83-55bd-87e4-b1978d98bd5f"),
               ManifestEntry("Odd", "44cfe95a-1eb2-52ea-b672-e2afdf69b78f", "1.0 beta", tree_hash="a" * 40),
               ManifestEntry("Fine", "44cfe95a-1eb2-52ea-b672-e2afdf69b78e", "1.0.0", tree_hash="b" * 40))
    manifest = SimpleNamespace(registries=(("General", sbom.GENERAL_UUID, None),))
    registries = sbom._Registries(manifest, SimpleNamespace(registries=()))  # type: ignore[arg-type]
    assert sbom._plain_entries(entries, registries) == [False, False, True]
    assert sbom._components(entries, "1.11.5", frozenset(), registries) == [
        sbom._component(e, "1.11.5", frozenset(), registries) for e in entries]
