"""The Debian release an image name tells (sysimage_containers/debian_release.py), against docker-library/julia's
history: the variant listed first in versions.json when a version was last built gets its bare tag."""

from __future__ import annotations

import pytest

from sysimage_containers.debian_release import release_of, runtime_for


@pytest.mark.parametrize(("image", "release"), [
    ("julia:1.6.3", "buster"),        # before 60d6e4f (2021-11-30)
    ("julia:1.6.4", "bullseye"),
    ("julia:1.6.7", "bookworm"),      # current when cf90acd (2023-06-13) added bookworm
    ("julia:1.7.0-rc2", "buster"),
    ("julia:1.7.3", "bullseye"),
    ("julia:1.8.5", "bullseye"),
    ("julia:1.9.0", "bullseye"),
    ("julia:1.9.1", "bookworm"),
    ("julia:1.10.9", "bookworm"),
    ("julia:1.10.10", "trixie"),      # current when 25081b4 (2025-08-08) added trixie
    ("julia:1.11.5", "bookworm"),
    ("julia:1.11.6", "trixie"),
    ("julia:1.12.0-beta4", "bookworm"),
    ("julia:1.12.0-rc1", "trixie"),
    ("julia:1.12.7", "trixie"),
    ("julia:1.9", "bookworm"),        # a series tag: its newest patch
    ("julia:1.11", "trixie"),
    ("julia", "trixie"),
    ("docker.io/library/julia:latest", "trixie"),
    ("julia:1.12.7-bookworm", "bookworm"),
    ("debian:bullseye-slim", "bullseye"),
    ("debian:12.5-slim", "bookworm"),
    ("ubuntu:24.04", None),
    ("ubuntu:12.04", None),           # a Debian major version in the tag of another distribution
    ("julia:alpine3.22", None),
    ("julia:1.5.4", None),            # older than the table
    ("julia@sha256:" + "a" * 64, None),
    ("registry.example.com/julia:1.11.5", None),
])
def test_release_of(image: str, release: str | None) -> None:
    assert release_of(image) == release
    assert runtime_for(image) == f"debian:{release or 'trixie'}-slim"


def test_the_default_builder_runtime_is_told_without_parsing_its_name() -> None:
    # plan.py gives the default builder (julia:<version>) its runtime from the version itself; the same answer as
    # the name's, for every release this tool knows and a few it does not (a prerelease, a series' far patch)
    from sysimage_containers.debian_release import runtime_for_official
    from sysimage_containers.julia_versions import KnownReleases, parse_version

    versions = [*KnownReleases.load().releases, *map(parse_version, ("1.5.4", "1.12.0-beta4", "1.13.0-rc1", "1.99.0"))]
    assert len(versions) > 40
    for version in versions:
        assert runtime_for_official(version) == runtime_for(f"julia:{version}"), version
