"""The trial workloads, their modes, and the figures reported for each."""

from __future__ import annotations

import math
import statistics
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from bench._measure import Measurement, cpu_count
from bench.trials._runner import (
    ChildError,
    Run,
    Workload,
    environment_ok,
    generate_settings,
    reference_python,
    run_one,
)

REFERENCE = "reference"
OURS_GRPC = "ours-grpc"
GRPC_FLOOR = "grpc-floor"
RAW = "raw"
OURS_INPROCESS = "ours-inprocess"
#: Every mode, in table order. ``reference`` is the baseline of the ratios.
MODES = (REFERENCE, OURS_GRPC, GRPC_FLOOR, RAW, OURS_INPROCESS)
#: Modes not measurable yet, with the reason printed in their rows.
NOT_YET: dict[str, str] = {}


@dataclass(frozen=True)
class Sizes:
    """How big each workload is."""

    single_ticks: int  # (a) one trial
    concurrent_trials: int  # (b)
    concurrent_ticks: int
    burst_trials: int  # (c) many short trials started together
    burst_ticks: int
    idle_trials: int  # (d) memory per idle trial
    repeat: int = 1  # runs per (workload, mode), modes interleaved; each figure's median is kept

    def workloads(self) -> dict[str, Workload]:
        return {
            "a": Workload("a", f"(a) 1x{self.single_ticks} ticks", 1, self.single_ticks),
            "b": Workload(
                "b",
                f"(b) {self.concurrent_trials}x{self.concurrent_ticks} ticks",
                self.concurrent_trials,
                self.concurrent_ticks,
            ),
            "c": Workload(
                "c",
                f"(c) {self.burst_trials}x{self.burst_ticks} ticks burst",
                self.burst_trials,
                self.burst_ticks,
            ),
            "d": Workload("d", f"(d) {self.idle_trials} idle trials", self.idle_trials, 2, True),
        }


FULL = Sizes(2000, 8, 2000, 100, 10, 1000, repeat=3)
QUICK = Sizes(200, 8, 200, 100, 10, 200)


@dataclass(frozen=True)
class _Figure:
    name: str
    unit: str
    higher_is_better: bool
    value: Callable[[Workload, Run], float | None]


def _per_tick_ms(seconds: float | None, w: Workload) -> float | None:
    return None if seconds is None else seconds * 1000 / w.total_ticks


def _total_cpu(w: Workload, r: Run) -> float | None:
    return _per_tick_ms(r.components_cpu_s + (r.orchestrator_cpu_s or 0.0), w)


def _mib(kib: int | None) -> float | None:
    return None if kib is None else kib / 1024


def _per_trial_kib(kib: float | None, w: Workload) -> float | None:
    return None if kib is None else kib / w.trials


_ORCH_CPU = _Figure(
    "orch CPU", "ms/tick", False, lambda w, r: _per_tick_ms(r.orchestrator_cpu_s, w)
)
_LOOP_CPU = _Figure(
    "orch loop CPU",
    "ms/tick",
    False,
    lambda w, r: _per_tick_ms(r.orchestrator_loop_cpu_s, w),
)
_COMP_CPU = _Figure("comp CPU", "ms/tick", False, lambda w, r: _per_tick_ms(r.components_cpu_s, w))
_TOTAL_CPU = _Figure("total CPU", "ms/tick", False, _total_cpu)
_ORCH_PEAK = _Figure("orch peak RSS", "MiB", False, lambda w, r: _mib(r.orchestrator_peak_kib))
_COMP_PEAK = _Figure("comp peak RSS", "MiB", False, lambda w, r: _mib(r.components_peak_kib))

_FIGURES: dict[str, list[_Figure]] = {
    "a": [
        _Figure("throughput", "ticks/s", True, lambda w, r: w.total_ticks / r.wall_s),
        _ORCH_CPU,
        _LOOP_CPU,
        _COMP_CPU,
        _TOTAL_CPU,
        _ORCH_PEAK,
        _COMP_PEAK,
    ],
    "c": [
        _Figure("throughput", "trials/s", True, lambda w, r: w.trials / r.wall_s),
        _Figure("wall", "s", False, lambda w, r: r.wall_s),
        _ORCH_CPU,
        _LOOP_CPU,
        _COMP_CPU,
        _TOTAL_CPU,
        _ORCH_PEAK,
    ],
    "d": [
        _Figure(
            "orch RSS/trial",
            "KiB",
            False,
            lambda w, r: _per_trial_kib(r.orchestrator_idle_delta_kib, w),
        ),
        _Figure(
            "comp RSS/trial",
            "KiB",
            False,
            lambda w, r: _per_trial_kib(r.components_idle_delta_kib, w),
        ),
        _Figure("start to idle", "s", False, lambda w, r: r.idle_after_s),
        _ORCH_PEAK,
        _COMP_PEAK,
    ],
}
_FIGURES["b"] = _FIGURES["a"]


#: A workload is CPU-bound when its reference runs keep this share of the machine's CPUs busy.
CPU_BOUND_SHARE = 0.85
CEILING = "ours-grpc ceiling"


def _ceiling(w: Workload, ok: dict[str, list[Run]], cpus: int) -> Measurement | None:
    """The best throughput ratio any components over gRPC could reach on our Orchestrator.

    Valid when the workload is CPU-bound (its reference runs keep ``CPU_BOUND_SHARE`` of the
    CPUs busy): throughput is then the CPUs divided by the CPU time per tick, so a mode's ratio
    to the reference is the ratio of their CPU per tick, orchestrator and components together.
    Components can't cost less than the grpc-floor mode's (the least Python grpc.aio needs);
    the Orchestrator can't cost less than its gRPC core threads (its Python at zero cost, which
    no Python orchestrator reaches). With ``G`` that gRPC core CPU, ``R`` the reference
    components' and ``F`` the floor components' (per tick, medians of this run), no
    components reach more than ``(G + R) / (G + F)``. ``None`` when a needed mode did not run,
    or for a workload that holds its trials idle (no throughput to bound).
    """
    if w.hold:
        return None
    reference, floor = ok.get(REFERENCE, []), ok.get(GRPC_FLOOR, [])
    grpc_core = [
        r.orchestrator_cpu_s - r.orchestrator_loop_cpu_s
        for r in floor
        if r.orchestrator_cpu_s is not None and r.orchestrator_loop_cpu_s is not None
    ]
    if not reference or not grpc_core:
        return None
    busy = statistics.median(
        (r.components_cpu_s + (r.orchestrator_cpu_s or 0.0)) / r.wall_s / cpus for r in reference
    )
    title = f"{w.title}: throughput ceiling"
    if busy < CPU_BOUND_SHARE:
        reason = f"not CPU-bound: the reference keeps {busy:.0%} of {cpus} CPU(s) busy"
        return _not_available(title, CEILING, reason)
    g = statistics.median(grpc_core)
    r = statistics.median(run.components_cpu_s for run in reference)
    f = statistics.median(run.components_cpu_s for run in floor)
    return Measurement(workload=title, mode=CEILING, value=(g + r) / (g + f), unit="x ref")


def _not_available(workload: str, mode: str, reason: str) -> Measurement:
    """A row saying the mode could not be measured, and why (never a made-up number)."""
    return Measurement(workload=workload, mode=mode, value=math.nan, unit=f"n/a ({reason})")


def _median(figure: _Figure, w: Workload, runs: list[Run]) -> float | None:
    values = [v for v in (figure.value(w, r) for r in runs) if v is not None]
    return statistics.median(values) if values else None


def _measurements(w: Workload, runs: dict[str, list[Run]]) -> list[Measurement]:
    """Each figure's median over the successful runs of each mode (n/a if none succeeded)."""
    out: list[Measurement] = []
    ok = {mode: [r for r in mode_runs if r.error is None] for mode, mode_runs in runs.items()}
    base = ok.get(REFERENCE, [])
    base_ok = bool(base)
    for mode in MODES:
        if mode in NOT_YET:
            out.append(_not_available(w.title, mode, NOT_YET[mode]))
            continue
        failed = [r.error for r in runs.get(mode, []) if r.error is not None]
        if not ok.get(mode):
            out.append(_not_available(w.title, mode, failed[0] if failed else "not run"))
            continue
        for error in failed:
            print(f"  {w.title} {mode}: a run failed, left out: {error}", file=sys.stderr)
        for figure in _FIGURES[w.key]:
            value = _median(figure, w, ok[mode])
            if value is None:
                continue  # e.g. no orchestrator in the raw mode
            baseline = None
            if mode != REFERENCE and base_ok:
                baseline = _median(figure, w, base)
            out.append(
                Measurement(
                    workload=f"{w.title}: {figure.name}",
                    mode=mode,
                    value=value,
                    unit=figure.unit,
                    baseline_mode=REFERENCE if baseline is not None else None,
                    baseline_value=baseline,
                    higher_is_better=figure.higher_is_better,
                )
            )
    ceiling = _ceiling(w, ok, cpu_count())
    if ceiling is not None:
        out.append(ceiling)
    return out


def run_suite(sizes: Sizes, workloads: Sequence[str] = ("a", "b", "c", "d")) -> list[Measurement]:
    """Measure ``workloads`` (keys ``a``..``d``) of ``sizes`` in every mode, side by side."""
    known = sizes.workloads()
    unknown = [k for k in workloads if k not in known]
    if unknown:
        raise ValueError(f"unknown workload(s) {unknown}; known: {sorted(known)}")
    why_not = environment_ok()
    if why_not is not None:
        return [_not_available(known[k].title, m, why_not) for k in workloads for m in MODES]
    reference = reference_python()
    results: list[Measurement] = []
    with tempfile.TemporaryDirectory(prefix="bench-trials-") as tmp:
        try:
            settings = generate_settings(Path(tmp), reference)
        except ChildError as error:
            return [_not_available(known[k].title, m, str(error)) for k in workloads for m in MODES]
        interpreters = {
            REFERENCE: (reference, settings["reference"]),
            OURS_GRPC: (sys.executable, settings["ours"]),
            GRPC_FLOOR: (sys.executable, settings["ours"]),
            RAW: (sys.executable, settings["ours"]),
            OURS_INPROCESS: (sys.executable, settings["ours"]),
        }
        for key in workloads:
            w = known[key]
            runs: dict[str, list[Run]] = {mode: [] for mode in interpreters}
            for attempt in range(sizes.repeat):
                for mode, (python, folder) in interpreters.items():
                    print(
                        f"  trials {w.title}: {mode} ({attempt + 1}/{sizes.repeat}) ...",
                        file=sys.stderr,
                        flush=True,
                    )
                    runs[mode].append(run_one(w, mode, python, folder))
            results.extend(_measurements(w, runs))
    return results


def run(quick: bool) -> list[Measurement]:
    """The ``python -m bench`` entry: every workload in every mode (``quick``: smaller sizes)."""
    return run_suite(QUICK if quick else FULL)
