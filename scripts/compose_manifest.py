"""Compose an example's Manifest from a real one: the dependency closure of some packages, entries verbatim.

Pkg cannot run on the development machines, so the examples' manifests are cut from real manifests in
tests/corpus (same Julia version, real UUIDs, versions and tree hashes). Usage:
    python scripts/compose_manifest.py SOURCE_MANIFEST OUTPUT PKG [PKG ...]
"""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path


def closure(deps: dict[str, list[dict]], roots: list[str]) -> list[str]:
    seen: list[str] = []
    todo = list(roots)
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.append(name)
        direct = deps[name][0].get("deps", [])
        todo.extend(direct if isinstance(direct, list) else list(direct))
    return sorted(seen)


def blocks(text: str) -> dict[str, str]:
    out: dict[str, str] = {}
    parts = re.split(r"(?m)^(?=\[\[deps\.)", text)
    for part in parts[1:]:
        name = re.match(r"\[\[deps\.([^\]]+)\]\]", part).group(1).strip('"')
        out[name] = part.rstrip("\n") + "\n"
    return out


def main() -> None:
    source, output, *roots = sys.argv[1:]
    text = Path(source).read_text()
    data = tomllib.loads(text)
    names = closure(data["deps"], roots)
    found = blocks(text)
    body = "\n".join(found[n] for n in names)
    header = (f'# This file is machine-generated - editing it directly is not advised\n\n'
              f'julia_version = "{data["julia_version"]}"\nmanifest_format = "2.0"\n\n')
    Path(output).write_text(header + body)
    print(f"{output}: {len(names)} entries from {source}")


if __name__ == "__main__":
    main()
