"""Start ``cogment services <name>`` as a subprocess and wait for its status file to say ``R``."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.contextmanager
def cogment_service(
    name: str, *flags: str, folder: Path, timeout: float = 30
) -> Iterator[subprocess.Popen[bytes]]:
    """Run ``python -m cogment services <name> <flags>`` until the block ends (SIGTERM, then kill)."""
    status = folder / f"{name}-{time.monotonic_ns()}.status"
    status.write_text("")
    log = (folder / f"{name}.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "cogment", "services", name, *flags, f"--status_file={status}"],
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + timeout
        while "R" not in status.read_text():
            if process.poll() is not None:
                raise RuntimeError(
                    f"cogment services {name} exited with {process.returncode}: "
                    + (folder / f"{name}.log").read_text()[-2000:]
                )
            if time.monotonic() > deadline:
                raise TimeoutError(f"cogment services {name} not ready within {timeout} s")
            time.sleep(0.05)
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        log.close()
