"""One rendering decision: `generate`, `generate -o` and `build --dry-run` render for the back end the client that
would build gives (decided from the client alone, no daemon), as `build` does, and the no-BuildKit warning points
at a client on the machine that builds with BuildKit. The clients here are stand-in shell scripts answering
`version --format` and `buildx version` as Docker 28 without buildx, Docker 20.10, and a client with buildx do."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import EXAMPLES

from sysimage_containers.engine import clients


def stand_in(directory: Path, version: str, buildx: bool) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "docker"
    path.write_text("#!/bin/sh\n"
                    f'[ "$1" = version ] && {{ echo {version}; exit 1; }}  # no daemon: the client still answers\n'
                    f'[ "$1" = buildx ] && [ "$2" = version ] && exit {0 if buildx else 1}\n'
                    "exit 1\n")
    path.chmod(0o755)
    return path


@pytest.fixture
def machine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """PATH with a Docker 28 client without buildx first and a 20.10 client after it (as on the machines this
    project is developed on)."""
    new = stand_in(tmp_path / "new", "28.2.2", buildx=False)
    old = stand_in(tmp_path / "old", "20.10.24", buildx=False)
    monkeypatch.setenv("PATH", f"{new.parent}:{old.parent}:/usr/bin:/bin")
    monkeypatch.setattr(clients, "WELL_KNOWN", ())  # only the stand-ins, not this machine's own clients
    return new, old


def test_generate_and_dry_run_render_for_the_classic_builder_and_point_at_the_buildkit_client(
        cli, machine, tmp_path) -> None:
    new, old = machine
    env = {"SYSIMAGE_DOCKER_DOCKER_CLIENT": None}  # the one on PATH
    generated = cli("generate", EXAMPLES / "hello", env=env)
    assert generated.code == 0
    assert "--mount=type=cache" not in generated.out and "# Rendered for the classic builder" in generated.out
    warning = (f"sysimage-docker: warning: docker-classic has no BuildKit ({new}): rendering without cache mounts "
               f"(downloads are not cached across builds); {old} (20.10.24, its own BuildKit) builds with BuildKit: "
               f"--docker-client {old} (or SYSIMAGE_DOCKER_DOCKER_CLIENT)")
    assert warning in generated.err.splitlines()
    dry = cli("build", EXAMPLES / "hello", "--dry-run", env=env)
    assert dry.code == 0 and warning in dry.err.splitlines()
    assert generated.out in dry.out  # the plan lines, then the same Dockerfile
    written = cli("generate", EXAMPLES / "hello", "-o", tmp_path / "ctx", env=env)
    assert written.err.splitlines()[-1].endswith(f"(build it with: docker build {tmp_path / 'ctx'})")
    assert (tmp_path / "ctx" / "Dockerfile").read_text() == generated.out


def test_the_buildkit_client_gets_the_buildkit_rendering_and_its_command(cli, machine, tmp_path) -> None:
    _, old = machine
    env = {"SYSIMAGE_DOCKER_DOCKER_CLIENT": str(old)}
    generated = cli("generate", EXAMPLES / "hello", "-o", tmp_path / "ctx", env=env)
    assert generated.code == 0 and "warning" not in generated.err
    assert "--mount=type=cache" in (tmp_path / "ctx" / "Dockerfile").read_text()
    assert generated.err.splitlines()[-1].endswith(f"(build it with: DOCKER_BUILDKIT=1 {old} build {tmp_path / 'ctx'})")


def test_a_client_with_buildx_gets_buildx(cli, tmp_path, monkeypatch) -> None:
    client = stand_in(tmp_path / "bx", "28.2.2", buildx=True)
    monkeypatch.setenv("PATH", f"{client.parent}:/usr/bin:/bin")
    generated = cli("generate", EXAMPLES / "hello", "-o", tmp_path / "ctx", env={"SYSIMAGE_DOCKER_DOCKER_CLIENT": None})
    assert generated.code == 0 and "warning" not in generated.err
    assert generated.err.splitlines()[-1].endswith(f"(build it with: docker buildx build {tmp_path / 'ctx'})")


def test_no_buildkit_client_anywhere_advises_buildx(cli, tmp_path, monkeypatch) -> None:
    new = stand_in(tmp_path / "new", "28.2.2", buildx=False)
    monkeypatch.setenv("PATH", str(new.parent))  # nothing else: this machine's own clients are not candidates
    monkeypatch.setattr(clients, "WELL_KNOWN", ())
    generated = cli("generate", EXAMPLES / "hello", env={"SYSIMAGE_DOCKER_DOCKER_CLIENT": None})
    assert generated.err.splitlines()[0].endswith(
        "; install buildx (docker-buildx) for cache mounts and faster rebuilds")


def test_no_client_keeps_the_configured_rendering(cli) -> None:
    generated = cli("generate", EXAMPLES / "hello")  # the fixture's client does not exist
    assert generated.code == 0 and "--mount=type=cache" in generated.out and generated.err == ""


def test_podman_renders_without_buildkit(cli, tmp_path, monkeypatch) -> None:
    podman = tmp_path / "bin" / "podman"
    podman.parent.mkdir()
    podman.write_text("#!/bin/sh\nexit 0\n")
    podman.chmod(0o755)
    monkeypatch.setenv("PATH", f"{podman.parent}:/usr/bin:/bin")
    written = cli("generate", EXAMPLES / "hello", "-o", tmp_path / "ctx",
                  env={"SYSIMAGE_DOCKER_ENGINE": "podman", "SYSIMAGE_DOCKER_DOCKER_CLIENT": None})
    assert written.code == 0
    assert "--mount=type=cache" not in (tmp_path / "ctx" / "Dockerfile").read_text()
    assert written.err.splitlines()[0] == (f"sysimage-docker: warning: podman has no BuildKit ({podman}): rendering "
                                           "without cache mounts (downloads are not cached across builds)")
    assert written.err.splitlines()[-1].endswith(f"(build it with: podman build {tmp_path / 'ctx'})")


@pytest.mark.parametrize("command", [("generate",), ("build", "--dry-run")])
def test_the_clients_are_asked_once_before_the_manifest_is_read(cli, machine, monkeypatch, command) -> None:
    # each answer is a program's start-up: asked as soon as the configuration names the client, they arrive while
    # the manifest is read; the advice's clients too, and nobody is asked twice
    from sysimage_containers import project

    new, old = machine
    events: list[object] = []
    start, load = clients._start, project.load_environment
    monkeypatch.setattr(clients, "_start", lambda cmd: events.append(tuple(cmd[:2])) or start(cmd))
    monkeypatch.setattr(project, "load_environment", lambda *a, **k: events.append("read") or load(*a, **k))
    result = cli(*command, EXAMPLES / "hello", env={"SYSIMAGE_DOCKER_DOCKER_CLIENT": None})
    assert result.code == 0 and f"{old} (20.10.24, its own BuildKit) builds with BuildKit" in result.err
    asked = [str(new), *clients.docker_clients(exclude=str(new))]  # the stand-ins, then this machine's others
    assert asked[1] == str(old)
    assert events == [*((path, what) for path in asked for what in ("version", "buildx")), "read"]


def test_without_buildkit_rendering_no_client_is_asked(cli, machine, monkeypatch) -> None:
    events: list[object] = []
    monkeypatch.setattr(clients, "_start", lambda cmd: events.append(cmd) or None)
    result = cli("generate", EXAMPLES / "hello", env={"SYSIMAGE_DOCKER_DOCKER_CLIENT": None,
                                                       "SYSIMAGE_DOCKER_BUILDKIT": "false"})
    assert result.code == 0 and events == []


def test_a_docker_client_named_podman_is_podman_and_a_client_that_cannot_run_has_no_buildx(tmp_path,
                                                                                           monkeypatch) -> None:
    podman = tmp_path / "bin" / "podman"
    podman.parent.mkdir()
    podman.write_text("#!/bin/sh\nexit 0\n")
    podman.chmod(0o755)
    assert clients.configured_client("auto", str(podman)) == (str(podman), True)
    assert clients.configured_client("docker", str(podman)) == (str(podman), True)
    broken = tmp_path / "bin" / "docker"
    broken.write_text("not a program\n")
    broken.chmod(0o755)
    assert clients.inspect_clients([str(broken), str(tmp_path / "missing")]) == [
        clients.Client(str(broken), None, False), clients.Client(str(tmp_path / "missing"), None, False)]
