"""Failures on a real engine, each with its cause and its way out, and the metadata file written all the same:
an engine that does not answer (the endpoint named), a push to a registry that refuses connections (no login
advice; the built image's id and size kept), an unreachable cache registry (a warning and a build without it,
recorded), and the push's seconds inside the total. The images hold the stand-in julia."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest
from registry import running_registry

pytestmark = pytest.mark.docker


def refused_port() -> int:
    """A loopback port nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_an_engine_that_does_not_answer_is_named_and_recorded(docker_env, example, tmp_path: Path) -> None:
    host = "unix:///tmp/sysimage-docker-no-daemon.sock"
    meta = tmp_path / "build.json"
    result = docker_env.build(example("hello"), "--metadata-file", str(meta), DOCKER_HOST=host)
    assert result.returncode == 3
    assert result.stderr.startswith(f"sysimage-docker: error: no Docker daemon answers at {host} (")
    assert result.stderr.rstrip().endswith("or check DOCKER_HOST, which names that address")
    data = json.loads(meta.read_text())
    assert data["error"] == result.stderr.removeprefix("sysimage-docker: error: ").rstrip("\n")
    assert data["image_id"] is None and data["engine"] is None


def test_a_registry_that_refuses_connections_is_not_a_login_problem(docker_env, example, tmp_path: Path) -> None:
    registry = f"127.0.0.1:{refused_port()}"
    tag = f"{registry}/team/hello:1"
    docker_env.created.append(tag)
    meta = tmp_path / "build.json"
    result = docker_env.build(example("hello"), "-t", tag, "--push", "--metadata-file", str(meta))
    assert result.returncode == 1
    last = result.stderr.splitlines()[-1]
    assert last.startswith(f"sysimage-docker: error: push of {tag} to {registry} failed: ")
    assert last.endswith(f"(nothing answers at {registry}: is the registry running, and are the host and port "
                         "right?)")
    assert "login" not in last
    data = json.loads(meta.read_text())
    # the image was built: its id and size are known although the push failed
    inspected = json.loads(docker_env.docker("image", "inspect", tag).stdout)[0]
    assert (data["image_id"], data["size"]) == (inspected["Id"], inspected["Size"])
    assert data["error"] == last.removeprefix("sysimage-docker: error: ") and data["pushed"] == []


def test_an_unreachable_cache_registry_is_a_warning(docker_env, example, tmp_path: Path) -> None:
    repo = f"127.0.0.1:{refused_port()}/team/cache"
    tag = docker_env.unique_tag("nocache")
    meta = tmp_path / "build.json"
    result = docker_env.build(example("hello"), "-t", tag, "--cache-repo", repo, "--metadata-file", str(meta))
    assert result.returncode == 0, result.stderr
    warning = next(line for line in result.stderr.splitlines() if "cache registry cannot be reached" in line)
    assert warning.startswith(f"sysimage-docker: warning: cache: the cache registry cannot be reached, building "
                              f"without it: {repo}:tools: ")  # the first stage image pulled
    assert "nothing answers at" in warning
    assert "cache: pushed" not in result.stderr
    data = json.loads(meta.read_text())
    assert data["error"] is None and data["cache_error"] == warning.split("building without it: ", 1)[1]


def test_push_seconds_are_reported_inside_the_total(docker_env, example, tmp_path: Path) -> None:
    with running_registry(tmp_path / "reg") as registry:
        tag = f"{registry.host}/team/hello:1"
        docker_env.created.append(tag)
        meta = tmp_path / "build.json"
        result = docker_env.build(example("hello"), "-t", tag, "--push", "--metadata-file", str(meta))
        assert result.returncode == 0, result.stderr
        data = json.loads(meta.read_text())
        assert 0 < data["push_seconds"] <= data["seconds"]
        assert f"pushing took {data['push_seconds']:.1f} s of the {data['seconds']:.1f} s" in result.stderr
