"""The harness bounds its runs: a program that hangs is killed at the timeout."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest

from tests.conformance._harness import HarnessError, embedded_orchestrator, run_scenario

HANGING = """
import os, sys, time
open(sys.argv[sys.argv.index("--trace") + 1] + ".pid", "w").write(str(os.getpid()))
time.sleep(3600)
"""


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split()[2] != "Z"
    except FileNotFoundError:
        return False


@pytest.mark.timeout(30)
def test_a_hanging_program_is_killed_at_the_timeout(tmp_path: Path) -> None:
    (tmp_path / "hangs.py").write_text(HANGING)
    with embedded_orchestrator() as orchestrator:
        started = time.monotonic()
        with pytest.raises(HarnessError, match="killed after 2"):
            run_scenario(
                sdk="ours",
                python=sys.executable,
                settings=tmp_path,
                scenario="hangs",
                orchestrator=orchestrator,
                workdir=tmp_path / "runs",
                timeout=2.0,
                programs=tmp_path,
            )
        assert time.monotonic() - started < 10
    pid = int((tmp_path / "runs" / "hangs.ours.jsonl.pid").read_text())
    assert not _alive(pid)


def test_a_missing_program_is_named(tmp_path: Path) -> None:
    with embedded_orchestrator() as orchestrator, pytest.raises(HarnessError, match=r"nope\.py"):
        run_scenario(
            sdk="ours",
            python=sys.executable,
            settings=tmp_path,
            scenario="nope",
            orchestrator=orchestrator,
            workdir=tmp_path,
        )
