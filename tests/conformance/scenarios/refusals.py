"""refusals: start_trial with parameters the orchestrator must reject (no actors, duplicate actor
names, an actor named like the environment, an actor without a class) raises; unknown trial ids
are skipped by get_trial_info and ignored by terminate_trial."""

from __future__ import annotations

from typing import Any

import cog_settings
from _common import Run, main
from _components import ActorScript, EnvScript, register_actor, register_environment


def setup(run: Run) -> None:
    register_environment(run, "env", EnvScript())
    register_actor(run, "plays", ["player"], ActorScript())


async def scenario(run: Run) -> None:
    def player(name: str) -> Any:
        return run.actor(name, "player", "plays")

    cases = {
        "no_actors": run.params([]),
        "duplicate_names": run.params([player("p1"), player("p1")]),
        "named_like_env": run.params([player("env")]),
        "unnamed": run.params([player("")]),
    }
    for name, params in cases.items():
        try:
            returned = await run.controller.start_trial(
                trial_params=params, trial_id_requested=run.requested_id(name)
            )
        except Exception:
            run.record("refused", case=name, outcome="raised")
        else:
            run.record("refused", case=name, outcome="returned", returned=returned)

    unknown = run.requested_id("unknown")
    infos = await run.controller.get_trial_info([unknown])
    run.record("unknown_info", infos=[info.trial_id for info in infos])
    await run.controller.terminate_trial([unknown])
    run.record("unknown_terminated")

    # The orchestrator still works afterwards.
    trial_id = await run.start(run.params([player("p1")], max_steps=1), "ok")
    await run.wait_ended([trial_id])
    assert cog_settings.actor_classes.player.name == "player"


if __name__ == "__main__":
    main(setup, scenario)
