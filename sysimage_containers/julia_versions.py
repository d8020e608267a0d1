"""Julia versions: the table of known releases, `[compat] julia`, and choosing the version to build."""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field, replace
from functools import total_ordering
from pathlib import Path

from sysimage_containers import tomlfiles
from sysimage_containers.errors import UsageError
from sysimage_containers.pkg_compat import parse_spec

VERSION_RE = re.compile(r"^(\d+)\.(\d+)\.(\d+)(?:-([0-9A-Za-z.]+))?(?:\+([0-9A-Za-z.]+))?$")
DEFAULT_VERSIONS_URL = "https://julialang-s3.julialang.org/bin/versions.json"


@total_ordering
@dataclass(frozen=True)
class Version:
    """A full Julia VersionNumber, `major.minor.patch[-prerelease][+build]`, ordered as Julia orders releases: a
    prerelease before its release, numeric identifiers numerically and before alphanumeric ones."""

    major: int
    minor: int
    patch: int
    prerelease: tuple[str, ...] = ()
    build: tuple[str, ...] = field(default=(), compare=False)

    def _key(self) -> tuple[object, ...]:
        if not self.prerelease:
            return (self.major, self.minor, self.patch, 1)
        parts = tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in self.prerelease)
        return (self.major, self.minor, self.patch, 0, parts)

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Version):
            return NotImplemented
        return self._key() < other._key()

    def __str__(self) -> str:
        text = f"{self.major}.{self.minor}.{self.patch}"
        if self.prerelease:
            text += "-" + ".".join(self.prerelease)
        if self.build:
            text += "+" + ".".join(self.build)
        return text


def parse_version(text: str) -> Version:
    """A full Julia version such as 1.11.5, 1.11.0-rc3 or 1.2.3+0; raises ValueError otherwise."""
    match = VERSION_RE.match(text)
    if not match or any(not p for g in (match.group(4), match.group(5)) if g for p in g.split(".")):
        raise ValueError(f"not a Julia version: {text!r}")
    pre, build = match.group(4), match.group(5)
    return Version(int(match.group(1)), int(match.group(2)), int(match.group(3)),
                   tuple(pre.split(".")) if pre else (), tuple(build.split(".")) if build else ())


class CompatSpec:
    """A `[compat]` entry with Pkg's own semantics (see pkg_compat): `1.6` means `^1.6`, comma means union."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.spec = parse_spec(text)

    def contains(self, version: Version) -> bool:
        # Pkg compares release numbers only: 1.11.0-rc3 counts as 1.11.0
        return self.spec.contains((version.major, version.minor, version.patch))

    def __repr__(self) -> str:
        return f"CompatSpec({self.text!r})"


@dataclass(frozen=True)
class KnownReleases:
    releases: tuple[Version, ...]
    lts: str
    source: str
    warnings: tuple[str, ...] = ()
    untagged: tuple[Version, ...] = ()  # releases with no official julia image

    @classmethod
    def load(cls) -> KnownReleases:
        warnings: tuple[str, ...] = ()
        try:
            cached = user_cache_file()
            if cached.is_file():
                return cls._from_toml(cached.read_text(encoding="utf-8"), str(cached))
        except (OSError, ValueError, UsageError) as exc:  # UnicodeDecodeError is a ValueError
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc).split("\n")[0]
            warnings = (f"the release list in the user cache cannot be used ({reason}): using the built-in "
                        "table; `sysimage-docker versions --refresh` writes a new one",)
        text = (Path(__file__).parent / "data" / "julia_releases.toml").read_text("utf-8")
        return replace(cls._from_toml(text, "built-in table"), warnings=warnings)

    @classmethod
    def _from_toml(cls, text: str, source: str) -> KnownReleases:
        """Raises ValueError (with what is wrong) unless the file has an LTS series and the releases of it."""
        data = tomlfiles.loads(text, source)
        raw, lts = data.get("releases"), data.get("lts")
        if not isinstance(raw, list) or not raw or not all(isinstance(v, str) for v in raw):
            raise ValueError("releases is not a list of versions")
        releases = tuple(sorted(parse_version(v) for v in raw))
        if not isinstance(lts, str) or not re.fullmatch(r"\d+\.\d+", lts):
            raise ValueError("lts is not a release series such as 1.10")
        untagged = data.get("untagged", [])
        if not isinstance(untagged, list) or not all(isinstance(v, str) for v in untagged):
            raise ValueError("untagged is not a list of versions")
        return cls(releases=releases, lts=lts, source=source, untagged=tuple(parse_version(v) for v in untagged))

    def published_image(self, version: Version) -> tuple[Version, str | None]:
        """The version whose official `julia:X.Y.Z` image exists: the version itself, or for one that was never
        published the nearest published patch of its minor (the newer on a tie), with a warning."""
        if version not in self.untagged:
            return version, None
        candidates = [v for v in self.releases if (v.major, v.minor) == (version.major, version.minor)
                      and v not in self.untagged and not v.prerelease]
        if not candidates:
            raise UsageError(f"Julia {version} has no official julia image and no other {version.major}."
                             f"{version.minor} release has one; set builder_image to an image with Julia {version}")
        chosen = min(candidates, key=lambda v: (abs(v.patch - version.patch), -v.patch))
        return chosen, (f"Julia {version} has no official julia image (docker-library never published "
                        f"julia:{version}): building with {chosen}, the nearest published patch; set builder_image "
                        f"to use {version} itself")

    def newest(self, spec: CompatSpec | None = None, series: str | None = None) -> Version | None:
        for v in reversed(self.releases):
            if spec is not None and not spec.contains(v):
                continue
            if series is not None and f"{v.major}.{v.minor}" != series:
                continue
            return v
        return None

    def __contains__(self, version: Version) -> bool:
        return version in self.releases


def user_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "sysimage-docker"


def user_cache_file() -> Path:
    return user_cache_dir() / "julia_releases.toml"


@dataclass(frozen=True)
class JuliaChoice:
    version: Version
    reason: str
    warnings: tuple[str, ...]


def choose_julia_version(
    *,
    manifest_version: str | None,
    manifest_name: str | None,
    configured: str | None,
    compat: str | None,
    known: KnownReleases,
    manifest_format: str | None = None,
) -> JuliaChoice:
    """Manifest's julia_version wins; else the configured one; else, for a format-1.0 manifest, the last 1.6
    release unless [compat] julia excludes it; else newest release in compat; else LTS."""
    warnings: list[str] = list(known.warnings)
    last_16 = known.newest(series="1.6") if manifest_format == "1.0" and not configured else None
    spec = None
    if compat is not None:
        try:
            spec = CompatSpec(compat)
        except ValueError as exc:
            raise UsageError(f"[compat] julia: {exc}") from None

    if manifest_version:
        try:
            version = parse_version(manifest_version)
        except ValueError:
            raise UsageError(f"{manifest_name}: julia_version {manifest_version!r} is not a Julia version") from None
        reason = f"julia_version of {manifest_name}"
        if version not in known:
            warnings.append(
                f"Julia {version} (from {manifest_name}) is not in the known-release table ({known.source}); "
                "make sure the builder image exists"
            )
        if configured and configured not in (str(version), f"{version.major}.{version.minor}"):
            warnings.append(f"julia_version = {configured} is ignored: {manifest_name} was resolved with {version}")
    elif configured:
        version = resolve_configured(configured, known)
        reason = "configuration"
    elif last_16 is not None and (spec is None or spec.contains(last_16)):
        # manifest format 2.0 came with Julia 1.7: a 1.0 manifest pins versions of that era, which a newer
        # Julia may not be able to instantiate
        version, reason = last_16, f"{manifest_name} is in manifest format 1.0 (written by Julia 1.6 or older)"
        warnings.append(f"{manifest_name} has no julia_version and is in manifest format 1.0, which only Julia 1.6 "
                        f"and older write: building with Julia {version}; set julia_version to choose another")
    elif spec is not None:
        found = known.newest(spec)
        if found is None:
            raise UsageError(f"no known Julia release satisfies [compat] julia = {compat!r}; set julia_version")
        version, reason = found, f"newest known release in [compat] julia = {compat!r}"
    else:
        lts = known.newest(series=known.lts)
        if lts is not None:
            version, reason = lts, f"current LTS ({known.lts}); no manifest version or [compat] julia"
        else:  # a refreshed list without the LTS series: the newest release it has
            version, reason = known.releases[-1], "newest known release; no manifest version or [compat] julia"

    if spec is not None and not spec.contains(version):
        warnings.append(f"Julia {version} does not satisfy [compat] julia = {compat!r}")
    if (version.major, version.minor) < (1, 6):
        raise UsageError(f"Julia {version} is too old: PackageCompiler 2 needs Julia 1.6 or newer")
    return JuliaChoice(version=version, reason=reason, warnings=tuple(warnings))


def resolve_configured(text: str, known: KnownReleases) -> Version:
    """`1.11.5` must be a known release; `1.11` means its newest known patch release."""
    too_old = re.match(r"(\d+)\.(\d+)", text)
    if too_old and (int(too_old.group(1)), int(too_old.group(2))) < (1, 6):
        raise UsageError(f"julia_version {text} is not supported: PackageCompiler needs Julia 1.6 or newer")
    if re.fullmatch(r"\d+\.\d+", text):
        found = known.newest(series=text)
        if found is None:
            raise UsageError(f"unknown Julia version {text}: no known {text}.x release ({known.source})")
        return found
    try:
        version = parse_version(text)
    except ValueError:
        raise UsageError(f"julia_version {text!r} is not a Julia version (expected e.g. 1.11.5 or 1.11)") from None
    if version not in known:
        raise UsageError(
            f"unknown Julia version {text} ({known.source} knows up to {known.releases[-1]}); "
            "run `sysimage-docker versions --refresh` when online"
        )
    return version


def packagecompiler_for(version: Version) -> str:
    """PackageCompiler 2.2+ needs Julia 1.10+; 2.1.x covers 1.6-1.9."""
    return "2.4" if (version.major, version.minor) >= (1, 10) else "2.1"


def refresh(url: str = DEFAULT_VERSIONS_URL, dest: Path | None = None, timeout: float = 20.0) -> Path:
    """Download Julia's versions.json and write the stable releases to the user cache."""
    import urllib.request  # only `versions --refresh` needs the network stack

    import tomlkit
    with urllib.request.urlopen(url, timeout=timeout) as response:
        data = json.load(response)
    stable = sorted(
        (parse_version(v) for v, info in data.items() if VERSION_RE.match(v) and info.get("stable")),
    )
    if not stable:
        raise ValueError("the versions list holds no stable release")
    current = KnownReleases.load()
    doc = tomlkit.document()
    doc.add(tomlkit.comment(f"Julia releases from {url}"))
    doc["lts"] = current.lts
    doc["releases"] = [str(v) for v in stable if (v.major, v.minor) >= (1, 6)]
    target = dest or user_cache_file()
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(tomlkit.dumps(doc), encoding="utf-8")
    return target
