"""50 concurrent trials from one controller, served by one context (traces sorted by trial)."""

from __future__ import annotations

import asyncio

import cog_settings
from _common import Run, main
from _components import ActorScript, EnvScript, register_actor, register_environment

TRIALS = 50


def setup(run: Run) -> None:
    register_environment(run, "env", EnvScript())
    register_actor(run, "plays", ["player"], ActorScript())
    register_actor(run, "judges", ["referee"], ActorScript())


async def scenario(run: Run) -> None:
    async def one(index: int) -> str:
        actors = [
            run.actor(
                "p1",
                "player",
                "plays",
                config=cog_settings.actor_classes.player.config_type(strength=index),
            ),
            run.actor("ref", "referee", "judges"),
        ]
        env_config = cog_settings.environment.config_type(label=f"c{index:02d}", variant=index)
        params = run.params(actors, max_steps=2, env_config=env_config)
        trial_id: str = await run.start(params, f"c{index:02d}")
        return trial_id

    trial_ids = await asyncio.gather(*(one(index) for index in range(TRIALS)))
    await run.wait_ended(list(trial_ids), timeout=30)
    infos = await run.controller.get_trial_info(list(trial_ids))
    # Ended trials may already be garbage-collected by later starts: only the states are kept.
    run.record("states", states=sorted({info.state.name for info in infos}))


if __name__ == "__main__":
    main(setup, scenario)
