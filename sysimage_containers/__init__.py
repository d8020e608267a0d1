"""sysimage-docker: Julia project -> multi-stage Dockerfile with a custom PackageCompiler sysimage."""

# The one place the version is written: pyproject.toml reads it from here (importlib.metadata cost every
# command about 40 ms at start-up).
__version__ = "0.3.0"
