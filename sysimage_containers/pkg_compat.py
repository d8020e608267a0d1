"""Pkg's model of version compatibility: bounds, ranges and specs as Julia's Pkg parses, normalises and prints them.

Two things need Pkg's exact semantics rather than a generic semver library: deciding whether a version is allowed
by `[compat]` (Pkg's bounds compare only the components they name, its `<` means "below this bound", and it
knows no `>` or `<=`), and recomputing a manifest's `project_hash`, which hashes the *printed* normal form of
each compat entry.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cmp_to_key


@dataclass(frozen=True)
class Bound:
    """A version bound: up to three components, of which the first `n` are significant (n = 0: unbounded)."""

    t: tuple[int, int, int]
    n: int

    @classmethod
    def of(cls, *parts: int) -> Bound:
        a, b, c = (*parts, 0, 0, 0)[:3]
        return cls(t=(a, b, c), n=len(parts))

    def text(self, full: bool = False) -> str:
        return ".".join(str(x) for x in (self.t if full else self.t[: self.n]))


UNBOUNDED = Bound.of()


def _lower_before(a: Bound, b: Bound) -> bool:
    """a < b as lower bounds: on a tie of the shared components, the shorter bound is lower."""
    for x, y in zip(a.t[: min(a.n, b.n)], b.t[: min(a.n, b.n)], strict=True):
        if x != y:
            return x < y
    return a.n < b.n


def _upper_before(a: Bound, b: Bound) -> bool:
    """a < b as upper bounds: on a tie of the shared components, the longer bound is lower."""
    for x, y in zip(a.t[: min(a.n, b.n)], b.t[: min(a.n, b.n)], strict=True):
        if x != y:
            return x < y
    return a.n > b.n


def _joinable(upper: Bound, lower: Bound) -> bool:
    """Whether a range ending at `upper` touches or overlaps one starting at `lower` (1.5 and 1.6 touch)."""
    if upper.n == 0 and lower.n == 0:
        return True
    shared = min(upper.n, lower.n)
    for i in range(shared - 1 if upper.n == lower.n else shared):
        if upper.t[i] != lower.t[i]:
            return upper.t[i] > lower.t[i]
    if upper.n == lower.n:
        return not upper.t[shared - 1] < lower.t[shared - 1] - 1
    return True


@dataclass(frozen=True)
class Range:
    lower: Bound
    upper: Bound

    @classmethod
    def make(cls, lower: Bound, upper: Bound) -> Range:
        # equal components: the range is that single bound (1.2 - 1.2.0 is 1.2.0)
        return cls(upper, upper) if lower.t == upper.t else cls(lower, upper)

    @property
    def empty(self) -> bool:
        for x, y in zip(self.lower.t[: min(self.lower.n, self.upper.n)], self.upper.t, strict=False):
            if x != y:
                return x > y
        return False

    def contains(self, version: tuple[int, int, int]) -> bool:
        low, up = self.lower, self.upper
        return version[: low.n] >= low.t[: low.n] and version[: up.n] <= up.t[: up.n]

    def text(self) -> str:
        m, n = self.lower.n, self.upper.n
        if (m, n) == (0, 0):
            return "*"
        if m == 0:
            return "0 -" + self.upper.text(full=True)  # sic: Pkg prints no space here
        if n == 0:
            return self.lower.text(full=True) + " - *"
        return self.lower.text() + ("" if self.lower == self.upper else " - " + self.upper.text())


def _intersect(a: Range, b: Range) -> Range:
    lower = b.lower if _lower_before(a.lower, b.lower) else a.lower
    upper = a.upper if _upper_before(a.upper, b.upper) else b.upper
    return Range.make(lower, upper)


def _order(a: Range, b: Range) -> int:
    if _lower_before(a.lower, b.lower) or (a.lower == b.lower and _upper_before(a.upper, b.upper)):
        return -1
    if _lower_before(b.lower, a.lower) or (a.lower == b.lower and _upper_before(b.upper, a.upper)):
        return 1
    return 0


def _normalise(ranges: Iterable[Range]) -> tuple[Range, ...]:
    """Sort, drop empty ranges, merge the ones that touch: Pkg's normal form."""
    kept = sorted((r for r in ranges if not r.empty), key=cmp_to_key(_order))
    merged: list[Range] = []
    for r in kept:
        if merged and _joinable(merged[-1].upper, r.lower):
            last = merged[-1]
            merged[-1] = Range.make(last.lower, r.upper if _upper_before(last.upper, r.upper) else last.upper)
        else:
            merged.append(r)
    return tuple(merged)


@dataclass(frozen=True)
class Spec:
    ranges: tuple[Range, ...]

    @classmethod
    def of(cls, ranges: Iterable[Range]) -> Spec:
        return cls(_normalise(ranges))

    def contains(self, version: tuple[int, int, int]) -> bool:
        return any(r.contains(version) for r in self.ranges)

    def intersect(self, other: Spec) -> Spec:
        return Spec.of(_intersect(a, b) for a in self.ranges for b in other.ranges)

    def text(self) -> str:
        if not self.ranges:
            return "∅"
        if len(self.ranges) == 1:
            return self.ranges[0].text()
        return "[" + ", ".join(r.text() for r in self.ranges) + "]"


ANY = Spec.of([Range(UNBOUNDED, UNBOUNDED)])

_VERSION = r"v?([0-9]+?)(?:\.([0-9]+?))?(?:\.([0-9]+?))?"
_CARET_TILDE = re.compile(rf"^([~^]?)?{_VERSION}$")
_INEQUALITY = re.compile(rf"^((?:≥\s*)|(?:>=\s*)|(?:=\s*)|(?:<\s*))v?{_VERSION}$")
_HYPHEN = re.compile(rf"^\s*{_VERSION}\s*?\s-\s\s*?{_VERSION}\s*$")


def _numbers(groups: tuple[str | None, ...]) -> list[int]:
    return [int(g) for g in groups if g is not None]


def _caret_tilde(kind: str, parts: list[int]) -> Range:
    major, minor, patch = [*parts, 0, 0][:3]
    if len(parts) == 3 and (major, minor, patch) == (0, 0, 0):
        raise ValueError("0.0.0 is not a version")
    low = Bound.of(major, minor, patch)
    if kind == "~":
        return Range.make(low, Bound.of(major, minor) if len(parts) >= 2 else Bound.of(major))
    if major != 0:
        return Range.make(low, Bound.of(major))
    if minor != 0:
        return Range.make(low, Bound.of(0, minor))
    return Range.make(low, Bound.of(*([0, 0, patch][: len(parts)])))


def _inequality(op: str, parts: list[int]) -> Range:
    major, minor, patch = [*parts, 0, 0][:3]
    if len(parts) == 3 and (major, minor, patch) == (0, 0, 0):
        raise ValueError("0.0.0 is not a version")
    bound = Bound.of(major, minor, patch)
    op = op.strip()
    if op == "<":
        if patch:
            below = Bound.of(major, minor, patch - 1)
        elif minor:
            below = Bound.of(major, minor - 1)
        else:
            below = Bound.of(major - 1)
        return Range.make(Bound.of(0, 0, 0), below)
    if op == "=":
        return Range.make(bound, bound)
    return Range.make(bound, UNBOUNDED)  # >= and ≥


def parse_spec(text: str) -> Spec:
    """A `[compat]` entry, as Pkg's semver_spec reads it; ValueError when Pkg would reject it."""
    ranges = []
    for part in (p.strip() for p in text.strip().split(",")):
        if m := _CARET_TILDE.match(part):
            ranges.append(_caret_tilde(m.group(1) or "^", _numbers(m.groups()[1:])))
        elif m := _INEQUALITY.match(part):
            ranges.append(_inequality(m.group(1), _numbers(m.groups()[1:])))
        elif m := _HYPHEN.match(part):
            ranges.append(Range.make(Bound.of(*_numbers(m.groups()[:3])), Bound.of(*_numbers(m.groups()[3:]))))
        else:
            raise ValueError(f"invalid compat specifier {text!r}")
    return Spec.of(ranges)


@dataclass(frozen=True)
class HashInput:
    """What Pkg hashes of one project file."""

    name: str | None
    uuid: str | None
    deps: Mapping[str, str]
    weakdeps: Mapping[str, str]
    compat: Mapping[str, str]


def project_hash(root: HashInput, members: Iterable[HashInput], julia: tuple[int, int]) -> str:
    """The manifest's `project_hash` as the Pkg of Julia `julia` computes it (1.8 introduced it)."""
    if julia >= (1, 12):
        return _workspace_hash(root, list(members))
    deps = dict(root.deps)
    if julia >= (1, 11):  # a package listed in both [deps] and [weakdeps] counts as weak
        deps = {k: v for k, v in deps.items() if root.weakdeps.get(k) != v}
    lines = [f"{k}={v}" for k, v in sorted(deps.items())]
    lines += [f"{k}={parse_spec(v).text()}" for k, v in sorted(root.compat.items())]
    return _sha1(lines)


def _workspace_hash(root: HashInput, members: list[HashInput]) -> str:
    projects = [root, *members]
    deps: dict[str, str] = {}
    for project in projects:  # named projects of the workspace are direct dependencies too
        if project.name and project.uuid:
            deps.setdefault(project.name, project.uuid)
        for name, uuid in project.deps.items():
            deps.setdefault(name, uuid)
    weakdeps: dict[str, str] = {}
    for project in projects:
        weakdeps.update(project.weakdeps)
    compats = {}
    for name in {**deps, **weakdeps}:
        spec = ANY
        for project in projects:
            spec = spec.intersect(parse_spec(project.compat[name]) if name in project.compat else ANY)
        compats[name] = spec
    lines = [f"{k}={v}" for k, v in sorted(deps.items())] + [""]
    lines += [f"{k}={v}" for k, v in sorted(weakdeps.items())] + [""]
    lines += [f"{k}={compats[k].text()}" for k in sorted(compats)]
    return _sha1(lines)


def _sha1(lines: list[str]) -> str:
    # SHA-1 because that is what Pkg stores; nothing here relies on it for security
    return hashlib.sha1("".join(line + "\n" for line in lines).encode()).hexdigest()
