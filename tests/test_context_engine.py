"""The build context on a real engine: what `.dockerignore` and the defaults leave out never reaches an image,
and our matcher agrees with the one Docker itself applies to a context."""

from __future__ import annotations

import os
import shutil
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


def _no_image(docker_env, tag: str) -> bool:
    return docker_env.docker("image", "inspect", tag, check=False).returncode != 0


def test_host_files_cannot_enter_an_image(docker_env, tmp_path: Path) -> None:
    """Issue 19 points 2, 3, 7 and 12 on a real engine: a file outside the repository (the stand-in for the host's
    /etc/shadow, which is refused itself) is refused by every route a project can take; excluded and --secret files
    reached through symlinked directories stay out; what is allowed arrives."""
    from conftest import EXAMPLES

    host, excluded, secret = (f"{name}-{uuid.uuid4().hex}" for name in ("HOST", "EXCLUDED", "SECRET"))
    host_file = tmp_path / "host-secret.txt"
    host_file.write_text(host)
    (tmp_path / "hostpkg").mkdir()
    (tmp_path / "hostpkg" / "Project.toml").write_text(f'name = "HostPkg"  # {host}\n')
    repo = tmp_path / "repo"
    project = repo / "deployment"
    shutil.copytree(EXAMPLES / "hello", project)
    (repo / ".git").mkdir()
    (repo / "notebooks").mkdir()
    (repo / "notebooks" / "report.ipynb").write_text("{\"kept\": true}\n")
    config = (project / "sysimage-docker.toml").read_text()
    manifest = (project / "Manifest.toml").read_text()
    up = "/".join([".."] * len(project.parts))

    def refused(expected: str, *args: str, settings: str = "", tree: dict[str, object] | None = None,
                manifest_extra: str = "") -> None:
        (project / "sysimage-docker.toml").write_text(settings + config)
        (project / "Manifest.toml").write_text(manifest + manifest_extra)
        made = []
        for rel, how in (tree or {}).items():
            path = repo / rel
            os.link(host_file, path) if how == "hardlink" else path.symlink_to(str(how))
            made.append(path)
        tag = docker_env.unique_tag("host-files")
        result = docker_env.build(project, "-t", tag, *args)
        for path in made:
            path.unlink()
        assert (result.returncode, result.stderr.splitlines()[-1:]) == (2, [f"sysimage-docker: error: {expected}"])
        assert _no_image(docker_env, tag)

    wider = "(a wider root needs --context-root or SYSIMAGE_DOCKER_CONTEXT_ROOT)"
    refused(f"sysimage-docker.toml: context_root: '../..' reaches {tmp_path}, above the project's repository "
            f"({repo}); a project file may not widen the root beyond it {wider}",
            settings='context_root = "../.."\nextra_files = ["../../host-secret.txt"]\n')
    refused(f"context_root: '{up}' reaches /: the whole file system is never a build context root",
            settings=f'context_root = "{up}"\nextra_files = ["{up}/etc/shadow"]\n')
    refused(f"context_root: '{up}' reaches /: the whole file system is never a build context root",
            "--context-root", up, "--extra-file", f"{up}/etc/shadow")
    refused(f"{repo}/notebooks/leak.txt: symlink points outside the project ({host_file}); refusing to copy it",
            settings='context_root = ".."\nextra_files = ["../notebooks"]\n',
            tree={"notebooks/leak.txt": host_file})
    refused(f"{repo}/notebooks/copy.txt: has 2 hard links and the build context holds 1 of them; another may be a "
            "file outside the project or one left out, so it is refused (replace it with a copy, or leave it out "
            "with .dockerignore or context_exclude)",
            settings='context_root = ".."\nextra_files = ["../notebooks"]\n', tree={"notebooks/copy.txt": "hardlink"})
    refused(f"Manifest.toml: path dependency HostPkg at '{tmp_path}/hostpkg' lies outside the project's repository "
            f"({repo}); refusing to read it {wider}",
            manifest_extra=f'\n[[deps.HostPkg]]\npath = "{tmp_path}/hostpkg"\n'
                           'uuid = "00000000-0000-4000-8000-000000000001"\n')

    # allowed: the notebooks beside the project; excluded and secret files reached through symlinked directories
    (project / "data").mkdir()
    (project / "data" / "private.csv").write_text(excluded)
    (project / "data" / "public.csv").write_text("x,y\n")
    (project / "alias").symlink_to("data")
    (project / ".dockerignore").write_text("data/private.csv\n")
    (project / "deploy").mkdir()
    (project / "deploy" / "git-credentials").write_text(f"https://ci:{secret}@example.com\n")
    (project / "cfg").symlink_to("deploy")
    (project / "deploy" / ".npmrc").write_text(f"//registry.npmjs.org/:_authToken={secret}\n")
    (project / "sysimage-docker.toml").write_text('context_root = ".."\nextra_files = ["../notebooks"]\n' + config)
    (project / "Manifest.toml").write_text(manifest)
    tag = docker_env.unique_tag("host-files")
    metadata, sbom = tmp_path / "metadata.json", tmp_path / "sbom.json"
    result = docker_env.build(project, "-t", tag, "--private-git", "token", "--secret",
                              f"id=git-credentials,src={project}/cfg/git-credentials", "--metadata-file", metadata,
                              "--sbom-file", sbom)
    assert result.returncode == 0, result.stderr
    for written in (metadata, sbom):
        text = written.read_text()
        assert text and not any(m in text for m in (host, excluded, secret)), written
    assert "alias/private.csv -> data/private.csv" in result.stderr
    assert "cfg/git-credentials -> deploy/git-credentials" in result.stderr
    image = subprocess.run([docker_env.client, "save", tag], capture_output=True, check=True, timeout=120).stdout
    assert b'{"kept": true}' in image and b"x,y\n" in image  # positive controls: the scan reaches the layers
    for marker in (host, excluded, secret):
        assert marker.encode() not in image, marker
    history = docker_env.docker("history", "--no-trunc", tag).stdout + docker_env.docker("image", "inspect", tag).stdout
    assert not any(m in history for m in (host, excluded, secret))
    assert docker_env.sh(tag, "cd /app/deployment && ls -A alias cfg deploy data | sort").split() == sorted(
        ["alias:", "public.csv", "cfg:", "data:", "public.csv", "deploy:"])


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
