# mypy: allow-subclassing-any
"""a crashing actor: its implementation raises on the observation of tick 2; the trial is
hard-terminated (no further action set, no ENDING nor FINAL)."""

from __future__ import annotations

from typing import Any

from _common import Run, main
from _components import ActorScript, EnvScript, register_actor, register_environment


class Crashing(ActorScript):
    async def on_observation(self, run: Run, session: Any, tick: int, event: Any) -> None:
        if tick == 2:
            run.trace.add(session.get_trial_id(), f"actor:{session.name}", "raising")
            raise RuntimeError("conformance: this actor crashes on purpose")


def setup(run: Run) -> None:
    register_environment(run, "env", EnvScript())
    register_actor(run, "plays", ["player"], ActorScript())
    register_actor(run, "crashes", ["player"], Crashing())
    register_actor(run, "judges", ["referee"], ActorScript())


async def scenario(run: Run) -> None:
    actors = [
        run.actor("p1", "player", "crashes"),
        run.actor("p2", "player", "plays"),
        run.actor("ref", "referee", "judges"),
    ]
    trial_id = await run.start(run.params(actors, max_steps=5), "t1")
    await run.wait_ended([trial_id])
    [info] = await run.controller.get_trial_info([trial_id])
    run.record("ended", state=info.state.name)


if __name__ == "__main__":
    main(setup, scenario)
