"""What podman does differently from the docker CLI (it takes the same build flags): a push reports its digest
in a file, and `podman version` without a service has no server part, the local engine being the client."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path


def push_command(client: Sequence[str], tag: str, digest_file: Path) -> list[str]:
    return [*client, "push", "--digestfile", str(digest_file), tag]
