"""The benchmark report: ratios against the same run's baseline, strict JSON."""

from __future__ import annotations

import json
import math

from bench._measure import Measurement


def test_ratio_follows_the_direction_of_the_unit() -> None:
    faster = Measurement("w", "ours", 300.0, "ticks/s", "reference", 100.0)
    assert faster.ratio == 3.0
    quicker = Measurement("w", "ours", 2.0, "ms", "reference", 8.0, higher_is_better=False)
    assert quicker.ratio == 4.0


def test_unavailable_mode_has_no_ratio_and_serializes_as_null() -> None:
    missing = Measurement("w", "ours", math.nan, "n/a (not built)", "reference", 100.0)
    assert not missing.available
    assert missing.ratio is None
    data = json.loads(json.dumps(missing.as_dict(), allow_nan=False))
    assert data["value"] is None and data["ratio"] is None


def test_unavailable_baseline_gives_no_ratio() -> None:
    orphan = Measurement("w", "ours", 5.0, "ticks/s", "reference", math.nan)
    assert orphan.ratio is None
    assert json.loads(json.dumps(orphan.as_dict(), allow_nan=False))["baseline_value"] is None
