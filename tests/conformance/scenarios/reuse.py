# mypy: allow-subclassing-any
"""requested-id reuse: a requested id already in use gives ``""`` (while the trial runs, and after
it ended), nothing is created; a fresh id still works."""

from __future__ import annotations

from typing import Any

from _common import Run, main
from _components import ActorScript, EnvScript, register_actor, register_environment


class RetryingEnv(EnvScript):
    async def on_actions(self, run: Run, session: Any, tick: int, event: Any) -> bool:
        if tick == 1:
            params = run.params([run.actor("p1", "player", "plays")], max_steps=1)
            again = await run.controller.start_trial(
                trial_params=params, trial_id_requested=session.get_trial_id()
            )
            run.trace.add(session.get_trial_id(), "env", "while_running", returned=again)
        return True


def setup(run: Run) -> None:
    register_environment(run, "env", RetryingEnv())
    register_actor(run, "plays", ["player"], ActorScript())


async def scenario(run: Run) -> None:
    params = run.params([run.actor("p1", "player", "plays")], max_steps=2)
    first = await run.start(params, "dup")
    await run.wait_ended([first])
    again = await run.controller.start_trial(
        trial_params=run.params([run.actor("p1", "player", "plays")], max_steps=1),
        trial_id_requested=first,
    )
    run.record("after_end", returned=again)
    infos = await run.controller.get_trial_info([first])
    run.record("still_one", states=[info.state.name for info in infos])
    fresh = await run.start(run.params([run.actor("p1", "player", "plays")], max_steps=1), "fresh")
    run.record("fresh", returned=fresh)
    await run.wait_ended([fresh])


if __name__ == "__main__":
    main(setup, scenario)
