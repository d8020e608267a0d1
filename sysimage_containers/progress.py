"""Build progress: parse the engine's log (BuildKit `--progress plain`, the classic builder's or podman's, one
parser per format) into steps, show them live (rich on a terminal, plain lines otherwise) and give each step's
verdict (cached, ran for N seconds, failed) as data for the summary and the metadata.

Parsing is pure and tested without docker; the engine module feeds it one line at a time.
"""

from __future__ import annotations

import re
import threading
import time
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import ClassVar

from rich.console import Console
from rich.live import Live
from rich.text import Text

from sysimage_containers.config import HOOK_STAGES
from sysimage_containers.metadata import StepState, Verdict
from sysimage_containers.urls import redact

# heavy steps are recognised by the static script they run
HEAVY_STEPS = {
    "install_packagecompiler.jl": "PackageCompiler install",
    "instantiate.jl": "instantiate",
    "test_env.jl": "test environment",
    "run_workloads.jl": "trace",
    "build_sysimage.jl": "sysimage",
    "build_app.jl": "app bundle",
    "precompile_app.jl": "app precompile",
}
# a build hook's RUN line names its stage and ends with its file
HOOK_STEP = re.compile(r"SYSIMAGE_DOCKER_HOOK=([a-z_]+) .*?(\S+)$")
BK_START = re.compile(r"^#(\d+) \[(?:(\S+)\s+)?(\d+)/(\d+)\] (.*)$")
BK_DONE = re.compile(r"^#(\d+) DONE (\d+(?:\.\d+)?)s$")
BK_CACHED = re.compile(r"^#(\d+) CACHED$")
BK_ERROR = re.compile(r"^#(\d+) ERROR: (.*)$")
BK_LOG = re.compile(r"^#(\d+) (\d+\.\d+) (.*)$")
CLASSIC_STEP = re.compile(r"^Step (\d+)/(\d+) : (.*)$")
CLASSIC_FROM = re.compile(r"^FROM \S+(?: AS (\S+))?$", re.IGNORECASE)
# podman (buildah): `[2/3] STEP 2/5: RUN ...` (no `[i/n]` with one stage), `--> Using cache ID`, `--> ID` when a
# step is done, `Error: building at STEP "RUN ...": ...` on failure
PODMAN_STEP = re.compile(r"^(?:\[(\d+)/(\d+)\] )?STEP (\d+)/(\d+): (.*)$")
PODMAN_CACHED = re.compile(r"^--> Using cache [0-9a-f]+$")
PODMAN_DONE = re.compile(r"^--> [0-9a-f]{6,}$")
PODMAN_ERROR = re.compile(r'^Error: building at STEP "(.*?)": (.*)$')  # the reason may quote paths too
TAIL_LINES = 30


def _shell_form(text: str) -> str:
    """`COPY --from=x ["a", "b"]` as `COPY --from=x a b`, the way buildah's error line names a step."""
    import json

    match = re.match(r"^(\S+(?:\s+--\S+)*)\s+(\[.*\])\s*$", text)
    if match:
        try:
            words = json.loads(match.group(2))
        except ValueError:
            return text
        if isinstance(words, list) and all(isinstance(w, str) for w in words):
            return " ".join([match.group(1), *words])
    return " ".join(text.split())


@dataclass
class Step:
    key: str
    stage: str
    text: str
    started: float
    seconds: float | None = None
    cached: bool = False
    failed: bool = False
    index: int = 0  # the step's number in its stage (BuildKit) or in the build (classic): Dockerfile order
    repeat: bool = False  # of a stage an earlier build (warming the cache) made and showed
    lines: deque[str] = field(default_factory=lambda: deque(maxlen=TAIL_LINES))

    @property
    def heavy(self) -> str | None:
        return next((name for script, name in HEAVY_STEPS.items() if script in self.text), None)


def verdict(step: Step) -> Verdict:
    if step.failed:
        return Verdict(StepState.FAILED)
    if step.cached:
        return Verdict(StepState.CACHED)
    return Verdict(StepState.RAN, step.seconds or 0.0)


class LogParser:
    """Turns log lines into Steps. The format (BuildKit's plain log, the classic builder's, podman's) is the one
    whose step line comes first; from then on its parser reads every line."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.steps: dict[str, Step] = {}
        self.order: list[str] = []
        self.current: Step | None = None
        self.error: str | None = None
        self.tail: deque[str] = deque(maxlen=TAIL_LINES)  # every line, for failures outside any step
        self.format: LogFormat | None = None
        self.builds = 1  # the builds read so far (cache-warming builds come before the user's)
        self.built_stages: set[str] = set()  # the stages earlier builds made: the later ones repeat them, cached

    def engine_error(self) -> str | None:
        """The engine's own closing error line (BuildKit's `failed to solve ...`, `ERROR: ...`, the classic
        builder's last line), for failures no step owns: a base image that cannot be fetched, a missing network."""
        lines = [line.strip() for line in self.tail if line.strip() and not line.startswith("------")]
        for line in reversed(lines):
            if re.match(r"(?i)(error|failed to solve|executor failed)", line) or (m := BK_ERROR.match(line)):
                return m.group(2) if (m := BK_ERROR.match(line)) else line
        return lines[-1] if lines else None

    def feed(self, line: str) -> Step | None:
        """Consume one line; returns the step that started with it, if any."""
        line = line.rstrip("\r\n")
        now = self.clock()
        self.tail.append(line)
        if self.format is None:
            kind = next((f for f in FORMATS if f.STEP.match(line)), None)
            if kind is None:
                return None
            self.format = kind(self)
        return self.format.feed(line, now)

    def start(self, key: str, stage: str, text: str, now: float, index: int = 0) -> Step:
        step = Step(key=key, stage=stage, text=text, started=now, index=index, repeat=stage in self.built_stages)
        self.steps[key] = step
        self.order.append(key)
        self.current = step
        return step

    def finish(self) -> None:
        now = self.clock()
        if self.format is not None:
            self.format.finish(now)

    def next_build(self) -> None:
        """Another build's log follows, whose step numbers start again: the steps read so far keep their verdicts
        under keys of their own build."""
        self.finish()
        self.built_stages |= {step.stage for step in self.steps.values()}
        self.steps = {f"{self.builds}/{key}": step for key, step in self.steps.items()}
        self.order = [f"{self.builds}/{key}" for key in self.order]
        self.builds += 1
        self.current, self.format = None, None

    @property
    def failed_step(self) -> Step | None:
        failed = [self.steps[k] for k in self.order if self.steps[k].failed]
        if failed:
            return failed[0]
        # the classic builder names no failing step: it is the last one that started
        return self.steps[self.order[-1]] if self.order and self.error is None else None

    def stage_seconds(self) -> dict[str, float]:
        totals: dict[str, float] = {}
        for key in self.order:
            step = self.steps[key]
            totals[step.stage] = totals.get(step.stage, 0.0) + (step.seconds or 0.0)
        return totals

    def _deciding(self) -> list[Step]:
        """The steps in the order read, but a step an earlier build made and a later one took from the cache is
        counted once, as the earlier build saw it."""
        return [step for step in (self.steps[k] for k in self.order) if not (step.repeat and step.cached)]

    def hook_steps(self) -> dict[str, Verdict]:
        """"STAGE FILE" of each build hook -> its verdict, in Dockerfile order (BuildKit reports cached steps in no
        fixed order)."""
        found = []
        for step in self._deciding():
            if hook := HOOK_STEP.search(" ".join(step.text.split())):
                found.append((HOOK_STAGES.index(hook[1]) if hook[1] in HOOK_STAGES else len(HOOK_STAGES), step.index,
                              f"{hook[1]} {hook[2]}", verdict(step)))
        return {name: verdict for *_, name, verdict in sorted(found, key=lambda f: f[:3])}

    def heavy_steps(self) -> dict[str, Verdict]:
        """Heavy step name -> its verdict (the last step of that name), in the order of HEAVY_STEPS."""
        found = {}
        for step in self._deciding():
            if step.heavy:
                found[step.heavy] = step
        return {name: verdict(found[name]) for name in HEAVY_STEPS.values() if name in found}


class LogFormat(ABC):
    """One engine's log format: reads lines into the parser's steps. STEP matches the line that starts a step."""

    STEP: ClassVar[re.Pattern[str]]

    def __init__(self, log: LogParser) -> None:
        self.log = log

    @abstractmethod
    def feed(self, line: str, now: float) -> Step | None:
        """Read one line; the step it starts, if any."""

    def finish(self, now: float) -> None:  # noqa: B027 (a default: most formats have nothing to close)
        """The build ended: close the steps the format marks done only by what follows them."""


class BuildKitFormat(LogFormat):
    """`--progress plain`: `#N [stage i/n] TEXT`, then `#N DONE 1.2s`, `#N CACHED`, `#N ERROR: ...` or `#N 0.51
    output`."""

    STEP = BK_START

    def feed(self, line: str, now: float) -> Step | None:
        log = self.log
        if m := BK_START.match(line):
            if m.group(1) in log.steps:
                return None
            return log.start(m.group(1), m.group(2) or "stage", m.group(5), now, index=int(m.group(3)))
        m = BK_DONE.match(line) or BK_CACHED.match(line) or BK_ERROR.match(line) or BK_LOG.match(line)
        if m is None or m.group(1) not in log.steps:
            return None
        step = log.steps[m.group(1)]
        if m.re is BK_DONE:
            if not step.cached:
                step.seconds = float(m.group(2))
        elif m.re is BK_CACHED:
            step.cached, step.seconds = True, 0.0
        elif m.re is BK_ERROR:
            step.failed = True
            log.error = m.group(2)
        else:
            step.lines.append(m.group(3))
        return None


class ClassicFormat(LogFormat):
    """The classic builder: `Step i/n : TEXT`, ` ---> Using cache`, then raw output; a step ends where the next
    starts."""

    STEP = CLASSIC_STEP

    def __init__(self, log: LogParser) -> None:
        super().__init__(log)
        self.stage = "stage-0"
        self.stages = 0

    def feed(self, line: str, now: float) -> Step | None:
        current = self.log.current
        if m := CLASSIC_STEP.match(line):
            text = m.group(3)
            if f := CLASSIC_FROM.match(text):
                self.stages += 1
                self.stage = f.group(1) or f"stage-{self.stages - 1}"
            self.finish(now)
            return self.log.start(f"classic-{m.group(1)}", self.stage, text, now, index=int(m.group(1)))
        if current is not None:
            if line.strip() == "---> Using cache":
                current.cached = True
            elif not line.startswith(" ---> ") and not line.startswith("Removing intermediate"):
                current.lines.append(line)
        return None

    def finish(self, now: float) -> None:
        step = self.log.current
        if step is not None and step.seconds is None:
            step.seconds = 0.0 if step.cached else now - step.started


class PodmanFormat(LogFormat):
    """podman (buildah): `[2/3] STEP 2/5: TEXT` (no `[i/n]` with one stage), `--> Using cache ID`, `--> ID` when a
    step is done, `Error: building at STEP "TEXT": ...` on failure."""

    STEP = PODMAN_STEP

    def __init__(self, log: LogParser) -> None:
        super().__init__(log)
        self.stages: dict[int, str] = {}
        self.open: list[Step] = []  # steps whose `--> ID` has not come yet, innermost last

    def feed(self, line: str, now: float) -> Step | None:
        log = self.log
        if m := PODMAN_STEP.match(line):
            number, text = int(m.group(1) or 1), m.group(5)
            step = log.start(f"podman-{number}-{m.group(3)}", self.stages.get(number, f"stage-{number - 1}"), text,
                             now, index=int(m.group(3)))
            if f := CLASSIC_FROM.match(text):
                step.stage = self.stages[number] = f.group(1) or f"stage-{number - 1}"
                step.seconds = 0.0  # a FROM prints no `--> ID` of its own
            else:
                self.open.append(step)
            return step
        # buildah builds a stage when a later one first needs it (COPY --from), so the waiting step's `-->` lines
        # come after that stage's steps: they belong to the innermost step still open, not the last one started
        open_step = self.open[-1] if self.open else None
        if PODMAN_CACHED.match(line):
            if open_step is not None:
                open_step.cached = True
        elif PODMAN_DONE.match(line):
            if open_step is not None:
                self.open.pop()
                open_step.seconds = 0.0 if open_step.cached else now - open_step.started
        elif m := PODMAN_ERROR.match(line):
            # the failing step is the one the error names
            # (buildah names it in shell form: `COPY a b` for the step `COPY ["a", "b"]`)
            wanted = _shell_form(m.group(1))
            named = [k for k in log.order if _shell_form(log.steps[k].text) == wanted]
            failing = log.steps[named[-1]] if named else log.current
            if failing is not None:
                failing.failed = True
            log.error = m.group(2)
        elif (owner := open_step or log.current) is not None:
            owner.lines.append(line)
        return None

    def finish(self, now: float) -> None:
        for step in self.open:
            if step.seconds is None:
                step.seconds = 0.0 if step.cached else now - step.started
        self.open.clear()


FORMATS: tuple[type[LogFormat], ...] = (BuildKitFormat, ClassicFormat, PodmanFormat)


SILENCE_SECONDS = 30.0  # plain progress names the running step after this long without a line


class ProgressView:
    """Live view on a terminal; one line per step otherwise (CI logs). A sysimage step prints nothing for minutes:
    in plain mode a background timer says which step is still running after every SILENCE_SECONDS of silence, so
    a CI log (and a CI system's no-output timeout) does not take the build for hung."""

    def __init__(self, console: Console, mode: str, clock: Callable[[], float] = time.monotonic,
                 silence: float = SILENCE_SECONDS) -> None:
        self.console = console
        self.tty = mode == "tty" or (mode == "auto" and console.is_terminal)
        self.clock = clock
        self.parser = LogParser(clock)
        self.started = clock()
        self.silence = silence
        self._live: Live | None = None
        self._printed = self.started  # when the last line was shown
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._timer: threading.Thread | None = None

    def __enter__(self) -> ProgressView:
        if self.tty:
            self._live = Live(self._render(), console=self.console, refresh_per_second=4, transient=True)
            self._live.__enter__()
        else:
            self._timer = threading.Thread(target=self._watch, name="sysimage-docker-progress", daemon=True)
            self._timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._timer is not None:
            self._timer.join()
        self.parser.finish()
        if self._live is not None:
            self._live.__exit__(None, None, None)

    def line(self, text: str) -> None:
        text = redact(text)  # a URL with credentials in the engine's log never reaches the screen or an error
        with self._lock:
            step = self.parser.feed(text)
            if step is not None and step.repeat:
                step = None
            if self._live is not None:
                self._live.update(self._render())
                if step is not None:
                    self._live.console.print(Text(step_line(step)))
            elif step is not None:
                self._print(step_line(step))
            elif self.parser.current is not None and self.parser.current.heavy and text.startswith("#"):
                m = BK_LOG.match(text.rstrip())
                if m:
                    self._print(f"    | {m.group(3)}")

    def next_build(self) -> None:
        """The next build's log follows (see LogParser.next_build)."""
        with self._lock:
            self.parser.next_build()

    def _print(self, text: str) -> None:
        self.console.print(text, markup=False, highlight=False)
        self._printed = self.clock()

    def _watch(self) -> None:
        while not self._stop.wait(min(1.0, self.silence / 4)):
            self.tick()

    def tick(self) -> None:
        """Plain mode: after `silence` seconds without a line, name the step still running (the latest started)."""
        with self._lock:
            now = self.clock()
            running = [s for s in (self.parser.steps[k] for k in self.parser.order)
                       if s.seconds is None and not s.cached and not s.failed]
            if self.tty or not running or now - self._printed < self.silence:
                return
            latest = running[-1]
            more = f" (and {len(running) - 1} more)" if len(running) > 1 else ""
            self._print(f"    still running: {step_line(latest)}{more}, {now - latest.started:.0f} s so far")

    def _render(self) -> Text:
        step = self.parser.current
        elapsed = time.monotonic() - self.started
        if step is None:
            return Text(f"starting build… {elapsed:.0f}s")
        return Text(f"{step_line(step)}  {time.monotonic() - step.started:.0f}s "
                    f"(total {elapsed:.0f}s)")


def step_line(step: Step) -> str:
    hook = HOOK_STEP.search(" ".join(step.text.split()))
    label = f"({step.heavy}) " if step.heavy else f"(hook {hook[1]} {hook[2]}) " if hook else ""
    return f"[{step.stage}] {label}{shorten(step.text)}"


def shorten(text: str, width: int = 100) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"
