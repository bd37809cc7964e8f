"""Prometheus metrics of one orchestrator (per-orchestrator registry, never the global one)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Summary

__all__ = ["OrchestratorMetrics"]


class OrchestratorMetrics:
    """Trials started/ended, ticks, tick and trial durations, garbage collection duration."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        self.trials_started = Counter(
            "orchestrator_trials_started", "Trials started", registry=self.registry
        )
        self.trials_ended = Counter(
            "orchestrator_trials_ended", "Trials ended", registry=self.registry
        )
        self.ticks = Counter(
            "orchestrator_ticks", "Ticks (observation sets)", registry=self.registry
        )
        self.trials_active = Gauge(
            "orchestrator_trials_active", "Trials not yet ended", registry=self.registry
        )
        self.trial_duration = Summary(
            "orchestrator_trial_duration_seconds", "Trial duration", registry=self.registry
        )
        self.tick_duration = Summary(
            "orchestrator_tick_duration_seconds",
            "Time between two observation sets of a trial",
            registry=self.registry,
        )
        self.gc_duration = Summary(
            "orchestrator_garbage_collection_duration_seconds",
            "Garbage collection duration",
            registry=self.registry,
        )
