"""Engine decisions that need no daemon: failure classification and back-end capabilities."""

from __future__ import annotations

import re
from pathlib import Path
from typing import ClassVar

import pytest
from python_on_whales.exceptions import DockerException

from sysimage_containers import engine as engine_module
from sysimage_containers.engine import BuildRequest, EngineInfo
from sysimage_containers.errors import EngineUnavailable, UsageError


def exc(stderr: str) -> DockerException:
    return DockerException(["docker", "version"], 1, stdout=b"", stderr=stderr.encode())


@pytest.mark.parametrize(("stderr", "start"), [
    ("Got permission denied while trying to connect to the Docker daemon socket at unix:///var/run/docker.sock",
     "permission denied on the Docker socket"),
    ("Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?",
     "no Docker daemon answers"),
    ("dial unix /var/run/docker.sock: connect: permission denied", "permission denied on the Docker socket"),
    ("permission denied while trying to connect to the daemon socket at tcp://10.0.0.1", "permission denied on the"),
    ("STDOUT:Cannot connect to the Docker daemon at tcp://127.0.0.1:2375. Is the docker daemon running?",
     "no Docker daemon answers"),  # the client's words on stdout count too
])
def test_unavailable_engine_is_classified(stderr: str, start: str) -> None:
    error = (DockerException(["docker", "version"], 1, stdout=stderr[7:].encode(), stderr=b"")
             if stderr.startswith("STDOUT:") else exc(stderr))
    found = engine_module._classify(error, "/usr/bin/docker")
    assert isinstance(found, EngineUnavailable) and found.message.startswith(start)
    assert found.exit_code == 3


def test_other_failures_are_not_engine_unavailable() -> None:
    assert engine_module._classify(exc("failed to solve: executor failed running"), "docker") is None


@pytest.mark.parametrize(("backend", "request_kw", "message"), [
    ("docker-buildkit", {"platforms": ("linux/amd64", "linux/arm64")}, "several --platform values needs buildx"),
    ("docker-classic", {"secrets": ("id=a,src=b",)}, "--secret needs BuildKit"),
    ("docker-classic", {"ssh": ("default",)}, "--ssh needs BuildKit"),
    ("podman", {"builder": "remote"}, "--builder needs buildx"),
    ("docker-buildkit", {"attest_sbom": True}, "--sbom (BuildKit's attestation) needs buildx"),
    ("podman", {"attest_provenance": True}, "--provenance (BuildKit's attestation) needs buildx"),
])
def test_capabilities(backend: str, request_kw: dict, message: str) -> None:
    info = EngineInfo(backend=backend, client="docker", client_version="20.10", server_version="20.10")
    engine = engine_module.Engine.__new__(engine_module.Engine)
    engine.client = "docker"
    with pytest.raises(UsageError, match=re.escape(message)):
        engine.check_capabilities(info, BuildRequest(context=Path("."), tags=("a:b",), **request_kw))


def test_buildx_may_do_everything() -> None:
    info = EngineInfo(backend="buildx", client="docker", client_version="28", server_version="28")
    engine = engine_module.Engine.__new__(engine_module.Engine)
    engine.client = "docker"
    engine.check_capabilities(info, BuildRequest(context=Path("."), tags=("a:b",), push=True, builder="k8s",
                                                 platforms=("linux/amd64", "linux/arm64"), cache_to=("x",),
                                                 secrets=("id=a",)))


class FakeBuildx:
    def __init__(self) -> None:
        self.kwargs: dict = {}

    def build(self, context: str, **kwargs: object):
        self.kwargs = {"context": context, **kwargs}
        return iter(["#1 [builder 1/2] FROM x", "#1 DONE 0.1s"])


def test_buildx_arguments_match_python_on_whales(tmp_path: Path) -> None:
    engine = engine_module.Engine.__new__(engine_module.Engine)
    engine.client = "docker"
    fake = FakeBuildx()
    engine.docker = type("D", (), {"buildx": fake})()
    info = EngineInfo(backend="buildx", client="docker", client_version="28", server_version="28")
    request = BuildRequest(context=tmp_path, tags=("app:1",), build_args=(("A", "1"),), platforms=("linux/amd64",),
                           cache_from=("type=registry,ref=r/cache", "r/other:cache"),
                           cache_to=("type=registry,ref=r/cache,mode=max",), secrets=("id=git-credentials,src=f",),
                           ssh=("default",), output="type=local,dest=out", attest_sbom=True, attest_provenance=True)
    lines: list[str] = []
    engine.build(info, request, lines.append)
    assert lines == ["#1 [builder 1/2] FROM x", "#1 DONE 0.1s"]
    k = fake.kwargs
    assert k["cache_from"] == [{"type": "registry", "ref": "r/cache"}, {"type": "registry", "ref": "r/other:cache"}]
    assert k["cache_to"] == {"type": "registry", "ref": "r/cache", "mode": "max"}
    assert k["output"] == {"type": "local", "dest": "out"} and k["load"] is False  # an output replaces --load
    assert k["secrets"] == ["id=git-credentials,src=f"] and k["ssh"] == "default"
    assert k["stream_logs"] is True and k["progress"] == "plain" and k["build_args"] == {"A": "1"}
    assert k["sbom"] is True and k["provenance"] is True  # BuildKit's own attestations pass through
    assert k["platforms"] == ["linux/amd64"]
    engine.build(info, BuildRequest(context=tmp_path, tags=("app:1",)), lines.append)
    assert fake.kwargs["platforms"] is None and fake.kwargs["load"] is True  # one local image, loaded


def test_one_cache_export_only() -> None:
    engine = engine_module.Engine.__new__(engine_module.Engine)
    engine.docker = type("D", (), {"buildx": FakeBuildx()})()
    info = EngineInfo(backend="buildx", client="docker", client_version="28", server_version="28")
    with pytest.raises(UsageError, match="buildx takes one cache export"):
        engine.build(info, BuildRequest(context=Path("."), tags=("a:b",), cache_to=("a", "b")), lambda _: None)


@pytest.mark.parametrize(("private_git", "secrets", "ssh", "warning"), [
    ("token", (), (), "private_git = token but no --secret id=git-credentials,src=FILE"),
    ("token", ("id=git-credentials,src=/tmp/c",), (), None),
    ("ssh", (), (), "private_git = ssh but no --ssh default"),
    ("ssh", (), ("default",), None),
    ("none", (), (), None),
])
def test_missing_credentials_are_named(private_git: str, secrets: tuple, ssh: tuple, warning: str | None) -> None:
    from sysimage_containers.build import missing_credentials

    said: list[str] = []
    missing_credentials(private_git, BuildRequest(secrets=secrets, ssh=ssh), said.append)
    assert said == ([] if warning is None else [said[0]]) and (warning is None or said[0].startswith(warning))


def test_warnings_before_a_build_starts() -> None:
    from sysimage_containers.build import engine_warnings
    from sysimage_containers.engine import BACKEND_DOCKER_BUILDKIT, BACKEND_DOCKER_CLASSIC, EngineInfo

    def info(backend: str, arch: str | None = "x86_64") -> EngineInfo:
        return EngineInfo(backend=backend, client="docker", client_version="20.10", server_version="20.10",
                          architecture=arch)

    assert engine_warnings(info(BACKEND_DOCKER_BUILDKIT), BuildRequest(cache_from=("reg/x:1",))) == []
    (classic,) = engine_warnings(info(BACKEND_DOCKER_CLASSIC), BuildRequest(cache_from=("reg/x:1",)))
    assert classic.startswith("the classic builder given --cache-from ignores the local layer cache")
    assert engine_warnings(info(BACKEND_DOCKER_BUILDKIT), BuildRequest(platforms=("linux/amd64",))) == []
    (emulated,) = engine_warnings(info(BACKEND_DOCKER_BUILDKIT), BuildRequest(platforms=("linux/amd64", "linux/arm64")))
    assert emulated.startswith("building for linux/arm64 on an amd64 engine runs under emulation")
    assert engine_warnings(info(BACKEND_DOCKER_BUILDKIT, "aarch64"), BuildRequest(platforms=("linux/arm64",))) == []
    assert engine_warnings(info(BACKEND_DOCKER_BUILDKIT, None), BuildRequest(platforms=("linux/arm64",))) == []


def test_generate_o_names_a_build_command_for_what_it_rendered(cli, tmp_path) -> None:
    from conftest import EXAMPLES

    result = cli("generate", EXAMPLES / "hello", "-o", tmp_path / "a")
    assert result.err.splitlines()[-1].endswith(
        f"(build it with: docker buildx build {tmp_path / 'a'}, or DOCKER_BUILDKIT=1 docker build {tmp_path / 'a'} "
        "with a docker client before 23)")
    result = cli("generate", EXAMPLES / "hello", "-o", tmp_path / "b", "--no-buildkit")
    assert result.err.splitlines()[-1].endswith(
        f"(build it with: docker build {tmp_path / 'b'} or podman build {tmp_path / 'b'})")


def test_only_the_engine_back_ends_import_python_on_whales() -> None:
    import ast

    package = Path(engine_module.__file__).parent.parent
    importers = set()
    for path in package.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            if any(n.split(".")[0] == "python_on_whales" for n in names):
                importers.add(path.relative_to(package).as_posix())
    assert importers == {"engine/client.py", "engine/buildx.py", "engine/cli.py"}


@pytest.mark.parametrize(("backend", "env", "flags"), [
    ("docker-buildkit", {"DOCKER_BUILDKIT": "1"}, ["--progress", "plain"]),
    ("docker-classic", {"DOCKER_BUILDKIT": "0"}, ["--force-rm"]),
    ("podman", {}, []),
])
def test_build_cli_command_per_back_end(backend: str, env: dict, flags: list) -> None:
    from sysimage_containers.engine import cli

    request = BuildRequest(context=Path("/ctx"), tags=("a:1", "a:latest"), target="builder", network="host",
                           cache_from=("r/c:deps",), build_args=(("K", "v w"),))
    cmd, got_env = cli.build_command(["/usr/bin/client"], backend, request)
    assert got_env == env
    assert cmd == ["/usr/bin/client", "build", *flags, "--tag", "a:1", "--tag", "a:latest", "--build-arg", "K=v w",
                   "--target", "builder", "--network", "host", "--cache-from=r/c:deps", "/ctx"]


def test_a_docker_context_with_podman_is_refused() -> None:
    from sysimage_containers import config

    with pytest.raises(UsageError, match="docker_context names a Docker context; podman selects its engine"):
        config.resolve(None, cli={"engine": "podman", "docker_context": "remote"})
    with pytest.raises(UsageError, match="is not a Docker context name"):
        config.resolve(None, cli={"docker_context": "a b"})


@pytest.mark.parametrize("reported", ["default\ttcp://ci:s3cret-pass@build.example.com:2376", ""])
def test_the_engine_endpoint_is_shown_without_credentials(monkeypatch: pytest.MonkeyPatch, reported: str) -> None:
    """The endpoint is printed (build line, doctor) and written to the metadata; the client connects by itself."""
    from sysimage_containers.engine import client

    monkeypatch.setenv("DOCKER_HOST", "tcp://ci:s3cret-pass@build.example.com:2376")
    if reported:
        monkeypatch.setattr(client, "run_cli", lambda *a, **k: reported)
    else:  # `docker context inspect` failed: DOCKER_HOST itself
        def failing(*a: object, **k: object) -> str:
            raise client.DockerException(["docker"], 1)
        monkeypatch.setattr(client, "run_cli", failing)
    engine = client.Engine("docker", client="/bin/true")
    assert engine._endpoint()[0] == "tcp://build.example.com:2376"
class RecordingEngine(engine_module.Engine):
    """The Engine with its daemon replaced: detection answers Docker 20.10 with BuildKit, `build` records the request
    it is given and prints a two-step BuildKit log; capabilities are checked by the real code."""

    requests: ClassVar[list[BuildRequest]] = []
    contexts: ClassVar[list[list[str]]] = []  # the files of each build's context, as the engine saw them

    @classmethod
    def from_config(cls, cfg: object) -> RecordingEngine:
        engine = cls.__new__(cls)
        engine.client = "/usr/bin/docker"
        return engine

    def detect(self, builder: str | None = None) -> EngineInfo:
        return EngineInfo(backend="docker-buildkit", client=self.client, client_version="20.10.24",
                          server_version="20.10.24", architecture="x86_64")

    def has_network(self, name: str) -> bool:
        return True

    def build(self, info: EngineInfo, request: BuildRequest, on_line) -> None:
        self.requests.append(request)
        self.contexts.append(sorted(p.relative_to(request.context).as_posix()
                                    for p in request.context.rglob("*") if p.is_file()))
        for line in ("#5 [builder 1/2] FROM docker.io/library/julia:1.11.5", "#5 CACHED"):
            on_line(line)

    def inspect(self, reference: str) -> engine_module.ImageInfo:
        return engine_module.ImageInfo(id="sha256:" + "0" * 64, size=1000, tags=(reference,))

    def layer_sizes(self, reference: str) -> list[tuple[int, str]]:
        return []


def test_the_users_build_options_reach_the_engines_command_line(cli, example, monkeypatch) -> None:
    from sysimage_containers import build
    from sysimage_containers.engine import cli as engine_cli

    monkeypatch.setattr(build, "Engine", RecordingEngine)
    RecordingEngine.requests, RecordingEngine.contexts = [], []
    project = example("hello")
    result = cli("build", project, "-t", "app:1", "--cache-from", "reg.example/app:cache", "--cache-from",
                 "type=registry,ref=reg.example/other", "--build-arg", "A=b c", "--target", "builder", "--pull",
                 "--no-cache", "--platform", "linux/amd64", "--secret", "id=git-credentials,src=/dev/null",
                 "--ssh", "default", env={"SYSIMAGE_DOCKER_BUILDER_IMAGE": "julia:1.11.5"})
    assert result.code == 0, result.err
    (request,) = RecordingEngine.requests
    cmd, env = engine_cli.build_command(["/usr/bin/docker"], "docker-buildkit", request)
    assert env == {"DOCKER_BUILDKIT": "1"}
    assert cmd[:5] == ["/usr/bin/docker", "build", "--progress", "plain", "--tag"] and cmd[5] == "app:1"
    assert cmd[cmd.index("--build-arg"):cmd.index("--build-arg") + 2] == ["--build-arg", "A=b c"]
    assert cmd[cmd.index("--target") + 1] == "builder" and "--pull" in cmd and "--no-cache" in cmd
    assert [a for a in cmd if a.startswith(("--cache-from", "--platform", "--secret", "--ssh"))] == [
        "--platform=linux/amd64", "--cache-from=reg.example/app:cache",
        "--cache-from=type=registry,ref=reg.example/other", "--secret=id=git-credentials,src=/dev/null",
        "--ssh=default"]
    assert cmd[-1] == str(request.context) and request.context != Path(".")  # the temporary context


def test_a_cache_repo_adds_to_the_users_cache_from(cli, example, monkeypatch) -> None:
    from sysimage_containers import build

    monkeypatch.setattr(build, "Engine", RecordingEngine)
    monkeypatch.setattr(RecordingEngine, "pull", lambda self, ref: (False, "manifest unknown"), raising=False)
    monkeypatch.setattr(RecordingEngine, "layers", lambda self, ref: (), raising=False)
    monkeypatch.setattr(RecordingEngine, "push_image", lambda self, ref: "sha256:" + "1" * 64, raising=False)
    RecordingEngine.requests, RecordingEngine.contexts = [], []
    result = cli("build", example("hello"), "-t", "app:1", "--cache-from", "reg.example/app:mine",
                 "--cache-repo", "reg.example/cache")
    assert result.code == 0, result.err
    # the tools and builder stages each reading its own image, the user's build reading the runtime stage's, its
    # cache image
    tools, warm, user, runtime = RecordingEngine.requests
    assert (tools.target, tools.tags, tools.cache_from) == (
        "tools", ("reg.example/cache:tools",), ("reg.example/app:mine", "reg.example/cache:tools"))
    assert (warm.target, warm.tags, warm.cache_from) == (
        "builder", ("reg.example/cache:builder",), ("reg.example/app:mine", "reg.example/cache:builder"))
    assert (user.target, user.tags, user.cache_from) == (None, ("app:1",), ("reg.example/app:mine",
                                                                            "reg.example/cache:runtime"))
    assert (runtime.target, runtime.tags) == ("runtime", ("reg.example/cache:runtime",))
    assert ("BUILDKIT_INLINE_CACHE", "1") not in user.build_args
    assert all(("BUILDKIT_INLINE_CACHE", "1") in r.build_args for r in (tools, warm, runtime))
    assert tools.context == warm.context == user.context  # the same temporary context


def test_a_bad_build_arg_is_refused_before_anything_runs(cli, example) -> None:
    # the same verdict with --dry-run as with a build: the request is made (and checked) before either
    project = example("hello")
    for extra in ((), ("--dry-run",)):
        result = cli("build", project, "--build-arg", "NOVALUE", *extra)
        assert (result.code, result.out) == (2, "")
        assert result.err.splitlines() == ["sysimage-docker: error: --build-arg: expected KEY=VALUE, got 'NOVALUE'"]


def test_a_secret_source_in_the_project_stays_out_whatever_dockerignore_brings_back(cli, example, monkeypatch) -> None:
    from sysimage_containers import build

    monkeypatch.setattr(build, "Engine", RecordingEngine)
    RecordingEngine.requests, RecordingEngine.contexts = [], []
    project = example("hello")
    (project / "deploy").mkdir()
    (project / "deploy" / "git-credentials").write_text("https://u:SECRET-9c1e@github.com\n")
    (project / "deploy" / "notes.txt").write_text("kept")
    (project / ".dockerignore").write_text("!deploy/git-credentials\n!**\n")  # a `!` line brings back anything
    source = project / "deploy" / "git-credentials"
    result = cli("build", project, "-t", "app:1", "--secret", f"id=git-credentials,src={source}")
    assert result.code == 0, result.err
    assert ("sysimage-docker: warning: the secret file deploy/git-credentials is inside the project: it is left out "
            "of the build context") in result.err.splitlines()
    (files,) = RecordingEngine.contexts
    assert "app/deploy/notes.txt" in files and "app/deploy/git-credentials" not in files
