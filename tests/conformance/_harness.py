"""Conformance harness: generate ``cog_settings`` per SDK, run scenario programs, compare traces.

The same scenario program (``scenarios/<name>.py``) runs twice against OUR Orchestrator (embedded
in the test process, in a thread with its own event loop): once with the published SDK 2.10.1
(its Python 3.10 venv, its own generator), once with ours (the dev venv, our generator). Each run
writes a canonical trace (see ``scenarios/_common.py``); the two must be identical.
"""

from __future__ import annotations

import asyncio
import difflib
import importlib.util
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator, Sequence
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
SPEC_DIR = HERE / "spec"
SCENARIO_DIR = HERE / "scenarios"
ROOT = HERE.parents[1]

#: Seconds a whole scenario program may take (it also enforces a slightly shorter limit itself).
SCENARIO_TIMEOUT = 30.0
GENERATE_TIMEOUT = 120.0


class HarnessError(AssertionError):
    """The harness could not do its part (generation, a run); the message says what and where."""


# --------------------------------------------------------------------------- generation


def _copy_spec(workdir: Path) -> Path:
    spec = workdir / "spec"
    shutil.copytree(SPEC_DIR, spec)
    return spec / "cogment.yaml"


def _generate(command: Sequence[str], cwd: Path, who: str) -> None:
    try:
        done = subprocess.run(
            list(command),
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=GENERATE_TIMEOUT,
            env=_clean_env(),
        )
    except subprocess.TimeoutExpired as error:
        raise HarnessError(
            f"{who} generator timed out after {GENERATE_TIMEOUT} s: {command}"
        ) from error
    if done.returncode != 0:
        raise HarnessError(
            f"{who} generator failed (exit {done.returncode}): {' '.join(command)}\n"
            f"stdout:\n{done.stdout}\nstderr:\n{done.stderr}"
        )


def generate_reference(workdir: Path, python: Path) -> Path:
    """``cog_settings`` for the published SDK, made by its own generator; returns its directory."""
    spec = _copy_spec(workdir / "ref")
    out = workdir / "ref" / "settings"
    out.mkdir(parents=True)
    _generate(
        [
            str(python),
            "-m",
            "cogment.generate",
            "--spec",
            str(spec),
            "--output",
            str(out / "cog_settings.py"),
        ],
        spec.parent,
        "published SDK",
    )
    return out


def our_generator_command(spec: Path, output: Path) -> list[str]:
    """How to run our generator with the legacy arguments, or raise naming what is missing."""
    if importlib.util.find_spec("cogment_codegen._cli") is not None:
        return [
            sys.executable,
            "-m",
            "cogment",
            "generate",
            "--spec",
            str(spec),
            "--output",
            str(output),
        ]
    if importlib.util.find_spec("cogment.generate") is not None:
        return [
            sys.executable,
            "-m",
            "cogment.generate",
            "--spec",
            str(spec),
            "--output",
            str(output),
        ]
    raise HarnessError(
        "our generator is missing: neither `cogment generate` (cogment_codegen._cli) nor "
        "`python -m cogment.generate` exists"
    )


def generate_ours(workdir: Path) -> Path:
    """``cog_settings`` for our SDK, made by our generator; returns the directory to import from."""
    spec = _copy_spec(workdir / "ours")
    out = workdir / "ours" / "settings"
    out.mkdir(parents=True)
    _generate(our_generator_command(spec, out / "cog_settings.py"), spec.parent, "our")
    return out


# --------------------------------------------------------------------------- orchestrator


class EmbeddedOrchestrator:
    """Our Orchestrator (``cogment_services.Orchestrator``) in a thread with its own event loop."""

    def __init__(self, **config: Any) -> None:
        config.setdefault("lifecycle_port", 0)
        config.setdefault("host", "127.0.0.1")
        self._config = config
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="orchestrator", daemon=True
        )
        self._orchestrator: Any = None
        self.endpoint = ""
        self.actor_endpoint = ""

    def _call(self, coroutine: Any, timeout: float) -> Any:
        future: Future[Any] = asyncio.run_coroutine_threadsafe(coroutine, self._loop)
        return future.result(timeout)

    async def _start(self) -> None:
        from cogment_services.orchestrator import Orchestrator

        self._orchestrator = Orchestrator(**self._config)
        await self._orchestrator.start()
        self.endpoint = self._orchestrator.endpoint
        self.actor_endpoint = self._orchestrator.actor_endpoint

    def start(self) -> EmbeddedOrchestrator:
        self._thread.start()
        try:
            self._call(self._start(), 30)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        try:
            if self._orchestrator is not None:
                self._call(self._orchestrator.stop(), 15)
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
            if not self._thread.is_alive():
                self._loop.close()


@contextmanager
def embedded_orchestrator(**config: Any) -> Iterator[EmbeddedOrchestrator]:
    orchestrator = EmbeddedOrchestrator(**config).start()
    try:
        yield orchestrator
    finally:
        orchestrator.stop()


def free_port() -> int:
    """A port free right now on 127.0.0.1 (for components the orchestrator must know up front)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# --------------------------------------------------------------------------- running


@dataclass
class RunResult:
    sdk: str
    scenario: str
    returncode: int
    lines: list[str]
    stderr: str
    path: Path | None = None

    @property
    def records(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.lines]

    def describe(self) -> str:
        tail = "\n".join(self.stderr.strip().splitlines()[-40:])
        return (
            f"{self.sdk} run of {self.scenario!r} exited {self.returncode} (trace {self.path});"
            f" stderr (tail):\n{tail}"
        )


def _clean_env() -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("PYTHONPATH", "PYTHONHOME", "COGMENT_DIRECTORY_ENDPOINT")
        and not key.startswith("COGMENT_DIRECTORY")
    }
    env["PYTHONUNBUFFERED"] = "1"
    env["COGMENT_LOG_LEVEL"] = "warning"
    return env


def run_scenario(
    *,
    sdk: str,
    python: Path | str,
    settings: Path,
    scenario: str,
    orchestrator: EmbeddedOrchestrator,
    workdir: Path,
    port: int = 0,
    timeout: float = SCENARIO_TIMEOUT,
    programs: Path = SCENARIO_DIR,
    extra_env: dict[str, str] | None = None,
) -> RunResult:
    """Run ``<programs>/<scenario>.py`` with ``python`` and ``settings`` on PYTHONPATH.

    The program is killed when it outlives ``timeout`` (a :class:`HarnessError` says so).
    """
    program = programs / f"{scenario}.py"
    if not program.exists():
        raise HarnessError(f"no scenario program {program}")
    workdir.mkdir(parents=True, exist_ok=True)
    trace = workdir / f"{scenario}.{sdk}.jsonl"
    env = _clean_env()
    env["PYTHONPATH"] = str(settings)
    if extra_env:
        env.update(extra_env)
    command = [
        str(python),
        str(program),
        "--orchestrator",
        orchestrator.endpoint,
        "--actor-endpoint",
        orchestrator.actor_endpoint,
        "--trace",
        str(trace),
        "--run-id",
        f"{sdk}-{scenario}",
        "--port",
        str(port),
        "--timeout",
        str(timeout - 5),
    ]
    try:
        done = subprocess.run(
            command, cwd=workdir, env=env, capture_output=True, text=True, timeout=timeout
        )
    except subprocess.TimeoutExpired as error:
        stderr = error.stderr.decode(errors="replace") if isinstance(error.stderr, bytes) else ""
        raise HarnessError(
            f"{sdk} run of {scenario!r} killed after {timeout} s\nstderr:\n{stderr}"
        ) from error
    _check_sdk(sdk, python, done.stderr, done.returncode)
    lines = trace.read_text().splitlines() if trace.exists() else []
    return RunResult(sdk, scenario, done.returncode, lines, done.stderr, trace)


def _check_sdk(sdk: str, python: Path | str, stderr: str, returncode: int) -> None:
    """Make sure the run used the SDK it was meant to (the program reports it on stderr)."""
    reported = [line for line in stderr.splitlines() if line.startswith("SDK: cogment ")]
    if not reported:
        if returncode == 0:
            raise HarnessError(f"the {sdk} run did not report its SDK on stderr:\n{stderr}")
        return  # it failed before importing cogment: the exit status and stderr tell why
    line = reported[0]
    if sdk == "ref":
        expected = str(Path(python).parent.parent)
        ok = " 2.10.1 from " in line and expected in line
    else:
        ok = str(ROOT / "cogment") in line
    if not ok:
        raise HarnessError(f"the {sdk} run imported the wrong SDK: {line}")


def assert_same_traces(reference: RunResult, ours: RunResult) -> None:
    """Fail with a unified diff when the traces differ."""
    if reference.lines == ours.lines:
        return
    diff = "\n".join(
        difflib.unified_diff(
            reference.lines,
            ours.lines,
            fromfile=f"{reference.scenario} (published SDK 2.10.1)",
            tofile=f"{ours.scenario} (ours)",
            lineterm="",
            n=2,
        )
    )
    raise AssertionError(
        f"traces of {reference.scenario!r} differ ({reference.path} vs {ours.path}):\n{diff}"
    )
