"""Pkg's normal form of compat specs: what project_hash hashes, so it must match Pkg's printing exactly."""

from __future__ import annotations

import pytest

from sysimage_containers.pkg_compat import ANY, parse_spec


@pytest.mark.parametrize(("spec", "printed"), [
    ("1.6", "1.6.0 - 1"),
    ("^0.3", "0.3"),  # bounds with equal components collapse: 0.3.0 - 0.3 is 0.3
    ("0.0.5", "0.0.5"),
    ("~1.2.3", "1.2.3 - 1.2"),
    ("~1", "1"),
    ("=1.2.3", "1.2.3"),
    (">= 1.6", "1.6.0 - *"),
    ("< 1.9", "0.0.0 - 1.8"),
    ("< 2", "0.0.0 - 1"),
    ("1.7 - 1.11", "1.7 - 1.11"),
    ("0.10, 0.11", "0.10 - 0.11"),  # adjacent ranges are joined
    ("~0.10,~0.12", "[0.10, 0.12]"),
    ("3.46.1, 4, 5", "3.46.1 - 5"),
    ("1, 0.5", "[0.5, 1]"),  # sorted
])
def test_printed_normal_form(spec: str, printed: str) -> None:
    assert parse_spec(spec).text() == printed


def test_intersection_and_any() -> None:
    assert ANY.text() == "*"
    assert ANY.intersect(parse_spec("1.6")).text() == "1.6.0 - 1"
    assert parse_spec("1.6").intersect(parse_spec("1.10")).text() == "1.10.0 - 1"
    assert parse_spec("1.6").intersect(parse_spec("2")).text() == "∅"
