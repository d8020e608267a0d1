"""The build context on a real engine: what `.dockerignore` and the defaults leave out never reaches an image,
and our matcher agrees with the one Docker itself applies to a context."""

from __future__ import annotations

import subprocess
import uuid
from pathlib import Path

import pytest

from sysimage_containers import context

pytestmark = pytest.mark.docker


def test_dotenv_and_ignored_data_never_reach_the_image(docker_env, example) -> None:
    marker = f"SECRET-{uuid.uuid4().hex}"
    data_marker = f"DATA-{uuid.uuid4().hex}"
    project = example("hello")
    (project / ".env").write_text(f"API_KEY={marker}\n")
    (project / "data").mkdir()
    (project / "data" / "big.csv").write_text(f"{data_marker}\n" * 1000)
    (project / "data" / "small.csv").write_text("kept\n")
    (project / ".dockerignore").write_text("data/big.csv\n")
    tag = docker_env.unique_tag("context")
    result = docker_env.build(project, "-t", tag)
    assert result.returncode == 0, result.stderr
    assert (f"left out of the build context by the default exclusions and {project}/.dockerignore: .env, "
            "data/big.csv") in result.stderr
    image = subprocess.run([docker_env.client, "save", tag], capture_output=True, check=True, timeout=120).stdout
    assert b"kept\n" in image  # positive control: the scan reaches the layers' files
    assert marker.encode() not in image
    assert data_marker.encode() not in image
    assert docker_env.sh(tag, "ls -a /app /app/data").split() == [
        "/app:", ".", "..", ".dockerignore", "Manifest.toml", "Project.toml", "bin", "data", "precompile",
        "/app/data:", ".", "..", "small.csv"]  # sysimage-docker.toml never ships (issue 19.6)


TREE = ("temp1", "tempX/file", "a/temp.txt", "a/b/temporary", "a/b/c/temp", "b/tempdir/x.txt", "README.md",
        "README-secret.md", "notes.md", "docs/guide.md", "src/main.go", "src/pkg/util.go", "x.go", "Keep.TXT")
# Pattern sets from Docker's .dockerignore documentation and the corners of its matcher
PATTERN_SETS = {
    "docs example": ["# comment", "*/temp*", "*/*/temp*", "temp?"],
    "double star": ["**/*.go"],
    "exception then exclusion": ["*.md", "!README*.md", "README-secret.md"],
    "exclusion then exception": ["*.md", "README-secret.md", "!README*.md"],
    "directory with an exception": ["src", "!src/pkg/util.go"],
    "slashes and case": ["/docs/", "a/b/", "keep.txt"],
    "everything but": ["**", "!README.md", "!src/**"],
}


def ours(root: Path, patterns: list[str]) -> set[str]:
    acc = context._Accumulator()
    context._Walker(root, "ctx", context._Rules(patterns), acc, skip=frozenset(), selected_manifest=None).run()
    return {f.rel.removeprefix("ctx/") for f in acc.files}


@pytest.mark.parametrize("name", sorted(PATTERN_SETS))
def test_our_matcher_agrees_with_dockers(docker_env, tmp_path: Path, name: str) -> None:
    tree = tmp_path / "tree"
    for rel in TREE:
        (tree / rel).parent.mkdir(parents=True, exist_ok=True)
        (tree / rel).write_text(rel)
    patterns = PATTERN_SETS[name]
    (tree / ".dockerignore").write_text("\n".join(patterns) + "\n")
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text(f"FROM {docker_env.runtime_image}\nCOPY . /ctx/\n")
    tag = docker_env.unique_tag("matcher")
    built = subprocess.run([docker_env.client, "build", "-q", "--network", "none", "-f", str(dockerfile), "-t", tag,
                            str(tree)], capture_output=True, text=True, timeout=120,
                           env={"DOCKER_BUILDKIT": "1", "PATH": "/usr/bin:/bin"})
    assert built.returncode == 0, built.stderr
    listed = docker_env.sh(tag, "cd /ctx && find . -type f | sed 's|^./||'").split()
    assert ours(tree, patterns) == set(listed)
    assert listed  # every set keeps something: an empty answer would prove nothing
