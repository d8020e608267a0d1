"""The build-log parser: BuildKit's plain format and the classic builder's."""

from __future__ import annotations

import io

from rich.console import Console

from sysimage_containers.build import failure_message
from sysimage_containers.metadata import StepState, Verdict
from sysimage_containers.progress import LogParser, ProgressView

CACHED, FAILED = Verdict(StepState.CACHED), Verdict(StepState.FAILED)


def ran(seconds: float) -> Verdict:
    return Verdict(StepState.RAN, seconds)

BUILDKIT = """\
#1 [internal] load build definition from Dockerfile
#1 DONE 0.0s
#6 [builder  1/12] FROM docker.io/library/julia:1.11.5
#6 CACHED
#9 [builder  4/12] RUN env -u JULIA_NUM_THREADS julia /opt/sysimage-docker/julia/install_packagecompiler.jl
#9 CACHED
#11 [builder  6/12] RUN julia --project=/app /opt/sysimage-docker/julia/instantiate.jl
#11 0.51 Installing packages
#11 DONE 12.5s
#12 [builder  8/12] RUN env -u JULIA_NUM_THREADS julia /opt/sysimage-docker/julia/build_sysimage.jl
#12 1.02 baking HTTP
#12 ERROR: executor failed running [/bin/sh -c env]: exit code: 137
"""

CLASSIC = """\
Step 1/20 : FROM julia:1.11.5 AS builder
 ---> 1234
Step 2/20 : RUN julia --project=/app /opt/sysimage-docker/julia/instantiate.jl
 ---> Using cache
 ---> abcd
Step 3/20 : RUN env -u JULIA_NUM_THREADS julia /opt/sysimage-docker/julia/build_sysimage.jl
 ---> Running in 42
baking
ERROR: LoadError: workload failed
"""


def feed(text: str) -> LogParser:
    ticks = iter(range(1000))
    parser = LogParser(clock=lambda: float(next(ticks)))
    for line in text.splitlines():
        parser.feed(line)
    parser.finish()
    return parser


def test_buildkit_log() -> None:
    parser = feed(BUILDKIT)
    assert parser.heavy_steps() == {"PackageCompiler install": CACHED, "instantiate": ran(12.5), "sysimage": FAILED}
    assert parser.stage_seconds() == {"builder": 12.5}
    failed = parser.failed_step
    assert failed is not None and "build_sysimage.jl" in failed.text and list(failed.lines) == ["baking HTTP"]
    assert parser.error == "executor failed running [/bin/sh -c env]: exit code: 137"


def test_classic_log() -> None:
    parser = feed(CLASSIC)
    assert parser.heavy_steps()["instantiate"] == CACHED
    failed = parser.failed_step
    assert failed is not None and failed.stage == "builder" and "build_sysimage.jl" in failed.text
    assert list(failed.lines) == ["baking", "ERROR: LoadError: workload failed"]


def test_a_missing_bridge_network_gets_the_engines_line_and_a_hint() -> None:
    view = ProgressView(Console(file=io.StringIO()), "plain")
    for line in ["#5 [deps 2/9] RUN mkdir -p /opt/julia/depot", "#5 sha256:0",
                 "#5 ERROR: executor failed running [/bin/sh -c mkdir -p /opt/julia/depot]: network bridge not found",
                 "------", " > [deps 2/9] RUN mkdir -p /opt/julia/depot:", "------",
                 "executor failed running [/bin/sh -c mkdir -p /opt/julia/depot]: network bridge not found"]:
        view.line(line)
    message = failure_message(view).splitlines()
    assert message[0] == "build failed at [deps] RUN mkdir -p /opt/julia/depot"
    assert message[-2].startswith("the engine said: executor failed")
    assert message[-2].endswith("network bridge not found")
    assert message[-1] == ("hint: the engine has no bridge network (dockerd --bridge=none): give the build another "
                           "one with --network host (or none, if the build needs no downloads)")


# as podman 4.3 prints it: stages side by side, cache hits, and a failing step named in the error
BACKEND_PODMAN = """\
[1/3] STEP 1/4: FROM localhost/julia:1.11.5 AS deps
[1/3] STEP 2/4: RUN julia --project=/app /opt/sysimage-docker/julia/instantiate.jl
--> Using cache e483d02f0701731201900be0df21ad110bbec9b0242bc73a6fc7a3135663f2b2
--> e483d02f070
[3/3] STEP 1/2: FROM localhost/debian:trixie-slim AS runtime
[2/3] STEP 1/3: FROM e483d02f0701731201900be0df21ad110bbec9b0242bc73a6fc7a3135663f2b2 AS builder
[2/3] STEP 2/3: RUN env -u JULIA_NUM_THREADS julia /opt/sysimage-docker/julia/build_sysimage.jl
baking HTTP
--> a56528c52af
[2/3] STEP 3/3: RUN julia /opt/sysimage-docker/julia/precompile_app.jl
ERROR: LoadError: boom
Error: building at STEP "RUN julia /opt/sysimage-docker/julia/precompile_app.jl": while running runtime: exit status 1
"""


def test_podman_steps_stages_cache_and_failure() -> None:
    parser = feed(BACKEND_PODMAN)
    assert [(s.stage, s.text.split()[0]) for s in parser.steps.values()] == [
        ("deps", "FROM"), ("deps", "RUN"), ("runtime", "FROM"), ("builder", "FROM"), ("builder", "RUN"),
        ("builder", "RUN")]
    # one clock tick a line: the sysimage step started at line 7 and was done at line 9
    assert parser.heavy_steps() == {"instantiate": CACHED, "sysimage": ran(2.0), "app precompile": FAILED}
    failed = parser.failed_step
    assert failed is not None and failed.text.endswith("precompile_app.jl")
    assert list(failed.lines) == ["ERROR: LoadError: boom"]
    assert parser.error == "while running runtime: exit status 1"


# a runtime step that waits for the builder stage (COPY --from): buildah builds the builder then, and the waiting
# step's own cache hit comes last
PODMAN_NESTED = """\
[3/3] STEP 1/3: FROM localhost/debian:trixie-slim AS runtime
[3/3] STEP 2/3: COPY --from=builder /opt/sysimage-docker/julia-runtime /usr/local/julia
[2/3] STEP 1/2: FROM 5bcb1334e91b AS builder
[2/3] STEP 2/2: RUN julia /opt/sysimage-docker/julia/precompile_app.jl
precompiling
--> 8431cb6af51
--> Using cache 6e2e1d0e7d26ae42f8eabd8c94bf0d58f659f179c20fb31b31d2495f91bfef31
--> 6e2e1d0e7d2
[3/3] STEP 3/3: CMD ["/app/bin/server.jl"]
[3/3] COMMIT app:1
--> b3d6a677e36
"""


def test_podman_cache_hits_go_to_the_step_that_waited_for_them() -> None:
    parser = feed(PODMAN_NESTED)
    steps = {s.text.split()[0] + " " + s.stage: s for s in parser.steps.values() if not s.text.startswith("FROM")}
    assert parser.heavy_steps() == {"app precompile": ran(2.0)}
    assert steps["COPY runtime"].cached and not steps["RUN builder"].cached
    assert list(steps["RUN builder"].lines) == ["precompiling"]
    assert steps["CMD runtime"].seconds is not None


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_plain_progress_names_the_running_step_every_30_s_of_silence() -> None:
    out = io.StringIO()
    clock = FakeClock()
    view = ProgressView(Console(file=out, width=200), "plain", clock=clock)
    view.line("#5 [builder 3/9] RUN julia --project=/app /opt/sysimage-docker/julia/instantiate.jl")
    view.line("#5 DONE 3.0s")
    view.line("#12 [builder 8/12] RUN env -u JULIA_NUM_THREADS julia /opt/sysimage-docker/julia/build_sysimage.jl")
    for seconds in (10, 29.9):
        clock.now = 1000.0 + seconds
        view.tick()
    assert "still running" not in out.getvalue()
    reported = []
    for seconds in range(30, 100):  # the timer ticks about once a second
        clock.now = 1000.0 + seconds
        view.tick()
        reported += [line for line in out.getvalue().splitlines() if "still running" in line and line not in reported]
    assert reported == [
        f"    still running: [builder] (sysimage) RUN env -u JULIA_NUM_THREADS julia "
        f"/opt/sysimage-docker/julia/build_sysimage.jl, {s} s so far" for s in (30, 60, 90)]
    view.line("#12 1.02 baking HTTP")  # a log line of the step resets the silence
    clock.now += 29
    view.tick()
    view.line("#12 DONE 95.0s")
    clock.now += 60
    view.tick()  # nothing runs any more: nothing to say
    assert len([line for line in out.getvalue().splitlines() if "still running" in line]) == 3


def test_the_timer_runs_in_plain_mode_only() -> None:
    import time

    plain, tty = io.StringIO(), io.StringIO()
    with ProgressView(Console(file=plain, width=200), "plain", silence=0.2) as view:
        view.line("Step 3/20 : RUN env -u JULIA_NUM_THREADS julia /opt/sysimage-docker/julia/build_sysimage.jl")
        time.sleep(1.0)
    assert "    still running: [stage-0] (sysimage) RUN" in plain.getvalue()
    with ProgressView(Console(file=tty, width=200, force_terminal=True), "tty", silence=0.2) as view:
        view.line("Step 3/20 : RUN env -u JULIA_NUM_THREADS julia /opt/sysimage-docker/julia/build_sysimage.jl")
        time.sleep(0.6)
    assert "still running" not in tty.getvalue()
# a COPY in JSON form fails while another stage's step started last: buildah's error names it in shell form
# (podman 4.3, measured: STEP `COPY ["missing.txt", "/m"]`, error `building at STEP "COPY missing.txt /m"`)
PODMAN_COPY_FAILS = """\
[1/2] STEP 1/2: FROM localhost/julia:1.11.5 AS deps
[2/2] STEP 1/3: FROM localhost/debian:trixie-slim AS runtime
[2/2] STEP 2/3: COPY ["sysimage-docker/sbom.cdx.json", "/opt/sysimage-docker/sbom.cdx.json"]
[1/2] STEP 2/2: RUN julia /opt/sysimage-docker/julia/instantiate.jl
""" + ('Error: building at STEP "COPY sysimage-docker/sbom.cdx.json /opt/sysimage-docker/sbom.cdx.json": checking on '
       'sources under "/tmp/ctx": copier: stat: "/sysimage-docker/sbom.cdx.json": no such file or directory\n')


def test_a_failed_copy_is_blamed_on_the_step_the_engine_named() -> None:
    parser = feed(PODMAN_COPY_FAILS)
    failed = parser.failed_step
    assert failed is not None and failed.text.startswith('COPY ["sysimage-docker/sbom.cdx.json"'), failed
    assert [s.text.split()[0] for s in parser.steps.values() if s.failed] == ["COPY"]
def test_verdicts_are_formatted_only_in_the_summary_and_the_metadata() -> None:
    from pathlib import Path

    from sysimage_containers.build import summary_lines
    from sysimage_containers.metadata import BuildFacts, build_json
    from sysimage_containers.pipeline import prepare

    parser = feed(BUILDKIT)
    plan = prepare(Path(__file__).parent.parent / "examples" / "hello").plan
    facts = BuildFacts(tags=("app:1",), seconds=20.0, stages=parser.stage_seconds(), heavy=parser.heavy_steps(),
                       hooks={"after_source deploy/x.sh": ran(0.25)})
    lines = summary_lines(facts, plan)
    assert "heavy steps: PackageCompiler install cached, instantiate ran (12.5 s), sysimage failed" in lines
    assert "hooks: after_source deploy/x.sh ran (0.2 s)" in lines
    data = build_json(facts, plan, None)
    assert data["heavy_steps"] == {"PackageCompiler install": "cached", "instantiate": "ran", "sysimage": "failed"}
    assert data["heavy_step_seconds"] == {"instantiate": 12.5}
    assert data["hooks"] == {"after_source deploy/x.sh": "ran"}


def test_a_hook_step_gets_its_verdict_in_dockerfile_order() -> None:
    parser = feed("""\
#7 [runtime 3/5] RUN SYSIMAGE_DOCKER_HOOK=runtime /bin/sh /opt/hooks/runtime/setup.sh
#7 CACHED
#5 [deps 4/9] RUN SYSIMAGE_DOCKER_HOOK=after_instantiate julia /app/deploy/build.jl
#5 DONE 3.0s
""")
    assert parser.hook_steps() == {"after_instantiate /app/deploy/build.jl": ran(3.0),
                                   "runtime /opt/hooks/runtime/setup.sh": CACHED}


def test_a_step_that_prints_another_formats_step_line_starts_no_step() -> None:
    # the log's format is the one whose step line came first: a program's output in a classic or podman build
    # that happens to look like another engine's step is output, not a step
    classic = feed("Step 1/2 : FROM julia AS builder\n ---> 1\nStep 2/2 : RUN julia x.jl\nSTEP 1/1: RUN fake\n"
                   "#3 [fake 1/1] RUN fake\n")
    assert [s.text for s in classic.steps.values()] == ["FROM julia AS builder", "RUN julia x.jl"]
    assert list(classic.steps["classic-2"].lines) == ["STEP 1/1: RUN fake", "#3 [fake 1/1] RUN fake"]
    podman = feed("STEP 1/2: FROM julia AS builder\nSTEP 2/2: RUN julia x.jl\nStep 1/1 : RUN fake\n--> 0123456789ab\n")
    assert [s.text for s in podman.steps.values()] == ["FROM julia AS builder", "RUN julia x.jl"]
    assert list(podman.steps["podman-1-2"].lines) == ["Step 1/1 : RUN fake"]
    assert podman.steps["podman-1-2"].seconds == 2.0


def test_plain_progress_prints_each_step_and_the_heavy_steps_output() -> None:
    out = io.StringIO()
    view = ProgressView(Console(file=out, width=200), "plain")
    with view:
        for line in BUILDKIT.splitlines():
            view.line(line)
    assert out.getvalue().splitlines() == [
        "[builder] FROM docker.io/library/julia:1.11.5",
        "[builder] (PackageCompiler install) RUN env -u JULIA_NUM_THREADS julia "
        "/opt/sysimage-docker/julia/install_packagecompiler.jl",
        "[builder] (instantiate) RUN julia --project=/app /opt/sysimage-docker/julia/instantiate.jl",
        "    | Installing packages",
        "[builder] (sysimage) RUN env -u JULIA_NUM_THREADS julia /opt/sysimage-docker/julia/build_sysimage.jl",
        "    | baking HTTP"]


def test_a_terminal_gets_the_live_view_and_the_step_lines() -> None:
    out = io.StringIO()
    view = ProgressView(Console(file=out, width=200, force_terminal=True), "auto")
    assert view.tty
    assert str(view._render()).startswith("starting build… ")
    with view:
        for line in BUILDKIT.splitlines()[:8]:
            view.line(line)
        assert str(view._render()).startswith("[builder] (instantiate) RUN julia --project=/app ")
        assert "(total " in str(view._render())
    assert "[builder] (PackageCompiler install) RUN env -u JULIA_NUM_THREADS" in out.getvalue()
    assert not ProgressView(Console(file=io.StringIO()), "auto").tty  # not a terminal: plain lines


def test_metadata_rounds_times_to_milliseconds_and_merge_keeps_other_keys(tmp_path) -> None:
    import json
    from pathlib import Path

    import pytest

    from sysimage_containers import metadata
    from sysimage_containers.errors import UsageError
    from sysimage_containers.pipeline import prepare

    plan = prepare(Path(__file__).parent.parent / "examples" / "hello").plan
    data = metadata.build_json(metadata.BuildFacts(tags=("a:1",), seconds=9.87654, stages={"builder": 1.23456}),
                               plan, None)
    assert (data["seconds"], data["stages"]) == (9.877, {"builder": 1.235})
    path = tmp_path / "meta.json"
    metadata.write(path, data)
    metadata.merge(path, "bench", {"runs": 3})
    merged = json.loads(path.read_text())
    assert merged["bench"] == {"runs": 3} and merged["seconds"] == 9.877
    for text in ("not json", "[1, 2]"):
        path.write_text(text)
        with pytest.raises(UsageError, match="exists and is not a JSON object"):
            metadata.merge(path, "bench", {})


WARMING = """\
#1 [internal] load build definition from Dockerfile
#1 DONE 0.0s
#5 [deps  6/12] RUN env -u JULIA_NUM_THREADS julia /opt/sysimage-docker/julia/install_packagecompiler.jl
#5 CACHED
#7 [deps 10/12] RUN julia --project=/app /opt/sysimage-docker/julia/instantiate.jl
#7 DONE 3.5s
#9 [builder 1/5] RUN env -u JULIA_NUM_THREADS julia /opt/sysimage-docker/julia/build_sysimage.jl
#9 0.51 baking HTTP
#9 DONE 40.0s
"""

USERS = """\
#1 [internal] load build definition from Dockerfile
#1 DONE 0.0s
#5 [deps 10/12] RUN julia --project=/app /opt/sysimage-docker/julia/instantiate.jl
#5 CACHED
#7 [builder 1/5] RUN env -u JULIA_NUM_THREADS julia /opt/sysimage-docker/julia/build_sysimage.jl
#7 CACHED
#8 [runtime 2/9] COPY --from=builder /opt/sysimage-docker/build/sys.so /usr/local/julia/lib/julia/sys.so
#8 DONE 1.5s
"""


def test_a_warming_build_then_the_users_count_each_step_once_as_the_build_that_made_it_saw_it() -> None:
    """With stage cache images the builder stage is built first on its own (regcache.warming), then the user's
    build takes it from the local cache: its steps keep the first build's verdicts, and are shown once."""
    out = io.StringIO()
    view = ProgressView(Console(file=out, width=200), "plain")
    with view:
        for line in WARMING.splitlines():
            view.line(line)
        view.next_build()
        for line in USERS.splitlines():  # the same step numbers again, for other steps
            view.line(line)
    parser = view.parser
    assert parser.heavy_steps() == {"PackageCompiler install": CACHED, "instantiate": ran(3.5), "sysimage": ran(40.0)}
    assert parser.stage_seconds() == {"deps": 3.5, "builder": 40.0, "runtime": 1.5}
    assert out.getvalue().splitlines() == [
        "[deps] (PackageCompiler install) RUN env -u JULIA_NUM_THREADS julia "
        "/opt/sysimage-docker/julia/install_packagecompiler.jl",
        "[deps] (instantiate) RUN julia --project=/app /opt/sysimage-docker/julia/instantiate.jl",
        "[builder] (sysimage) RUN env -u JULIA_NUM_THREADS julia /opt/sysimage-docker/julia/build_sysimage.jl",
        "    | baking HTTP",
        "[runtime] COPY --from=builder /opt/sysimage-docker/build/sys.so /usr/local/julia/lib/julia/sys.so"]
