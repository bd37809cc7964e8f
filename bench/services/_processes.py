"""``cogment services <name>`` in a subprocess, ready when its status file says ``R``."""

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
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.contextmanager
def cogment_service(name: str, *flags: str, folder: Path, timeout: float = 30) -> Iterator[None]:
    """Run ``python -m cogment services <name> <flags>`` for the block (SIGTERM, then kill)."""
    status = folder / f"{name}-{time.monotonic_ns()}.status"
    status.write_text("")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "cogment",
            "services",
            name,
            *flags,
            f"--status_file={status}",
            "--log_level=error",
        ],
        cwd=ROOT,
    )
    try:
        deadline = time.monotonic() + timeout
        while "R" not in status.read_text():
            if process.poll() is not None:
                raise RuntimeError(f"cogment services {name} exited with {process.returncode}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"cogment services {name} not ready within {timeout} s")
            time.sleep(0.05)
        yield
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
