"""Package data, not code: the Dockerfile template (Jinja) and the static Julia scripts.

This directory sits at the top of the repository and is installed as `sysimage_containers.templates` (see
pyproject.toml); being a package lets the code find it the same way in a wheel and in an editable install.
"""

from pathlib import Path

DIRECTORY = Path(__file__).resolve().parent
