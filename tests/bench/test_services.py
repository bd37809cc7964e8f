"""Smoke test of the services benchmark suite (``python -m bench services --quick``)."""

from __future__ import annotations

import pytest

from bench.__main__ import SUITES
from bench.services import run

pytestmark = pytest.mark.timeout(300)


def test_quick_suite_measures_every_workload_against_its_baseline() -> None:
    assert "services" in SUITES
    results = run(quick=True)
    by_key = {(m.workload, m.mode): m for m in results}
    assert len(by_key) == len(results) == 10
    for m in results:
        assert m.available and m.value > 0, m
        if m.baseline_mode is not None:
            assert (m.workload, m.baseline_mode) in by_key, m
            assert m.ratio is not None and m.ratio > 0
    ingest = [m for m in results if m.workload.startswith("datastore ingest")]
    assert {m.mode for m in ingest} == {"no datalog", "memory", "sqlite (--file_storage)"}
    assert all(m.unit == "samples/s" for m in ingest)
    registry = [m for m in results if m.workload.startswith("model registry")]
    assert {m.unit for m in registry} == {"MiB/s"} and len(registry) == 4
