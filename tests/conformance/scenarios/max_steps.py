# mypy: allow-subclassing-any
"""max_steps: ``max_steps=5`` (the env gets sets 0-5, tick 5 as ENDING, the trial ends at tick 6),
``max_steps=1``, and an unlimited trial ended by the environment itself after tick 2."""

from __future__ import annotations

from typing import Any

from _common import Run, main
from _components import ActorScript, EnvScript, register_actor, register_environment


class EndsAfterTwo(EnvScript):
    end_after = 2


def setup(run: Run) -> None:
    register_environment(run, "env", EnvScript())
    register_environment(run, "self-ending", EndsAfterTwo())
    register_actor(run, "plays", ["player"], ActorScript())
    register_actor(run, "judges", ["referee"], ActorScript())


async def scenario(run: Run) -> None:
    def actors() -> list[Any]:
        return [run.actor("p1", "player", "plays"), run.actor("ref", "referee", "judges")]

    cases = [("five", 5, "env"), ("one", 1, "env"), ("self", 0, "self-ending")]
    for name, max_steps, env_impl in cases:
        params = run.params(actors(), max_steps=max_steps, env_impl=env_impl)
        trial_id = await run.start(params, name)
        run.record("started", trial_id=trial_id)
        await run.wait_ended([trial_id])
        [info] = await run.controller.get_trial_info([trial_id])
        run.record("info", trial_id=info.trial_id, state=info.state.name, tick=info.tick_id)


if __name__ == "__main__":
    main(setup, scenario)
