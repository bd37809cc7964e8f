"""Read every sample of every trial of a Trial Datastore with a ``cogment`` Datastore client.

Runs under our interpreter and the published SDK 2.10.1's (Python 3.10):
``python _reader.py <port>`` prints ``{"samples_per_s": ..., "samples": ...}``. Each sample's
actor data is decoded (observation and action parsed, rewards iterated), as a consumer would.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
import types
from typing import Any

from google.protobuf import wrappers_pb2


def _cog_settings() -> Any:
    from cogment.actor import ActorClass, ActorClassList

    return types.SimpleNamespace(
        actor_classes=ActorClassList(
            ActorClass("player", None, wrappers_pb2.StringValue, wrappers_pb2.StringValue)
        )
    )


def _datastore(channel: Any) -> Any:
    from cogment.datastore import Datastore

    try:
        from cogment import _datastore  # ours: owns a channel

        return _datastore.Datastore(channel, _cog_settings())
    except ImportError:  # the published SDK: takes a stub
        from cogment.api import trial_datastore_pb2_grpc

        return Datastore(trial_datastore_pb2_grpc.TrialDatastoreSPStub(channel), _cog_settings())


async def main(port: int) -> None:
    import grpc.aio

    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        datastore = _datastore(channel)
        infos = await datastore.get_trials()
        count = 0
        total = 0.0
        start = time.perf_counter()
        async for sample in datastore.all_samples(infos):
            for data in sample.actors_data.values():
                if data.observation is not None:
                    count += 1
                if data.action is not None:
                    count += 1
                total += data.reward
                for reward in data.all_received_rewards():
                    total += reward.value
        elapsed = time.perf_counter() - start
        samples = sum(info.sample_count for info in infos)
        print(
            json.dumps({"samples_per_s": samples / elapsed, "samples": samples, "decoded": count})
        )


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1])))
