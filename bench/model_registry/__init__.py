"""Model Registry: our v2 client against the published SDK 2.10.1's, both on our service.

Both clients run the same workload script (``_workload.py``) as subprocesses against one
``python -m cogment_services.model_registry`` process; the two modes alternate so that machine
load hits both alike. Reported: small publishes and retrievals per second, store + retrieve
throughput of a big model, and the publish -> ``LatestModel`` update latency.
"""

from __future__ import annotations

import json
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench._measure import Measurement

_WORKLOAD = Path(__file__).with_name("_workload.py")
_HIGHER_IS_BETTER = {
    "publish_1KiB_per_s": ("publish 1 KiB", "iter/s", True),
    "retrieve_1KiB_per_s": ("retrieve 1 KiB", "iter/s", True),
    "store_retrieve_MiB_per_s": ("store+retrieve big model", "MiB/s", True),
    "track_latest_latency_ms": ("publish -> LatestModel", "ms", False),
}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _run_client(python: str, port: int, quick: bool, cwd: str) -> dict[str, float]:
    done = subprocess.run(
        [python, str(_WORKLOAD), str(port), "1" if quick else "0"],
        check=True,
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=300,
    )
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def run(quick: bool) -> list[Measurement]:
    from tests._support.refsdk import reference_python

    reference = str(reference_python())
    port = _free_port()
    repeat = 2 if quick else 5
    samples: dict[str, dict[str, list[float]]] = {"ours": {}, "reference": {}}
    with tempfile.TemporaryDirectory() as tmp:
        status = Path(tmp) / "status"
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "cogment_services.model_registry",
                f"--port={port}",
                f"--archive_dir={tmp}/archive",
                f"--status_file={status}",
                "--log_level=error",
            ],
            cwd=str(Path(__file__).resolve().parents[2]),
        )
        try:
            deadline = time.monotonic() + 20
            while not (status.exists() and "R" in status.read_text()):
                if time.monotonic() > deadline or server.poll() is not None:
                    raise RuntimeError("model registry did not start")
                time.sleep(0.05)
            for _ in range(repeat):
                for mode, python in (("ours", sys.executable), ("reference", reference)):
                    # cwd=tmp: the reference interpreter must not import our cogment/ folder;
                    # ours is installed editable so it does not need the checkout on sys.path.
                    for key, value in _run_client(python, port, quick, tmp).items():
                        samples[mode].setdefault(key, []).append(value)
        finally:
            server.terminate()
            server.wait(timeout=10)
    results: list[Measurement] = []
    for key, (workload, unit, higher) in _HIGHER_IS_BETTER.items():
        ours = statistics.median(samples["ours"][key])
        ref = statistics.median(samples["reference"][key])
        results.append(
            Measurement(
                workload=f"model registry: {workload}",
                mode="ours",
                value=ours,
                unit=unit,
                baseline_mode="reference 2.10.1",
                baseline_value=ref,
                higher_is_better=higher,
            )
        )
        results.append(
            Measurement(
                workload=f"model registry: {workload}",
                mode="reference 2.10.1",
                value=ref,
                unit=unit,
                higher_is_better=higher,
            )
        )
    return results
