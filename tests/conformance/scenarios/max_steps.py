# mypy: allow-subclassing-any
"""max_steps: ``max_steps=5`` (the env gets sets 0-5, tick 5 as ENDING, the trial ends at tick 6),
``max_steps=1`` with an actor answering ``do_action(None)``, an unlimited trial ended by the
environment itself after tick 2, and ``max_steps=2`` with ``("*", obs)`` observations and
``auto_done_sending=False`` (``sending_done()`` called by hand) on the env and one actor."""

from __future__ import annotations

from typing import Any

from _common import Run, main
from _components import ActorScript, EnvScript, register_actor, register_environment


class EndsAfterTwo(EnvScript):
    end_after = 2


class Broadcasting(EnvScript):
    broadcast = True
    auto_done_sending = False


class ManualDone(ActorScript):
    auto_done_sending = False


class Lazy(ActorScript):
    def action(self, session: Any, tick: int, event: Any) -> Any:
        return None  # empty content: the env gets a default-initialised action


def setup(run: Run) -> None:
    register_environment(run, "env", EnvScript())
    register_environment(run, "self-ending", EndsAfterTwo())
    register_environment(run, "broadcast", Broadcasting())
    register_actor(run, "manual", ["player"], ManualDone())
    register_actor(run, "lazy", ["referee"], Lazy())
    register_actor(run, "plays", ["player"], ActorScript())
    register_actor(run, "judges", ["referee"], ActorScript())


async def scenario(run: Run) -> None:
    def actors() -> list[Any]:
        return [run.actor("p1", "player", "plays"), run.actor("ref", "referee", "judges")]

    players = [run.actor("p1", "player", "plays"), run.actor("p2", "player", "manual")]
    lazy = [run.actor("p1", "player", "plays"), run.actor("ref", "referee", "lazy")]
    cases = [
        ("five", 5, "env", actors()),
        ("one", 1, "env", lazy),
        ("self", 0, "self-ending", actors()),
        ("star", 2, "broadcast", players),
    ]
    for name, max_steps, env_impl, trial_actors in cases:
        params = run.params(trial_actors, max_steps=max_steps, env_impl=env_impl)
        trial_id = await run.start(params, name)
        run.record("started", trial_id=trial_id)
        await run.wait_ended([trial_id])
        [info] = await run.controller.get_trial_info([trial_id])
        run.record("info", trial_id=info.trial_id, state=info.state.name, tick=info.tick_id)


if __name__ == "__main__":
    main(setup, scenario)
