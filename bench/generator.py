"""The generator on the RPS spec: ours against the published SDK 2.10.1's, side by side.

What a user's build step pays: one fresh process running the generator on
``examples/rps/cogment.yaml`` into a new folder (nothing to reuse), interpreter start-up
included. Measured for the command both SDKs have (``python -m cogment.generate --spec
cogment.yaml --output ./cog_settings.py``, the published single-module layout) and for ours'
typed package (``cogment generate --spec cogment.yaml --output .``, which also writes the
``.pyi`` stubs and ``py.typed``). The modes alternate so that load on the machine hits them alike.
"""

from __future__ import annotations

import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench._measure import Measurement

SPEC_DIR = Path(__file__).resolve().parent.parent / "examples" / "rps"
SPEC_FILES = ("cogment.yaml", "rps.proto")
REFERENCE = "reference 2.10.1"

#: mode -> (interpreter key, argv after the interpreter)
_COMMANDS: dict[str, tuple[str, list[str]]] = {
    "ours (legacy module)": (
        "ours",
        ["-m", "cogment.generate", "--spec", "cogment.yaml", "--output", "./cog_settings.py"],
    ),
    "ours (typed package)": (
        "ours",
        ["-m", "cogment", "generate", "--spec", "cogment.yaml", "--output", "."],
    ),
    REFERENCE: (
        "reference",
        ["-m", "cogment.generate", "--spec", "cogment.yaml", "--output", "./cog_settings.py"],
    ),
}


def _one(python: str, argv: list[str], work: Path) -> float:
    """Seconds of one generator run in a fresh copy of the spec (outside the checkout, so the
    reference interpreter cannot pick up our ``cogment/`` folder)."""
    folder = Path(tempfile.mkdtemp(dir=work))
    for name in SPEC_FILES:
        shutil.copy(SPEC_DIR / name, folder / name)
    start = time.perf_counter()
    done = subprocess.run([python, *argv], cwd=folder, capture_output=True, text=True, timeout=120)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"{python} {' '.join(argv)} failed: {done.stderr.strip()[-400:]}")
    if not any(folder.glob("cog_settings*")):
        raise RuntimeError(f"{python} {' '.join(argv)} wrote no cog_settings")
    return elapsed


def run(quick: bool) -> list[Measurement]:
    from tests._support.refsdk import reference_python

    pythons = {"ours": sys.executable, "reference": str(reference_python())}
    repeat = 3 if quick else 9
    samples: dict[str, list[float]] = {mode: [] for mode in _COMMANDS}
    with tempfile.TemporaryDirectory(prefix="bench-generator-") as tmp:
        work = Path(tmp)
        for key, argv in _COMMANDS.values():  # warm-up: caches, .pyc files
            _one(pythons[key], argv, work)
        for _ in range(repeat):
            for mode, (key, argv) in _COMMANDS.items():
                samples[mode].append(_one(pythons[key], argv, work))
    ms = {mode: statistics.median(values) * 1000 for mode, values in samples.items()}
    workload = "generate RPS spec (fresh process)"
    return [
        Measurement(
            workload=workload,
            mode=mode,
            value=value,
            unit="ms",
            baseline_mode=None if mode == REFERENCE else REFERENCE,
            baseline_value=None if mode == REFERENCE else ms[REFERENCE],
            higher_is_better=False,
        )
        for mode, value in ms.items()
    ]
