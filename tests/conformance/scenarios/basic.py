"""basic: one trial, two players and a referee (two classes, different spaces), configs everywhere,
``max_steps=3``, no requested id (the orchestrator makes a UUID)."""

from __future__ import annotations

import cog_settings
from _common import Run, main
from _components import ActorScript, EnvScript, register_actor, register_environment


def setup(run: Run) -> None:
    register_environment(run, "env", EnvScript())
    register_actor(run, "plays", ["player"], ActorScript())
    register_actor(run, "judges", ["referee"], ActorScript())


async def scenario(run: Run) -> None:
    classes = cog_settings.actor_classes
    params = run.params(
        [
            run.actor("p1", "player", "plays", config=classes.player.config_type(strength=1)),
            run.actor("p2", "player", "plays", config=classes.player.config_type(strength=2)),
            run.actor(
                "ref",
                "referee",
                "judges",
                config=classes.referee.config_type(strict=True, motto="m"),
            ),
        ],
        max_steps=3,
        env_config=cog_settings.environment.config_type(label="basic", variant=7),
        trial_config=cog_settings.trial.config_type(variant=1, steps=3, tag="basic"),
        properties={"scenario": "basic"},
    )
    trial_id = await run.controller.start_trial(trial_params=params)
    run.trace.name_trial(trial_id, "t1")
    run.record(
        "started", trial_id=trial_id, is_uuid=len(trial_id) == 36 and trial_id.count("-") == 4
    )
    await run.wait_ended([trial_id])
    infos = await run.controller.get_trial_info([trial_id])
    run.record(
        "info",
        infos=[
            {
                "trial_id": info.trial_id,
                "state": info.state.name,
                "env_name": info.env_name,
                "tick": info.tick_id,
                "properties": dict(info.properties),
            }
            for info in infos
        ],
    )


if __name__ == "__main__":
    main(setup, scenario)
