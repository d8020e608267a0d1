"""Reading TOML inputs with errors a user can act on: file:line:col, encoding and size problems as one line."""

from __future__ import annotations

import gc
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import rtoml

from sysimage_containers.errors import UsageError

if TYPE_CHECKING:
    import tomlkit

# Large enough for any real manifest (the biggest in the corpus is 0.2 MB); a guard against pathological input.
MAX_TOML_BYTES = 64 * 1024 * 1024
# Project and config files are a few KB in practice
MAX_SMALL_TOML_BYTES = 1024 * 1024
# rtoml's own limit (its TOML parser stops at 80 levels of arrays, inline tables or table-header keys); a real
# manifest nests 3 deep. The stdlib parser, used for what rtoml refuses, is held to the same limit.
MAX_DEPTH = 80


def read_text(path: Path, shown: str, limit: int = MAX_TOML_BYTES) -> str:
    try:
        with path.open("rb") as fh:
            size = os.fstat(fh.fileno()).st_size
            if size > limit:
                raise UsageError(f"{shown}: file is {size} bytes, over the {limit} byte limit")
            # at most one byte past the limit: a device or a pipe (--config /dev/zero) has no size to check first
            raw = fh.read(limit + 1)
        if len(raw) > limit:
            raise UsageError(f"{shown}: more than {limit} bytes, over the limit")
    except FileNotFoundError:
        raise UsageError(f"{shown}: file not found") from None
    except IsADirectoryError:
        raise UsageError(f"{shown}: is a directory, expected a file") from None
    except PermissionError:
        raise UsageError(f"{shown}: permission denied") from None
    except OSError as exc:
        raise UsageError(f"{shown}: cannot read: {exc.strerror}") from None
    try:
        # a leading byte-order mark is accepted, as Julia's own TOML parser accepts it
        return raw.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise UsageError(f"{shown}:{line}: not valid UTF-8 (byte 0x{raw[exc.start]:02x})") from None


def load(path: Path, shown: str, limit: int = MAX_TOML_BYTES) -> dict[str, Any]:
    return loads(read_text(path, shown, limit), shown)


# What TOML 1.1 added and rtoml accepts, while Julia's parser (TOML 1.0) and tomllib refuse it: \e and \xHH
# escapes, newlines and a trailing comma in an inline table, times without seconds. A document with any of these
# shapes (also where they are harmless, in a literal string or a comment) is parsed by tomllib, which decides.
# Four searches, not one alternation: each has a literal start the regex engine skips to (5 ms each on 17 MB).
_TOML_1_1 = tuple(re.compile(p) for p in (r"\\[ex]", r"\{[^}\n]*\n", r",[ \t]*\}", r":\d\d(?!:\d)"))


def may_be_toml_1_1(text: str) -> bool:
    return any(pattern.search(text) for pattern in _TOML_1_1)


def loads(text: str, shown: str) -> dict[str, Any]:
    """Parse TOML 1.0; errors carry file:line:col.

    rtoml (Rust) parses a big manifest about six times faster than the stdlib's tomllib; any document it refuses,
    or that may use what only TOML 1.1 allows, is parsed by tomllib, whose messages and positions are the ones
    users see (and which decides, should the two ever disagree). The garbage collector is paused: parsing
    allocates only live objects, and collecting them again and again took a third of the time on a
    100,000-entry manifest.
    """
    with paused_gc():
        try:
            return loads_fast(text)
        except ValueError as exc:
            if "recurs" in str(exc):  # rtoml's depth limit ("cannot recurse further", "recursion limit")
                raise UsageError(too_deep(shown)) from None
        import tomllib  # only a document rtoml refuses pays for it

        try:
            doc = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise UsageError(syntax_error_line(text, shown, exc)) from None
        except RecursionError:
            raise UsageError(too_deep(shown)) from None
        if depth(doc) > MAX_DEPTH:
            raise UsageError(too_deep(shown))
        return doc


def too_deep(shown: str) -> str:
    return f"{shown}: nested more than {MAX_DEPTH} levels deep (arrays, inline tables or dotted keys)"


def depth(value: Any) -> int:
    """How deeply tables and arrays nest in a parsed document (iteratively: no recursion limit to hit)."""
    deepest, stack = 0, [(value, 0)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict):
            stack.extend((v, level + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, level + 1) for v in item)
        else:
            continue
        deepest = max(deepest, level)
    return deepest


@contextmanager
def paused_gc() -> Iterator[None]:
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def loads_fast(text: str) -> dict[str, Any]:
    """rtoml alone, for callers that fall back to `loads` themselves: raises ValueError on any refusal, and on a
    document tomllib must judge (may_be_toml_1_1)."""
    if may_be_toml_1_1(text):
        raise ValueError("may use TOML 1.1: tomllib decides")
    try:
        return rtoml.loads(text)  # type: ignore[no-any-return]
    except rtoml.TomlParsingError as exc:
        raise ValueError(str(exc)) from None


def parse_document(text: str, shown: str) -> tomlkit.TOMLDocument:
    """Style-preserving parse for a file we write back (`init` on an existing config)."""
    import tomlkit  # only `init` pays for it
    import tomlkit.exceptions

    loads(text, shown)  # its messages and positions are the clearer ones
    try:
        return tomlkit.parse(text)
    except tomlkit.exceptions.ParseError as exc:  # tomlkit is stricter in a few corners
        raise UsageError(f"{shown}:{exc.line}:{exc.col + 1}: invalid TOML: {str(exc).split(' at line ')[0]}") from None


def syntax_error_line(text: str, shown: str, exc: ValueError) -> str:
    """`file:line:col: invalid TOML: reason`, from tomllib's message."""
    message = str(exc)
    match = re.match(r"^(.*) \(at line (\d+), column (\d+)\)$", message)
    if match:
        return f"{shown}:{match.group(2)}:{match.group(3)}: invalid TOML: {match.group(1)}"
    if message.endswith(" (at end of document)"):
        lines = text.split("\n")
        return f"{shown}:{len(lines)}:{len(lines[-1]) + 1}: invalid TOML: {message[: -len(' (at end of document)')]}"
    return f"{shown}: invalid TOML: {message}"


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


def names(items: list[str], limit: int = 10) -> str:
    """A readable list for one-line messages, however many items there are."""
    shown = ", ".join(items[:limit])
    return shown if len(items) <= limit else f"{shown} and {len(items) - limit} more"
