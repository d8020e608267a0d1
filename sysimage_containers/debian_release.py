"""The Debian release of a base image, told from its name, so that the runtime stage follows the builder's.

What a build step records by path or soname (PyCall's libpython, RCall, GDAL, a linked system library) is only
there at run time when builder and runtime are the same release. Pure: names in, names out; no registry is asked.
"""

from __future__ import annotations

import re

from sysimage_containers import imageref
from sysimage_containers.julia_versions import Version, parse_version

# Debian releases by codename, oldest first, and the major versions the official debian image tags use.
SUITES = ("stretch", "buster", "bullseye", "bookworm", "trixie", "forky")
DEBIAN_VERSIONS = {"9": "stretch", "10": "buster", "11": "bullseye", "12": "bookworm", "13": "trixie", "14": "forky"}
NEWEST = "trixie"  # under the untagged official julia and debian names (`latest`) as of 2026-12
FALLBACK_RUNTIME = f"debian:{NEWEST}-slim"

# The release under each official `julia:X.Y.Z` tag: the variant listed first in docker-library/julia's
# versions.json (the one that gets the bare tags, generate-stackbrew-library.jq) when that version was last built.
# From the repository's history: the default was buster until 60d6e4f (2021-11-30), bullseye until cf90acd
# (2023-06-13, with 1.9.1 and 1.6.7 current), bookworm until 25081b4 (2025-08-08, with 1.10.10, 1.11.6 and
# 1.12.0-rc1 current), trixie since. Per series: (first version, release) in order; `-0` is the series' start.
OFFICIAL_JULIA = {
    (1, 6): (("1.6.0-0", "buster"), ("1.6.4", "bullseye"), ("1.6.7", "bookworm")),
    (1, 7): (("1.7.0-0", "buster"), ("1.7.0-rc3", "bullseye")),
    (1, 8): (("1.8.0-0", "bullseye"),),
    (1, 9): (("1.9.0-0", "bullseye"), ("1.9.1", "bookworm")),
    (1, 10): (("1.10.0-0", "bookworm"), ("1.10.10", "trixie")),
    (1, 11): (("1.11.0-0", "bookworm"), ("1.11.6", "trixie")),
    (1, 12): (("1.12.0-0", "bookworm"), ("1.12.0-rc1", "trixie")),
}
OFFICIAL_JULIA_NAME = "docker.io/library/julia"
OFFICIAL_DEBIAN_NAME = "docker.io/library/debian"
VERSION_TAG_RE = re.compile(r"^(\d+)(?:\.(\d+))?(?:\.(\d+))?(?:-([0-9A-Za-z.]+))?$")


def official_julia_release(version: Version) -> str | None:
    """The Debian release of the official image `julia:<version>` (None before 1.6, which this table leaves out)."""
    series = (version.major, version.minor)
    if series not in OFFICIAL_JULIA:
        return NEWEST if series > max(OFFICIAL_JULIA) else None
    release = None
    for first, suite in OFFICIAL_JULIA[series]:
        if parse_version(first) <= version:
            release = suite
    return release


def release_of(image: str) -> str | None:
    """The Debian release an image reference names, or None when its name does not tell (another distribution,
    a private image without a release in its tag, a digest alone)."""
    name, tag, digest = imageref.parts(image)
    if tag is not None:
        named = [part for part in re.split(r"[-_.]", tag) if part in SUITES]
        if named:
            return named[-1]
    if name == OFFICIAL_JULIA_NAME:
        return _official_julia_tag(tag, digest)
    if name == OFFICIAL_DEBIAN_NAME and tag is not None:
        match = re.match(r"^(\d+)(?:[.-]|$)", tag)
        return DEBIAN_VERSIONS.get(match.group(1)) if match else None
    return None


def runtime_for(builder_image: str) -> str:
    """The default runtime base: the slim debian image of the builder's release."""
    return _slim(release_of(builder_image))


def runtime_for_official(version: Version) -> str:
    """runtime_for(f"julia:{version}"), the default builder, from the version itself: the name is not formatted
    to be parsed back (parsing a reference costs ~0.1 s of `generate`: the reference library's grammar)."""
    return _slim(official_julia_release(version))


def _slim(release: str | None) -> str:
    return f"debian:{release}-slim" if release is not None else FALLBACK_RUNTIME


def describe(image: str) -> str:
    release = release_of(image)
    return f"{image} (Debian {release})" if release is not None else f"{image} (release unknown)"


def _official_julia_tag(tag: str | None, digest: str | None) -> str | None:
    if tag is None:
        return None if digest is not None else NEWEST  # a digest alone pins content its name does not describe
    if tag in ("latest", "rc"):
        return NEWEST
    match = VERSION_TAG_RE.match(tag)
    if match is None:
        return None  # alpine*, windowsservercore-*, nanoserver-*
    major, minor, patch = match.groups()[:3]
    if minor is None:
        return NEWEST  # `julia:1`: the newest release
    if patch is None:  # `julia:1.10` (and `1.13-rc`): the series' newest patch
        return official_julia_release(Version(int(major), int(minor), 10**6))
    try:
        return official_julia_release(parse_version(tag))
    except ValueError:
        return None
