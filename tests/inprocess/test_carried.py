"""Observations and actions carried as objects in-process (``cogment._carried``): no
serialization, and the aliasing rule (a copy when sent, one object per receiver)."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

import pytest

import cogment
from cogment._carried import (
    CarriedAction,
    CarriedObservationSet,
    copy_message,
    decode,
)
from cogment.api import common_pb2

pytestmark = pytest.mark.timeout(30)

INPROC = "grpc://inprocess:1"


def test_carried_messages_serialize_only_on_demand() -> None:
    one = common_pb2.TrialActor(name="a", actor_class="c")
    obs_set = CarriedObservationSet(7, [0, 0], [one])
    assert obs_set.WhichOneof("data") == "observation_set" and obs_set.observation_set is obs_set
    assert obs_set._serialized is None  # nothing serialized yet
    wire = obs_set.to_proto()
    assert list(wire.observations) == [one.SerializeToString()]
    assert list(wire.actors_map) == [0, 0] and wire.timestamp == 7
    action = CarriedAction(3, 9, one)
    assert action.content == one.SerializeToString() and action.carried is one
    assert action.to_proto() == common_pb2.Action(tick_id=3, timestamp=9, content=action.content)
    empty = CarriedAction(3, 9, None)
    assert empty.content == b"" and empty.carried == b""
    copy = copy_message(one)
    assert copy == one and copy is not one
    parse = common_pb2.TrialActor.FromString
    assert decode(parse, one) is one  # a carried object is the receiver's own already
    assert decode(parse, one.SerializeToString()) == one
    assert decode(bytes, one) == one.SerializeToString()  # a receiver without specs


class _Game:
    """The environment keeps and mutates what it sent and received; actors mutate their
    actions after sending them. Nobody may see another's change."""

    def __init__(self, pb2: Any) -> None:
        self.pb2 = pb2
        self.moves_seen: list[list[int]] = []
        self.steps_seen: dict[str, list[int]] = {"p1": [], "p2": []}
        self.info_steps: list[int] = []
        self.done = asyncio.Event()
        self.finished = 0

    async def environment(self, session: Any) -> None:
        pb2 = self.pb2
        shared = pb2.PlayerObservation(step=0, seen="s")
        session.start([("*", shared)])
        shared.step = 1000  # after sending
        async for event in session.all_events():
            if not event.actions:
                continue
            tick = event.actions[0].tick_id
            self.moves_seen.append([a.action.move for a in event.actions])
            for received in event.actions:
                received.action.move = -5  # the environment owns what it received
            shared.step = tick + 1
            if event.type == cogment.EventType.ENDING:
                session.end([("*", shared)])
            else:
                session.produce_observations([("*", shared)])
            shared.step = 2000  # after sending
        self._finished()

    async def actor(self, session: Any) -> None:
        pb2 = self.pb2
        session.start()
        async for event in session.all_events():
            if event.observation is None:
                continue
            observation = event.observation.observation
            self.steps_seen[session.name].append(observation.step)
            observation.step = -1  # its own copy: p2 must not see it
            if event.type == cogment.EventType.ACTIVE:
                action = pb2.PlayerAction(move=7)
                session.do_action(action)
                action.move = 99  # after sending
        self._finished()

    def _finished(self) -> None:
        self.finished += 1
        if self.finished == 3:
            self.done.set()


@pytest.mark.parametrize("client", [False, True], ids=["service-actors", "client-actor"])
async def test_aliasing_rule_in_a_trial(spec: SimpleNamespace, client: bool) -> None:
    """p2 is a service actor, or a client actor joined in-process (``join_trial``)."""
    context = cogment.Context(user_id="carried", cog_settings=spec.settings)
    game = _Game(spec.pb2)
    context.register_environment(impl=game.environment, impl_name="env")
    context.register_actor(impl=game.actor, impl_name="plays", actor_classes=["player"])
    settings = spec.settings
    params = cogment.TrialParameters(
        settings,
        environment_name="env",
        environment_endpoint=INPROC,
        environment_implementation="env",
        max_steps=3,
        actors=[
            cogment.ActorParameters(
                settings,
                name=name,
                class_name="player",
                endpoint="cogment://client" if client and name == "p2" else INPROC,
                implementation="plays",
            )
            for name in ("p1", "p2")
        ],
    )
    async with context.embedded_orchestrator() as orch:
        controller = orch.get_controller()
        trial_id = await controller.start_trial(trial_params=params)
        if client:
            await asyncio.wait_for(context.join_trial(trial_id, actor_name="p2"), 10)
        await asyncio.wait_for(game.done.wait(), 10)
        trial = orch.get_trial(trial_id)
        assert trial is not None
        # The Orchestrator's copy of the last observation set is what was sent (GetTrialInfo).
        latest = trial.latest_observation
        assert latest is not None
        [content] = latest.observations
        assert spec.pb2.PlayerObservation.FromString(content).step == 4
    # Observations as sent (not the sender's later changes, not the other actor's).
    for name in ("p1", "p2"):
        assert game.steps_seen[name] == [0, 1, 2, 3, 4]
    # Actions as sent (not the actors' later changes).
    assert game.moves_seen == [[7, 7]] * 4
