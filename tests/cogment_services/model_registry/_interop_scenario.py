"""A Model Registry v2 client scenario run by both SDKs against our service.

Only the public ``cogment.model_registry_v2`` API is used, so the same code runs with the
published SDK 2.10.1 (Python 3.10 oracle venv, as a script: ``python _interop_scenario.py
<port>`` prints the JSON result) and with ours (imported, :func:`scenario` called directly).
Timestamps are checked then dropped, the rest must be identical.
"""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any


def _info(info: Any) -> Any:
    if info is None:
        return None
    assert info.timestamp > 0
    return {
        "model_name": info.model_name,
        "iteration": info.iteration,
        "hash": info.hash,
        "size": info.size,
        "stored": info.stored,
        "properties": dict(info.properties),
    }


def _model(info: Any) -> Any:
    return None if info is None else {"name": info.name, "properties": dict(info.properties)}


async def _error_name(awaitable: Any) -> str:
    try:
        await awaitable
    except Exception as error:
        return type(error).__name__
    return "no error"


async def scenario(registry: Any) -> dict[str, Any]:
    """Run the scenario on a fresh registry; returns comparable results."""
    out: dict[str, Any] = {}
    out["store"] = _info(await registry.store_model("a", b"A1", {"k": "v"}))
    out["publish"] = _info(await registry.publish_model("a", b"A2"))
    out["retrieve_latest"] = (await registry.retrieve_model("a")).decode()
    out["retrieve_1"] = (await registry.retrieve_model("a", 1)).decode()
    out["retrieve_missing"] = await registry.retrieve_model("a", 99)
    out["retrieve_unknown_model"] = await _error_name(registry.retrieve_model("zz"))
    out["info_latest"] = _info(await registry.get_iteration_info("a", -1))
    out["info_1"] = _info(await registry.get_iteration_info("a", 1))
    out["info_missing"] = _info(await registry.get_iteration_info("a", 99))
    out["iterations"] = [_info(info) for info in await registry.list_iterations("a")]

    await registry.update_model_info("a", {"p": "1"})
    out["model_a"] = _model(await registry.get_model_info("a"))
    out["model_unknown"] = _model(await registry.get_model_info("zz"))

    for index in range(12):
        await registry.store_model("b", f"B{index}".encode(), {"index": str(index)})
    out["iterations_b"] = [_info(info) for info in await registry.list_iterations("b")]
    for index in range(10):
        await registry.update_model_info(f"m{index:02d}", {"i": str(index)})
    out["models"] = [_model(info) for info in await registry.list_models()]

    updates = []
    async for info in registry.iteration_updates("a"):
        updates.append(_info(info))
        if len(updates) == 1:
            await registry.publish_model("a", b"A3")
        else:
            break
    out["updates"] = updates

    latest = await registry.track_latest_model("a")
    data, info = await asyncio.wait_for(latest.get(), 10)
    out["tracked_first"] = [data.decode(), _info(info)]
    await registry.store_model("a", b"A4")
    await asyncio.wait_for(latest.wait_for_newer(info.iteration), 10)
    data, info = await latest.get()
    out["tracked_newer"] = [data.decode(), _info(info)]
    out["tracked_available"] = latest.is_available()

    await registry.remove_model("b")
    out["models_after_remove"] = [
        info["name"] for info in map(_model, await registry.list_models())
    ]
    out["model_b_after_remove"] = _model(await registry.get_model_info("b"))
    return out


async def scenario_v1(registry: Any, model_class: Any) -> dict[str, Any]:
    """The deprecated v1 API (still used by the published SDK's own tests)."""

    def version(info: Any) -> Any:
        assert info.creation_timestamp > 0
        return [info.version_number, info.archived, info.data_hash, info.data_size]

    out: dict[str, Any] = {}
    model = model_class("v1", b"first", user_data={"a": "1"}, version_user_data={"e": "1"})
    out["initial"] = version(await registry.store_initial_version(model))
    out["second"] = version(await registry.store_version(model_class("v1", b"second"), True))
    info = await registry.retrieve_model_info("v1")
    out["info"] = [info.id, dict(info.user_data)]
    for number in (-1, 1):
        got = await registry.retrieve_version("v1", number)
        out[f"version_{number}"] = [
            got.id,
            got.serialized_model.decode(),
            dict(got.user_data),
            dict(got.version_user_data),
            version(got.stored_version_info),
        ]
    return out


async def _published_sdk_main(port: int) -> None:
    import importlib

    import grpc.aio

    import cogment.api.model_registry_pb2_grpc as model_registry_grpc

    # The published class: ModelRegistry(stub, endpoint_url, metadata=GrpcMetadata()).
    published_registry: Any = importlib.import_module("cogment.model_registry_v2").ModelRegistry
    url = f"grpc://127.0.0.1:{port}"
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        stub = model_registry_grpc.ModelRegistrySPStub(channel)
        result = await scenario(published_registry(stub, url))
        v1 = importlib.import_module("cogment.model_registry")
        result["v1"] = await scenario_v1(v1.ModelRegistry(stub), v1.Model)
    print(json.dumps(result, sort_keys=True))


if __name__ == "__main__":
    asyncio.run(_published_sdk_main(int(sys.argv[1])))
