"""sysimage-docker: Julia project -> multi-stage Dockerfile with a custom PackageCompiler sysimage."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("sysimage-docker")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+unknown"
