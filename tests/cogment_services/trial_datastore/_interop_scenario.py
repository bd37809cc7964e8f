"""Read a Trial Datastore with a ``cogment`` Datastore client and summarize what it gives, as JSON.

Runs under both interpreters: ours (imported by test_interop.py) and the published SDK 2.10.1's
Python 3.10 (run as ``python _interop_scenario.py <port>``). Only ``cogment``'s public names,
protobuf and grpc are used; keep it Python 3.10 compatible.
"""

from __future__ import annotations

import asyncio
import json
import sys
import types
from typing import Any

from google.protobuf import wrappers_pb2


def make_cog_settings() -> Any:
    from cogment.actor import ActorClass, ActorClassList

    return types.SimpleNamespace(
        actor_classes=ActorClassList(
            ActorClass("player", None, wrappers_pb2.StringValue, wrappers_pb2.StringValue),
            ActorClass("referee", None, wrappers_pb2.StringValue, wrappers_pb2.StringValue),
        )
    )


def _value(message: Any) -> Any:
    return None if message is None else message.value


def _guard(obj: Any, attribute: str, convert: Any = None) -> Any:
    """``obj.<attribute>`` (converted), or ``"error:<exception type>"`` if reading it raises."""
    try:
        value = getattr(obj, attribute)
        return convert(value) if convert is not None else value
    except Exception as error:
        return f"error:{type(error).__name__}"


def _any_text(payload: Any) -> Any:
    if payload is None:
        return None
    content = wrappers_pb2.StringValue()
    payload.Unpack(content)
    return content.value


def _info(info: Any) -> dict[str, Any]:
    actors = info.parameters.actors
    return {
        "trial_id": info.trial_id,
        "state": info.trial_state.name,
        "user_id": info.user_id,
        "sample_count": info.sample_count,
        "actors": [actors[index].name for index in range(len(actors))],
        "properties": dict(info.parameters.properties),
    }


def _rewards(rewards: Any) -> list[Any]:
    return sorted(
        [
            reward.value,
            reward.confidence,
            _guard(reward, "sender"),
            _guard(reward, "receiver"),
            _guard(reward, "user_data", _any_text),
        ]
        for reward in rewards
    )


def _messages(messages: Any) -> list[Any]:
    return sorted(
        [
            _guard(message, "sender"),
            _guard(message, "receiver"),
            _guard(message, "payload", _any_text),
        ]
        for message in messages
    )


def _sample(sample: Any) -> dict[str, Any]:
    actors = {}
    for name, data in sorted(sample.actors_data.items()):
        actors[name] = {
            "observation": _value(data.observation),
            "observation_serialized": None
            if data.observation_serialized is None
            else data.observation_serialized.hex(),
            "action": _value(data.action),
            "reward": data.reward,
            "received_rewards": _rewards(data.all_received_rewards()),
            "sent_rewards": _rewards(data.all_sent_rewards()),
            "received_messages": _messages(data.all_received_messages()),
            "sent_messages": _messages(data.all_sent_messages()),
        }
    return {
        "trial_id": sample.trial_id,
        "state": sample.trial_state.name,
        "tick_id": sample.tick_id,
        "timestamp": sample.timestamp,
        "actors": actors,
    }


async def scenario(datastore: Any) -> dict[str, Any]:
    """What ``datastore`` returns for the trials written by test_interop.py."""
    from cogment import DatastoreFields

    infos = await datastore.get_trials()
    result: dict[str, Any] = {"trials": [_info(info) for info in infos]}
    result["red"] = [
        info.trial_id for info in await datastore.get_trials(properties={"team": "red"})
    ]
    result["by_ids"] = [info.trial_id for info in await datastore.get_trials(ids=["blue", "nope"])]
    result["bundles"] = [info.trial_id async for info in datastore.all_trials(bundle_size=2)]
    result["samples"] = [_sample(sample) async for sample in datastore.all_samples(infos)]
    result["referee_rewards"] = [
        _sample(sample)
        async for sample in datastore.all_samples(
            infos,
            actor_classes=["referee"],
            fields=[DatastoreFields.REWARD, DatastoreFields.RECEIVED_REWARDS],
        )
    ]
    result["by_impl_observations"] = [
        _sample(sample)
        async for sample in datastore.all_samples(
            infos[:1], actor_implementations=["a1"], fields=[DatastoreFields.OBSERVATION]
        )
    ]
    return result


async def _published_main(port: int) -> None:
    import grpc.aio

    from cogment.api import trial_datastore_pb2_grpc
    from cogment.datastore import Datastore

    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        datastore = Datastore(
            trial_datastore_pb2_grpc.TrialDatastoreSPStub(channel), make_cog_settings()
        )
        print(json.dumps(await scenario(datastore), sort_keys=True))


if __name__ == "__main__":
    asyncio.run(_published_main(int(sys.argv[1])))
