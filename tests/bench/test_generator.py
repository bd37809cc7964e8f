"""The generator suite times ours and the published generator on the RPS spec, side by side."""

from __future__ import annotations

import pytest

from bench.__main__ import SUITES
from bench.generator import REFERENCE, run

pytestmark = [pytest.mark.interop, pytest.mark.timeout(300)]


def test_quick_suite_times_both_generators_against_the_reference() -> None:
    assert "generator" in SUITES
    results = run(quick=True)
    by_mode = {m.mode: m for m in results}
    assert set(by_mode) == {"ours (legacy module)", "ours (typed package)", REFERENCE}
    for m in results:
        assert m.available and m.value > 0 and m.unit == "ms", m
        if m.mode != REFERENCE:
            assert m.baseline_mode == REFERENCE and m.ratio is not None and m.ratio > 0
