"""Model Registry client workload, run by both SDKs (``python _workload.py <port> <quick>``).

Uses only the public ``cogment.model_registry_v2`` API so the published SDK 2.10.1 (Python 3.10)
runs it unchanged; prints one JSON line of timings.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from typing import Any


def _make_registry(channel: Any, port: int) -> Any:
    try:
        from cogment._model_registry import ModelRegistry  # ours

        return ModelRegistry(channel, endpoint=f"grpc://127.0.0.1:{port}")
    except ImportError:  # the published SDK: ModelRegistry(stub, endpoint_url, metadata)
        import importlib

        import cogment.api.model_registry_pb2_grpc as grpc_api

        published: Any = importlib.import_module("cogment.model_registry_v2").ModelRegistry
        return published(grpc_api.ModelRegistrySPStub(channel), f"grpc://127.0.0.1:{port}")


async def _main(port: int, quick: bool) -> None:
    import grpc.aio

    options = [
        ("grpc.max_receive_message_length", 64 * 1024 * 1024),
        ("grpc.max_send_message_length", 64 * 1024 * 1024),
    ]
    small = os.urandom(1024)
    big = os.urandom((8 if quick else 32) * 1024 * 1024)
    count = 50 if quick else 200
    result: dict[str, float] = {}
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}", options=options) as channel:
        registry = _make_registry(channel, port)
        name = f"bench-{os.getpid()}"
        await registry.publish_model(name, small)  # creates the model, warms the channel

        start = time.perf_counter()
        for _ in range(count):
            await registry.publish_model(name, small)
        result["publish_1KiB_per_s"] = count / (time.perf_counter() - start)

        start = time.perf_counter()
        for _ in range(count):
            await registry.retrieve_model(name)
        result["retrieve_1KiB_per_s"] = count / (time.perf_counter() - start)

        start = time.perf_counter()
        await registry.store_model(name, big)
        data = await registry.retrieve_model(name)
        elapsed = time.perf_counter() - start
        assert data == big
        result["store_retrieve_MiB_per_s"] = 2 * len(big) / (1024 * 1024) / elapsed

        latest = await registry.track_latest_model(name)
        await latest.get()
        rounds = 10 if quick else 30
        start = time.perf_counter()
        for _ in range(rounds):
            sent = await registry.publish_model(name, small)
            await asyncio.wait_for(latest.wait_for_newer(sent.iteration - 1), 10)
        result["track_latest_latency_ms"] = (time.perf_counter() - start) / rounds * 1000
        await registry.remove_model(name)
    print(json.dumps(result))


if __name__ == "__main__":
    asyncio.run(_main(int(sys.argv[1]), sys.argv[2] == "1"))
