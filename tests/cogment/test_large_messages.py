"""Messages over gRPC's 4 MiB default pass through the Orchestrator both ways (the SDK allows
64 MiB; the Orchestrator's channels to the components and its servers must too)."""

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
BIG = 5 * 1024 * 1024  # over the 4 MiB default of gRPC


async def test_five_mib_observations_and_actions_over_grpc() -> None:
    got: dict[str, list[int]] = {"env": [], "p1": []}
    done = {name: asyncio.Event() for name in got}

    async def environment(session: cogment.EnvironmentSession[Any, Any, Any]) -> None:
        session.start([("*", Observation(name="x" * BIG))])
        async for event in session.all_events():
            for action in event.actions:
                if action.action is not None:
                    got["env"].append(len(action.action.content))
            if event.actions:
                session.end([("*", Observation(name="y" * BIG))])
        done["env"].set()

    async def player(session: cogment.ActorSession[Any, Any, Any]) -> None:
        session.start()
        async for event in session.all_events():
            if event.observation is not None:
                got["p1"].append(len(event.observation.observation.name))
                if event.type == cogment.EventType.ACTIVE:
                    session.do_action(Action(content=b"a" * BIG))
        done["p1"].set()

    await run_one_actor_trial(
        SETTINGS, environment, player, list(done.values()), user_id="big", max_steps=10
    )
    assert got == {"env": [BIG], "p1": [BIG, BIG]}
