"""``import cogment``: ours against the published SDK 2.10.1, measured side by side.

Each sample is a fresh interpreter (``python -X importtime`` would miss the interpreter's own
start-up, which the user also pays); the two modes alternate so that load on the machine hits
both alike. The interpreter's bare start-up is measured too and subtracted.
"""

from __future__ import annotations

import importlib.util
import statistics
import subprocess
import sys
import tempfile
import time

from bench._measure import Measurement


def _one(python: str, code: str, cwd: str) -> float:
    # Run outside the checkout: ``python -c`` puts the cwd first on sys.path, and the
    # reference interpreter must not pick up our ``cogment/`` folder.
    start = time.perf_counter()
    subprocess.run([python, "-c", code], check=True, capture_output=True, cwd=cwd)
    return time.perf_counter() - start


def _compile_ours(python: str) -> None:
    """Byte-compile our package, as installing a wheel does (the reference's pip install did).

    The checkout is installed editable, and with ``PYTHONDONTWRITEBYTECODE`` set (as here) no
    ``.pyc`` is ever written: every sample would compile our sources from scratch while the
    reference loads bytecode.
    """
    spec = importlib.util.find_spec("cogment")
    locations = list(spec.submodule_search_locations or []) if spec is not None else []
    for location in locations:
        subprocess.run(
            [python, "-m", "compileall", "-q", location], check=True, capture_output=True
        )


def run(quick: bool) -> list[Measurement]:
    from tests._support.refsdk import reference_python

    reference = str(reference_python())
    ours = sys.executable
    repeat = 5 if quick else 15
    _compile_ours(ours)
    samples: dict[str, list[float]] = {"ours": [], "reference": [], "ours-bare": [], "ref-bare": []}
    with tempfile.TemporaryDirectory() as cwd:
        for _ in range(repeat):
            samples["ours"].append(_one(ours, "import cogment", cwd))
            samples["reference"].append(_one(reference, "import cogment", cwd))
            samples["ours-bare"].append(_one(ours, "pass", cwd))
            samples["ref-bare"].append(_one(reference, "pass", cwd))
    med = {name: statistics.median(values) * 1000 for name, values in samples.items()}
    ours_ms = max(med["ours"] - med["ours-bare"], 0.001)
    ref_ms = max(med["reference"] - med["ref-bare"], 0.001)
    return [
        Measurement(
            workload="import cogment",
            mode="ours",
            value=ours_ms,
            unit="ms",
            baseline_mode="reference 2.10.1",
            baseline_value=ref_ms,
            higher_is_better=False,
        ),
        Measurement(
            workload="import cogment",
            mode="reference 2.10.1",
            value=ref_ms,
            unit="ms",
            higher_is_better=False,
        ),
    ]
