"""Property: no string placed in a config value can add, remove or break a Dockerfile instruction.

Either the tool refuses the value (UsageError, exit 2) or BuildKit's parser reads exactly the baseline's
instructions, with exec-form arrays holding the value unchanged.
"""

from __future__ import annotations

import functools
import json
import re

import dockerfile
from conftest import EXAMPLES
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from sysimage_containers import credentials
from sysimage_containers.config import CONTROL_RE
from sysimage_containers.errors import UsageError
from sysimage_containers.pipeline import prepare

PROJECT = EXAMPLES / "http-service"
# printable and hostile text: quotes, backslashes, $, newlines, Dockerfile keywords, JSON, unicode
hostile = st.text(
    alphabet=st.one_of(st.sampled_from(list('"\'\\$`{}[]#;&|<>\n\r\t =,:/')), st.characters(codec="utf-8")),
    max_size=40,
) | st.sampled_from(['"\nRUN touch /pwned\n"', "\\\nRUN x", '$(id)', '${HOME}', '["a"]', "a\r\nLABEL x=y"])

FIELDS = {
    "env": lambda v: {"env": [f"APP_VALUE={v}"]},
    "build_env": lambda v: {"build_env": [f"APP_BUILD={v}"]},
    "labels": lambda v: {"labels": [f"org.example.note={v}"]},
    "julia_args": lambda v: {"julia_args": [v]},
    "runtime_image": lambda v: {"runtime_image": v},
    "builder_image": lambda v: {"builder_image": v},
    "cpu_target": lambda v: {"cpu_target": v},
    "healthcheck_path": lambda v: {"healthcheck_path": v},
    "script": lambda v: {"script": v},
    "packagecompiler_version": lambda v: {"packagecompiler_version": v},
}


# fields that take any one-line text: a refusal there is a bug, not a pass
ANY_TEXT = {"env", "build_env", "labels", "julia_args"}


@functools.cache
def baseline(field: str) -> list[str]:
    """The instructions with a plain value in this field (build_env adds an ENV of its own); rendered when first
    needed, not at import (an import must not render, nor touch the user's cache)."""
    return [c.cmd for c in dockerfile.parse_string(prepare(PROJECT, cli=FIELDS[field]("plain")).files["Dockerfile"])]


def render_or_refuse(cli: dict) -> str | None:
    try:
        return prepare(PROJECT, cli=cli).files["Dockerfile"]
    except UsageError as exc:
        assert "\n" not in exc.message
        return None


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(field=st.sampled_from(sorted(FIELDS)), value=hostile)
@example(field="julia_args", value="--eval=$(id) ${HOME} \\$x")
@example(field="env", value='a"b\\c $HOME ${X:-y}')
@example(field="labels", value="\\")
@example(field="healthcheck_path", value="/health?x=$(id)")
def test_values_never_change_the_instructions(field: str, value: str) -> None:
    text = render_or_refuse(FIELDS[field](value))
    if text is None:
        # the one other refusal: a value shaped like a credential where values are stored in the image or builder
        shaped = field in ("env", "build_env", "labels") and credentials.looks_like(value) is not None
        assert field not in ANY_TEXT or CONTROL_RE.search(value) or shaped, f"{field} refused {value!r}"
        return
    commands = dockerfile.parse_string(text)
    assert [c.cmd for c in commands] == baseline(field)
    assert all(c.json for c in commands if c.cmd in ("ENTRYPOINT", "CMD", "HEALTHCHECK"))
    entry = next(c for c in commands if c.cmd == "ENTRYPOINT")
    if field == "julia_args":
        assert list(entry.value)[-1] == value
    if field in ("env", "build_env"):
        name = "APP_VALUE" if field == "env" else "APP_BUILD"
        env_lines = [line for line in text.split("\n") if f"{name}=" in line]
        assert len(env_lines) == 1  # one logical line: the value did not break out
        found = next(c for c in commands if c.cmd == "ENV" and name in c.value)
        raw = found.value[found.value.index(name) + 1]  # the parser keeps the word quoted; unquote as BuildKit does
        assert raw.startswith('"') and raw.endswith('"')
        assert re.sub(r'\\(.)', r"\1", raw[1:-1]) == value


@settings(max_examples=40, deadline=None)
@given(args=st.lists(hostile, max_size=3))
def test_exec_form_arrays_roundtrip(args: list[str]) -> None:
    text = render_or_refuse({"julia_args": args})
    if text is None:  # julia_args take any one-line text: only a control character may be refused
        assert any(CONTROL_RE.search(a) for a in args), f"julia_args refused {args!r}"
        return
    line = next(line for line in text.split("\n") if line.startswith("ENTRYPOINT "))
    decoded = json.loads(line[len("ENTRYPOINT "):])
    assert decoded[4:] == args
