"""Error classes that carry their exit status, so the CLI maps every failure to one documented code."""

from __future__ import annotations


class SysimageDockerError(Exception):
    """Base: one line for the user, and the process exit status."""

    exit_code = 1

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class UsageError(SysimageDockerError):
    """Bad input (project files, config, flags): nothing is written. Exit 2.

    The message is always one line: characters that a user's file put into it (a newline in a key, say) are
    shown escaped, here, for every message at once.
    """

    exit_code = 2

    def __init__(self, message: str) -> None:
        super().__init__("".join(c if c.isprintable() else repr(c)[1:-1] for c in message))


class BuildFailed(SysimageDockerError):
    """The engine ran and a build step failed. Exit 1."""

    exit_code = 1


class EngineUnavailable(SysimageDockerError):
    """No client, no daemon, or no permission on the socket. Exit 3."""

    exit_code = 3


EXIT_CODES = {
    0: "success",
    1: "the build (or the image run by `run`/`verify`) failed, or `bench --max-startup` was exceeded",
    2: "bad input: project files, configuration or command-line values; nothing was written",
    3: "no usable container engine: client missing, daemon not running, or permission denied",
    70: "internal error (a bug in sysimage-docker; SYSIMAGE_DOCKER_DEBUG=1 shows the traceback)",
    130: "interrupted (Ctrl-C); temporary build contexts are removed",
}
