# mypy: allow-subclassing-any
"""optional actors: one that never acts with a default action (the env sees it ACTIVE with the
default, the datalog DEFAULT), one that never acts without (UNAVAILABLE), one that cannot be
reached (disengaged, UNAVAILABLE every tick); the required actor acts normally. Then a required
actor that never acts (with a default action): the trial is hard-ended at the first gathering."""

from __future__ import annotations

import cog_settings
from _common import Run, main
from _components import (
    ActorScript,
    EnvScript,
    register_actor,
    register_datalog,
    register_environment,
)


class Silent(ActorScript):
    acts = False


def setup(run: Run) -> None:
    register_environment(run, "env", EnvScript())
    register_actor(run, "plays", ["player"], ActorScript())
    register_actor(run, "silent", ["player", "referee"], Silent())
    register_datalog(run)


async def scenario(run: Run) -> None:
    classes = cog_settings.actor_classes
    actors = [
        run.actor("p1", "player", "plays"),
        run.actor(
            "p2",
            "player",
            "silent",
            optional=True,
            response_timeout=0.3,
            default_action=classes.player.action_space(move=-1, said="default"),
        ),
        run.actor("ref", "referee", "silent", optional=True, response_timeout=0.3),
        run.actor(
            "ghost",
            "player",
            "plays",
            endpoint="grpc://127.0.0.1:1",
            optional=True,
            initial_connection_timeout=2.0,
        ),
    ]
    trial_id = await run.start(run.params(actors, max_steps=2, datalog=True), "t1")
    await run.wait_ended([trial_id])

    # A required actor that does not act in time hard-ends the trial, default action or not.
    actors = [
        run.actor("p1", "player", "plays"),
        run.actor(
            "p2",
            "player",
            "silent",
            response_timeout=0.3,
            default_action=classes.player.action_space(move=-1),
        ),
    ]
    trial_id = await run.start(run.params(actors, max_steps=2), "required")
    await run.wait_ended([trial_id])
    [info] = await run.controller.get_trial_info([trial_id])
    run.record("required_ended", state=info.state.name)


if __name__ == "__main__":
    main(setup, scenario)
