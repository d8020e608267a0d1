"""Secrets, injection attempts and concurrent builds on a real engine (local images, stand-in julia)."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

pytestmark = pytest.mark.docker
CLI = [sys.executable, "-m", "sysimage_containers"]


def build(docker_env, project: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return docker_env.build(project, *args, **env)


def saved(docker_env, tag: str) -> bytes:
    """The image as `docker save` writes it: every layer's files, the config and the history."""
    return subprocess.run([docker_env.client, "save", tag], capture_output=True, check=True, timeout=120).stdout


def traces(docker_env, tag: str) -> str:
    history = docker_env.docker("history", "--no-trunc", "--format", "{{.CreatedBy}}", tag).stdout
    inspect = docker_env.docker("image", "inspect", tag).stdout
    return history + inspect


def test_a_secret_reaches_the_step_and_no_image(docker_env, example, tmp_path: Path) -> None:
    token = f"ghp_{uuid.uuid4().hex}"
    credentials = tmp_path / "git-credentials"
    credentials.write_text(f"https://ci:{token}@git.example.com\n")
    project = example("http-service")
    runtime, builder = docker_env.unique_tag("secret"), docker_env.unique_tag("secret-builder")
    secret = f"id=git-credentials,src={credentials}"
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    for tag, extra in ((runtime, []), (builder, ["--target", "builder"])):
        result = build(docker_env, project, "-t", tag, "--private-git", "token", "--secret", secret, *extra,
                       TMPDIR=str(scratch))
        assert result.returncode == 0, result.stderr
    assert list(scratch.iterdir()) == []  # no build context left on disk
    assert not [p for p in project.rglob("*") if p.is_file() and token.encode() in p.read_bytes()]
    # the instantiate step saw the secret (the stand-in records names and sizes only)
    calls = docker_env.sh(builder, "cat /var/log/julia-standin/*").split("argv:")
    instantiate = next(c for c in calls if "instantiate.jl" in c)
    assert f"git-credentials {len(credentials.read_bytes())} bytes" in instantiate
    assert "GIT_CONFIG_VALUE_0=store --file=/run/secrets/git-credentials" in instantiate
    assert "JULIA_PKG_USE_CLI_GIT=true" in instantiate
    sysimage = next(c for c in calls if "build_sysimage.jl" in c)
    assert "git-credentials" not in sysimage  # mounted for the instantiate step only
    for tag in (runtime, builder):
        data = saved(docker_env, tag)
        assert b"julia-standin" in data  # the scan does reach the layers' files
        assert token.encode() not in data, tag
        assert token not in traces(docker_env, tag)
    assert docker_env.sh(builder, "ls /run/secrets 2>/dev/null; echo end").strip() == "end"


def test_a_secret_file_inside_the_project_is_left_out(docker_env, example) -> None:
    token = f"glpat-{uuid.uuid4().hex}"
    project = example("hello")
    # a name no default exclusion knows: only the --secret rule keeps it out
    (project / "ci").mkdir()
    (project / "ci" / "creds.txt").write_text(f"https://ci:{token}@gitlab.example.com\n")
    (project / ".dockerignore").write_text("!ci/creds.txt\n")  # and no .dockerignore line brings it back
    tag = docker_env.unique_tag("secret-inside")
    result = build(docker_env, project, "-t", tag, "--private-git", "token", "--secret",
                   f"id=git-credentials,src={project / 'ci' / 'creds.txt'}")
    assert result.returncode == 0, result.stderr
    assert "the secret file ci/creds.txt is inside the project: it is left out of the build context" in \
        result.stderr
    assert docker_env.sh(tag, "ls -a /app/ci").split() == [".", ".."]
    assert token.encode() not in saved(docker_env, tag)


def test_credentials_in_urls_reach_no_image_label_file_or_log(docker_env, example, tmp_path: Path) -> None:
    """Issue 19 points 5 and 6: a URL with a token in a label is written stripped; the config file (and the
    build_env comment in it) stays out of the image; the metadata and SBOM files hold no token."""
    token = f"glpat-{uuid.uuid4().hex}"
    marker = f"config-marker-{uuid.uuid4().hex}"
    project = example("http-service")
    with (project / "sysimage-docker.toml").open("a") as fh:
        fh.write(f"\n# {marker}\n[build_env]\nJULIA_PKG_SERVER = \"https://pkg.julialang.org\"\n")
    tag = docker_env.unique_tag("url-credentials")
    meta, sbom_file = tmp_path / "build.json", tmp_path / "sbom.cdx.json"
    url = f"https://ci:{token}@gitlab.example.com/acme/app?private_token={token}&ref=main"
    result = build(docker_env, project, "-t", tag, "--label", f"org.opencontainers.image.url={url}",
                   "--metadata-file", str(meta), "--sbom-file", str(sbom_file))
    assert result.returncode == 0, result.stderr
    labels = json.loads(docker_env.docker("image", "inspect", tag).stdout)[0]["Config"]["Labels"]
    assert labels["org.opencontainers.image.url"] == "https://gitlab.example.com/acme/app?ref=main"
    data = saved(docker_env, tag)
    assert b"GreetService" in data  # the scan does reach the layers' files
    for text in (data.decode("latin-1"), traces(docker_env, tag), meta.read_text(), sbom_file.read_text(),
                 result.stdout + result.stderr):
        assert token not in text
    assert marker.encode() not in data
    assert docker_env.sh(tag, "ls /app").split() == ["Manifest.toml", "Project.toml", "bin", "precompile", "src"]


def test_a_token_in_the_log_is_stripped_from_the_error_and_the_metadata(docker_env, example, tmp_path: Path) -> None:
    token = f"ghp_{uuid.uuid4().hex}"
    project = example("hello")
    hook = project / "deploy" / "fetch.sh"
    hook.parent.mkdir()
    hook.write_text(f"#!/bin/sh\necho 'cloning https://ci:{token}@github.com/acme/data.git'\nexit 3\n")
    hook.chmod(0o755)
    meta = tmp_path / "build.json"
    result = build(docker_env, project, "-t", docker_env.unique_tag("log-token"), "--hook",
                   "after_instantiate=deploy/fetch.sh", "--metadata-file", str(meta))
    assert result.returncode == 1, result.stderr
    assert "cloning https://github.com/acme/data.git" in result.stderr  # the line is there, without the token
    assert token not in result.stdout + result.stderr
    assert "cloning https://github.com/acme/data.git" in json.loads(meta.read_text())["error"]
    assert token not in meta.read_text()


def test_a_manifest_repo_url_with_a_token_is_refused_by_build(docker_env, example) -> None:
    token = f"ghp_{uuid.uuid4().hex}"
    project = example("http-service")
    with (project / "Manifest.toml").open("a") as fh:
        fh.write(f'\n[[deps.Private]]\nuuid = "00000000-0000-4000-8000-000000000009"\n'
                 f'repo-url = "https://ci:{token}@github.com/acme/Private.jl.git"\nrepo-rev = "main"\n'
                 'git-tree-sha1 = "0123456789abcdef0123456789abcdef01234567"\n')
    tag = docker_env.unique_tag("manifest-token")
    for command in (["build", project, "-t", tag, "--progress", "plain"], ["sbom", project]):
        result = docker_env.cli(*command)
        assert (result.returncode, result.stdout, result.stderr) == (2, "", (
            "sysimage-docker: error: Manifest.toml: Private: repo-url carries credentials, and the manifest is "
            "copied into the image: remove them and pass a git-credentials secret (private_git = \"token\", "
            "--secret)\n"))
    assert docker_env.docker("image", "inspect", tag, check=False).returncode != 0


HOSTILE_ENV = {
    "SUBST": "$(touch /pwned-subst)",
    "TICKS": "`touch /pwned-tick`",
    "QUOTES": '"; touch /pwned-quote; "',
    "BRACES": "${PATH:+x} \\ \\\\ $HOME",
}
HOSTILE_LABEL = 'x" && touch /pwned-label && echo "'


def test_injection_attempts_stay_values(docker_env, example) -> None:
    project = example("hello")
    (project / "bin" / "run me.jl").write_text('println("spaces in a path")\n')
    env_lines = "\n".join(f"{k} = {json.dumps(v)}" for k, v in HOSTILE_ENV.items())
    (project / "sysimage-docker.toml").write_text(
        'script = "bin/run me.jl"\nprecompile_files = ["precompile/workload.jl"]\n'
        f'julia_args = ["--eval=run(`touch /pwned-arg`)"]\n[env]\n{env_lines}\n'
        f'[labels]\n"org.example.note" = {json.dumps(HOSTILE_LABEL)}\n')
    project_toml = (project / "Project.toml").read_text()
    (project / "Project.toml").write_text('name = "Hello"\nuuid = "0b5a6c4e-8f35-4b3c-9a7e-2d1f0c9e8b7a"\n'
                                          'version = "1.0.0-rc.1+build-7"\n' + project_toml)
    # a package project needs its source file (Julia 1.10.8+ refuses to precompile it otherwise; the stand-in too)
    (project / "src").mkdir()
    (project / "src" / "Hello.jl").write_text("module Hello\nend\n")
    tag, builder = docker_env.unique_tag("hostile"), docker_env.unique_tag("hostile-builder")
    for t, extra in ((tag, []), (builder, ["--target", "builder"])):
        result = build(docker_env, project, "-t", t, *extra)
        assert result.returncode == 0, result.stderr
    for t in (tag, builder):
        assert docker_env.sh(t, "find / -xdev -name 'pwned*' 2>/dev/null; echo end").strip() == "end"
        for line in docker_env.docker("history", "--no-trunc", "--format", "{{.CreatedBy}}", t).stdout.splitlines():
            instruction = line.replace("/bin/sh -c #(nop) ", "").lstrip()
            if "pwned" in line:  # only as a value, never as a command
                assert instruction.startswith(("ENV ", "LABEL ", "ENTRYPOINT ")), line
    config = json.loads(docker_env.docker("image", "inspect", "--format", "{{json .Config}}", tag).stdout)
    env = dict(item.split("=", 1) for item in config["Env"])
    for key, value in HOSTILE_ENV.items():
        assert env[key] == value
    assert config["Labels"]["org.example.note"] == HOSTILE_LABEL
    assert config["Labels"]["org.opencontainers.image.version"] == "1.0.0-rc.1+build-7"
    assert config["Cmd"] == ["/app/bin/run me.jl"]
    assert config["Entrypoint"][-1] == "--eval=run(`touch /pwned-arg`)"


def test_two_builds_at_once_do_not_interfere(docker_env, example) -> None:
    hello, cli_tool = example("hello"), example("cli-tool")
    tags = {"hello": docker_env.unique_tag("par-hello"), "cli-tool": docker_env.unique_tag("par-cli")}
    procs = {
        name: subprocess.Popen([*CLI, "build", str(path), "--progress", "plain", "-t", tags[name]],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=docker_env.env())
        for name, path in (("hello", hello), ("cli-tool", cli_tool))
    }
    for name, proc in procs.items():
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, (name, err)
    labels = {n: json.loads(docker_env.docker("image", "inspect", "--format", "{{json .Config.Labels}}", t).stdout)
              for n, t in tags.items()}
    assert labels["hello"]["dev.sysimage-docker.packages"] == "Dates@stdlib Printf@stdlib"
    assert labels["cli-tool"]["dev.sysimage-docker.packages"] == "JSON3@1.14.2"
    assert docker_env.run(tags["hello"]).stdout.strip().endswith("/app/bin/hello.jl")
    assert docker_env.run(tags["cli-tool"]).stdout.strip().endswith("/opt/sysimage-docker/julia/run_main.jl WordStats")
    assert docker_env.sh(tags["cli-tool"], "ls /opt/julia/depot/packages").split() == ["JSON3"]
