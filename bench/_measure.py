"""What a benchmark reports, and small helpers to time things."""

from __future__ import annotations

import math
import os
import statistics
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class Measurement:
    """One figure of one workload in one mode, with its baseline from the same run."""

    workload: str
    mode: str
    value: float
    unit: str
    baseline_mode: str | None = None
    baseline_value: float | None = None
    higher_is_better: bool = True

    @property
    def ratio(self) -> float | None:
        """How many times better than the baseline (>1 = better, whatever the unit's direction)."""
        if not self.available or self.baseline_value is None:
            return None
        if math.isnan(self.baseline_value) or self.baseline_value == 0 or self.value == 0:
            return None
        if self.higher_is_better:
            return self.value / self.baseline_value
        return self.baseline_value / self.value

    @property
    def available(self) -> bool:
        """False for a mode that could not be measured (value NaN, reason in ``unit``)."""
        return not math.isnan(self.value)

    def as_dict(self) -> dict[str, Any]:
        """Strict-JSON view: an unavailable value or baseline becomes ``null``."""
        data = asdict(self)
        for key in ("value", "baseline_value"):
            if isinstance(data[key], float) and math.isnan(data[key]):
                data[key] = None
        data["ratio"] = self.ratio
        return data


def cpu_count() -> int:
    """CPUs this process may run on (its affinity mask, not the machine's count)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def median_seconds(fn: Callable[[], object], repeat: int) -> float:
    """Median wall time of ``repeat`` calls of ``fn``."""
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def median_process_seconds(argv: Sequence[str], repeat: int) -> float:
    """Median wall time of running a whole process ``repeat`` times (interleave callers' modes)."""
    return median_seconds(lambda: subprocess.run(argv, check=True, capture_output=True), repeat)
