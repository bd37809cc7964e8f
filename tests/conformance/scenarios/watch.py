# mypy: allow-subclassing-any
"""watch_trials, get_trial_info and get_actors: a sentinel trial parked in PENDING (its client
actor never joins) proves the watch is live; then a trial runs through every state; the env
asks for the trial info and the actors at tick 1."""

from __future__ import annotations

import asyncio
from typing import Any

from _common import Run, main
from _components import ActorScript, EnvScript, register_actor, register_environment

import cogment


class InquiringEnv(EnvScript):
    async def on_actions(self, run: Run, session: Any, tick: int, event: Any) -> bool:
        if tick == 1:
            trial_id = session.get_trial_id()
            [info] = await run.controller.get_trial_info([trial_id])
            run.trace.add(
                trial_id,
                "env",
                "info",
                trial_id=info.trial_id,
                state=info.state.name,
                tick=info.tick_id,
                env_name=info.env_name,
                properties=dict(info.properties),
                has_duration=info.duration > 0,
            )
            actors = await run.controller.get_actors(trial_id)
            run.trace.add(
                trial_id,
                "env",
                "actors",
                actors=[[each.actor_name, each.actor_class_name] for each in actors],
            )
        return True


def setup(run: Run) -> None:
    register_environment(run, "env", InquiringEnv())
    register_actor(run, "plays", ["player"], ActorScript())
    register_actor(run, "judges", ["referee"], ActorScript())


async def scenario(run: Run) -> None:
    sentinel_id = run.requested_id("sentinel")
    trial_id = run.requested_id("t1")
    ours = {sentinel_id, trial_id}
    sentinel_pending = asyncio.Event()
    all_ended = asyncio.Event()
    filtered_ended = asyncio.Event()

    async def watch_all() -> None:
        ended: set[str] = set()
        async for info in run.controller.watch_trials():
            if info.trial_id not in ours:
                continue
            run.trace.add(info.trial_id, "watch", "state", state=info.state.name)
            if info.trial_id == sentinel_id and info.state == cogment.TrialState.PENDING:
                sentinel_pending.set()
            if info.state == cogment.TrialState.ENDED:
                ended.add(info.trial_id)
                if ended == ours:
                    all_ended.set()
                    return

    async def watch_ended() -> None:
        filters = [cogment.TrialState.ENDED]
        seen: set[str] = set()
        async for info in run.controller.watch_trials(trial_state_filters=filters, full_info=True):
            if info.trial_id in ours:
                run.trace.add(
                    info.trial_id, "watch_ended", "state", state=info.state.name, env=info.env_name
                )
                seen.add(info.trial_id)
                if seen == ours:
                    filtered_ended.set()
                    return

    sentinel = run.params([run.actor("c1", "player", "plays", client=True)], max_steps=1)
    await run.start(sentinel, "sentinel")
    watchers = [asyncio.ensure_future(watch_all()), asyncio.ensure_future(watch_ended())]
    run.background += watchers
    await asyncio.wait_for(sentinel_pending.wait(), 10)

    actors = [run.actor("p1", "player", "plays"), run.actor("ref", "referee", "judges")]
    params = run.params(actors, max_steps=2, properties={"watched": "yes"})
    await run.start(params, "t1")
    await run.wait_ended([trial_id])
    [info] = await run.controller.get_trial_info([trial_id])
    run.record(
        "info",
        trial_id=info.trial_id,
        state=info.state.name,
        tick=info.tick_id,
        env_name=info.env_name,
        has_duration=info.duration > 0,
    )
    everything = await run.controller.get_trial_info([])
    listed = sorted(
        [each.trial_id, each.state.name] for each in everything if each.trial_id in ours
    )
    run.record("all_trials", ours=listed)

    await run.controller.terminate_trial([sentinel_id], hard=True)
    await asyncio.wait_for(all_ended.wait(), 10)
    await asyncio.wait_for(filtered_ended.wait(), 10)
    versions = await run.controller.get_remote_versions()
    run.record("versions", keys=sorted(versions))


if __name__ == "__main__":
    main(setup, scenario)
