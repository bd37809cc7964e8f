"""Environment sessions over the wire: a test client plays the orchestrator's side of
``EnvironmentSP.RunTrial`` step by step (sdk-reference-behaviour.md §5.1)."""

from __future__ import annotations

import asyncio
from typing import Any

import grpc
import pytest

import cogment
from cogment.api import common_pb2, environment_pb2, environment_pb2_grpc
from tests.cogment._runtime_helpers import (
    EOF,
    Action,
    EnvConfig,
    Observation,
    make_settings,
    open_stream,
    serving,
)

pytestmark = pytest.mark.timeout(20)

N, HB, LAST, LAST_ACK, END = (
    common_pb2.NORMAL,
    common_pb2.HEARTBEAT,
    common_pb2.LAST,
    common_pb2.LAST_ACK,
    common_pb2.END,
)


def init_msg(config: bytes | None = None) -> environment_pb2.EnvRunTrialInput:
    init = environment_pb2.EnvInitialInput(
        name="env",
        impl_name="",
        tick_id=0,
        actors_in_trial=[
            common_pb2.TrialActor(name="p1", actor_class="player"),
            common_pb2.TrialActor(name="p2", actor_class="player"),
            common_pb2.TrialActor(name="ref", actor_class="referee"),
        ],
    )
    if config is not None:
        init.config.content = config
    return environment_pb2.EnvRunTrialInput(state=N, init_input=init)


def action_set(tick: int, unavailable: list[int] | None = None) -> environment_pb2.EnvRunTrialInput:
    return environment_pb2.EnvRunTrialInput(
        state=N,
        action_set=environment_pb2.ActionSet(
            tick_id=tick,
            timestamp=123,
            actions=[Action(content=f"{tick}:{i}".encode()).SerializeToString() for i in range(3)],
            unavailable_actors=unavailable or [],
        ),
    )


async def read(call: Any) -> environment_pb2.EnvRunTrialOutput:
    msg = await asyncio.wait_for(call.read(), 5)
    assert msg is not EOF
    return msg  # type: ignore[no-any-return]


async def test_environment_full_trial() -> None:
    ctx = cogment.Context(user_id="test", cog_settings=make_settings())
    seen: list[Any] = []
    configs: list[Any] = []

    async def env(session: cogment.EnvironmentSession[Any, Any, Any]) -> None:
        configs.append(session.config)
        assert [a.actor_name for a in session.get_active_actors()] == ["p1", "p2", "ref"]
        shared = Observation(name="shared")
        session.start([("player.*", shared), ("ref", Observation(name="r"))])
        async for event in session.all_events():
            seen.append(event)
            if event.type == cogment.EventType.ACTIVE:
                session.add_reward(1.5, 0.5, ["p1", "player.*"], user_data=Observation(name="u"))
                session.send_message(Observation(name="m"), ["*"])
                session.produce_observations(
                    [("*", Observation(name=str(event.actions[0].tick_id)))]
                )
            elif event.type == cogment.EventType.ENDING:
                session.end([("*", Observation(name="final"))])

    ctx.register_environment(env, "envimpl")
    async with serving(ctx) as port, grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        stub = environment_pb2_grpc.EnvironmentSPStub(channel)
        call = open_stream(stub.RunTrial, "trial-1")
        await call.write(environment_pb2.EnvRunTrialInput(state=HB))
        assert (await read(call)).state == HB
        await call.write(init_msg(EnvConfig(content=b"cfg").SerializeToString()))
        out = await read(call)
        assert out.state == N and out.HasField("init_output")
        out = await read(call)
        obs = out.observation_set
        assert obs.tick_id == -1 and obs.timestamp > 0
        # shared observation serialized once (deduplicated), ref gets its own
        assert list(obs.actors_map) == [0, 0, 1]
        assert Observation.FromString(obs.observations[0]).name == "shared"

        await call.write(action_set(1, unavailable=[1]))
        rewards = [await read(call), await read(call)]
        assert [r.reward.receiver_name for r in rewards] == ["p1", "player.*"]
        src = rewards[0].reward.sources[0]
        assert (src.sender_name, src.value, src.confidence) == ("env", 1.5, 0.5)
        assert src.user_data.Is(Observation.DESCRIPTOR)
        msg = (await read(call)).message
        assert (msg.tick_id, msg.receiver_name, msg.sender_name) == (-1, "*", "")
        obs = (await read(call)).observation_set
        assert list(obs.actors_map) == [0, 0, 0]
        assert Observation.FromString(obs.observations[0]).name == "1"

        # soft end from the orchestrator: LAST, final action set, env answers, LAST_ACK
        await call.write(environment_pb2.EnvRunTrialInput(state=LAST))
        await call.write(action_set(2))
        out = await read(call)
        assert out.HasField("observation_set")
        assert Observation.FromString(out.observation_set.observations[0]).name == "final"
        assert (await read(call)).state == LAST_ACK
        await call.write(environment_pb2.EnvRunTrialInput(state=END))
        await call.done_writing()
        assert await asyncio.wait_for(call.read(), 5) is EOF
        assert await call.code() == grpc.StatusCode.OK

    assert configs == [EnvConfig(content=b"cfg")]
    types = [e.type for e in seen]
    assert types == [cogment.EventType.ACTIVE, cogment.EventType.ENDING, cogment.EventType.FINAL]
    actions = seen[0].actions
    assert [a.status for a in actions] == [
        cogment.ActorStatus.ACTIVE,
        cogment.ActorStatus.UNAVAILABLE,
        cogment.ActorStatus.ACTIVE,
    ]
    assert actions[0].action == Action(content=b"1:0") and actions[0].timestamp == 123
    assert actions[1].action is None and actions[1].timestamp == 0
    assert actions[2].actor_index == 2 and actions[2].tick_id == 1


async def test_environment_ends_itself_and_half_close_does_not_hang() -> None:
    ctx = cogment.Context(user_id="test", cog_settings=make_settings())
    done = asyncio.Event()
    events: list[Any] = []

    async def env(session: cogment.EnvironmentSession[Any, Any, Any]) -> None:
        session.start([("*", Observation())])
        async for event in session.all_events():
            events.append(event.type)
            session.end([("*", Observation(name="bye"))])
        done.set()

    ctx.register_environment(env, "envimpl")
    async with serving(ctx) as port, grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        call = open_stream(environment_pb2_grpc.EnvironmentSPStub(channel).RunTrial, "t2")
        await call.write(init_msg())
        assert (await read(call)).HasField("init_output")
        assert (await read(call)).HasField("observation_set")
        await call.write(action_set(1))
        assert (await read(call)).state == LAST
        assert (await read(call)).HasField("observation_set")
        assert (await read(call)).state == LAST_ACK
        # The orchestrator half-closes without END: the user's loop must end (no hang).
        await call.done_writing()
        await asyncio.wait_for(done.wait(), 5)
    assert events == [cogment.EventType.ACTIVE]


async def test_environment_hard_end_and_bad_targets() -> None:
    ctx = cogment.Context(user_id="test", cog_settings=make_settings())
    errors: list[str] = []
    events: list[Any] = []

    async def env(session: cogment.EnvironmentSession[Any, Any, Any]) -> None:
        for bad in (
            [("nobody", Observation())],
            [("p1", Observation())],
            [("*", Observation()), ("p1", Observation())],
        ):
            try:
                session.start(bad)
            except cogment.CogmentError as exc:
                errors.append(str(exc))
        session.start()
        session.produce_observations(
            [("player.p1", Observation()), ("p2", Observation()), ("referee.*", Observation())]
        )
        async for event in session.all_events():
            events.append(event)

    ctx.register_environment(env, "envimpl")
    async with serving(ctx) as port, grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        call = open_stream(environment_pb2_grpc.EnvironmentSPStub(channel).RunTrial, "t3")
        await call.write(init_msg())
        assert (await read(call)).HasField("init_output")
        obs = (await read(call)).observation_set
        assert list(obs.actors_map) == [0, 1, 2]
        await call.write(environment_pb2.EnvRunTrialInput(state=END, details="stop now"))
        assert await asyncio.wait_for(call.code(), 5) == grpc.StatusCode.OK
    assert len(errors) == 3
    assert "unknown observation target [nobody]" in errors[0]
    assert "no observation for actor(s)" in errors[1]
    assert "more than one observation" in errors[2]
    assert events == []  # hard end: no FINAL event


async def test_environment_implementation_raising_ends_its_session(caplog: Any) -> None:
    ctx = cogment.Context(user_id="test", cog_settings=make_settings())

    async def env(session: cogment.EnvironmentSession[Any, Any, Any]) -> None:
        session.start([("*", Observation())])
        async for _ in session.all_events():
            raise ValueError("boom")

    ctx.register_environment(env, "envimpl")
    async with serving(ctx) as port, grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        stub = environment_pb2_grpc.EnvironmentSPStub(channel)
        call = open_stream(stub.RunTrial, "t4")
        await call.write(init_msg())
        await read(call)
        await read(call)
        await call.write(action_set(1))
        assert await asyncio.wait_for(call.code(), 5) == grpc.StatusCode.UNKNOWN
        assert "boom" in (await call.details())
        status = await stub.Status(common_pb2.StatusRequest(names=["*"]))
        assert status.statuses["nb_sessions"] == "0"
    assert any("ValueError: boom" in (r.exc_text or "") for r in caplog.records)


async def test_environment_before_init() -> None:
    ctx = cogment.Context(user_id="test", cog_settings=make_settings())

    async def env(session: cogment.EnvironmentSession[Any, Any, Any]) -> None:
        raise AssertionError("must not run")

    ctx.register_environment(env, "envimpl")
    async with serving(ctx) as port, grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        stub = environment_pb2_grpc.EnvironmentSPStub(channel)
        call = open_stream(stub.RunTrial, "t5")
        await call.write(environment_pb2.EnvRunTrialInput(state=LAST))
        assert (await read(call)).state == LAST_ACK
        await call.write(environment_pb2.EnvRunTrialInput(state=END))
        assert await asyncio.wait_for(call.code(), 5) == grpc.StatusCode.OK
        # missing trial-id
        call = open_stream(stub.RunTrial)
        assert await asyncio.wait_for(call.code(), 5) == grpc.StatusCode.INVALID_ARGUMENT
        # unknown implementation
        call = open_stream(stub.RunTrial, "t6")
        msg = init_msg()
        msg.init_input.impl_name = "nope"
        await call.write(msg)
        assert await asyncio.wait_for(call.code(), 5) == grpc.StatusCode.INVALID_ARGUMENT
        assert "unknown implementation [nope]" in await call.details()
        version = await stub.Version(common_pb2.VersionRequest())
        assert [v.name for v in version.versions] == ["cogment_sdk", "grpc"]
