"""What counts as a credential (credentials.looks_like) and how URLs lose theirs in free text (urls.redact): the
shapes refused in build_env/env, the ordinary values that must pass, and the files the tool writes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sysimage_containers import credentials, metadata, urls


@pytest.mark.parametrize(("value", "shape"), [
    ("ghp_" + "aB3dE5gH7jK9mN1pQ3sT5vX7zA9cE1gI3kM5", "a GitHub token"),
    ("github_pat_11AAAAAAA0aB3dE5gH7jK9mN1pQ3sT5v", "a GitHub token"),
    ("glpat-aB3dE5gH7jK9mN1pQ3sT", "a GitLab token"),
    ("xoxb-123456789012-abcdef", "a Slack token"),
    ("ASIAIOSFODNN7EXAMPLE", "an AWS access key id"),
    ("sk-proj-aB3dE5gH7jK9mN1pQ3sT5vX7", "an API secret key"),
    ("sk_live_aB3dE5gH7jK9mN1pQ3sT5vX7", "an API secret key"),
    ("AIza" + "SyA1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q", "a Google API key"),
    ("npm_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8", "an npm token"),
    ("pypi-AgEIcHlwaS5vcmcCJGFiY2RlZmdoLWlqa2wtbW5vcC1xcnN0LXV2d3h5ejEyMzQ1", "a PyPI token"),
    ("hf_aB3dE5gH7jK9mN1pQ3sT5vX7zA9cE1gI3", "a Hugging Face token"),
    ("-----BEGIN OPENSSH PRIVATE KEY-----\\nb3Blbn", "a PEM block"),
    ("Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.c2ln", "a JSON Web Token"),
    ("https://ci:hunter2@pkg.example.com", "a URL with credentials"),
    ("https://pkg.example.com/?token=abc", "a URL with credentials"),
    ("Zq8Lm2Rt6Vw0Yb4Nc7Hd1Jf5Kg9Ps3Ue", "a long random string"),
])
def test_credential_shapes(value: str, shape: str) -> None:
    assert credentials.looks_like(value) == shape


@pytest.mark.parametrize("value", [
    "python3", "", "/opt/conda/bin/python3", "https://pkg.julialang.org", "https://pkg.example.com/registry?ref=main",
    "0123456789abcdef0123456789abcdef01234567",  # a commit id: hex stays under the entropy bound
    "123e4567-e89b-12d3-a456-426614174000", "scikit-learn", "sk-learn", "-O3 -march=x86-64-v3 -fno-plt",
    "JULIA_PKG_SERVER_REGISTRY_PREFERENCE", "generic;sandybridge,-xsaveopt,clone_all;haswell,-rdrnd,base(1)",
    "AKIA", "Europe/Berlin", "C.UTF-8", "--threads=auto",
])
def test_ordinary_values_pass(value: str) -> None:
    assert credentials.looks_like(value) is None


def test_redact_strips_every_url_in_free_text() -> None:
    line = ("#12 0.3 cloning https://ci:ghp_x@github.com/a/b.git and https://h/p?X-Amz-Signature=s&v=1, "
            "git@github.com:a/b.git")
    assert urls.redact(line) == ("#12 0.3 cloning https://github.com/a/b.git and https://h/p?v=1, "
                                 "git@github.com:a/b.git")
    assert urls.redact("no url here") == "no url here"


def test_written_files_hold_no_url_credentials(tmp_path: Path) -> None:
    target = tmp_path / "build.json"
    metadata.write(target, {"error": "fetch https://u:secret-token@example.com/x failed", "n": 1})
    assert json.loads(target.read_text()) == {"error": "fetch https://example.com/x failed", "n": 1}
