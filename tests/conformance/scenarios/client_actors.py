"""client actors: ``cogment://client`` actors joined by name and by class (the first client actor
of that class in index order that has not joined), next to a service actor; joins the orchestrator
refuses (a service actor's name, an unknown name) fail."""

from __future__ import annotations

import asyncio
from typing import Any

import cog_settings
from _common import Run, main
from _components import ActorScript, EnvScript, register_actor, register_environment

import cogment


def setup(run: Run) -> None:
    register_environment(run, "env", EnvScript())
    register_actor(run, "plays", ["player"], ActorScript())
    register_actor(run, "judges", ["referee"], ActorScript())


async def scenario(run: Run) -> None:
    player_config = cog_settings.actor_classes.player.config_type
    actors = [
        run.actor("p1", "player", "plays"),
        run.actor("c1", "player", "plays", client=True, config=player_config(strength=5)),
        run.actor("c2", "player", "plays", client=True, config=player_config(strength=6)),
        run.actor("cr", "referee", "judges", client=True),
    ]
    trial_id = await run.start(run.params(actors, max_steps=2), "t1")
    endpoint = cogment.Endpoint(run.args.actor_endpoint)

    # Refused joins (the trial is PENDING): a service actor's name, an unknown name.
    for name in ("p1", "nobody"):
        try:
            await asyncio.wait_for(
                run.context.join_trial(trial_id=trial_id, endpoint=endpoint, actor_name=name), 10
            )
        except asyncio.TimeoutError:
            outcome = "timeout"
        except Exception:
            outcome = "raised"
        else:
            outcome = "returned"
        run.trace.add(trial_id, "refused_joins", "join", actor_name=name, outcome=outcome)

    async def join(**how: Any) -> None:
        await run.context.join_trial(trial_id=trial_id, endpoint=endpoint, **how)
        run.trace.add(trial_id, "joins", "joined", False, **how)

    await asyncio.gather(
        join(actor_name="c2"), join(actor_class="player"), join(actor_class="referee")
    )
    await run.wait_ended([trial_id])


if __name__ == "__main__":
    main(setup, scenario)
