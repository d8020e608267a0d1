"""Reading TOML inputs with errors a user can act on: file:line:col, encoding and size problems as one line."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import tomlkit
import tomlkit.exceptions

from sysimage_containers.errors import UsageError

# Large enough for any real manifest (the biggest in the corpus is 0.2 MB); a guard against pathological input.
MAX_TOML_BYTES = 64 * 1024 * 1024


def read_text(path: Path, shown: str) -> str:
    try:
        size = path.stat().st_size
        if size > MAX_TOML_BYTES:
            raise UsageError(f"{shown}: file is {size} bytes, over the {MAX_TOML_BYTES} byte limit")
        raw = path.read_bytes()
    except FileNotFoundError:
        raise UsageError(f"{shown}: file not found") from None
    except IsADirectoryError:
        raise UsageError(f"{shown}: is a directory, expected a file") from None
    except PermissionError:
        raise UsageError(f"{shown}: permission denied") from None
    except OSError as exc:
        raise UsageError(f"{shown}: cannot read: {exc.strerror}") from None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise UsageError(f"{shown}:{line}: not valid UTF-8 (byte 0x{raw[exc.start]:02x})") from None


def load(path: Path, shown: str) -> dict[str, Any]:
    """Parse with the fast stdlib parser; on error, ask tomlkit for the position."""
    text = read_text(path, shown)
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(syntax_error_line(text, shown, str(exc))) from None


def parse_document(text: str, shown: str) -> tomlkit.TOMLDocument:
    """Style-preserving parse for files we may write back (the config)."""
    try:
        return tomlkit.parse(text)
    except tomlkit.exceptions.ParseError as exc:
        raise UsageError(f"{shown}:{exc.line}:{exc.col + 1}: invalid TOML: {_strip_position(str(exc))}") from None


def syntax_error_line(text: str, shown: str, fallback: str) -> str:
    try:
        tomlkit.parse(text)
    except tomlkit.exceptions.ParseError as exc:
        return f"{shown}:{exc.line}:{exc.col + 1}: invalid TOML: {_strip_position(str(exc))}"
    except Exception:  # tomlkit may fail differently on inputs tomllib rejects
        pass
    return f"{shown}: invalid TOML: {fallback}"


def _strip_position(message: str) -> str:
    return message.split(" at line ")[0]


def locate_key(text: str, key: str, table: str | None = None) -> tuple[int, int]:
    """1-based line and column where `key` is assigned (inside [table] if given); (1, 1) if not found."""
    current: str | None = None
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if stripped.startswith("["):
            current = stripped.strip("[] \t").split("#")[0].strip().strip('"')
            continue
        name = stripped.split("=", 1)[0].strip().strip('"').strip("'")
        if "=" in stripped and name == key and current == table:
            return number, line.index(stripped[0]) + 1
    return 1, 1
