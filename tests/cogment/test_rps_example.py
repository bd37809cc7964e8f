"""The main example runs end to end: `python -m examples.rps` (generates its settings first)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.timeout(120)
def test_rps_example_runs_trials_and_prints_scores() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "examples.rps", "--trials", "4", "--target-score", "3"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=100,
    )
    assert done.returncode == 0, done.stderr
    assert "4 trials" in done.stdout
    lines = {line.split()[0]: line.split()[1:] for line in done.stdout.splitlines() if line.strip()}
    wins = int(lines["heuristic"][0]) + int(lines["random"][0])
    assert wins <= 4
    rewards = float(lines["heuristic"][2]) + float(lines["random"][2])
    assert rewards == 0.0  # every round won by one is lost by the other
    assert "4/4 trials" in done.stderr
