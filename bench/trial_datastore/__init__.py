"""Trial Datastore: ingest throughput (memory vs durable SQLite) and sample reading (our SDK client
vs the published SDK 2.10.1's, on the same service).

- ``datalog ingest``: 8 trials logged concurrently through ``DatalogSP`` into a
  ``cogment services trial_datastore`` process, each sample acknowledged once stored; the SQLite
  mode commits (and syncs) before each acknowledgement, the memory mode is its baseline.
- ``read samples``: ``Datastore.all_samples`` over every stored trial with the observation and
  action of every actor decoded; ours vs the published client (both subprocesses, alternating).
"""

from __future__ import annotations

import asyncio
import json
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench._measure import Measurement

_READER = Path(__file__).with_name("_reader.py")
_ROOT = Path(__file__).resolve().parents[2]
_TRIALS = 8


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _start(port: int, tmp: str, file_storage: bool) -> subprocess.Popen[bytes]:
    status = Path(tmp) / f"status-{port}"
    status.write_text("")
    argv = [
        sys.executable,
        "-m",
        "cogment",
        "services",
        "trial_datastore",
        f"--port={port}",
        f"--status_file={status}",
        "--log_level=error",
    ]
    if file_storage:
        argv.append(f"--file_storage={tmp}/trials-{port}.db")
    server = subprocess.Popen(argv, cwd=str(_ROOT))
    deadline = time.monotonic() + 20
    while "R" not in status.read_text():
        if time.monotonic() > deadline or server.poll() is not None:
            server.kill()
            raise RuntimeError("trial datastore did not start")
        time.sleep(0.05)
    return server


async def _ingest(port: int, ticks: int) -> float:
    """Samples per second acknowledged, ``_TRIALS`` trials logged concurrently."""
    import grpc.aio

    from tests.cogment_services.trial_datastore._trials import ActorSpec, TrialSpec, log_trial

    actors = (ActorSpec("a", "player"), ActorSpec("b", "player"))
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        start = time.perf_counter()
        acks = await asyncio.gather(
            *(
                log_trial(channel, TrialSpec(f"bench-{index}", actors=actors, ticks=ticks))
                for index in range(_TRIALS)
            )
        )
        elapsed = time.perf_counter() - start
    return (sum(acks) - _TRIALS) / elapsed


def _read(python: str, port: int, cwd: str) -> float:
    done = subprocess.run(
        [python, str(_READER), str(port)],
        check=True,
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=300,
    )
    return float(json.loads(done.stdout.strip().splitlines()[-1])["samples_per_s"])


def run(quick: bool) -> list[Measurement]:
    from tests._support.refsdk import reference_python

    reference = str(reference_python())
    ticks = 200 if quick else 1000
    repeat = 1 if quick else 3
    ingest: dict[str, list[float]] = {"memory": [], "sqlite": []}
    reading: dict[str, list[float]] = {"ours": [], "reference": []}
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(repeat):
            for mode in ("memory", "sqlite"):
                port = _free_port()
                server = _start(port, tmp, file_storage=mode == "sqlite")
                try:
                    ingest[mode].append(asyncio.run(_ingest(port, ticks)))
                    if mode == "memory":
                        for reader, python in (("ours", sys.executable), ("reference", reference)):
                            reading[reader].append(_read(python, port, tmp))
                finally:
                    server.terminate()
                    server.wait(timeout=10)
    memory, sqlite = statistics.median(ingest["memory"]), statistics.median(ingest["sqlite"])
    ours, ref = statistics.median(reading["ours"]), statistics.median(reading["reference"])
    workload = f"datastore: datalog ingest ({_TRIALS} trials)"
    return [
        Measurement(workload, "memory", memory, "samples/s"),
        Measurement(workload, "sqlite (synced acks)", sqlite, "samples/s", "memory", memory),
        Measurement(
            "datastore: read samples (SDK)", "ours", ours, "samples/s", "reference 2.10.1", ref
        ),
        Measurement("datastore: read samples (SDK)", "reference 2.10.1", ref, "samples/s"),
    ]
