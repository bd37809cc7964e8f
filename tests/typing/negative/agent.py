"""Actor code that must not type-check: each error is pinned with its mypy code."""

from __future__ import annotations

import cog_settings
from cog_settings.match_pb2 import (
    Observation,
    PlayerAction,
    RefereeAction,
    RefereeObservation,
)

import cogment


async def player(session: cog_settings.PlayerSession) -> None:
    session.start()
    session.do_action(RefereeAction(foul=True))  # type: ignore[arg-type]
    session.do_action(Observation())  # type: ignore[arg-type]
    async for event in session.all_events():
        if event.observation is not None:
            observation = event.observation.observation
            print(observation.my_scor)  # type: ignore[attr-defined]
            wrong: RefereeObservation = observation  # type: ignore[assignment]
            del wrong
    print(session.config.style)  # type: ignore[union-attr]
    if session.config is not None:
        style: int = session.config.style  # type: ignore[assignment]
        print(session.config.seed)  # type: ignore[attr-defined]
        del style


async def referee(session: cog_settings.RefereeSession) -> None:
    session.start()
    session.do_action(PlayerAction())  # type: ignore[arg-type]
    print(session.config.strict)  # type: ignore[attr-defined]


def register(context: cogment.Context) -> None:
    classes = cog_settings.actor_classes
    context.register_actor(player, "p", [classes.referee])  # type: ignore[arg-type]
    context.register_actor(referee, "r", [classes.player, classes.referee])  # type: ignore[list-item]
