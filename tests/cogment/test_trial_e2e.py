"""Whole trials run by our runtime (environment, service and client actors, controller, pre-trial
hook, datalog) on the embedded Orchestrator."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

import cogment
from cogment_services.orchestrator import Orchestrator
from tests.cogment._runtime_helpers import (
    Action,
    EnvConfig,
    Observation,
    PlayerConfig,
    make_settings,
    serving,
)

pytestmark = pytest.mark.timeout(60)

SETTINGS = make_settings()


class Recorder:
    def __init__(self) -> None:
        self.env: list[tuple[str, int, list[str]]] = []
        self.actors: dict[str, list[tuple[str, int | None, str]]] = {}
        self.rewards: dict[str, list[float]] = {}
        self.messages: dict[str, list[tuple[str, str]]] = {}
        self.configs: dict[str, Any] = {}
        self.done: dict[str, asyncio.Event] = {}

    def finished(self, name: str) -> asyncio.Event:
        return self.done.setdefault(name, asyncio.Event())


def register_components(ctx: cogment.Context, rec: Recorder, end_at: int | None = None) -> None:
    async def environment(session: cogment.EnvironmentSession[Any, Any, Any]) -> None:
        rec.configs["env"] = session.config
        session.start([("*", Observation(name="0"))])
        async for event in session.all_events():
            rec.env.append(
                (
                    event.type.name,
                    session.get_tick_id(),
                    [a.action.content.decode() if a.action else "-" for a in event.actions],
                )
            )
            if event.actions:
                tick = event.actions[0].tick_id
                session.add_reward(1.0, 1.0, ["player.*"])
                session.send_message(Observation(name="hello"), ["p1"])
                obs = [("*", Observation(name=str(tick + 1)))]
                if event.type == cogment.EventType.ENDING or (
                    end_at is not None and tick + 1 >= end_at
                ):
                    session.end(obs)
                else:
                    session.produce_observations(obs)
        rec.finished("env").set()

    async def player(session: cogment.ActorSession[Any, Any, Any]) -> None:
        rec.configs[session.name] = session.config
        records = rec.actors.setdefault(session.name, [])
        session.start()
        async for event in session.all_events():
            if event.observation is not None:
                records.append(
                    (event.type.name, event.observation.tick_id, event.observation.observation.name)
                )
                if event.observation.tick_id == 2:
                    rec.finished(f"{session.name} at tick 2").set()
                if event.type == cogment.EventType.ACTIVE:
                    session.do_action(
                        Action(content=f"{session.name}@{event.observation.tick_id}".encode())
                    )
            elif event.type == cogment.EventType.FINAL:
                records.append(("FINAL", None, ""))
            for reward in event.rewards:
                rec.rewards.setdefault(session.name, []).append(reward.value)
            for message in event.messages:
                payload = Observation()
                assert message.payload is not None
                message.payload.Unpack(payload)
                rec.messages.setdefault(session.name, []).append(
                    (message.sender_name, payload.name)
                )
        rec.finished(session.name).set()

    ctx.register_environment(environment, "env-impl")
    ctx.register_actor(player, "player-impl", ["player"])


def trial_params(
    port: int, actors: list[tuple[str, str]], max_steps: int = 3
) -> cogment.TrialParameters[Any, Any]:
    return cogment.TrialParameters(
        SETTINGS,
        environment_name="env",
        environment_endpoint=f"grpc://127.0.0.1:{port}",
        environment_implementation="env-impl",
        environment_config=EnvConfig(content=b"env-config"),
        max_steps=max_steps,
        actors=[
            cogment.ActorParameters(
                SETTINGS,
                class_name="player",
                name=name,
                endpoint=endpoint,
                implementation="player-impl",
                config=PlayerConfig(content=name.encode()),
            )
            for name, endpoint in actors
        ],
    )


async def wait_all(rec: Recorder, names: list[str]) -> None:
    await asyncio.wait_for(asyncio.gather(*(rec.finished(n).wait() for n in names)), 20)


async def test_service_actors_trial_to_max_steps() -> None:
    rec = Recorder()
    async with Orchestrator(lifecycle_port=0, host="127.0.0.1") as orch:
        ctx = cogment.Context(user_id="e2e", cog_settings=SETTINGS)
        register_components(ctx, rec)
        async with serving(ctx) as port:
            controller = await ctx.get_controller(cogment.Endpoint(orch.endpoint))
            url = f"grpc://127.0.0.1:{port}"
            trial_id = await controller.start_trial(
                trial_params=trial_params(port, [("p1", url), ("p2", url)], max_steps=3)
            )
            assert trial_id
            await wait_all(rec, ["env", "p1", "p2"])
    assert rec.configs == {
        "env": EnvConfig(content=b"env-config"),
        "p1": PlayerConfig(content=b"p1"),
        "p2": PlayerConfig(content=b"p2"),
    }
    assert [e[0] for e in rec.env] == ["ACTIVE", "ACTIVE", "ACTIVE", "ENDING", "FINAL"]
    assert [e[1] for e in rec.env[:4]] == [0, 1, 2, 3]
    assert rec.env[0][2] == ["p1@0", "p2@0"]
    for name in ("p1", "p2"):
        assert rec.actors[name] == [
            ("ACTIVE", 0, "0"),
            ("ACTIVE", 1, "1"),
            ("ACTIVE", 2, "2"),
            ("ACTIVE", 3, "3"),
            ("ENDING", 4, "4"),
            ("FINAL", None, ""),
        ]
        assert sum(rec.rewards[name]) == 4.0
    assert rec.messages["p1"] == [("env", "hello")] * 4
    assert "p2" not in rec.messages


async def test_client_actor_and_environment_ending_the_trial() -> None:
    rec = Recorder()
    async with Orchestrator(lifecycle_port=0, host="127.0.0.1") as orch:
        ctx = cogment.Context(user_id="e2e", cog_settings=SETTINGS)
        register_components(ctx, rec, end_at=2)
        async with serving(ctx) as port:
            controller = await ctx.get_controller(cogment.Endpoint(orch.endpoint))
            url = f"grpc://127.0.0.1:{port}"
            params = trial_params(port, [("p1", url), ("c1", "cogment://client")], max_steps=100)
            trial_id = await controller.start_trial(trial_params=params)
            joined = asyncio.create_task(
                ctx.join_trial(trial_id, cogment.Endpoint(orch.actor_endpoint), actor_name="c1")
            )
            await wait_all(rec, ["env", "p1", "c1"])
            await asyncio.wait_for(joined, 10)
    assert rec.configs["c1"] == PlayerConfig(content=b"c1")
    assert rec.actors["c1"] == [
        ("ACTIVE", 0, "0"),
        ("ACTIVE", 1, "1"),
        ("ENDING", 2, "2"),
        ("FINAL", None, ""),
    ]
    assert rec.env[0][2] == ["p1@0", "c1@0"]
    assert rec.env[-1][0] == "FINAL"


async def test_hard_termination_ends_event_loops_without_final() -> None:
    rec = Recorder()
    async with Orchestrator(lifecycle_port=0, host="127.0.0.1") as orch:
        ctx = cogment.Context(user_id="e2e", cog_settings=SETTINGS)
        register_components(ctx, rec)
        async with serving(ctx) as port:
            controller = await ctx.get_controller(cogment.Endpoint(orch.endpoint))
            url = f"grpc://127.0.0.1:{port}"
            trial_id = await controller.start_trial(
                trial_params=trial_params(port, [("p1", url)], max_steps=1000)
            )
            await asyncio.wait_for(rec.finished("p1 at tick 2").wait(), 10)
            await controller.terminate_trial([trial_id], hard=True)
            await wait_all(rec, ["env", "p1"])
    assert all(r[0] != "FINAL" for r in rec.actors["p1"])
    assert all(e[0] != "FINAL" for e in rec.env)


async def test_client_actors_join_by_class() -> None:
    rec = Recorder()
    async with Orchestrator(lifecycle_port=0, host="127.0.0.1") as orch:
        metadata = cogment.GrpcMetadata().add("x-test", "yes")
        ctx = cogment.Context(user_id="e2e", cog_settings=SETTINGS, metadata=metadata)
        register_components(ctx, rec)
        async with serving(ctx) as port:
            controller = await ctx.get_controller(cogment.Endpoint(orch.endpoint))
            params = trial_params(
                port, [("c1", "cogment://client"), ("c2", "cogment://client")], max_steps=2
            )
            trial_id = await controller.start_trial(trial_params=params)
            endpoint = cogment.Endpoint(orch.actor_endpoint)
            joins = [
                ctx.join_trial(trial_id, endpoint, actor_class="player"),
                ctx.join_trial(trial_id, endpoint, actor_class=SETTINGS.actor_classes.player),
            ]
            await asyncio.wait_for(asyncio.gather(*joins), 20)
            await wait_all(rec, ["env", "c1", "c2"])
    for name in ("c1", "c2"):
        assert [r[0] for r in rec.actors[name]] == ["ACTIVE", "ACTIVE", "ACTIVE", "ENDING", "FINAL"]
