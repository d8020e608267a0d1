"""The Julia SBOM (CycloneDX 1.6): validated against the CycloneDX schema with the CycloneDX project's library,
exactly the manifest's entries with purl-spec `julia` package URLs, and carried by the built image."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import CORPUS, EXAMPLES
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator
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
    assert sorted((c["name"], props(c)["julia:uuid"]) for c in libraries) == sorted((e.name, e.uuid) for e in entries)
    by_name = {c["name"]: c for c in libraries}
    for entry in entries:
        component = by_name[entry.name]
        parsed = PackageURL.from_string(component["purl"])  # percent-encoded per the spec (`+` in jll versions)
        assert (parsed.type, parsed.namespace, parsed.name, parsed.version, parsed.qualifiers) == (
            "julia", None, entry.name, component["version"], {"uuid": entry.uuid})
        if entry.tree_hash:
            assert component["hashes"] == [{"alg": "SHA-1", "content": entry.tree_hash}]
        assert (props(component).get("julia:stdlib") == "true") == entry.is_stdlib
    baked = {p.name for p in prepared.plan.baked}
    assert {c["name"] for c in libraries if props(c)["sysimage-docker:baked"] == "true"} == baked


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
    assert json.loads(first.out)["metadata"]["component"] == {"type": "application", "bom-ref": "project",
                                                               "name": "GreetService", "version": "0.1.0"}


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
