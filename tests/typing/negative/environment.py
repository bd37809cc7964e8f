"""Environment code that must not type-check: each error is pinned with its mypy code."""

from __future__ import annotations

import cog_settings
from cog_settings.match_pb2 import (
    EnvConfig,
    Observation,
    PlayerAction,
    PlayerConfig,
    RefereeAction,
)
from typing_extensions import assert_type


async def environment(session: cog_settings.EnvironmentSession) -> None:
    session.start([("*", PlayerConfig())])  # type: ignore[list-item]
    async for event in session.all_events():
        for received in event.actions:
            move: PlayerAction | None = received.action  # type: ignore[assignment]
            call = session.player_action(received)
            assert_type(call, RefereeAction | None)  # type: ignore[assert-type]
            del move
        session.produce_observations([("*", EnvConfig())])  # type: ignore[list-item]
        session.produce_observations([("*", Observation(my_scor=1))])  # type: ignore[call-arg]
    print(session.config.target_score + 1)  # type: ignore[union-attr]
    if session.config is not None:
        target: str = session.config.target_score  # type: ignore[assignment]
        del target
    session.end([("*", PlayerAction())])  # type: ignore[list-item]
