"""Actor implementations annotated with the generated sessions."""

from __future__ import annotations

from typing import Any

import cog_settings
from cog_settings.match_pb2 import (
    PAPER,
    Observation,
    PlayerAction,
    PlayerConfig,
    RefereeAction,
    RefereeObservation,
)
from typing_extensions import assert_type

import cogment


async def player(session: cog_settings.PlayerSession) -> None:
    assert_type(session.config, PlayerConfig | None)
    style: str = session.config.style if session.config is not None else "default"
    session.start()
    async for event in session.all_events():
        assert_type(event, cogment.RecvEvent[Observation, PlayerAction])
        if event.observation is not None:
            observation = event.observation.observation
            assert_type(observation, Observation)
            ahead: bool = observation.my_score > observation.their_score
            session.do_action(PlayerAction(move=PAPER if ahead else observation.last_move))
        for reward in event.rewards:
            print(f"reward {reward.value:.1f}")
        session.do_action(None)
    del style


async def referee(session: cog_settings.RefereeSession) -> None:
    assert_type(session.config, None)
    session.start()
    async for event in session.all_events():
        if event.observation is not None:
            assert_type(event.observation.observation, RefereeObservation)
            scores = list(event.observation.observation.scores)
            session.do_action(RefereeAction(foul=len(scores) > 2, reason="too many"))


async def any_class(session: cogment.ActorSession[Any, Any, Any]) -> None:
    session.start()


async def main() -> None:
    context = cogment.Context(cog_settings=cog_settings, user_id="typing")
    classes = cog_settings.actor_classes
    assert_type(classes.player, cogment.ActorClass[cog_settings.PlayerSession])
    assert_type(classes["referee"], cogment.ActorClass[cog_settings.RefereeSession])
    assert_type(classes.player.session_type, type[cog_settings.PlayerSession])
    context.register_actor(player, "player", [classes.player])
    context.register_actor(referee, "referee", [classes.referee])
    context.register_actor(any_class, "both", [classes.player, classes.referee])
    context.register_actor(any_class, "by-name", ["player", "referee"])
    await context.join_trial("trial", actor_class=classes.player)
