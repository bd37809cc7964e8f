"""A pre-trial hook editing typed trial parameters."""

from __future__ import annotations

import cog_settings
from cog_settings.match_pb2 import EnvConfig, TrialConfig
from typing_extensions import assert_type

import cogment


async def prehook(session: cog_settings.PrehookSession) -> None:
    params = session.trial_parameters
    config = params.config
    assert_type(config, TrialConfig | None)
    rounds = config.rounds if config is not None else 3
    params.environment_config = EnvConfig(target_score=rounds)
    params.actors = [
        cog_settings.player_parameters(name="a", implementation="player"),
        cog_settings.player_parameters(name="b", implementation="player"),
    ]
    assert_type(cog_settings.trial.config_type, type[TrialConfig])


def register(context: cogment.Context) -> None:
    context.register_pre_trial_hook(prehook)
