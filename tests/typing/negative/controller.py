"""Controller and hook code that must not type-check: each error is pinned with its mypy code."""

from __future__ import annotations

import cog_settings
from cog_settings.match_pb2 import EnvConfig, PlayerConfig, RefereeAction, TrialConfig

import cogment


async def run(controller: cogment.Controller) -> None:
    await cog_settings.start_trial(controller, trial_config=EnvConfig())  # type: ignore[arg-type]
    cog_settings.trial_parameters(config=PlayerConfig())  # type: ignore[arg-type]
    cog_settings.trial_parameters(environment_config=TrialConfig())  # type: ignore[arg-type]
    cog_settings.player_parameters(config=EnvConfig())  # type: ignore[arg-type]
    cog_settings.player_parameters(default_action=RefereeAction())  # type: ignore[arg-type]
    cog_settings.referee_parameters(config=PlayerConfig())  # type: ignore[call-arg]


async def prehook(session: cog_settings.PrehookSession) -> None:
    config = session.trial_parameters.config
    if config is not None:
        print(config.target_score)  # type: ignore[attr-defined]
    session.trial_parameters.config = EnvConfig()  # type: ignore[assignment]
