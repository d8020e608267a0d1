"""The build CLI back ends: `docker build` (with the client's own BuildKit before Docker 23, or the classic
builder) and `podman build`, which takes the same flags. Each yields the build's output line by line."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from python_on_whales.utils import stream_stdout_and_stderr

from sysimage_containers.engine.types import BACKEND_DOCKER_BUILDKIT, BACKEND_DOCKER_CLASSIC, BuildRequest


def build_command(client: Sequence[str], backend: str, request: BuildRequest) -> tuple[list[str], dict[str, str]]:
    """The command line and the environment variables that select the builder."""
    cmd: list[str] = [*client, "build"]
    env = {}
    if backend == BACKEND_DOCKER_BUILDKIT:
        env["DOCKER_BUILDKIT"] = "1"
        cmd += ["--progress", "plain"]
    elif backend == BACKEND_DOCKER_CLASSIC:
        env["DOCKER_BUILDKIT"] = "0"
        cmd.append("--force-rm")  # a failed classic build otherwise leaves its container behind
    for tag in request.tags:
        cmd += ["--tag", tag]
    for key, value in request.build_args:
        cmd += ["--build-arg", f"{key}={value}"]
    for key, value in request.labels:
        cmd += ["--label", f"{key}={value}"]
    for flag, given in (("--target", request.target), ("--network", request.network)):
        if given:
            cmd += [flag, given]
    cmd += ["--no-cache"] if request.no_cache else []
    cmd += ["--pull"] if request.pull else []
    cmd += [f"--platform={p}" for p in request.platforms]
    cmd += [f"--cache-from={c}" for c in request.cache_from]
    cmd += [f"--cache-to={c}" for c in request.cache_to]  # podman only: check_capabilities refuses it elsewhere
    cmd += [f"--secret={s}" for s in request.secrets]
    cmd += [f"--ssh={s}" for s in request.ssh]
    if request.output:
        cmd += ["--output", request.output]
    cmd.append(str(request.context))
    return cmd, env


def build_lines(client: Sequence[str], backend: str, request: BuildRequest) -> Iterator[str]:
    cmd, env = build_command(client, backend, request)
    for _, raw in stream_stdout_and_stderr(cmd, env=env):
        yield raw.decode("utf-8", errors="replace")
