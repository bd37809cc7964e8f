"""Messages over gRPC's 4 MiB default pass through the Orchestrator both ways (the SDK allows
64 MiB; the Orchestrator's channels to the components and its servers must too)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

import cogment
from cogment_services.orchestrator import Orchestrator
from tests.cogment._runtime_helpers import Action, Observation, make_settings, serving

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

    async with Orchestrator(lifecycle_port=0, host="127.0.0.1") as orch:
        ctx = cogment.Context(user_id="big", cog_settings=SETTINGS)
        ctx.register_environment(environment, "env-impl")
        ctx.register_actor(player, "player-impl", ["player"])
        async with serving(ctx) as port:
            url = f"grpc://127.0.0.1:{port}"
            params = cogment.TrialParameters(
                SETTINGS,
                environment_endpoint=url,
                environment_implementation="env-impl",
                max_steps=10,
                actors=[
                    cogment.ActorParameters(
                        SETTINGS,
                        class_name="player",
                        name="p1",
                        endpoint=url,
                        implementation="player-impl",
                    )
                ],
            )
            controller = await ctx.get_controller(cogment.Endpoint(orch.endpoint))
            assert await controller.start_trial(trial_params=params)
            await asyncio.wait_for(asyncio.gather(*(e.wait() for e in done.values())), 30)
    assert got == {"env": [BIG], "p1": [BIG, BIG]}
