"""Registry and storage failures sorted by cause, each with its own way out (no engine needed: the messages are
the ones Docker 20.10, Docker's distribution registry and podman print; the engine tests produce several of them
for real in test_failures_engine.py)."""

from __future__ import annotations

import pytest

from sysimage_containers import failures

REG = "reg.example.com:5000"


@pytest.mark.parametrize(("said", "hint"), [
    ("Get \"http://127.0.0.1:1/v2/\": dial tcp 127.0.0.1:1: connect: connection refused",
     f"nothing answers at {REG}: is the registry running, and are the host and port right?"),
    ("Get \"https://nope.invalid/v2/\": dial tcp: lookup nope.invalid on 127.0.0.53:53: no such host",
     f"the name of {REG} does not resolve: check its spelling and the runner's DNS"),
    ("unauthorized: authentication required", f"log in with `docker login {REG}`"),
    ("no basic auth credentials", f"log in with `docker login {REG}`"),
    ("denied: requested access to the resource is denied",
     f"{REG} refuses this repository: log in with `docker login {REG}`, as a user (or CI token) with rights to "
     "push there"),
    ("Get \"https://reg/v2/\": x509: certificate signed by unknown authority",
     f"TLS with {REG} failed: give the engine the registry's CA (/etc/docker/certs.d/{REG}/ca.crt), or, for a "
     "plain-HTTP registry, list it in the engine's insecure-registries"),
    ("http: server gave HTTP response to HTTPS client", f"TLS with {REG} failed: give the engine the registry's CA "
     f"(/etc/docker/certs.d/{REG}/ca.crt), or, for a plain-HTTP registry, list it in the engine's insecure-registries"),
    ("Error: writing blob: storing blob to file \"/var/tmp/x\": write /var/tmp/x: no space left on device",
     f"the engine's storage is the problem, not {REG}: free space (`docker system df`, remove unused images) or "
     "check its storage driver"),
    ("net/http: TLS handshake timeout", f"{REG} did not answer in time: check the network between the engine and it "
     "(a proxy?)"),
    ("something else entirely", f"if it needs a login: `docker login {REG}`"),
])
def test_each_cause_has_its_own_hint(said: str, hint: str) -> None:
    assert failures.registry_hint(said, REG, "docker") == hint


def test_a_refused_connection_is_unreachable_and_a_missing_image_is_not() -> None:
    assert not failures.reachable("dial tcp 127.0.0.1:1: connect: connection refused")
    assert not failures.reachable("lookup x on y: no such host")
    assert failures.reachable("manifest for 127.0.0.1:5000/team/cache:builder not found: manifest unknown")
    assert failures.reachable("unauthorized: authentication required")
