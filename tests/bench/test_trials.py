"""Smoke test of the trial benchmark suite (tiny sizes) and of how it reports."""

from __future__ import annotations

import math
import os
import sys
from pathlib import Path

import pytest

from bench.__main__ import _table
from bench.trials import MODES, QUICK, Sizes, run_suite
from bench.trials._procfs import cpu_seconds, peak_rss_kib, rss_kib
from bench.trials._runner import Run, generate_settings, reference_python, run_one
from bench.trials._suite import CEILING, GRPC_FLOOR, _ceiling, _measurements

TINY = Sizes(
    single_ticks=20,
    concurrent_trials=2,
    concurrent_ticks=10,
    burst_trials=4,
    burst_ticks=3,
    idle_trials=20,
)


def test_procfs_reads_this_process() -> None:
    pid = os.getpid()
    assert cpu_seconds(pid) > 0
    assert 0 < rss_kib(pid) <= peak_rss_kib(pid)


def test_failed_run_is_reported_not_available_with_its_reason() -> None:
    workload = TINY.workloads()["a"]
    ok = Run("reference", wall_s=0.5, orchestrator_cpu_s=0.1, components_cpu_s=0.2)
    ok.orchestrator_peak_kib, ok.components_peak_kib = 50_000, 40_000
    failed = Run("ours-grpc", error="components: boom")
    raw = Run("raw", wall_s=0.01, components_cpu_s=0.01, components_peak_kib=30_000)
    rows = _measurements(workload, {"reference": [ok], "ours-grpc": [failed], "raw": [raw]})
    ours = [m for m in rows if m.mode == "ours-grpc"]
    assert len(ours) == 1 and math.isnan(ours[0].value) and "boom" in ours[0].unit
    throughput = {m.mode: m for m in rows if m.workload.endswith("throughput")}
    assert throughput["reference"].value == pytest.approx(40.0)  # 20 ticks in 0.5 s
    assert throughput["raw"].ratio == pytest.approx(50.0)
    assert not any(m.mode == "raw" and "orch" in m.workload for m in rows)


def test_failed_repeat_is_left_out_of_the_median() -> None:
    workload = TINY.workloads()["a"]
    fast = Run("reference", wall_s=0.5, orchestrator_cpu_s=0.1, components_cpu_s=0.2)
    slow = Run("reference", wall_s=1.0, orchestrator_cpu_s=0.1, components_cpu_s=0.2)
    failed = Run("reference", error="components: flaky")
    rows = _measurements(workload, {"reference": [fast, failed, slow], "ours-grpc": [], "raw": []})
    throughput = [m for m in rows if m.mode == "reference" and m.workload.endswith("throughput")]
    assert [m.value for m in throughput] == [pytest.approx(30.0)]  # median of 40 and 20 ticks/s
    assert {m.unit for m in rows if m.mode in ("ours-grpc", "raw")} == {"n/a (not run)"}


def _cpu_bound_runs() -> dict[str, list[Run]]:
    """Two CPUs kept busy 90% of 1 s by the reference: components 1.0 s, orchestrator 0.8 s;
    the floor: components 0.5 s, orchestrator 0.75 s of which 0.45 s its event loop's thread
    (so 0.3 s of gRPC core threads)."""
    reference = Run("reference", wall_s=1.0, orchestrator_cpu_s=0.8, components_cpu_s=1.0)
    reference.orchestrator_loop_cpu_s = 0.5
    floor = Run(GRPC_FLOOR, wall_s=0.7, orchestrator_cpu_s=0.75, components_cpu_s=0.5)
    floor.orchestrator_loop_cpu_s = 0.45
    return {"reference": [reference], GRPC_FLOOR: [floor]}


def test_ceiling_of_a_cpu_bound_workload() -> None:
    workload = TINY.workloads()["b"]
    ceiling = _ceiling(workload, _cpu_bound_runs(), cpus=2)
    assert ceiling is not None and ceiling.mode == CEILING
    assert ceiling.value == pytest.approx((0.3 + 1.0) / (0.3 + 0.5))
    assert ceiling.workload.endswith("throughput ceiling") and ceiling.unit == "x ref"


def test_no_ceiling_when_not_cpu_bound_or_a_mode_is_missing() -> None:
    workload = TINY.workloads()["a"]
    four_cpus = _ceiling(workload, _cpu_bound_runs(), cpus=4)  # 1.8 s of CPU in 1 s: 45% of 4
    assert four_cpus is not None and math.isnan(four_cpus.value)
    assert "not CPU-bound" in four_cpus.unit and "45% of 4" in four_cpus.unit
    assert _ceiling(workload, {"reference": _cpu_bound_runs()["reference"]}, cpus=2) is None
    idle = TINY.workloads()["d"]  # trials held idle: no throughput to bound
    assert idle.hold and _ceiling(idle, _cpu_bound_runs(), cpus=2) is None


@pytest.mark.interop
@pytest.mark.timeout(180)
def test_suite_measures_every_mode_with_positive_numbers() -> None:
    results = run_suite(TINY, workloads=("a", "d"))
    table = _table(results)
    for mode in MODES:
        assert mode in table, f"mode {mode} missing from\n{table}"
    # The ceiling is derived, and only for CPU-bound workloads: (a) has a row, n/a or a ratio;
    # (d), whose trials are held idle, has none.
    ceilings = [m for m in results if m.mode == CEILING]
    assert [m.workload for m in ceilings] == ["(a) 1x20 ticks: throughput ceiling"], table
    assert ceilings[0].value > 0 or "not CPU-bound" in ceilings[0].unit, table
    results = [m for m in results if m.mode != CEILING]
    measured = [m for m in results if not m.unit.startswith("n/a")]
    not_available = {m.mode for m in results if m.unit.startswith("n/a")}
    assert not not_available, table
    for mode in ("reference", "ours-grpc", "grpc-floor", "raw", "ours-inprocess"):
        assert any(m.mode == mode for m in measured), table
    for m in measured:
        assert m.value > 0, f"{m.workload} {m.mode}: {m.value}\n{table}"
    ratios = [m for m in measured if m.mode != "reference" and m.baseline_mode == "reference"]
    assert ratios and all(m.ratio is not None and m.ratio > 0 for m in ratios), table


@pytest.mark.interop
@pytest.mark.timeout(120)
def test_grpc_floor_plays_the_quick_single_trial(tmp_path: Path) -> None:
    settings = generate_settings(tmp_path, reference_python())["ours"]
    workload = QUICK.workloads()["a"]
    run = run_one(workload, GRPC_FLOOR, sys.executable, settings)
    assert run.error is None, run.error  # the floor's own checks: every tick played, in order
    assert run.orchestrator_cpu_s is not None and run.orchestrator_cpu_s > 0
    rows = _measurements(workload, {GRPC_FLOOR: [run]})
    throughput = [m for m in rows if m.mode == GRPC_FLOOR and m.workload.endswith("throughput")]
    assert len(throughput) == 1 and throughput[0].unit == "ticks/s", rows
    assert throughput[0].value == pytest.approx(workload.total_ticks / run.wall_s)
    assert throughput[0].value > 0
