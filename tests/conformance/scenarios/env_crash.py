# mypy: allow-subclassing-any
"""a crashing environment: its implementation raises while handling the action set of tick 1.
The published Orchestrator leaves such a trial RUNNING forever (a defect, orchestrator-spec §11);
ours must end it: the actors' loops stop without ENDING nor FINAL and the trial reaches ENDED."""

from __future__ import annotations

from typing import Any

from _common import Run, main
from _components import ActorScript, EnvScript, register_actor, register_environment


class Crashing(EnvScript):
    async def on_actions(self, run: Run, session: Any, tick: int, event: Any) -> bool:
        if tick == 1:
            run.trace.add(session.get_trial_id(), "env", "raising")
            raise RuntimeError("conformance: this environment crashes on purpose")
        return True


def setup(run: Run) -> None:
    register_environment(run, "env", Crashing())
    register_actor(run, "plays", ["player"], ActorScript())
    register_actor(run, "judges", ["referee"], ActorScript())


async def scenario(run: Run) -> None:
    actors = [run.actor("p1", "player", "plays"), run.actor("ref", "referee", "judges")]
    trial_id = await run.start(run.params(actors, max_steps=5), "t1")
    await run.wait_ended([trial_id], timeout=15)
    [info] = await run.controller.get_trial_info([trial_id])
    run.record("ended", state=info.state.name)


if __name__ == "__main__":
    main(setup, scenario)
