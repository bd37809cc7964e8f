# mypy: allow-subclassing-any
"""terminate: a soft terminate requested by the controller while the env handles tick 2 (it
takes effect at the next complete gathering: tick 3 arrives as ENDING), and a hard terminate
while the env handles tick 1 (no ENDING nor FINAL reaches anyone; the loops just stop)."""

from __future__ import annotations

from typing import Any

from _common import Run, main
from _components import ActorScript, EnvScript, register_actor, register_environment


class SoftAtTwo(EnvScript):
    async def on_actions(self, run: Run, session: Any, tick: int, event: Any) -> bool:
        if tick == 2:
            trial_id = session.get_trial_id()
            await run.controller.terminate_trial([trial_id], hard=False)
            [info] = await run.controller.get_trial_info([trial_id])
            run.trace.add(trial_id, "env", "after_soft_terminate", state=info.state.name)
        return True


class HardAtOne(EnvScript):
    async def on_actions(self, run: Run, session: Any, tick: int, event: Any) -> bool:
        if tick == 1:
            trial_id = session.get_trial_id()
            await run.controller.terminate_trial([trial_id], hard=True)
            [info] = await run.controller.get_trial_info([trial_id])
            # A hard end is complete when the reply comes (orchestrator spec §7: ENDED at once).
            run.trace.add(trial_id, "env", "after_hard_terminate", state=info.state.name)
            return False
        return True


def setup(run: Run) -> None:
    register_environment(run, "soft", SoftAtTwo())
    register_environment(run, "hard", HardAtOne())
    register_actor(run, "plays", ["player"], ActorScript())
    register_actor(run, "judges", ["referee"], ActorScript())


async def scenario(run: Run) -> None:
    for name in ("soft", "hard"):
        actors = [
            run.actor("p1", "player", "plays"),
            run.actor("p2", "player", "plays"),
            run.actor("ref", "referee", "judges"),
        ]
        params = run.params(actors, max_steps=0, env_impl=name)
        trial_id = await run.start(params, name)
        await run.wait_ended([trial_id])
        [info] = await run.controller.get_trial_info([trial_id])
        run.record("ended", trial_id=trial_id, state=info.state.name)
    # Unknown ids are ignored.
    await run.controller.terminate_trial([run.requested_id("nobody")], hard=True)
    run.record("terminated_unknown")


if __name__ == "__main__":
    main(setup, scenario)
