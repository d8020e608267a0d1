"""Image references: the distribution registry's grammar in one place, for tags, base images and caches; the same
verdict from generate and build --dry-run."""

from __future__ import annotations

import pytest
from conftest import EXAMPLES

from sysimage_containers import imageref
from sysimage_containers.errors import UsageError

VALID = ["julia:1.11.5", "127.0.0.1:5000/x:1", "localhost:5000/x:1", "myhost:5000/team/x:1", "ghcr.io/org/app:v1",
         "registry.example.com/a/b/c:1.0-rc1", "debian", "docker.io/library/debian:trixie-slim", "a_b/c-d.e/f__g:Tag_1"]
INVALID = {"Julia:1": "repository name must be lowercase", "a b": "invalid reference format",
           "x:": "invalid reference format", "host:port/x": "invalid reference format",
           "x:" + "t" * 129: "invalid reference format", "/x": "invalid reference format"}
DIGEST = "julia@sha256:" + "a" * 64


@pytest.mark.parametrize("reference", VALID)
def test_valid_references(reference: str) -> None:
    assert imageref.check(reference, "--tag", digest=False) == reference


@pytest.mark.parametrize(("reference", "reason"), sorted(INVALID.items()))
def test_invalid_references_say_why(reference: str, reason: str) -> None:
    with pytest.raises(UsageError) as caught:
        imageref.check(reference, "--builder-image")
    assert caught.value.message == f"--builder-image: {reference!r} is not a valid image reference ({reason})"


def test_a_digest_is_a_base_image_but_not_a_tag() -> None:
    assert imageref.check(DIGEST, "--runtime-image") == DIGEST
    with pytest.raises(UsageError, match="names a digest; a tag is NAME"):
        imageref.check(DIGEST, "--tag", digest=False)


@pytest.mark.parametrize(("reference", "registry"), [
    ("julia:1", "docker.io"), ("team/app:1", "docker.io"), ("127.0.0.1:5000/x:1", "127.0.0.1:5000"),
    ("ghcr.io/org/app", "ghcr.io"), ("localhost/x", "localhost"), ("myhost:5000/team/x", "myhost:5000")])
def test_the_registry_of_a_reference(reference: str, registry: str) -> None:
    assert imageref.registry(reference) == registry


@pytest.mark.parametrize("tag", ["127.0.0.1:5000/x:1", "localhost:5000/x:1", "myhost:5000/team/x:1"])
def test_tags_and_base_images_with_a_registry_port(cli, tag: str) -> None:
    assert cli("build", EXAMPLES / "hello", "--dry-run", "-t", tag).code == 0
    result = cli("generate", EXAMPLES / "hello", "--builder-image", tag, "--runtime-image", tag)
    assert result.code == 0 and f"FROM {tag} AS tools" in result.out and f"FROM {tag} AS runtime" in result.out
