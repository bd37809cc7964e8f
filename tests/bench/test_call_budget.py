"""Python calls per tick of our own code, counted by cProfile: a budget that a change must keep.

Counts, not times: the same workload makes the same calls on any machine, loaded or not, so a
regression in the runtime's per-message path (an extra helper, a coroutine frame, a lookup)
fails here instead of hiding in the benchmarks' noise. The counts were the same to 0.2 call per
tick over repeated runs and on Python 3.10, 3.11 and 3.12; each budget is today's count plus
less than one call per message (three messages per tick), so one more call per message fails.
Lower a budget when an optimization lowers the count. Only our layers are counted: asyncio's
and gRPC's own Python differ between versions.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from bench.trials._runner import Workload, generate_settings, run_one
from bench.trials.profiler import layer_totals

TICKS = 300
SDK = "the SDK runtime (cogment/)"
SERVICES = "our services (cogment_services/)"

#: Over gRPC, per tick of the counting game (one observation set, two actions), in the
#: components' process (environment and both actors) and in the Orchestrator's.
GRPC_COMPONENTS_BUDGET = 56.0  # measured 54.2
GRPC_ORCHESTRATOR_BUDGET = 40.0  # measured 38.1-38.3 (its own code 25.8, the stream writer 12.4)
#: In-process, the whole trial in one process (the Orchestrator's part included).
INPROCESS_BUDGET = 92.0  # measured 90.0-90.2 (runtime 64.4, Orchestrator 25.7)


def _calls_per_tick(stats: Path, *layers: str) -> float:
    totals = layer_totals(stats)
    return sum(totals.get(layer, (0, 0.0))[0] for layer in layers) / TICKS


def _check(calls: float, budget: float, where: str) -> None:
    assert budget / 2 < calls, f"{where}: only {calls:.1f} calls per tick counted"
    assert calls <= budget, (
        f"{where}: {calls:.1f} Python calls per tick, over the budget of {budget}: a change "
        "added work to the per-message path (python -m bench.trials.profiler --components "
        "--sdk ours shows where)"
    )


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return generate_settings(tmp_path_factory.mktemp("budget"), None)["ours"]


@pytest.mark.timeout(120)
def test_grpc_calls_per_tick(settings: Path, tmp_path: Path) -> None:
    workload = Workload("a", "budget", 1, TICKS)
    components, orchestrator = tmp_path / "components.pstats", tmp_path / "orchestrator.pstats"
    run = run_one(
        workload,
        "ours-grpc",
        sys.executable,
        settings,
        profile_to=orchestrator,
        components_profile_to=components,
    )
    assert run.error is None, run.error
    _check(_calls_per_tick(components, SDK), GRPC_COMPONENTS_BUDGET, "components over gRPC")
    _check(
        _calls_per_tick(orchestrator, SERVICES, SDK),
        GRPC_ORCHESTRATOR_BUDGET,
        "Orchestrator over gRPC",
    )


@pytest.mark.timeout(120)
def test_inprocess_calls_per_tick(settings: Path, tmp_path: Path) -> None:
    workload = Workload("a", "budget", 1, TICKS)
    stats = tmp_path / "inprocess.pstats"
    run = run_one(workload, "ours-inprocess", sys.executable, settings, components_profile_to=stats)
    assert run.error is None, run.error
    _check(_calls_per_tick(stats, SDK, SERVICES), INPROCESS_BUDGET, "in-process trial")
