"""Pkg compat semantics and the choice of the Julia version."""

from __future__ import annotations

import json
import re
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from sysimage_containers import julia_versions as jv
from sysimage_containers.errors import UsageError


@pytest.mark.parametrize(
    ("spec", "inside", "outside"),
    [
        ("1.6", ["1.6.0", "1.10.5", "1.12.7"], ["1.5.4", "2.0.0"]),
        ("^1.6", ["1.6.7"], ["1.5.0"]),
        ("~1.10", ["1.10.0", "1.10.12"], ["1.11.0", "1.9.4"]),
        ("=1.10.4", ["1.10.4"], ["1.10.5"]),
        ("=1.10", ["1.10.0"], ["1.10.1"]),
        ("1.7 - 1.11", ["1.7.0", "1.11.7"], ["1.6.7", "1.12.0"]),
        ("1.6, 1.7", ["1.6.0", "1.9.0"], ["2.0.0"]),
        ("~0.10,~0.12", ["0.10.3", "0.12.0"], ["0.11.0", "0.13.0"]),
        (">= 1.9", ["1.9.0", "2.3.0"], ["1.8.5"]),
        ("≥ 1.9", ["1.9.0"], ["1.8.5"]),
        ("< 1.9", ["1.8.5"], ["1.9.0"]),
        ("0.0.3", ["0.0.3"], ["0.0.4"]),
        ("~0.0.3", ["0.0.3", "0.0.9"], ["0.0.2", "0.1.0"]),  # Pkg's code: upper bound 0.0 (its docs say 0.0.4)
        ("3.46.1, 4, 5", ["3.46.2", "4.1.0", "5.0.0"], ["3.46.0", "6.0.0"]),
    ],
)
def test_pkg_compat_semantics(spec: str, inside: list[str], outside: list[str]) -> None:
    compat = jv.CompatSpec(spec)
    for v in inside:
        assert compat.contains(jv.parse_version(v)), (spec, v)
    for v in outside:
        assert not compat.contains(jv.parse_version(v)), (spec, v)


@pytest.mark.parametrize("spec", ["", "abc", "1.x", "1.6,", ">=", "1.6 - ", "> 1.6", "<= 1.6", "0.0.0"])
def test_invalid_compat(spec: str) -> None:
    with pytest.raises(ValueError):
        jv.CompatSpec(spec)


def test_prerelease_counts_as_its_release_for_compat() -> None:
    assert jv.CompatSpec("1.10").contains(jv.parse_version("1.11.0-rc3"))


KNOWN = jv.KnownReleases(releases=tuple(jv.parse_version(v)
                                        for v in ["1.9.4", "1.10.11", "1.10.12", "1.11.7", "1.12.7"]),
                         lts="1.10", source="test table")


def choose(**kw) -> jv.JuliaChoice:
    base = {"manifest_version": None, "manifest_name": None, "configured": None, "compat": None, "known": KNOWN}
    return jv.choose_julia_version(**{**base, **kw})


def test_manifest_version_wins_over_config_and_compat() -> None:
    choice = choose(manifest_version="1.11.5", manifest_name="Manifest.toml", configured="1.12.7", compat="1.10")
    assert str(choice.version) == "1.11.5"
    assert any("julia_version = 1.12.7 is ignored" in w for w in choice.warnings)


def test_configured_series_means_newest_patch() -> None:
    assert str(choose(configured="1.10").version) == "1.10.12"


def test_newest_release_in_compat() -> None:
    assert str(choose(compat="1.6 - 1.11").version) == "1.11.7"


def test_lts_without_any_hint() -> None:
    choice = choose()
    assert str(choice.version) == "1.10.12" and "LTS" in choice.reason


def test_contradicting_compat_warns_not_fails() -> None:
    choice = choose(manifest_version="1.9.4", manifest_name="Manifest.toml", compat="1.10")
    assert str(choice.version) == "1.9.4"
    assert choice.warnings == ("Julia 1.9.4 does not satisfy [compat] julia = '1.10'",)


@pytest.mark.parametrize(("configured", "message"), [
    ("1.13.0", "unknown Julia version 1.13.0"),
    ("1.99", "unknown Julia version 1.99: no known 1.99.x release"),
    # older than PackageCompiler supports: said so, not "unknown"
    ("1.4", "julia_version 1.4 is not supported: PackageCompiler needs Julia 1.6 or newer"),
    ("1.5.3", "julia_version 1.5.3 is not supported: PackageCompiler needs Julia 1.6 or newer"),
    ("one", "julia_version 'one' is not a Julia version"),
])
def test_unknown_configured_versions(configured: str, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        choose(configured=configured)


def test_too_old_julia_is_refused() -> None:
    with pytest.raises(UsageError, match=r"PackageCompiler 2 needs Julia 1\.6"):
        choose(manifest_version="1.5.3", manifest_name="Manifest.toml")


def test_packagecompiler_ranges() -> None:
    assert jv.packagecompiler_for(jv.parse_version("1.9.4")) == "2.1"
    assert jv.packagecompiler_for(jv.parse_version("1.6.0")) == "2.1"
    assert jv.packagecompiler_for(jv.parse_version("1.10.0")) == "2.4"


def test_refresh_from_a_local_versions_json(tmp_path, cli) -> None:
    payload = {"1.12.8": {"stable": True}, "1.13.0-rc1": {"stable": False}, "1.5.4": {"stable": True},
               "1.12.7": {"stable": True}}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = json.dumps(payload).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        result = cli("versions", "--refresh", "--url", f"http://127.0.0.1:{server.server_port}/versions.json")
    finally:
        server.shutdown()
    assert result.code == 0, result.err
    assert result.out.splitlines() == ["1.12.7", "1.12.8"]
    # the refreshed table now decides what is known
    assert str(jv.resolve_configured("1.12", jv.KnownReleases.load())) == "1.12.8"


def test_refresh_failure_is_one_line(cli) -> None:
    result = cli("versions", "--refresh", "--url", "http://127.0.0.1:9/none.json")
    assert result.code == 1
    assert result.err.startswith("sysimage-docker: error: could not refresh the Julia release list:")
    assert result.err.count("\n") == 1


def test_julia_version_order_and_text() -> None:
    ordered = ["1.9.4", "1.10.0-alpha1", "1.10.0-beta2", "1.10.0-rc1", "1.10.0-rc2", "1.10.0", "1.10.1",
               "1.11.0"]
    versions = [jv.parse_version(v) for v in ordered]
    assert sorted(reversed(versions)) == versions
    assert jv.parse_version("1.10.0-2") < jv.parse_version("1.10.0-10") < jv.parse_version("1.10.0-a")
    assert jv.parse_version("1.2.3+0") == jv.parse_version("1.2.3")  # build metadata does not order
    assert str(jv.parse_version("1.2.3-rc1.2+0.x")) == "1.2.3-rc1.2+0.x"
    for bad in ("1.2", "1.2.3-", "1.2.3-a..b", "v1.2.3", "1.2.3+"):
        with pytest.raises(ValueError):
            jv.parse_version(bad)


def test_a_release_without_an_official_image_maps_to_the_nearest_published_patch() -> None:
    known = jv.KnownReleases(releases=tuple(jv.parse_version(v) for v in
                                            ["1.10.0", "1.11.6", "1.11.7", "1.11.8", "1.11.9", "1.12.0"]),
                             lts="1.10", source="test", untagged=(jv.parse_version("1.11.8"),
                                                                  jv.parse_version("1.12.0")))
    assert known.published_image(jv.parse_version("1.11.7")) == (jv.parse_version("1.11.7"), None)
    chosen, warning = known.published_image(jv.parse_version("1.11.8"))
    assert str(chosen) == "1.11.9"  # 1.11.7 and 1.11.9 are equally near: the newer
    assert warning is not None and "docker-library never published julia:1.11.8" in warning
    with pytest.raises(UsageError, match=re.escape("Julia 1.12.0 has no official julia image and no other 1.12")):
        known.published_image(jv.parse_version("1.12.0"))


def test_the_shipped_table_knows_the_unpublished_1_11_8() -> None:
    known = jv.KnownReleases.load()
    assert jv.parse_version("1.11.8") in known.untagged
    assert str(known.published_image(jv.parse_version("1.11.8"))[0]) == "1.11.9"
