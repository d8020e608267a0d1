"""Behaviour decided without an engine, tested without one: each test here kills a mutation that once survived the
engine-free suite (issue 13's list), so a regression shows up in seconds, not only in the docker tests."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import pytest
from conftest import EXAMPLES
from rich.console import Console

from sysimage_containers import config
from sysimage_containers.errors import UsageError
from sysimage_containers.pkg_compat import HashInput, project_hash


def copy_of(tmp_path: Path, example: str = "http-service") -> Path:
    project = tmp_path / "p"
    shutil.copytree(EXAMPLES / example, project)
    return project


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


@pytest.mark.parametrize(("variable", "value", "message"), [
    ("SYSIMAGE_DOCKER_NETWORK", "host; rm -rf /", "is not a valid network"),
    ("SYSIMAGE_DOCKER_DOCKER_CLIENT", "docker --config=/tmp/evil", "is not a valid docker client"),
])
def test_engine_values_are_validated(variable: str, value: str, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        config.resolve(None, environ={variable: value})


@pytest.mark.parametrize("key", ["include_project", "filter_stdlibs"])
def test_pkgimage_refuses_sysimage_settings(key: str) -> None:
    cli = {"mode": "pkgimage", key: True, **({"incremental": False} if key == "filter_stdlibs" else {})}
    with pytest.raises(UsageError, match=f"{key} does not apply to mode = pkgimage: there is no sysimage"):
        config.resolve(None, cli=cli)


def test_filter_stdlibs_in_app_mode_needs_no_incremental_setting(tmp_path: Path) -> None:
    # create_app is non-incremental by default (PackageCompiler v2.4.0 src/PackageCompiler.jl line 922): the app
    # mode accepts filter_stdlibs alone and leaves incremental to create_app; create_sysimage's default is true
    from sysimage_containers.pipeline import prepare

    plan = prepare(copy_of(tmp_path, "cli-tool"), cli={"mode": "app", "filter_stdlibs": True}).plan
    data = plan.builder_data()
    assert data["filter_stdlibs"] is True and "incremental" not in data
    with pytest.raises(UsageError, match="filter_stdlibs needs incremental = false"):
        config.resolve(None, cli={"mode": "app", "filter_stdlibs": True, "incremental": True})
    with pytest.raises(UsageError, match="filter_stdlibs needs incremental = false"):
        config.resolve(None, cli={"filter_stdlibs": True})  # mode = sysimage: create_sysimage's default is true
    with pytest.raises(UsageError, match="filter_stdlibs needs incremental = false"):
        config.resolve(None, environ={"SYSIMAGE_DOCKER_MODE": "app", "SYSIMAGE_DOCKER_FILTER_STDLIBS": "true",
                                      "SYSIMAGE_DOCKER_INCREMENTAL": "true"})


def test_values_over_4096_characters_are_refused() -> None:
    with pytest.raises(UsageError, match="value is 4097 characters, over the 4096 limit"):
        config.resolve(None, cli={"runtime_image": "a" * 4097})
    config.resolve(None, cli={"env": [f"A={'b' * 4096}"]})  # at the limit: accepted


def test_a_package_in_deps_and_weakdeps_hashes_as_weak_from_julia_1_11() -> None:
    uuid = "cd3eb016-35fb-5094-929b-558a96fad6f3"
    both = HashInput(name=None, uuid=None, deps={"HTTP": uuid}, weakdeps={"HTTP": uuid}, compat={})
    weak_only = HashInput(name=None, uuid=None, deps={}, weakdeps={"HTTP": uuid}, compat={})
    strong = HashInput(name=None, uuid=None, deps={"HTTP": uuid}, weakdeps={}, compat={})
    assert project_hash(both, [], (1, 11)) == project_hash(weak_only, [], (1, 11))
    assert project_hash(both, [], (1, 10)) == project_hash(strong, [], (1, 10))
    assert project_hash(both, [], (1, 11)) != project_hash(strong, [], (1, 11))


def test_a_manifest_version_outside_compat_warns(tmp_path: Path, cli) -> None:
    project = copy_of(tmp_path)
    edit(project / "Project.toml", 'HTTP = "1.10"', 'HTTP = "~1.9"')
    result = cli("generate", project)
    assert result.code == 0
    assert ("sysimage-docker: warning: Manifest.toml has HTTP 1.10.16, outside [compat] HTTP = '~1.9': the manifest "
            "was not resolved against the current Project.toml") in result.err


def test_an_internal_error_exits_70(cli, monkeypatch: pytest.MonkeyPatch) -> None:
    from sysimage_containers import pipeline

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr(pipeline, "prepare", broken)
    monkeypatch.setattr("sysimage_containers.cli.prepare", broken, raising=False)
    result = cli("generate", EXAMPLES / "hello")
    assert result.code == 70
    assert result.err.startswith("sysimage-docker: error: internal error (RuntimeError: a bug)")


@pytest.mark.parametrize("tag", ["app/UPPER:1", "app:bad tag", "-app:1", "app@sha256:" + "a" * 64])
def test_a_bad_tag_is_refused_before_anything_runs(cli, tag: str) -> None:
    result = cli("build", EXAMPLES / "hello", "--dry-run", "-t", tag)
    assert result.code == 2 and result.err.startswith("sysimage-docker: error: --tag: "), result.err


def test_secret_sources_inside_the_project_are_found(tmp_path: Path) -> None:
    from sysimage_containers.build import secret_files_inside

    (tmp_path / "creds").write_text("x")
    found = secret_files_inside(tmp_path, (f"id=git-credentials,src={tmp_path / 'creds'}", "id=other,env=TOKEN",
                                           f"id=outside,src={tmp_path.parent / 'elsewhere'}",
                                           f"id=alias,source={tmp_path / 'creds'}"))
    assert found == ("creds", "creds")


def test_an_out_of_memory_kill_gets_the_advice() -> None:
    from sysimage_containers.build import OOM_ADVICE, failure_message
    from sysimage_containers.progress import ProgressView

    view = ProgressView(Console(file=io.StringIO()), "plain")
    for line in ["#9 [builder 3/9] RUN julia /opt/sysimage-docker/julia/build_sysimage.jl",
                 "#9 41.2 ERROR: failed process: ProcessSignaled(9)",
                 "#9 ERROR: executor failed running [/bin/sh -c julia]: exit code: 1"]:
        view.line(line)
    message = failure_message(view)
    assert message.startswith("build failed at [builder] (sysimage) RUN") and message.endswith(OOM_ADVICE)


def test_verify_judges_a_mismatch_and_missing_artifacts() -> None:
    from sysimage_containers.verify import judge, summary_error

    ok = judge({"baked": [{"name": "HTTP", "baked": "1.10.16", "manifest": "1.10.16"}], "missing_artifacts": []})
    assert ok.ok and ok.mismatched == ()
    bad = judge({"baked": [{"name": "JSON3", "baked": "1.14.2", "manifest": "1.14.3"},
                           {"name": "HTTP", "baked": "1.10.16", "manifest": "1.10.16"}],
                 "missing_artifacts": ["OpenSSL_jll"]})
    assert not bad.ok and bad.mismatched == ("JSON3",) and bad.missing_artifacts == ("OpenSSL_jll",)
    assert summary_error("app:1", bad) == (
        "app:1: baked versions differ from the manifest for JSON3 (rebuild the image: packages in a sysimage are "
        "locked to their build-time version); missing artifacts: OpenSSL_jll")


def test_the_uid_range_has_both_ends() -> None:
    assert config.resolve(None, cli={"user_id": 1}).user_id == 1
    assert config.resolve(None, cli={"user_id": 2**31 - 2}).user_id == 2**31 - 2


def test_a_warmup_request_answers_200_unless_told() -> None:
    from sysimage_containers.pipeline import prepare

    cli = {"warmup": [{"path": "/health"}, {"path": "/x", "status": 204}]}
    data = prepare(EXAMPLES / "http-service", cli=cli).plan.builder_data()
    assert [(r["path"], r["status"]) for r in data["warmup"]] == [("/health", 200), ("/x", 204)]


def test_a_project_license_that_is_not_text_is_ignored(tmp_path: Path, cli) -> None:
    project = copy_of(tmp_path)
    edit(project / "Project.toml", 'version = "0.1.0"', 'version = "0.1.0"\nlicense = 5')
    result = cli("generate", project)
    assert result.code == 0, result.err
    assert "image.licenses" not in result.out


def test_a_named_file_that_links_out_of_the_project_is_refused(tmp_path: Path, cli) -> None:
    project = copy_of(tmp_path)
    outside = tmp_path / "outside.jl"
    outside.write_text("println(1)\n")
    (project / "precompile" / "workload.jl").unlink()
    (project / "precompile" / "workload.jl").symlink_to(outside)
    result = cli("generate", project)
    assert (result.code, result.err) == (2, "sysimage-docker: error: precompile_files: precompile/workload.jl: "
                                            "resolves outside the project (symlink)\n")


def test_package_lists_over_the_label_limit_are_counted() -> None:
    from sysimage_containers.plan import LABEL_PACKAGES, BakedPackage, _packages_label

    exactly = tuple(BakedPackage(f"P{i}", "1.0.0") for i in range(LABEL_PACKAGES))
    assert "more" not in _packages_label(exactly)
    over = (*exactly, BakedPackage("Last", "2.0.0"))
    assert _packages_label(over).endswith(" (+1 more: packages in /opt/sysimage-docker/plan.toml)")


def test_listed_packages_leave_out_the_excluded_ones() -> None:
    from sysimage_containers.pipeline import prepare

    plan = prepare(EXAMPLES / "http-service", cli={"packages": ["HTTP", "JSON3"], "exclude": ["JSON3"]}).plan
    assert [p.name for p in plan.baked] == ["HTTP"]


@pytest.mark.parametrize(("private_git", "tools"), [
    ("ssh", [("g++", "g++"), ("git", "git"), ("ssh", "openssh-client")]),
    ("token", [("g++", "g++"), ("git", "git"), ("git", "ca-certificates")]),
])
def test_private_git_brings_its_tools(private_git: str, tools: list) -> None:
    from sysimage_containers.pipeline import prepare

    assert list(prepare(EXAMPLES / "hello", cli={"private_git": private_git}).plan.builder_tools) == tools


def test_pkgimage_names_the_unused_settings() -> None:
    from sysimage_containers.pipeline import prepare

    one = prepare(EXAMPLES / "hello", cli={"mode": "pkgimage"}).plan.warnings
    assert one == ("mode = pkgimage builds no sysimage: precompile_files is not used",)
    two = prepare(EXAMPLES / "hello", cli={"mode": "pkgimage", "trace": True}).plan.warnings
    assert two == ("mode = pkgimage builds no sysimage: precompile_files, trace are not used",)


def test_a_named_input_that_is_a_directory_is_refused(tmp_path: Path, cli) -> None:
    project = copy_of(tmp_path)
    (project / "precompile" / "workload.jl").unlink()
    (project / "precompile" / "workload.jl").mkdir()
    result = cli("generate", project)
    assert (result.code, result.err) == (2, "sysimage-docker: error: precompile_files: precompile/workload.jl: "
                                            "not a file\n")


def test_a_dockerignore_that_is_not_utf8_is_refused(tmp_path: Path, cli) -> None:
    project = copy_of(tmp_path, "hello")
    (project / ".dockerignore").write_bytes(b"data\n\xff\n")
    result = cli("generate", project)
    assert (result.code, result.err) == (2, f"sysimage-docker: error: {project}/.dockerignore: not valid UTF-8\n")


def test_an_excluded_directory_with_nothing_brought_back_stays_out(tmp_path: Path, cli) -> None:
    project = copy_of(tmp_path, "hello")
    (project / "data").mkdir()
    (project / "data" / "big.csv").write_text("1,2\n")
    (project / ".dockerignore").write_text("data\n!data/keep.txt\n")  # nothing named keep.txt exists
    out = tmp_path / "ctx"
    result = cli("generate", project, "-o", out)
    assert result.code == 0, result.err
    assert not (out / "app" / "data").exists()
    notes = [line for line in result.err.splitlines() if line.startswith("left out of the build context")]
    assert notes == [f"left out of the build context by the default exclusions and {project}/.dockerignore: "
                     "data/big.csv, data (a `!PATTERN` line in .dockerignore brings one back)"]
    (project / "data" / "keep.txt").write_text("kept\n")
    assert cli("generate", project, "-o", out).code == 0
    assert sorted(p.name for p in (out / "app" / "data").iterdir()) == ["keep.txt"]


def test_a_missing_project_directory(cli, tmp_path: Path) -> None:
    result = cli("generate", tmp_path / "nowhere")
    assert (result.code, result.err) == (2, f"sysimage-docker: error: {tmp_path / 'nowhere'}: no such directory\n")


@pytest.mark.parametrize(("writer", "warns"), [("1.8.5", True), ("1.7.3", False)])
def test_project_hash_is_checked_from_julia_1_8(tmp_path: Path, cli, writer: str, warns: bool) -> None:
    # Pkg writes project_hash since Julia 1.8; a stale one there means the manifest was not re-resolved
    project = copy_of(tmp_path)
    edit(project / "Manifest.toml", 'julia_version = "1.11.5"\nmanifest_format = "2.0"',
         f'julia_version = "{writer}"\nmanifest_format = "2.0"\nproject_hash = "{"0" * 40}"')
    result = cli("generate", project)
    assert result.code == 0, result.err
    assert ("its project_hash does not match Project.toml" in result.err) == warns


def test_versioned_manifests_are_tried_newest_first_and_juliamanifest_before_manifest(tmp_path: Path) -> None:
    from sysimage_containers.project import _manifest_candidates

    for name in ("Manifest.toml", "Manifest-v1.10.toml", "Manifest-v1.11.toml", "JuliaManifest-v1.11.toml",
                 "Manifest-v1.9.toml", "JuliaManifest.toml"):
        (tmp_path / name).write_text("")
    assert _manifest_candidates(tmp_path) == ("JuliaManifest-v1.11.toml", "Manifest-v1.11.toml", "Manifest-v1.10.toml",
                                              "Manifest-v1.9.toml", "JuliaManifest.toml", "Manifest.toml")
