"""Over gRPC, a session's task reads the stream itself while it waits for an event
(``_servicers._reader``): a timeout around that wait must cancel only the wait, never the read,
so no observation is lost and the trial goes on (with a new ``all_events()`` generator: a
cancelled ``__anext__`` closes an async generator)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

import cogment
from tests.cogment._runtime_helpers import (
    Action,
    Observation,
    make_settings,
    run_one_actor_trial,
)

pytestmark = pytest.mark.timeout(60)

SETTINGS = make_settings()
TICKS = 8


async def test_timeouts_around_all_events_lose_no_observation() -> None:
    seen: list[int] = []
    timeouts = 0
    done = {name: asyncio.Event() for name in ("env", "p1")}

    async def environment(session: cogment.EnvironmentSession[Any, Any, Any]) -> None:
        session.start([("*", Observation(name="0"))])
        async for event in session.all_events():
            if event.actions:
                tick = event.actions[0].tick_id
                await asyncio.sleep(0.03)  # slower than the actor's patience
                obs = [("*", Observation(name=str(tick + 1)))]
                if tick + 1 >= TICKS:
                    session.end(obs)
                else:
                    session.produce_observations(obs)
        done["env"].set()

    async def player(session: cogment.ActorSession[Any, Any, Any]) -> None:
        nonlocal timeouts
        session.start()
        events = session.all_events()
        while True:
            try:
                event = await asyncio.wait_for(events.__anext__(), 0.01)
            except asyncio.TimeoutError:
                # The cancelled __anext__ closed that generator (Python's rule for async
                # generators); the session's next one goes on from where it was.
                timeouts += 1
                events = session.all_events()
                continue
            except StopAsyncIteration:
                break
            if event.observation is not None:
                seen.append(int(event.observation.observation.name))
                if event.type == cogment.EventType.ACTIVE:
                    session.do_action(Action(content=b"a"))
        done["p1"].set()

    await run_one_actor_trial(
        SETTINGS, environment, player, list(done.values()), user_id="timeouts"
    )
    assert seen == list(range(TICKS + 1))
    assert timeouts >= TICKS  # the waits did time out, again and again
