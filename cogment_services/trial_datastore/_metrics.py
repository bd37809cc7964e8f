"""Prometheus metrics of the Trial Datastore (``--prometheus_port``), read from its store."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from cogment_services.trial_datastore._store import TrialStore

__all__ = ["StoreCollector", "metrics_registry"]


class StoreCollector(Collector):
    """Exposes the current figures of the store returned by ``get_store`` (None: nothing)."""

    def __init__(self, get_store: Callable[[], TrialStore | None]) -> None:
        self._get_store = get_store

    def collect(self) -> Iterator[Metric]:
        store = self._get_store()
        if store is None:
            return
        yield GaugeMetricFamily(
            "trial_datastore_trials", "Trials in the datastore", value=len(store)
        )
        yield GaugeMetricFamily(
            "trial_datastore_live_trials",
            "Trials being logged by an Orchestrator",
            value=store.live_count,
        )
        yield GaugeMetricFamily(
            "trial_datastore_stored_bytes",
            "Bytes of parameters and samples held (memory storage bound)",
            value=store.stored_size,
        )
        yield CounterMetricFamily(
            "trial_datastore_samples_stored",
            "Samples stored since the start",
            value=store.samples_stored,
        )
        yield CounterMetricFamily(
            "trial_datastore_evicted_trials",
            "Trials evicted from the memory storage since the start",
            value=store.evicted_count,
        )


def metrics_registry(get_store: Callable[[], TrialStore | None]) -> CollectorRegistry:
    """A registry with the datastore's metrics (never the global one)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(StoreCollector(get_store))
    return registry
