"""Parameter attributes that must not type-check: each error is pinned with its mypy code."""

from __future__ import annotations

from typing import Any

import cogment


def trial(params: cogment.TrialParameters[Any, Any]) -> None:
    params.max_steps = "10"  # type: ignore[assignment]
    params.environment_name = 3  # type: ignore[assignment]
    name: int = params.environment_endpoint  # type: ignore[assignment]
    steps: str = params.nb_buffered_ticks  # type: ignore[assignment]
    params.environment_config_serialized = "config"  # type: ignore[assignment]
    print(name, steps)


def actor(actor: cogment.ActorParameters[Any, Any]) -> None:
    actor.optional = "yes"  # type: ignore[assignment]
    actor.response_timeout = "1"  # type: ignore[assignment]
    timeout: str = actor.initial_connection_timeout  # type: ignore[assignment]
    serialized: bytes = actor.config_serialized  # type: ignore[assignment]
    print(timeout, serialized)
