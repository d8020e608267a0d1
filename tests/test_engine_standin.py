"""The engine commands end to end without an engine: `tests/standin/docker` stands where the docker client would (it
answers as Docker 20.10 without buildx, records every call, and builds nothing: its `build` prints a BuildKit log with
one step per FROM and RUN of the Dockerfile). What these tests prove is what the tool sends to the client and what it
makes of the answers (summary, metadata, exit statuses, messages), not what an engine does with it: the docker tests
do that."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import REPO

STANDIN = REPO / "tests" / "standin" / "docker"


class Standin:
    """Environment variables that point the tool at the stand-in client, and what it was asked."""

    def __init__(self, log: Path) -> None:
        self.log = log
        self.env = {"SYSIMAGE_DOCKER_DOCKER_CLIENT": str(STANDIN), "SYSIMAGE_DOCKER_ENGINE": "docker"}

    def calls(self) -> list[list[str]]:
        return [json.loads(line)["argv"] for line in self.log.read_text().splitlines()] if self.log.exists() else []

    def builds(self) -> list[list[str]]:
        return [c for c in self.calls() if c[:1] == ["build"]]


@pytest.fixture
def standin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Standin:
    log = tmp_path / "docker-calls.jsonl"
    monkeypatch.setenv("STANDIN_DOCKER_LOG", str(log))
    return Standin(log)


def knobs(monkeypatch: pytest.MonkeyPatch, **values: str) -> None:
    for key, value in values.items():
        monkeypatch.setenv(f"STANDIN_DOCKER_{key}", value)


def test_a_build_reports_its_image_steps_and_metadata(cli, example, standin, tmp_path: Path) -> None:
    meta = tmp_path / "meta.json"
    result = cli("build", example("hello"), "-t", "hello:1", "--metadata-file", meta, "--progress", "plain",
                 env=standin.env)
    assert result.code == 0, result.err
    (build,) = standin.builds()
    assert build[:5] == ["build", "--progress", "plain", "--tag", "hello:1"]
    assert "--network" not in build  # the engine has a bridge network: BuildKit's default is left alone
    lines = result.err.splitlines()
    assert not [line for line in lines if line.startswith("sysimage-docker: warning:")]
    assert any(line.startswith("building hello:1 with docker-buildkit (") and
               "engine 20.10.24+dfsg1 at unix:///var/run/docker.sock)" in line for line in lines)
    assert any(line.startswith("heavy steps: PackageCompiler install ran (0.1 s), instantiate ran (0.1 s), "
                               "sysimage ran (0.1 s)") for line in lines)
    assert "sysimage size: 4.2 MB (sysimage step ran (0.1 s))" in lines
    assert any(line.startswith("image sha256:") and line.endswith("hello:1  123.5 MB") for line in lines)
    data = json.loads(meta.read_text())
    assert data["tags"] == ["hello:1"] and data["error"] is None and data["size"] == 123_456_789
    assert data["heavy_steps"]["sysimage"] == "ran" and data["heavy_step_seconds"]["sysimage"] == 0.1
    assert data["sysimage_size"] == 4_200_000
    assert data["engine"] == {"backend": "docker-buildkit", "client": str(STANDIN), "client_version": "20.10.24+dfsg1",
                              "server_version": "20.10.24+dfsg1", "endpoint": "unix:///var/run/docker.sock",
                              "builder": None, "driver": None}


def test_json_prints_the_metadata_instead_of_the_summary(cli, example, standin) -> None:
    result = cli("build", example("hello"), "-t", "hello:1", "--json", env=standin.env)
    assert result.code == 0, result.err
    assert json.loads(result.out)["image_id"].startswith("sha256:")
    assert not any(line.startswith("heavy steps:") for line in result.err.splitlines())


def test_push_reports_each_digest(cli, example, standin, tmp_path: Path) -> None:
    meta = tmp_path / "meta.json"
    result = cli("build", example("hello"), "-t", "reg.example/hello:1", "-t", "reg.example/hello:latest", "--push",
                 "--metadata-file", meta, env=standin.env)
    assert result.code == 0, result.err
    assert [c for c in standin.calls() if c[0] == "push"] == [["push", "reg.example/hello:1"],
                                                             ["push", "reg.example/hello:latest"]]
    digest = "sha256:" + "d" * 64
    assert f"pushed reg.example/hello:1@{digest}" in result.err.splitlines()
    assert json.loads(meta.read_text())["pushed"] == [{"tag": "reg.example/hello:1", "digest": digest},
                                                      {"tag": "reg.example/hello:latest", "digest": digest}]


def test_a_refused_push_fails_with_the_registry_and_the_login_to_use(cli, example, standin, tmp_path: Path,
                                                                       monkeypatch) -> None:
    knobs(monkeypatch, PUSH_DENIED="1")
    meta = tmp_path / "meta.json"
    result = cli("build", example("hello"), "-t", "reg.example/hello:1", "--push", "--metadata-file", meta,
                 env=standin.env)
    assert result.code == 1
    assert result.err.splitlines()[-1] == (
        "sysimage-docker: error: push of reg.example/hello:1 to reg.example failed: denied: requested access to the "
        "resource is denied (reg.example refuses this repository: log in with `docker login reg.example`, as a "
        "user (or CI token) with rights to push there)")
    assert json.loads(meta.read_text())["error"].startswith("push of reg.example/hello:1 to reg.example failed")


def test_a_failing_step_is_named_with_its_log_and_recorded(cli, example, standin, tmp_path: Path, monkeypatch) -> None:
    knobs(monkeypatch, FAIL_STEP="build_sysimage.jl")
    meta = tmp_path / "meta.json"
    result = cli("build", example("hello"), "-t", "hello:1", "--metadata-file", meta, env=standin.env)
    assert result.code == 1
    message = result.err[result.err.index("sysimage-docker: error: "):].splitlines()
    assert message[0].startswith("sysimage-docker: error: build failed at [builder] (sysimage) RUN ")
    assert message[1:3] == ["last log lines:", "    stand-in failure"]
    assert message[3].startswith("the engine said: executor failed running")
    data = json.loads(meta.read_text())
    assert data["heavy_steps"]["sysimage"] == "failed" and data["image_id"] is None
    assert data["error"].startswith("build failed at [builder] (sysimage)")


def test_no_daemon_exits_3_and_says_how_to_start_one(cli, example, standin, monkeypatch) -> None:
    knobs(monkeypatch, DOWN="1")
    result = cli("build", example("hello"), env=standin.env)
    assert result.code == 3
    assert result.err.splitlines()[-1] == (
        f"sysimage-docker: error: no Docker daemon answers at unix:///var/run/docker.sock ({STANDIN}): start it "
        "(e.g. `sudo systemctl start docker` or `dockerd`), or point DOCKER_HOST (or --context) at a running engine")


def test_no_bridge_network_builds_on_the_host_network(cli, example, standin, monkeypatch) -> None:
    knobs(monkeypatch, NO_BRIDGE="1")
    result = cli("build", example("hello"), "-t", "hello:1", env=standin.env)
    assert result.code == 0, result.err
    (build,) = standin.builds()
    assert build[build.index("--network") + 1] == "host"
    assert "the engine has no bridge network: RUN steps use --network host (set network to choose)" in result.err


def test_a_cache_repo_is_pulled_read_and_pushed_by_stage(cli, example, standin) -> None:
    """The tools stage, then the builder stage are built first, each reading only its image, then the user's build
    reading only the runtime stage's, then the runtime stage's cache image (regcache: BuildKit races two images
    holding the same keys)."""
    result = cli("build", example("hello"), "-t", "hello:1", "--cache-repo", "reg.example/cache", env=standin.env)
    assert result.code == 0, result.err
    lines = result.err.splitlines()
    tools, builder, main, runtime = standin.builds()
    assert main[main.index("--tag") + 1] == "hello:1" and "--target" not in main
    assert "BUILDKIT_INLINE_CACHE=1" not in main  # only the cache images carry inline metadata
    assert [a for a in main if a.startswith("--cache-from")] == ["--cache-from=reg.example/cache:runtime"]
    assert [a for a in tools if a.startswith("--cache-from")] == ["--cache-from=reg.example/cache:tools"]
    assert [a for a in builder if a.startswith("--cache-from")] == ["--cache-from=reg.example/cache:builder"]
    for stage, build in (("tools", tools), ("builder", builder), ("runtime", runtime)):  # hello has no tracer
        ref = f"reg.example/cache:{stage}"
        assert ["pull", "--quiet", ref] in standin.calls()
        assert f"cache: {ref} not in the registry yet" in lines
        assert build[build.index("--target") + 1] == stage and build[build.index("--tag") + 1] == ref
        assert "BUILDKIT_INLINE_CACHE=1" in build
        assert ["push", ref] in standin.calls()
        assert f"cache: pushed {ref}@sha256:{'d' * 64}" in lines


def test_classic_rendering_builds_with_the_classic_builder(cli, example, standin) -> None:
    result = cli("build", example("hello"), "-t", "hello:1", "--no-buildkit", env=standin.env)
    assert result.code == 0, result.err
    (build,) = standin.builds()
    assert build[:2] == ["build", "--force-rm"]
    assert "with docker-classic (" in result.err and "warning" not in result.err  # asked for: nothing to warn of


def test_run_keeps_the_images_command_and_passes_the_exit_status(cli, standin, monkeypatch) -> None:
    knobs(monkeypatch, RUN_EXIT="7")
    result = cli("run", "hello:1", "--", "--name", "x", env=standin.env)
    assert result.code == 7
    (run,) = [c for c in standin.calls() if c[0] == "run"]
    assert run == ["run", "--rm", "--init", "hello:1", "/app/bin/hello.jl", "--name", "x"]


REPORT = {"sysimage": "/usr/local/julia/lib/julia/sys.so", "julia_version": "1.11.5", "cpu_target": "generic",
          "baked": [{"name": "HTTP", "baked": "1.10.8", "manifest": "1.10.8"}], "from_depot": [],
          "missing_artifacts": []}


def test_verify_judges_the_images_report(cli, standin, monkeypatch) -> None:
    knobs(monkeypatch, RUN_OUTPUT="loading\n" + json.dumps(REPORT) + "\n")
    result = cli("verify", "hello:1", "--json", env=standin.env)
    assert result.code == 0, result.err
    assert json.loads(result.out)["ok"] is True
    (run,) = [c for c in standin.calls() if c[0] == "run"]
    assert run == ["run", "--rm", "--entrypoint", "/usr/local/julia/bin/julia", "hello:1",
                   "/opt/sysimage-docker/julia/verify.jl"]
    shown = cli("verify", "hello:1", env=standin.env)
    assert shown.code == 0 and "hello:1: sysimage /usr/local/julia/lib/julia/sys.so, Julia 1.11.5" in shown.out
    assert "load from the depot (not in the sysimage): none" in shown.out


def test_verify_fails_on_a_version_mismatch_and_missing_artifacts(cli, standin, monkeypatch) -> None:
    stale = {**REPORT, "baked": [{"name": "HTTP", "baked": "1.10.7", "manifest": "1.10.8"}],
             "missing_artifacts": ["OpenSSL_jll"]}
    knobs(monkeypatch, RUN_OUTPUT=json.dumps(stale) + "\n")
    result = cli("verify", "hello:1", env=standin.env)
    assert result.code == 1
    assert result.err.splitlines()[-1] == (
        "sysimage-docker: error: hello:1: baked versions differ from the manifest for HTTP (rebuild the image: "
        "packages in a sysimage are locked to their build-time version); missing artifacts: OpenSSL_jll")
    assert "MISMATCH" in result.out


def test_verify_refuses_an_app_image_and_names_a_failed_run(cli, standin, monkeypatch) -> None:
    knobs(monkeypatch, LABELS=json.dumps({"dev.sysimage-docker.mode": "app"}))
    result = cli("verify", "hello:1", env=standin.env)
    assert (result.code, result.err.splitlines()[-1]) == (2, "sysimage-docker: error: hello:1: verify needs the "
                                                              "image's julia; mode = app images carry only the bundle")
    knobs(monkeypatch, LABELS="{}", RUN_EXIT="1", RUN_OUTPUT="ERROR: boom\n")
    result = cli("verify", "hello:1", env=standin.env)
    assert (result.code, result.err.splitlines()[-1]) == (1, "sysimage-docker: error: verify could not run in "
                                                              "hello:1 (exit 1): ERROR: boom")


def test_sbom_of_an_image_is_the_file_it_carries(cli, standin, monkeypatch, tmp_path: Path) -> None:
    knobs(monkeypatch, RUN_OUTPUT='{"bomFormat": "CycloneDX"}\n')
    result = cli("sbom", "hello:1", "-o", tmp_path / "sbom.json", env=standin.env)
    assert result.code == 0, result.err
    assert (tmp_path / "sbom.json").read_text() == '{"bomFormat": "CycloneDX"}\n'
    assert ["run", "--rm", "--entrypoint", "cat", "hello:1", "/opt/sysimage-docker/sbom.cdx.json"] in standin.calls()
    knobs(monkeypatch, RUN_EXIT="1")
    result = cli("sbom", "hello:1", env=standin.env)
    assert result.code == 1 and "hello:1 carries no SBOM at /opt/sysimage-docker/sbom.cdx.json" in result.err


def test_doctor_names_the_back_end_and_what_follows(cli, standin, monkeypatch) -> None:
    result = cli("doctor", env=standin.env)
    assert result.code == 0, result.err
    words = " ".join(result.err.replace("│", " ").replace("┃", " ").split())  # the table wraps long cells
    assert "build back end docker-buildkit the CLI's own BuildKit" in words
    assert "engine memory 7.5 GB big sysimage builds may be" in words
    knobs(monkeypatch, DOWN="1")
    result = cli("doctor", env=standin.env)
    assert result.code == 3 and "unusable" in result.err


def test_bench_times_each_image_and_holds_the_limit(cli, standin, tmp_path: Path) -> None:
    meta = tmp_path / "bench.json"
    result = cli("bench", "hello:1", "other:2", "--runs", "2", "--metadata-file", meta, "--max-startup", "0.000001",
                 "--chart", tmp_path / "chart", env=standin.env)
    assert result.code == 1
    assert f"wrote {tmp_path / 'chart.svg'}" in result.err.splitlines()
    assert "<!-- 2 starts each -->" in (tmp_path / "chart.svg").read_text()  # the title, as matplotlib keeps it
    assert result.err.splitlines()[-1].startswith("sysimage-docker: error: hello:1: median start-to-exit ")
    assert result.err.splitlines()[-1].endswith("s is over --max-startup 1e-06 s")
    runs = [c for c in standin.calls() if c[0] == "run"]
    assert [c[-1] for c in runs].count("hello:1") >= 2 and [c[-1] for c in runs].count("other:2") == 2
    data = json.loads(meta.read_text())["bench"]
    assert data["runs"] == 2 and [row["image"] for row in data["images"]] == ["hello:1", "other:2"]


@pytest.fixture
def podman(standin: Standin, tmp_path: Path) -> Standin:
    """The stand-in called as podman (a link named podman): podman 4.3 without a service."""
    link = tmp_path / "bin" / "podman"
    link.parent.mkdir()
    link.symlink_to(STANDIN)
    standin.env = {"SYSIMAGE_DOCKER_DOCKER_CLIENT": str(link), "SYSIMAGE_DOCKER_ENGINE": "podman"}
    return standin


def test_podman_builds_without_buildkit_and_pushes_with_a_digest_file(cli, example, podman, tmp_path: Path) -> None:
    meta = tmp_path / "meta.json"
    result = cli("build", example("hello"), "-t", "reg.example/hello:1", "--push", "--metadata-file", meta,
                 env=podman.env)
    assert result.code == 0, result.err
    assert (f"sysimage-docker: warning: podman has no BuildKit ({podman.env['SYSIMAGE_DOCKER_DOCKER_CLIENT']}): "
            "rendering without cache mounts (downloads are not cached across builds)") in result.err.splitlines()
    (build,) = podman.builds()
    assert "--progress" not in build and "--force-rm" not in build
    (push,) = [c for c in podman.calls() if c[0] == "push"]
    assert push[1] == "--digestfile" and push[-1] == "reg.example/hello:1"
    data = json.loads(meta.read_text())
    assert data["pushed"] == [{"tag": "reg.example/hello:1", "digest": "sha256:" + "d" * 64}]
    assert data["engine"]["backend"] == "podman" and data["engine"]["server_version"] == "4.3.1"
    assert data["heavy_steps"] == {"PackageCompiler install": "ran", "instantiate": "ran", "sysimage": "ran",
                                   "app precompile": "ran"}
    assert data["sysimage_size"] == 4_200_000


def test_a_failing_podman_step_is_the_one_its_error_names(cli, example, podman, monkeypatch) -> None:
    knobs(monkeypatch, FAIL_STEP="instantiate.jl")
    result = cli("build", example("hello"), "-t", "hello:1", env=podman.env)
    assert result.code == 1
    message = result.err[result.err.index("sysimage-docker: error: "):].splitlines()
    assert message[0].startswith("sysimage-docker: error: build failed at [deps] (instantiate) RUN ")
    assert message[1:3] == ["last log lines:", "    stand-in failure"]


def test_buildx_is_chosen_when_installed_and_pushes_itself(cli, example, standin, monkeypatch) -> None:
    knobs(monkeypatch, BUILDX="1")
    standin.env = {**standin.env, "SYSIMAGE_DOCKER_ENGINE": "auto"}
    result = cli("build", example("hello"), "-t", "reg.example/hello:1", "--push", "--cache-from",
                 "type=registry,ref=reg.example/cache", env=standin.env)
    assert result.code == 0, result.err
    (build,) = [c for c in standin.calls() if c[:2] == ["buildx", "build"]]
    assert "--push" in build and "--load" not in build
    assert build[build.index("--cache-from") + 1] == "type=registry,ref=reg.example/cache"
    assert not [c for c in standin.calls() if c[0] == "push"]  # buildx pushed during the build
    assert "with buildx (" in result.err


def test_bench_of_a_project_builds_it_and_its_pkgimage_peer_then_times_both(cli, example, standin) -> None:
    project = example("hello")
    result = cli("bench", project, "--runs", "1", env=standin.env)
    assert result.code == 0, result.err
    first, peer = standin.builds()
    tag = first[first.index("--tag") + 1]
    assert peer[peer.index("--tag") + 1] == f"{tag}-pkgimage"
    timed = [c[-1] for c in standin.calls() if c[:2] == ["run", "--rm"] and "--entrypoint" not in c]
    assert timed == [tag, f"{tag}-pkgimage"]
    assert "pkgimage" in result.out and "sysimage" in result.out and "ratio" in result.out
    refused = cli("bench", project, "other:1", env=standin.env)
    assert refused.code == 2 and "PEERS are for images" in refused.err


def test_a_missing_client_exits_3_and_names_it(cli, example) -> None:
    result = cli("build", example("hello"), env={"SYSIMAGE_DOCKER_DOCKER_CLIENT": "/nonexistent/docker"})
    assert result.code == 3
    assert result.err.splitlines()[-1] == (
        "sysimage-docker: error: no container client: `/nonexistent/docker` is not installed or not on PATH "
        "(install Docker or podman, or pass --docker-client PATH)")


def test_a_client_version_that_is_not_a_number_counts_as_a_current_client() -> None:
    from sysimage_containers.engine import NATIVE_BUILDKIT_BEFORE
    from sysimage_containers.engine.clients import major

    assert (major("20.10.24+dfsg1"), major("unknown"), major("28.1.1")) == (20, NATIVE_BUILDKIT_BEFORE, 28)


def test_inspect_reads_every_fact_of_the_image(standin, monkeypatch) -> None:
    from sysimage_containers.engine import Engine, ImageInfo

    knobs(monkeypatch, LABELS=json.dumps({"dev.sysimage-docker.mode": "sysimage"}))
    info = Engine(client=str(STANDIN)).inspect("hello:1")
    assert info == ImageInfo(id=info.id, size=123_456_789, tags=("hello:1",),
                             labels={"dev.sysimage-docker.mode": "sysimage"},
                             entrypoint=("/usr/local/julia/bin/julia",), cmd=("/app/bin/hello.jl",), user="1000:1000",
                             env=("HOME=/home/julia",), exposed_ports=())
    assert info.id.startswith("sha256:")


@pytest.mark.parametrize(("free", "verdict"), [(30 * 1024**3, "enough"), (1024**3, "builder images with a")])
def test_doctor_judges_the_free_disk(standin, monkeypatch, free: int, verdict: str) -> None:
    import io
    import shutil
    from collections import namedtuple

    from rich.console import Console

    from sysimage_containers import doctor

    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(doctor.shutil, "disk_usage", lambda path: usage(free, 0, free))
    which = shutil.which
    monkeypatch.setattr(doctor.shutil, "which", lambda name: None if name == "podman" else which(name))
    out = io.StringIO()
    assert doctor.diagnose(Console(file=out, width=300), standin.env, {}) == 0
    disk = next(line for line in out.getvalue().splitlines() if "free disk" in line)
    assert f"{free / 1024**3:.1f} GB at " in disk and verdict in disk
