"""Prometheus metrics of the Model Registry (in a per-server registry, never the global one)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge

from cogment_services.model_registry._registry import ModelRegistryState

__all__ = ["RegistryMetrics"]


class RegistryMetrics:
    """Counters updated by the servicer, gauges read from the state when scraped."""

    def __init__(
        self, state: ModelRegistryState, registry: CollectorRegistry | None = None
    ) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        self.iterations_created = Counter(
            "model_registry_iterations_created",
            "Iterations created, by kind (stored or published)",
            ["kind"],
            registry=self.registry,
        )
        self.received_bytes = Counter(
            "model_registry_received_bytes",
            "Bytes of iteration data received",
            registry=self.registry,
        )
        self.sent_bytes = Counter(
            "model_registry_sent_bytes",
            "Bytes of iteration data sent",
            registry=self.registry,
        )
        models = Gauge("model_registry_models", "Number of models", registry=self.registry)
        models.set_function(lambda: state.model_count)
        transient = Gauge(
            "model_registry_transient_iterations",
            "Published iterations currently cached",
            registry=self.registry,
        )
        transient.set_function(lambda: state.transient_count)
        streams = Gauge(
            "model_registry_update_streams",
            "Open VersionUpdate streams",
            registry=self.registry,
        )
        streams.set_function(lambda: state.update_stream_count)
