# mypy: allow-subclassing-any
"""datalog: every sample of a trial with rewards, messages and a past-tick reward (an out-of-sync
sample), as the datalog session receives them; then the samples of a trial the environment ends
and of a soft-terminated one (their special events)."""

from __future__ import annotations

from typing import Any

import cog_settings
from _common import Run, main, text
from _components import (
    ActorScript,
    EnvScript,
    register_actor,
    register_datalog,
    register_environment,
)


class LoggedEnv(EnvScript):
    async def on_actions(self, run: Run, session: Any, tick: int, event: Any) -> bool:
        if tick == 0:
            session.add_reward(1.5, 1.0, ["*"])
        elif tick == 1:
            session.send_message(text("env->p1"), ["p1"])
        elif tick == 2:
            session.add_reward(4.0, 2.0, ["p1"], tick_id=0)  # past: an out-of-sync sample
        return True


class SelfEnding(EnvScript):
    end_after = 1


class SoftTerminated(EnvScript):
    async def on_actions(self, run: Run, session: Any, tick: int, event: Any) -> bool:
        if tick == 1:
            await run.controller.terminate_trial([session.get_trial_id()], hard=False)
        return True


class LoggedPlayer(ActorScript):
    async def on_observation(self, run: Run, session: Any, tick: int, event: Any) -> None:
        if tick == 1:
            session.add_reward(2.0, 0.5, ["referee.*"], user_data=text("well judged"))
            session.send_message(text("p1->env"), [session.env_name])


def setup(run: Run) -> None:
    register_environment(run, "env", LoggedEnv())
    register_environment(run, "self-ending", SelfEnding())
    register_environment(run, "soft", SoftTerminated())
    register_actor(run, "plays", ["player"], LoggedPlayer())
    register_actor(run, "judges", ["referee"], ActorScript())
    register_datalog(run)


async def scenario(run: Run) -> None:
    actors = [
        run.actor(
            "p1",
            "player",
            "plays",
            config=cog_settings.actor_classes.player.config_type(strength=4),
        ),
        run.actor("ref", "referee", "judges"),
    ]
    params = run.params(
        actors,
        max_steps=2,
        datalog=True,
        nb_buffered_ticks=2,
        trial_config=cog_settings.trial.config_type(tag="logged"),
        properties={"logged": "yes"},
    )
    trial_id = await run.start(params, "t1")
    await run.wait_ended([trial_id])
    # Excluded fields are cleared in every sample.
    params = run.params(
        [run.actor("p1", "player", "plays")], max_steps=2, env_impl="env", datalog=True
    )
    params.datalog_exclude_fields = ["rewards", "messages", "actions"]
    trial_id = await run.start(params, "excluded")
    await run.wait_ended([trial_id])
    # The special events of an environment-ended and of a soft-terminated trial.
    for name in ("self-ending", "soft"):
        actors = [run.actor("p1", "player", "plays")]
        params = run.params(actors, max_steps=0, env_impl=name, datalog=True)
        trial_id = await run.start(params, name)
        await run.wait_ended([trial_id])


if __name__ == "__main__":
    main(setup, scenario)
