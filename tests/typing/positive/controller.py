"""A controller starting trials with typed configs and parameters."""

from __future__ import annotations

import cog_settings
from cog_settings.match_pb2 import EnvConfig, PlayerAction, PlayerConfig, TrialConfig
from typing_extensions import assert_type

import cogment


async def run(context: cogment.Context) -> str:
    controller = await context.get_controller(cogment.Endpoint("grpc://127.0.0.1:9000"))
    first = await cog_settings.start_trial(controller, trial_config=TrialConfig(rounds=3))
    player = cog_settings.player_parameters(
        name="alice",
        config=PlayerConfig(style="aggressive"),
        default_action=PlayerAction(),
        implementation="player",
    )
    assert_type(player, cogment.ActorParameters[PlayerConfig, PlayerAction])
    assert_type(player.config, PlayerConfig | None)
    referee = cog_settings.referee_parameters(name="ref", implementation="referee")
    params = cog_settings.trial_parameters(
        config=TrialConfig(rounds=5),
        environment_config=EnvConfig(target_score=3),
        actors=[player, referee],
        environment_implementation="env",
        max_steps=100,
    )
    assert_type(params, cogment.TrialParameters[TrialConfig, EnvConfig])
    assert_type(params.config, TrialConfig | None)
    assert_type(params.environment_config, EnvConfig | None)
    second = await cog_settings.start_trial(controller, trial_params=params)
    async for info in controller.watch_trials():
        if info.trial_id in (first, second):
            break
    return second
