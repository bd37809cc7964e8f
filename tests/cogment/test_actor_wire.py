"""Service actor sessions over the wire: a test client plays the orchestrator's side of
``ServiceActorSP.RunTrial`` step by step (sdk-reference-behaviour.md §5.2)."""

from __future__ import annotations

import asyncio
from typing import Any

import grpc
import pytest

import cogment
from cogment.api import agent_pb2_grpc, common_pb2
from tests.cogment._runtime_helpers import (
    EOF,
    Action,
    Observation,
    PlayerConfig,
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


class PlayerSession(cogment.ActorSession[Observation, Action, PlayerConfig]):
    pass


def init_msg(
    name: str = "p1", impl: str = "", config: bytes | None = None
) -> common_pb2.ActorRunTrialInput:
    init = common_pb2.ActorInitialInput(
        actor_name=name, actor_class="player", impl_name=impl, env_name="env"
    )
    if config is not None:
        init.config.content = config
    return common_pb2.ActorRunTrialInput(state=N, init_input=init)


def obs_msg(tick: int, name: str) -> common_pb2.ActorRunTrialInput:
    return common_pb2.ActorRunTrialInput(
        state=N,
        observation=common_pb2.Observation(
            tick_id=tick, timestamp=42, content=Observation(name=name).SerializeToString()
        ),
    )


async def read(call: Any) -> common_pb2.ActorRunTrialOutput:
    msg = await asyncio.wait_for(call.read(), 5)
    assert msg is not EOF
    return msg  # type: ignore[no-any-return]


async def test_actor_full_trial_with_typed_session(caplog: Any) -> None:
    ctx = cogment.Context(user_id="test", cog_settings=make_settings(PlayerSession))
    seen: list[Any] = []
    sessions: list[Any] = []

    async def player(session: PlayerSession) -> None:
        sessions.append(session)
        session.start()
        async for event in session.all_events():
            seen.append(event)
            if event.observation is not None:
                # also answers the ENDING observation: must be dropped with a warning
                session.do_action(Action(content=event.observation.observation.name.encode()))
            if event.type == cogment.EventType.ACTIVE and event.observation is not None:
                session.add_reward(0.5, 1.0, ["p2"], tick_id=3)
                session.send_message(Observation(name="to-env"), [session.env_name])

    ctx.register_actor(player, "smart", [make_settings(PlayerSession).actor_classes.player])
    async with serving(ctx) as port, grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        call = open_stream(agent_pb2_grpc.ServiceActorSPStub(channel).RunTrial, "t1")
        await call.write(common_pb2.ActorRunTrialInput(state=HB))
        assert (await read(call)).state == HB
        await call.write(init_msg(config=PlayerConfig(content=b"c").SerializeToString()))
        out = await read(call)
        assert out.state == N and out.HasField("init_output")
        await call.write(obs_msg(5, "a"))
        action = (await read(call)).action
        assert action.tick_id == 5 and action.timestamp > 0
        assert Action.FromString(action.content) == Action(content=b"a")
        reward = (await read(call)).reward
        assert (reward.tick_id, reward.receiver_name, reward.sources[0].sender_name) == (
            3,
            "p2",
            "p1",
        )
        message = (await read(call)).message
        assert message.receiver_name == "env"
        # a reward and a message from others: one event each
        await call.write(
            common_pb2.ActorRunTrialInput(
                state=N,
                reward=common_pb2.Reward(
                    tick_id=5,
                    receiver_name="p1",
                    value=2.0,
                    sources=[common_pb2.RewardSource(sender_name="env", value=2.0, confidence=1.0)],
                ),
            )
        )
        await call.write(
            common_pb2.ActorRunTrialInput(
                state=N,
                message=common_pb2.Message(tick_id=5, sender_name="p2", receiver_name="p1"),
            )
        )
        # soft end: LAST, final observation -> LAST_ACK before the ENDING event
        await call.write(common_pb2.ActorRunTrialInput(state=LAST))
        await call.write(obs_msg(6, "final"))
        assert (await read(call)).state == LAST_ACK
        await call.write(common_pb2.ActorRunTrialInput(state=END))
        await call.done_writing()
        assert await asyncio.wait_for(call.read(), 5) is EOF
        assert await call.code() == grpc.StatusCode.OK

    assert type(sessions[0]) is PlayerSession
    assert sessions[0].config == PlayerConfig(content=b"c")
    assert (sessions[0].actor_class, sessions[0].impl_name, sessions[0].env_name) == (
        "player",
        "smart",
        "env",
    )
    assert [e.type for e in seen] == [
        cogment.EventType.ACTIVE,
        cogment.EventType.ACTIVE,
        cogment.EventType.ACTIVE,
        cogment.EventType.ENDING,
        cogment.EventType.FINAL,
    ]
    assert seen[0].observation.tick_id == 5 and seen[0].observation.timestamp == 42
    assert seen[1].rewards[0].value == 2.0 and seen[1].rewards[0].get_nb_sources() == 1
    assert [s.sender_name for s in seen[1].rewards[0].all_sources()] == ["env"]
    assert seen[2].messages[0].sender_name == "p2" and seen[2].messages[0].payload is None
    assert seen[3].observation.observation == Observation(name="final")
    assert any("after acknowledging ending" in r.getMessage() for r in caplog.records)


async def test_actor_manual_sending_done_and_selection() -> None:
    ctx = cogment.Context(user_id="test", cog_settings=make_settings())
    ran: list[str] = []

    async def any_class(session: cogment.ActorSession[Any, Any, Any]) -> None:
        ran.append("any")

    async def manual(session: cogment.ActorSession[Any, Any, Any]) -> None:
        ran.append("manual")
        session.start(auto_done_sending=False)
        with pytest.raises(cogment.CogmentError, match="before the trial is ending"):
            session.sending_done()
        async for event in session.all_events():
            if event.type == cogment.EventType.ENDING:
                session.do_action(None)
                session.sending_done()

    ctx.register_actor(manual, "manual", ["player"])
    ctx.register_actor(any_class, "other", ["referee"])
    async with serving(ctx) as port, grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        stub = agent_pb2_grpc.ServiceActorSPStub(channel)
        call = open_stream(stub.RunTrial, "t2")
        await call.write(init_msg(impl=""))  # no impl name: first one for the class
        assert (await read(call)).HasField("init_output")
        await call.write(common_pb2.ActorRunTrialInput(state=LAST))
        await call.write(obs_msg(1, "x"))
        action = (await read(call)).action
        assert action.tick_id == 1 and action.content == b""
        assert (await read(call)).state == LAST_ACK
        await call.write(common_pb2.ActorRunTrialInput(state=END))
        assert await asyncio.wait_for(call.code(), 5) == grpc.StatusCode.OK
        # implementation registered for another class
        call = open_stream(stub.RunTrial, "t3")
        await call.write(init_msg(impl="other"))
        assert await asyncio.wait_for(call.code(), 5) == grpc.StatusCode.INVALID_ARGUMENT
        assert "does not run actor class [player]" in await call.details()
    assert ran == ["manual"]


async def test_actor_half_close_and_user_exception() -> None:
    ctx = cogment.Context(user_id="test", cog_settings=make_settings())
    finished = asyncio.Event()

    async def player(session: cogment.ActorSession[Any, Any, Any]) -> None:
        session.start()
        async for event in session.all_events():
            if event.observation is not None and event.observation.observation.name == "boom":
                raise RuntimeError("boom")
        finished.set()

    ctx.register_actor(player, "smart", ["player"])
    async with serving(ctx) as port, grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        stub = agent_pb2_grpc.ServiceActorSPStub(channel)
        call = open_stream(stub.RunTrial, "t4")
        await call.write(init_msg())
        await read(call)
        await call.done_writing()  # EOF without END
        await asyncio.wait_for(finished.wait(), 5)
        assert await asyncio.wait_for(call.code(), 5) == grpc.StatusCode.OK

        call = open_stream(stub.RunTrial, "t5")
        await call.write(init_msg())
        await read(call)
        await call.write(obs_msg(0, "boom"))
        assert await asyncio.wait_for(call.code(), 5) == grpc.StatusCode.UNKNOWN
        assert "RuntimeError('boom')" in await call.details()
        status = await stub.Status(common_pb2.StatusRequest(names=["nb_sessions"]))
        assert dict(status.statuses) == {"nb_sessions": "0"}


async def test_get_active_actors_raises_for_actors() -> None:
    session: cogment.ActorSession[Any, Any, Any] = cogment.ActorSession(
        "t", "p1", "impl", make_settings().actor_classes.player, "env", None
    )
    with pytest.raises(cogment.CogmentError):
        session.get_active_actors()


async def test_trace_level_logs_every_message(caplog: Any) -> None:
    ctx = cogment.Context(user_id="test", cog_settings=make_settings())

    async def player(session: cogment.ActorSession[Any, Any, Any]) -> None:
        session.start()
        async for _ in session.all_events():
            pass

    ctx.register_actor(player, "smart", ["player"])
    caplog.set_level(5, logger="cogment.sdk")  # TRACE
    async with serving(ctx) as port, grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        call = open_stream(agent_pb2_grpc.ServiceActorSPStub(channel).RunTrial, "t6")
        await call.write(init_msg())
        await read(call)
        await call.write(obs_msg(0, "traced"))
        await call.write(common_pb2.ActorRunTrialInput(state=END))
        assert await asyncio.wait_for(call.code(), 5) == grpc.StatusCode.OK
    traced = [r.getMessage() for r in caplog.records if r.levelno == 5]
    assert any("sending [state: NORMAL init_output" in t for t in traced), traced
    assert any("received" in t and "traced" in t for t in traced), traced
