"""Fixtures: the published-SDK scenario driver (one per module) and an embedded Orchestrator."""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import shutil
import subprocess
import threading
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import pytest

from cogment_services.orchestrator import Orchestrator

SCENARIO_DIR = Path(__file__).parent / "scenario"


def _reference_python() -> Path:
    from tests._support.refsdk import reference_python

    return reference_python()


class Driver:
    """The scenario driver subprocess (published SDK): services + controller scenarios."""

    def __init__(self, workdir: Path, env: dict[str, str] | None = None) -> None:
        python = str(_reference_python())
        for name in ("cogment.yaml", "data.proto"):
            shutil.copy(SCENARIO_DIR / name, workdir / name)
        subprocess.run(
            [
                python,
                "-m",
                "cogment.generate",
                "--spec",
                "cogment.yaml",
                "--output",
                "cog_settings.py",
            ],
            cwd=workdir,
            check=True,
            capture_output=True,
            timeout=120,
        )
        self.log_path = workdir / "driver.log"
        self._log = open(self.log_path, "w")  # noqa: SIM115
        self.process = subprocess.Popen(
            [python, str(SCENARIO_DIR / "driver.py"), str(workdir)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._log,
            text=True,
            cwd=workdir,
            env={**os.environ, **(env or {})},
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line.startswith("READY"):
            raise RuntimeError(f"driver did not start: {line!r}\n{self.log_path.read_text()}")
        self.port = int(line.split()[1])
        self.endpoint = f"grpc://127.0.0.1:{self.port}"
        self._ids = itertools.count(1)
        self._pending: dict[int, Future[Any]] = {}
        self._lock = threading.Lock()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            reply = json.loads(line)
            with self._lock:
                future = self._pending.pop(reply["id"], None)
            if future is not None:
                future.set_result(reply)

    async def call(self, cmd: str, timeout: float = 60.0, **args: Any) -> Any:
        """Run a driver command; return its result (raise on error)."""
        request_id = next(self._ids)
        future: Future[Any] = Future()
        with self._lock:
            self._pending[request_id] = future
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps({"id": request_id, "cmd": cmd, "args": args}) + "\n")
        self.process.stdin.flush()
        reply = await asyncio.wait_for(asyncio.wrap_future(future), timeout)
        if not reply["ok"]:
            raise AssertionError(f"driver command {cmd} failed: {reply['error']}")
        return reply["result"]

    def close(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)
        self._log.close()


@pytest.fixture(scope="module")
def driver(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Driver]:
    instance = Driver(tmp_path_factory.mktemp("scenario"))
    try:
        yield instance
    finally:
        instance.close()


@pytest.fixture
async def orchestrator() -> AsyncIterator[Orchestrator]:
    # Scenario drivers poll GetTrialInfo until ENDED: with the default gc_frequency (every 10th
    # StartTrial) a trial of a concurrent burst could be collected before its poll sees it ended.
    # Garbage collection has its own test, with gc_frequency=1.
    async with Orchestrator(lifecycle_port=0, host="127.0.0.1", gc_frequency=1_000_000) as orch:
        yield orch
