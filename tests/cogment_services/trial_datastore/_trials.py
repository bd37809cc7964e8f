"""Build trials the way the Orchestrator logs them (``orchestrator-spec.md`` §8), and drive a
Trial Datastore over gRPC in tests."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field

import grpc
import grpc.aio
from google.protobuf import any_pb2, wrappers_pb2

from cogment.api import (
    common_pb2,
    datalog_pb2,
    datalog_pb2_grpc,
    trial_datastore_pb2,
    trial_datastore_pb2_grpc,
)

ENDED = common_pb2.ENDED
RUNNING = common_pb2.RUNNING


@dataclass
class ActorSpec:
    name: str
    actor_class: str = "player"
    implementation: str = "impl"
    default_action: bytes | None = None


@dataclass
class TrialSpec:
    """A scripted trial: ``ticks`` normal samples then the final ENDED one."""

    trial_id: str
    actors: Sequence[ActorSpec] = (ActorSpec("alice"), ActorSpec("bob", "referee", "judge"))
    env_name: str = "env"
    ticks: int = 3
    properties: dict[str, str] = field(default_factory=dict)


def make_params(spec: TrialSpec) -> common_pb2.TrialParams:
    params = common_pb2.TrialParams(max_steps=spec.ticks, nb_buffered_ticks=2)
    params.properties.update(spec.properties)
    params.environment.name = spec.env_name
    params.environment.implementation = "env_impl"
    params.datalog.endpoint = "grpc://datastore"
    for actor in spec.actors:
        actor_params = params.actors.add(
            name=actor.name,
            actor_class=actor.actor_class,
            implementation=actor.implementation,
            endpoint="grpc://actors",
        )
        if actor.default_action is not None:
            actor_params.default_action.content = actor.default_action
    return params


def observation(tick: int, actor: int) -> bytes:
    """Serialized ``StringValue("obs-<tick>-<actor>")`` (the test specs' observation space)."""
    return wrappers_pb2.StringValue(value=f"obs-{tick}-{actor}").SerializeToString()


def action(tick: int, actor: int) -> bytes:
    """Serialized ``StringValue("act-<tick>-<actor>")`` (the test specs' action space)."""
    return wrappers_pb2.StringValue(value=f"act-{tick}-{actor}").SerializeToString()


def packed(text: str) -> any_pb2.Any:
    payload = any_pb2.Any()
    payload.Pack(wrappers_pb2.StringValue(value=text))
    return payload


def make_sample(
    spec: TrialSpec, tick: int, timestamp: int | None = None
) -> datalog_pb2.DatalogSample:
    """Sample ``tick`` (``tick == spec.ticks`` is the final ENDED one, placeholders only).

    Every normal tick: one observation per actor (actors_map identity), each actor acts,
    the first actor rewards ``*`` (value tick, confidence 1) with user data, the environment
    rewards the second actor (value 10, confidence 2), the first actor messages the second and
    the environment.
    """
    final = tick == spec.ticks
    sample = datalog_pb2.DatalogSample()
    sample.info.tick_id = tick
    sample.info.timestamp = timestamp if timestamp is not None else 1_000_000_000 + tick
    sample.info.state = ENDED if final else RUNNING
    n = len(spec.actors)
    sample.observations.tick_id = -1
    sample.observations.timestamp = sample.info.timestamp
    for index in range(n):
        sample.observations.observations.append(observation(tick, index))
        sample.observations.actors_map.append(index)
    for index in range(n):
        if final:
            sample.actions.add(tick_id=-2, content=b"")
        else:
            sample.actions.add(tick_id=tick, timestamp=tick, content=action(tick, index))
    if not final and n >= 2:
        first, second = spec.actors[0].name, spec.actors[1].name
        reward = sample.rewards.add(tick_id=-1, receiver_name="*")
        reward.sources.add(
            sender_name=first, value=float(tick), confidence=1.0, user_data=packed(f"u{tick}")
        )
        env_reward = sample.rewards.add(tick_id=-1, receiver_name=second)
        env_reward.sources.add(sender_name=spec.env_name, value=10.0, confidence=2.0)
        sample.messages.add(
            tick_id=-1, sender_name=first, receiver_name=second, payload=packed(f"m{tick}")
        )
        sample.messages.add(
            tick_id=-1, sender_name=first, receiver_name=spec.env_name, payload=packed("to-env")
        )
    return sample


def datalog_inputs(spec: TrialSpec) -> list[datalog_pb2.RunTrialDatalogInput]:
    inputs = [datalog_pb2.RunTrialDatalogInput(trial_params=make_params(spec))]
    inputs += [
        datalog_pb2.RunTrialDatalogInput(sample=make_sample(spec, tick))
        for tick in range(spec.ticks + 1)
    ]
    return inputs


async def log_trial(
    channel: grpc.aio.Channel,
    spec: TrialSpec,
    *,
    user_id: str = "tester",
    delay: float = 0.0,
    stop_after: int | None = None,
) -> int:
    """Log ``spec`` through ``DatalogSP``; returns the number of acknowledgements received.

    ``stop_after``: send only the params and that many samples, then wait for their acks.
    """
    stub = datalog_pb2_grpc.DatalogSPStub(channel)
    inputs = datalog_inputs(spec)
    if stop_after is not None:
        inputs = inputs[: 1 + stop_after]

    async def requests() -> AsyncIterator[datalog_pb2.RunTrialDatalogInput]:
        for message in inputs:
            yield message
            if delay:
                await asyncio.sleep(delay)

    call = stub.RunTrialDatalog(
        requests(), metadata=(("trial-id", spec.trial_id), ("user-id", user_id)), timeout=30
    )
    acks = 0
    async for _ in call:
        acks += 1
    return acks


def datastore_stub(channel: grpc.aio.Channel) -> trial_datastore_pb2_grpc.TrialDatastoreSPAsyncStub:
    return trial_datastore_pb2_grpc.TrialDatastoreSPStub(channel)


async def retrieve_samples(
    channel: grpc.aio.Channel, trial_ids: Sequence[str], **filters: Sequence[object]
) -> list[trial_datastore_pb2.StoredTrialSample]:
    request = trial_datastore_pb2.RetrieveSamplesRequest(trial_ids=trial_ids, **filters)  # type: ignore[arg-type]
    return [
        reply.trial_sample
        async for reply in datastore_stub(channel).RetrieveSamples(request, timeout=30)
    ]
