"""The SDK's Model Registry v2 client against the real Model Registry service."""

from __future__ import annotations

import asyncio
import gc
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import grpc.aio
import pytest

from cogment import CogmentError, Endpoint, GrpcMetadata
from cogment._grpc import create_channel
from cogment.api import model_registry_pb2_grpc
from cogment.model_registry_v2 import LatestModel, ModelInfo, ModelIterationInfo, ModelRegistry
from cogment_services.model_registry import ModelRegistryServer
from cogment_services.model_registry._registry import ModelRegistryState
from cogment_services.model_registry._servicer import ModelRegistryServicer

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[ModelRegistryServer]:
    async with ModelRegistryServer(
        port=0, archive_dir=tmp_path / "archive", cache_max_items=4
    ) as running:
        yield running


@pytest.fixture
async def channel(server: ModelRegistryServer) -> AsyncIterator[grpc.aio.Channel]:
    async with create_channel(Endpoint(server.endpoint)) as opened:
        yield opened


@pytest.fixture
def registry(channel: grpc.aio.Channel) -> ModelRegistry:
    return ModelRegistry(channel, GrpcMetadata([("x-test", "yes")]))


async def eventually(predicate: object, timeout: float = 5.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():  # type: ignore[operator]
        assert loop.time() < deadline, "condition not reached in time"
        await asyncio.sleep(0.02)


async def test_store_publish_retrieve_and_infos(registry: ModelRegistry) -> None:
    assert registry.has_specs()
    assert await registry.get_model_info("m") is None
    stored = await registry.store_model("m", b"first", {"epoch": "1"})
    assert isinstance(stored, ModelIterationInfo)
    assert (stored.model_name, stored.iteration, stored.stored, stored.size) == ("m", 1, True, 5)
    assert stored.properties == {"epoch": "1"}
    assert stored.timestamp > 0 and len(stored.hash) == 44
    published = await registry.publish_model("m", bytearray(b"second"))
    assert (published.iteration, published.stored) == (2, False)

    assert await registry.retrieve_model("m") == b"second"
    assert await registry.retrieve_model("m", 1) == b"first"
    assert await registry.retrieve_model("m", -2) == b"first"
    assert await registry.retrieve_model("m", 3) is None
    with pytest.raises(CogmentError, match=r"Unknown model \[nope\]"):
        await registry.retrieve_model("nope")

    assert await registry.get_iteration_info("m", 1) == stored
    assert await registry.get_iteration_info("m", -1) == published
    assert await registry.get_iteration_info("m", 7) is None
    with pytest.raises(CogmentError, match="nope"):
        await registry.get_iteration_info("nope", 1)
    assert await registry.list_iterations("m") == [stored, published]
    with pytest.raises(CogmentError, match="nope"):
        await registry.list_iterations("nope")

    assert await registry.get_model_info("m") == ModelInfo("m", {})
    await registry.update_model_info("m", {"a": "1", "b": "2"})
    await registry.update_model_info("m", {"c": "3"})  # overwrites
    info = await registry.get_model_info("m")
    assert info is not None and info.properties == {"c": "3"}
    assert "name = m" in str(info) and "iteration = 1" in str(stored)

    await registry.update_model_info("other", {"x": "y"})  # creates the model
    assert await registry.list_models() == [
        ModelInfo("m", {"c": "3"}),
        ModelInfo("other", {"x": "y"}),
    ]

    await registry.remove_model("m")
    assert await registry.get_model_info("m") is None
    with pytest.raises(CogmentError, match=r"Unknown model \[m\]"):
        await registry.remove_model("m")
    # Storing to a removed (or new) name creates it again, numbering from 1.
    assert (await registry.store_model("m", b"again")).iteration == 1


async def test_invalid_arguments(registry: ModelRegistry) -> None:
    with pytest.raises(CogmentError, match="empty"):
        await registry.store_model("m", b"")
    with pytest.raises(CogmentError, match="bytes"):
        await registry.publish_model("m", "text")  # type: ignore[arg-type]
    with pytest.raises(CogmentError, match="name"):
        await registry.store_model("", b"x")
    await registry.store_model("m", b"x")
    with pytest.raises(CogmentError, match="INVALID_ARGUMENT"):
        await registry.retrieve_model("m", 0)


async def test_paging_through_many_models_and_iterations() -> None:
    async with ModelRegistryServer(port=0, archive_dir=None) as server:  # in memory: fast
        channel = create_channel(Endpoint(server.endpoint))
        async with channel:
            await _paging(ModelRegistry(channel))


async def _paging(registry: ModelRegistry) -> None:
    for index in range(105):
        await registry.update_model_info(f"model-{index:03d}", {})
    names = [info.name for info in await registry.list_models()]
    assert names == [f"model-{index:03d}" for index in range(105)]
    for index in range(101):
        await registry.store_model("model-000", index.to_bytes(2, "big"))
    iterations = await registry.list_iterations("model-000")
    assert [info.iteration for info in iterations] == list(range(1, 102))


async def test_large_model(registry: ModelRegistry) -> None:
    data = os.urandom(64 * 1024 * 1024)
    info = await registry.store_model("big", data)
    assert info.size == len(data)
    assert await registry.retrieve_model("big") == data


async def test_evicted_iteration_is_none(registry: ModelRegistry) -> None:
    for index in range(6):  # cache_max_items=4
        await registry.publish_model("m", bytes([index + 1]))
    assert await registry.retrieve_model("m", 1) is None
    assert await registry.retrieve_model("m", 6) == bytes([6])
    assert [info.iteration for info in await registry.list_iterations("m")] == [3, 4, 5, 6]


async def test_iteration_updates(registry: ModelRegistry, server: ModelRegistryServer) -> None:
    await registry.store_model("m", b"one")
    updates = registry.iteration_updates("m")
    first = await asyncio.wait_for(updates.__anext__(), 5)
    assert first.iteration == 1
    await registry.publish_model("m", b"two")
    second = await asyncio.wait_for(updates.__anext__(), 5)
    assert (second.iteration, second.stored) == (2, False)
    assert server.state.update_stream_count == 1
    await updates.aclose()  # cancels the stream on the server too
    await eventually(lambda: server.state.update_stream_count == 0)

    with pytest.raises(CogmentError, match="nope"):
        async for _ in registry.iteration_updates("nope"):
            pass


async def test_track_latest_model_bytes(
    registry: ModelRegistry, server: ModelRegistryServer
) -> None:
    await registry.store_model("m", b"v1")
    latest = await registry.track_latest_model("m")
    assert isinstance(latest, LatestModel) and latest.name == "m"
    assert not latest.is_deserialized()
    model, info = await asyncio.wait_for(latest.get(), 5)
    assert (model, info.iteration) == (b"v1", 1)
    assert latest.is_available()

    waiting = asyncio.ensure_future(latest.wait_for_newer(1))
    await asyncio.sleep(0.1)
    assert not waiting.done()
    await registry.publish_model("m", b"v2")
    await asyncio.wait_for(waiting, 5)
    model, info = await latest.get()
    assert (model, info.iteration, info.stored) == (b"v2", 2, False)
    assert latest.get_no_wait() == (model, info)

    # Several iterations at once: wait_for_newer(2) ends on the first newer one, eventually the last.
    for index in range(3, 6):
        await registry.store_model("m", f"v{index}".encode())
    await asyncio.wait_for(latest.wait_for_newer(4), 5)
    assert (await latest.get())[1].iteration == 5

    latest.close()
    await eventually(lambda: server.state.update_stream_count == 0)
    with pytest.raises(CogmentError, match="stopped"):
        await latest.wait_for_newer(5)


async def test_track_latest_model_shared_and_deserialized(
    registry: ModelRegistry, channel: grpc.aio.Channel, server: ModelRegistryServer
) -> None:
    calls: list[bytes] = []

    def deserialize(data: bytes) -> dict[str, str]:
        calls.append(data)
        return {"model": data.decode()}

    await registry.update_model_info("m", {})
    latest = await registry.track_latest_model("m", deserialize)
    assert latest.is_deserialized()
    assert not latest.is_available()
    assert latest.get_no_wait() == (None, None)

    # Same model, same endpoint: the same shared instance, one background stream.
    # (Typed LatestModel[bytes] for lack of deserialize_func: it is the shared, deserializing one.)
    again: LatestModel[Any] = await ModelRegistry(channel).track_latest_model("m")
    assert again is latest
    same = await registry.track_latest_model("m", deserialize)
    assert same is latest
    with pytest.raises(CogmentError, match="different deserialize_func"):
        await registry.track_latest_model("m", lambda data: data)

    await registry.store_model("m", b"abc")
    model, info = await asyncio.wait_for(latest.get(), 5)
    assert model == {"model": "abc"} and info.iteration == 1
    model["changed"] = "by a user"  # seen by every user of the shared instance
    assert (await again.get())[0]["changed"] == "by a user"
    await registry.store_model("m", b"def")
    await asyncio.wait_for(latest.wait_for_newer(1), 5)
    assert (await again.get())[0] == {"model": "def"}
    assert calls == [b"abc", b"def"]
    assert server.state.update_stream_count == 1

    # Dropping every reference stops the background task and its stream.
    del latest, again, same, model
    gc.collect()
    await eventually(lambda: server.state.update_stream_count == 0)


async def test_track_latest_model_async_deserialize_and_initial_wait(
    registry: ModelRegistry,
) -> None:
    async def deserialize(data: bytes) -> int:
        await asyncio.sleep(0)
        return int(data)

    with pytest.raises(CogmentError, match=r"Model \[late\] not found"):
        await registry.track_latest_model("late", deserialize, initial_wait=0)

    async def create_later() -> None:
        await asyncio.sleep(0.3)
        await registry.publish_model("late", b"42")

    creator = asyncio.ensure_future(create_later())
    latest = await asyncio.wait_for(
        registry.track_latest_model("late", deserialize, initial_wait=5), 10
    )
    await creator
    assert await asyncio.wait_for(latest.get(), 5) == (
        42,
        await registry.get_iteration_info("late", 1),
    )
    latest.close()

    with pytest.raises(CogmentError, match="one argument"):
        await registry.track_latest_model("late", lambda: None)  # type: ignore[arg-type, misc]


async def test_concurrent_tracking_starts_share_and_survive_cancellation(
    registry: ModelRegistry,
) -> None:
    first = asyncio.ensure_future(registry.track_latest_model("later", initial_wait=5))
    second = asyncio.ensure_future(registry.track_latest_model("later", initial_wait=5))
    third = asyncio.ensure_future(registry.track_latest_model("later", initial_wait=5))
    await asyncio.sleep(0.2)
    first.cancel()  # the caller that was waiting for the model to exist goes away
    await asyncio.sleep(0.2)
    await registry.publish_model("later", b"here")
    second_latest, third_latest = await asyncio.wait_for(asyncio.gather(second, third), 10)
    assert second_latest is third_latest
    assert (await asyncio.wait_for(second_latest.get(), 5))[0] == b"here"
    assert first.cancelled()
    second_latest.close()


async def test_track_latest_model_fails_clearly_when_model_deleted(registry: ModelRegistry) -> None:
    await registry.update_model_info("doomed", {})
    latest = await registry.track_latest_model("doomed")
    waiting = asyncio.ensure_future(latest.get())
    await asyncio.sleep(0.1)
    await registry.remove_model("doomed")
    with pytest.raises(CogmentError, match="doomed"):
        await asyncio.wait_for(waiting, 5)


async def test_track_survives_registry_restart(tmp_path: Path) -> None:
    archive = tmp_path / "archive"
    server = ModelRegistryServer(port=0, archive_dir=archive)
    await server.start()
    port = server.port
    try:
        async with create_channel(Endpoint(server.endpoint)) as channel:
            registry = ModelRegistry(channel)
            await registry.store_model("m", b"before")
            latest = await registry.track_latest_model("m")
            assert (await asyncio.wait_for(latest.get(), 5))[0] == b"before"
            await server.stop()
            server = ModelRegistryServer(port=port, archive_dir=archive)
            await server.start()
            await registry.store_model("m", b"after")
            await asyncio.wait_for(latest.wait_for_newer(1), 15)
            assert (await latest.get())[0] == b"after"
            latest.close()
    finally:
        await server.stop()


class _RecordMetadata(grpc.aio.ServerInterceptor):  # type: ignore[type-arg]
    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, str | bytes]]] = []

    async def intercept_service(self, continuation: Any, handler_call_details: Any) -> Any:
        metadata = {item.key: item.value for item in handler_call_details.invocation_metadata or ()}
        self.calls.append((handler_call_details.method.rsplit("/", 1)[-1], metadata))
        return await continuation(handler_call_details)


async def test_every_call_carries_the_metadata() -> None:
    recorder = _RecordMetadata()
    server = grpc.aio.server(interceptors=[recorder])
    state = ModelRegistryState(None)
    model_registry_pb2_grpc.add_ModelRegistrySPServicer_to_server(
        ModelRegistryServicer(state), server
    )
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    try:
        async with create_channel(Endpoint(f"grpc://127.0.0.1:{port}")) as channel:
            registry = ModelRegistry(channel, GrpcMetadata([("x-test", "yes")]))
            await registry.store_model("m", b"1")
            await registry.publish_model("m", b"2")
            await registry.retrieve_model("m")
            await registry.get_iteration_info("m", 1)
            await registry.list_iterations("m")
            await registry.update_model_info("m", {})
            await registry.get_model_info("m")
            await registry.list_models()
            updates = registry.iteration_updates("m")
            await updates.__anext__()
            await updates.aclose()
            await registry.remove_model("m")
    finally:
        await server.stop(0)
    methods = {method for method, _ in recorder.calls}
    assert methods >= {
        "RetrieveModels",
        "CreateOrUpdateModel",
        "CreateVersion",
        "RetrieveVersionData",
        "RetrieveVersionInfos",
        "VersionUpdate",
        "DeleteModel",
    }
    assert all(metadata.get("x-test") == "yes" for _, metadata in recorder.calls), recorder.calls


async def test_context_discovers_the_registry_through_the_directory(tmp_path: Path) -> None:
    from cogment import Context
    from cogment._directory import Directory as DirectoryClient
    from cogment._endpoint_url import ServiceType
    from cogment_services.directory import Directory
    from cogment_services.model_registry._directory import DirectoryRegistration

    async with (
        Directory(port=0) as directory,
        ModelRegistryServer(port=0, archive_dir=tmp_path) as server,
    ):
        registration = DirectoryRegistration(directory.endpoint, host="127.0.0.1")
        await registration.register(server.port)
        try:
            context = Context(
                user_id="test", cog_settings=None, directory_endpoint=Endpoint(directory.endpoint)
            )
            registry = await context.get_model_registry_v2()
            await registry.store_model("found", b"via the directory")
            assert server.state.model_count == 1
            assert await registry.retrieve_model("found") == b"via the directory"
        finally:
            await registration.deregister()
        async with DirectoryClient.connect(directory.endpoint) as client:
            assert await client.inquire_by_type(ServiceType.MODEL_REG) == []
