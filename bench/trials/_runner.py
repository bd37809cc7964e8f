"""Run one workload in one mode: start the processes, drive the phases, read /proc around them."""

from __future__ import annotations

import contextlib
import json
import os
import queue
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from bench.trials._procfs import cpu_seconds, peak_rss_kib, rss_kib

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
SPEC_DIR = HERE / "spec"
COMPONENTS_SCRIPT = HERE / "_components.py"


class Sampler(Protocol):
    """Something watching the Orchestrator process during the measured part (a profiler)."""

    #: Extra interpreter options for the Orchestrator process (e.g. ``-X tracemalloc=25``).
    python_options: Sequence[str]

    def start(self, orchestrator: Child) -> None: ...

    def idle(self, orchestrator: Child) -> None:
        """Held workloads: every trial is started and idle."""

    def stop(self, orchestrator: Child) -> None: ...


@dataclass(frozen=True)
class Workload:
    """``trials`` trials of ``ticks`` ticks started together; ``hold``: actors wait to answer."""

    key: str
    title: str
    trials: int
    ticks: int
    hold: bool = False
    timeout: float = 300.0

    @property
    def total_ticks(self) -> int:
        return self.trials * self.ticks

    def as_json(self) -> str:
        return json.dumps(
            {
                "trials": self.trials,
                "ticks": self.ticks,
                "hold": self.hold,
                "timeout": self.timeout,
            }
        )


@dataclass
class Run:
    """What one (workload, mode) run measured; ``error`` set when it could not run."""

    mode: str
    wall_s: float = 0.0
    orchestrator_cpu_s: float | None = None
    orchestrator_loop_cpu_s: float | None = None  # of it, the event loop's thread
    components_cpu_s: float = 0.0
    orchestrator_peak_kib: int | None = None
    components_peak_kib: int = 0
    orchestrator_idle_delta_kib: int | None = None
    components_idle_delta_kib: float = 0
    idle_after_s: float | None = None
    error: str | None = None


class ChildError(RuntimeError):
    """A benchmark process failed, said something unexpected or was too slow."""


class Child:
    """A benchmark process speaking the line protocol; stderr goes to a log file."""

    def __init__(self, name: str, argv: list[str], cwd: Path, log_dir: Path) -> None:
        self.name = name
        self.log_path = log_dir / f"{name}.log"
        self._log = open(self.log_path, "w")  # noqa: SIM115 (closed in close())
        self.process = subprocess.Popen(
            argv,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._log,
            text=True,
            cwd=cwd,
        )
        self.pid = self.process.pid
        self._lines: queue.Queue[str | None] = queue.Queue()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self._lines.put(line.rstrip("\n"))
        self._lines.put(None)

    def _log_tail(self) -> str:
        self._log.flush()
        lines = self.log_path.read_text(errors="replace").strip().splitlines()
        return " | ".join(lines[-3:])[-400:] if lines else "(no stderr)"

    def expect(self, word: str, timeout: float) -> str:
        """Wait for a line starting with ``word``; return the rest of it."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise ChildError(
                    f"{self.name}: no {word} within {timeout:.0f}s; {self._log_tail()}"
                )
            try:
                line = self._lines.get(timeout=left)
            except queue.Empty:
                continue
            if line is None:
                self.process.wait(timeout=5)
                raise ChildError(
                    f"{self.name} exited ({self.process.returncode}) before {word}: "
                    f"{self._log_tail()}"
                )
            if line == word or line.startswith(word + " "):
                return line[len(word) :].strip()

    def send(self, line: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(line + "\n")
        self.process.stdin.flush()

    def close(self) -> None:
        """Close stdin (the child's cue to exit); kill it if it lingers."""
        if self.process.stdin is not None:
            with contextlib.suppress(BrokenPipeError):
                self.process.stdin.close()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)
        self._log.close()


def generate_settings(work: Path, reference_python: str | None) -> dict[str, Path]:
    """Generate ``cog_settings`` twice: the published generator's and ours (legacy layout);
    ours only without ``reference_python``."""
    dirs = {"ours": work / "settings-ours"}
    generators = {"ours": [sys.executable, "-m", "cogment", "generate", "--quiet"]}
    if reference_python is not None:
        dirs["reference"] = work / "settings-reference"
        generators["reference"] = [reference_python, "-m", "cogment.generate"]
    for key, folder in dirs.items():
        folder.mkdir()
        for name in ("cogment.yaml", "counting.proto"):
            shutil.copy(SPEC_DIR / name, folder / name)
        done = subprocess.run(
            [*generators[key], "--spec", "cogment.yaml", "--output", "cog_settings.py"],
            cwd=folder,
            capture_output=True,
            text=True,
            timeout=120,
        )
        if done.returncode != 0 or not (folder / "cog_settings.py").exists():
            raise ChildError(f"{key} generator failed: {done.stderr.strip()[-400:]}")
    return dirs


def _orchestrator_cpu(orchestrator: Child) -> tuple[float, float]:
    """CPU seconds of the orchestrator process, and of its event loop's thread."""
    orchestrator.send("CPU")
    process, loop_thread = orchestrator.expect("CPU", 10).split()
    return float(process), float(loop_thread)


def _components_argv(
    mode: str, python: str, settings: Path, port: int, w: Workload, profile_to: Path | None
) -> list[str]:
    spec = json.loads(w.as_json())
    if profile_to is not None:  # read by _components.run_workload
        spec["profile"] = str(profile_to)
    workload = json.dumps(spec)
    if mode == "raw":
        return [python, "-m", "bench.trials._raw", str(settings), workload]
    if mode == "ours-inprocess":
        return [python, str(COMPONENTS_SCRIPT), str(settings), "inprocess", workload]
    endpoint = f"grpc://127.0.0.1:{port}"
    if mode == "grpc-floor":
        return [python, "-m", "bench.trials._floor", str(settings), endpoint, workload]
    return [python, str(COMPONENTS_SCRIPT), str(settings), endpoint, workload]


def run_one(
    workload: Workload,
    mode: str,
    python: str,
    settings: Path,
    profile_to: Path | None = None,
    sampler: Sampler | None = None,
    components_profile_to: Path | None = None,
) -> Run:
    """Run ``workload`` in ``mode`` (one of ``_suite.MODES``) with fresh processes.

    ``python`` runs the components (the reference SDK's interpreter or ours); the Orchestrator
    (not in ``raw``) always runs with ours. Never raises for a failed run: ``Run.error`` says why.
    ``profile_to``: record the Orchestrator's event loop with cProfile during the measured part,
    into this file; ``sampler``: started/stopped around the measured part with its pid;
    ``components_profile_to``: the same for the components' process (not ``raw``: it has no
    event loop).
    """
    result = Run(mode)
    children: list[Child] = []
    with tempfile.TemporaryDirectory(prefix=f"bench-{mode}-") as tmp:
        logs = Path(tmp)
        try:
            port = 0
            orchestrator: Child | None = None
            if mode not in ("raw", "ours-inprocess"):
                options = list(sampler.python_options) if sampler is not None else []
                argv = [sys.executable, *options, "-m", "bench.trials._orchestrator_process"]
                if profile_to is not None:
                    argv += ["--profile", str(profile_to)]
                orchestrator = Child("orchestrator", argv, ROOT, logs)
                children.append(orchestrator)
                port = int(orchestrator.expect("READY", 60))
            # Components run outside the checkout: the reference interpreter must not see our
            # ``cogment/`` folder (raw and ours need the checkout: they import ``bench``).
            cwd = ROOT if mode in ("raw", "grpc-floor") else logs  # ours-inprocess: installed
            components = Child(
                "components",
                _components_argv(mode, python, settings, port, workload, components_profile_to),
                cwd,
                logs,
            )
            children.append(components)
            components.expect("READY", 120)
            orch_pid = orchestrator.pid if orchestrator is not None else None
            if orchestrator is not None and profile_to is not None:
                orchestrator.send("PROFILE START")
            if orchestrator is not None and sampler is not None:
                sampler.start(orchestrator)
            orch_cpu0, orch_loop0 = (
                _orchestrator_cpu(orchestrator) if orchestrator is not None else (0.0, 0.0)
            )
            orch_rss0 = rss_kib(orch_pid) if orch_pid else 0
            comp_cpu0 = cpu_seconds(components.pid)
            comp_rss0 = rss_kib(components.pid)
            components.send("GO")
            if workload.hold:
                components.expect("IDLE", workload.timeout)
                if orch_pid:
                    result.orchestrator_idle_delta_kib = rss_kib(orch_pid) - orch_rss0
                result.components_idle_delta_kib = rss_kib(components.pid) - comp_rss0
                if orchestrator is not None and sampler is not None:
                    sampler.idle(orchestrator)
                components.send("RELEASE")
            done = json.loads(components.expect("DONE", workload.timeout + 30))
            if orchestrator is not None:
                orch_cpu1, orch_loop1 = _orchestrator_cpu(orchestrator)
                result.orchestrator_cpu_s = orch_cpu1 - orch_cpu0
                result.orchestrator_loop_cpu_s = orch_loop1 - orch_loop0
                result.orchestrator_peak_kib = peak_rss_kib(orchestrator.pid)
                if profile_to is not None:
                    orchestrator.send("PROFILE STOP")
                    orchestrator.expect("PROFILED", 60)
                if sampler is not None:
                    sampler.stop(orchestrator)
            # The components' own clock is finer than /proc's 10 ms ticks.
            result.components_cpu_s = float(
                done.get("cpu_s", cpu_seconds(components.pid) - comp_cpu0)
            )
            result.components_peak_kib = peak_rss_kib(components.pid)
            if "error" in done:
                raise ChildError(f"components: {done['error']}")
            result.wall_s = float(done["wall_s"])
            if "idle_kib" in done:  # the raw floor traces its memory exactly
                result.components_idle_delta_kib = float(done["idle_kib"])
            result.idle_after_s = done.get("idle_after_s")
        except (ChildError, OSError, ValueError) as error:
            result.error = str(error)
        finally:
            for child in reversed(children):
                child.close()
    return result


def reference_python() -> str:
    """The published SDK 2.10.1's interpreter (built on first use)."""
    from tests._support.refsdk import reference_python as find

    return str(find())


def environment_ok() -> str | None:
    """Why trials cannot be measured on this machine (``None`` if they can)."""
    if not Path(f"/proc/{os.getpid()}/stat").exists():
        return "needs Linux /proc to read CPU time and memory"
    return None
