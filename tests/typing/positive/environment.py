"""An environment implementation annotated with the generated session."""

from __future__ import annotations

import cog_settings
from cog_settings.match_pb2 import (
    EnvConfig,
    Observation,
    PlayerAction,
    RefereeAction,
    RefereeObservation,
)
from typing_extensions import assert_type

import cogment


async def environment(session: cog_settings.EnvironmentSession) -> None:
    assert_type(session.config, EnvConfig | None)
    target = session.config.target_score if session.config is not None else 3
    session.start([("player.*", Observation()), ("referee.*", RefereeObservation())])
    async for event in session.all_events():
        assert_type(
            event, cogment.RecvEvent[Observation | RefereeObservation, PlayerAction | RefereeAction]
        )
        for received in event.actions:
            assert_type(received.action, PlayerAction | RefereeAction | None)
            actor = session.get_active_actors()[received.actor_index]
            if actor.actor_class_name == "player":
                move = session.player_action(received)
                assert_type(move, PlayerAction | None)
                if move is not None:
                    session.produce_observations(
                        [(actor.actor_name, Observation(last_move=move.move))]
                    )
            else:
                call = session.referee_action(received)
                assert_type(call, RefereeAction | None)
                if call is not None and call.foul:
                    session.end([("*", Observation(my_score=target))])
        if event.type == cogment.EventType.ENDING:
            session.end()


def register(context: cogment.Context) -> None:
    context.register_environment(environment, "env")
    observation: cog_settings.EnvironmentObservation = Observation()
    action: cog_settings.EnvironmentAction = RefereeAction()
    del observation, action
    assert_type(cog_settings.environment.config_type, type[EnvConfig])
    assert_type(cog_settings.environment.session_type, type[cog_settings.EnvironmentSession])
