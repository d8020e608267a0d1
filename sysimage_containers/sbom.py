"""A CycloneDX 1.6 SBOM of the Julia side of the image, which image scanners cannot see (they know apt and pip,
not a Julia depot): every manifest entry the image holds, Julia itself, and which packages are in the sysimage.

Package URLs follow the purl-spec `julia` type (types/julia-definition.json: no namespace, the package UUID as the
required `uuid` qualifier). The git tree SHA-1 of a registered or git package is its hash; a path package is a
local component; stdlibs are marked. The document is written here as plain JSON, deterministically (no timestamp,
a serial number derived from the inputs): the CycloneDX library's model took 29 s to serialise 10,000 components
(measured), so the tests validate this output against the CycloneDX schema with that library instead.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from packageurl import PackageURL

from sysimage_containers.plan import BuildPlan
from sysimage_containers.project import Environment, ManifestEntry
from sysimage_containers.urls import strip_credentials

SPEC_VERSION = "1.6"
PROPERTY = "sysimage-docker:"  # our property names, in CycloneDX's namespace convention


def purl(entry: ManifestEntry, version: str | None) -> str:
    return str(PackageURL(type="julia", name=entry.name, version=version, qualifiers={"uuid": entry.uuid}))


def _component(entry: ManifestEntry, julia_version: str, baked: frozenset[str]) -> dict[str, Any]:
    version = entry.version or (julia_version if entry.is_stdlib else None)
    ref = purl(entry, version)
    component: dict[str, Any] = {"type": "library", "bom-ref": ref, "name": entry.name}
    if version is not None:
        component["version"] = version
    component["purl"] = ref
    if entry.tree_hash is not None:
        component["hashes"] = [{"alg": "SHA-1", "content": entry.tree_hash}]
    if entry.repo_url is not None:
        component["externalReferences"] = [{"type": "vcs", "url": strip_credentials(entry.repo_url)}]
    properties = [{"name": "julia:uuid", "value": entry.uuid}]
    if entry.is_stdlib:
        properties.append({"name": "julia:stdlib", "value": "true"})
    if entry.path is not None:
        properties.append({"name": "julia:path", "value": entry.path})
    if entry.repo_rev is not None:
        properties.append({"name": "julia:repo-rev", "value": entry.repo_rev})
    properties.append({"name": f"{PROPERTY}baked", "value": "true" if entry.name in baked else "false"})
    component["properties"] = properties
    return component


def document(environment: Environment, plan: BuildPlan) -> dict[str, Any]:
    manifest = environment.manifest
    entries = manifest.entries if manifest is not None else ()
    baked = frozenset(p.name for p in plan.baked)
    project = environment.project
    seed = f"{project.name}|{project.uuid}|{manifest.sha256 if manifest else ''}|{plan.julia_version}|{plan.mode}"
    subject: dict[str, Any] = {"type": "application", "bom-ref": "project", "name": plan.project_name}
    if plan.project_version:
        subject["version"] = plan.project_version
    properties = [{"name": f"{PROPERTY}mode", "value": plan.mode},
                  {"name": f"{PROPERTY}sysimage", "value": plan.sysimage_path or "none"}]
    if manifest is None:  # resolved in the builder: the versions are only known after the build
        properties.append({"name": f"{PROPERTY}manifest", "value": "resolved in the builder"})
    julia = {"type": "platform", "bom-ref": "julia", "name": "julia", "version": plan.julia_version,
             "purl": str(PackageURL(type="generic", name="julia", version=plan.julia_version)),
             "externalReferences": [{"type": "website", "url": "https://julialang.org"}]}
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
        "components": [julia, *(_component(e, plan.julia_version, baked) for e in entries)],
    }


def render(environment: Environment, plan: BuildPlan) -> str:
    return json.dumps(document(environment, plan), indent=1) + "\n"
