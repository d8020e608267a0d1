"""What a registry or the engine's storage said, sorted by cause, with the way out that fits the cause: a login
does not help a registry that refuses connections, and a disk that is full is not a registry problem.

The patterns are the words Docker's and podman's clients print (Go's net package: "connection refused", "no such
host", "server misbehaving"; the distribution registry's "unauthorized", "denied"; Go's crypto/tls and x509;
the kernel's ENOSPC)."""

from __future__ import annotations

import re

CAUSES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("storage", re.compile(r"(?i)no space left on device|disk quota exceeded|read-only file system|"
                           r"error creating overlay mount|database is locked|storage\.conf")),
    ("connection refused", re.compile(r"(?i)connection refused")),
    ("name resolution", re.compile(r"(?i)no such host|name resolution|server misbehaving|"
                                   r"name or service not known|lookup \S+ on \S+")),
    ("TLS", re.compile(r"(?i)x509|certificate|tls: |server gave HTTP response to HTTPS client|"
                       r"first record does not look like a TLS handshake")),
    ("forbidden", re.compile(r"(?i)\b403\b|forbidden|denied: requested access|requested access to the resource is "
                             r"denied|insufficient_scope")),
    ("unauthorized", re.compile(r"(?i)\b401\b|unauthorized|authentication required|no basic auth credentials|"
                                r"denied")),
    ("timeout", re.compile(r"(?i)i/o timeout|context deadline exceeded|TLS handshake timeout|timed out")),
)


def cause(text: str) -> str | None:
    for name, pattern in CAUSES:
        if pattern.search(text):
            return name
    return None


def registry_hint(text: str, registry: str, client: str) -> str:
    """The way out for a failed push or pull to REGISTRY, by what the engine said."""
    found = cause(text)
    if found == "storage":
        return (f"the engine's storage is the problem, not {registry}: free space (`{client} system df`, remove "
                "unused images) or check its storage driver")
    if found == "connection refused":
        return f"nothing answers at {registry}: is the registry running, and are the host and port right?"
    if found == "name resolution":
        return f"the name of {registry} does not resolve: check its spelling and the runner's DNS"
    if found == "TLS":
        return (f"TLS with {registry} failed: give the engine the registry's CA (/etc/docker/certs.d/{registry}/"
                "ca.crt), or, for a plain-HTTP registry, list it in the engine's insecure-registries")
    if found == "forbidden":
        # Docker Hub says "denied" both to no login and to a login without rights to the repository
        return (f"{registry} refuses this repository: log in with `{client} login {registry}`, as a user (or CI "
                "token) with rights to push there")
    if found == "unauthorized":
        return f"log in with `{client} login {registry}`"
    if found == "timeout":
        return f"{registry} did not answer in time: check the network between the engine and it (a proxy?)"
    return f"if it needs a login: `{client} login {registry}`"


def reachable(text: str) -> bool:
    """False when a pull failed because the registry could not be reached at all (not: the image is missing)."""
    return cause(text) not in ("connection refused", "name resolution", "TLS", "timeout")
