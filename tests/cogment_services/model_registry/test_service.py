"""The Model Registry service over gRPC: every RPC, numbering, paging, cache, big models, errors."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import os
from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import grpc
import grpc.aio
import pytest

from cogment.api import common_pb2, model_registry_pb2, model_registry_pb2_grpc
from cogment_services.model_registry import ModelRegistryServer

if TYPE_CHECKING:
    from cogment.api.model_registry_pb2_grpc import ModelRegistrySPAsyncStub

pytestmark = pytest.mark.timeout(60)

Chunk = model_registry_pb2.CreateVersionRequestChunk


def sha(data: bytes) -> str:
    return base64.b64encode(hashlib.sha256(data).digest()).decode("ascii")


def version_chunks(
    model_id: str,
    data: bytes,
    archived: bool,
    user_data: dict[str, str] | None = None,
    data_hash: str = "",
    data_size: int | None = None,
    chunk_size: int = 1024 * 1024,
) -> list[model_registry_pb2.CreateVersionRequestChunk]:
    info = model_registry_pb2.ModelVersionInfo(
        model_id=model_id,
        archived=archived,
        data_size=len(data) if data_size is None else data_size,
        data_hash=data_hash,
        user_data=user_data or {},
    )
    chunks = [Chunk(header=Chunk.Header(version_info=info))]
    for start in range(0, len(data), chunk_size):
        chunks.append(Chunk(body=Chunk.Body(data_chunk=data[start : start + chunk_size])))
    return chunks


async def stream(
    chunks: Sequence[model_registry_pb2.CreateVersionRequestChunk],
) -> AsyncIterator[model_registry_pb2.CreateVersionRequestChunk]:
    for chunk in chunks:
        yield chunk


class Client:
    """Thin helpers over the raw stub."""

    def __init__(self, stub: ModelRegistrySPAsyncStub) -> None:
        self.stub = stub

    async def create_model(self, model_id: str, user_data: dict[str, str] | None = None) -> None:
        await self.stub.CreateOrUpdateModel(
            model_registry_pb2.CreateOrUpdateModelRequest(
                model_info=model_registry_pb2.ModelInfo(
                    model_id=model_id, user_data=user_data or {}
                )
            )
        )

    async def add(
        self, model_id: str, data: bytes, archived: bool, **kwargs: object
    ) -> model_registry_pb2.ModelVersionInfo:
        chunks = version_chunks(model_id, data, archived, **kwargs)  # type: ignore[arg-type]
        reply = await self.stub.CreateVersion(stream(chunks))
        return reply.version_info

    async def data(self, model_id: str, number: int) -> bytes:
        parts = [
            chunk.data_chunk
            async for chunk in self.stub.RetrieveVersionData(
                model_registry_pb2.RetrieveVersionDataRequest(
                    model_id=model_id, version_number=number
                )
            )
        ]
        return b"".join(parts)

    async def infos(
        self, model_id: str, numbers: Sequence[int] = (), count: int = 0, handle: str = ""
    ) -> model_registry_pb2.RetrieveVersionInfosReply:
        return await self.stub.RetrieveVersionInfos(
            model_registry_pb2.RetrieveVersionInfosRequest(
                model_id=model_id,
                version_numbers=list(numbers),
                versions_count=count,
                version_handle=handle,
            )
        )


async def _client(server: ModelRegistryServer) -> tuple[grpc.aio.Channel, Client]:
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{server.port}")
    return channel, Client(model_registry_pb2_grpc.ModelRegistrySPStub(channel))


@pytest.fixture
async def registry(tmp_path: Path) -> AsyncIterator[tuple[ModelRegistryServer, Client]]:
    async with ModelRegistryServer(
        port=0, archive_dir=tmp_path / "archive", cache_max_items=3
    ) as server:
        channel, client = await _client(server)
        async with channel:
            yield server, client


async def expect_error(code: grpc.StatusCode, awaitable: object) -> str:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await awaitable  # type: ignore[misc]
    assert caught.value.code() == code, caught.value.details()
    return caught.value.details() or ""


async def test_models_create_update_list_delete(
    registry: tuple[ModelRegistryServer, Client],
) -> None:
    _, client = registry
    await client.create_model("alpha", {"k": "v"})
    await client.create_model("beta")
    reply = await client.stub.RetrieveModels(
        model_registry_pb2.RetrieveModelsRequest(model_ids=["alpha"])
    )
    assert [(m.model_id, dict(m.user_data)) for m in reply.model_infos] == [("alpha", {"k": "v"})]

    await client.create_model("alpha", {"other": "x"})  # update overwrites the properties
    reply = await client.stub.RetrieveModels(
        model_registry_pb2.RetrieveModelsRequest(model_ids=["alpha"])
    )
    assert dict(reply.model_infos[0].user_data) == {"other": "x"}

    details = await expect_error(
        grpc.StatusCode.NOT_FOUND,
        client.stub.RetrieveModels(model_registry_pb2.RetrieveModelsRequest(model_ids=["nope"])),
    )
    assert "nope" in details

    await client.stub.DeleteModel(model_registry_pb2.DeleteModelRequest(model_id="alpha"))
    reply = await client.stub.RetrieveModels(model_registry_pb2.RetrieveModelsRequest())
    assert [m.model_id for m in reply.model_infos] == ["beta"]
    await expect_error(
        grpc.StatusCode.NOT_FOUND,
        client.stub.DeleteModel(model_registry_pb2.DeleteModelRequest(model_id="alpha")),
    )
    await expect_error(
        grpc.StatusCode.INVALID_ARGUMENT,
        client.stub.CreateOrUpdateModel(model_registry_pb2.CreateOrUpdateModelRequest()),
    )


async def test_model_paging(registry: tuple[ModelRegistryServer, Client]) -> None:
    _, client = registry
    names = [f"model-{index:02d}" for index in range(25)]
    for name in reversed(names):
        await client.create_model(name)
    seen: list[str] = []
    handle = ""
    pages = 0
    while True:
        reply = await client.stub.RetrieveModels(
            model_registry_pb2.RetrieveModelsRequest(models_count=10, model_handle=handle)
        )
        pages += 1
        seen += [m.model_id for m in reply.model_infos]
        if len(reply.model_infos) < 10:
            break
        handle = reply.next_model_handle
    assert seen == names
    assert pages == 3
    # A page at the end is empty and keeps a usable handle (no restart from the beginning).
    reply = await client.stub.RetrieveModels(
        model_registry_pb2.RetrieveModelsRequest(models_count=5, model_handle=names[-1])
    )
    assert list(reply.model_infos) == []
    assert reply.next_model_handle == names[-1]


async def test_versions_numbering_infos_and_data(
    registry: tuple[ModelRegistryServer, Client],
) -> None:
    _, client = registry
    await client.create_model("m")
    first = await client.add("m", b"one", archived=True, user_data={"epoch": "1"})
    second = await client.add("m", b"two", archived=False)
    third = await client.add("m", b"three", archived=True, data_hash=sha(b"three"))
    assert [first.version_number, second.version_number, third.version_number] == [1, 2, 3]
    assert first.archived and not second.archived
    assert first.data_hash == sha(b"one") and first.data_size == 3
    assert dict(first.user_data) == {"epoch": "1"}
    assert 0 < first.creation_timestamp <= second.creation_timestamp <= third.creation_timestamp

    assert await client.data("m", 1) == b"one"
    assert await client.data("m", 2) == b"two"
    assert await client.data("m", -1) == b"three"
    assert await client.data("m", -3) == b"one"

    reply = await client.infos("m", numbers=[-1, 1, -2])
    assert [info.version_number for info in reply.version_infos] == [3, 1, 2]
    reply = await client.infos("m")
    assert [info.version_number for info in reply.version_infos] == [1, 2, 3]
    assert reply.version_infos[0] == first

    details = await expect_error(grpc.StatusCode.NOT_FOUND, client.data("m", 4))
    assert "[4]" in details and "[m]" in details
    await expect_error(grpc.StatusCode.NOT_FOUND, client.data("m", -4))
    await expect_error(grpc.StatusCode.INVALID_ARGUMENT, client.data("m", 0))
    details = await expect_error(grpc.StatusCode.NOT_FOUND, client.data("unknown", 1))
    assert "unknown" in details
    await expect_error(grpc.StatusCode.NOT_FOUND, client.infos("m", numbers=[9]))
    await expect_error(grpc.StatusCode.NOT_FOUND, client.infos("unknown"))

    # Deleting the model removes everything; a recreated model starts again at 1.
    await client.stub.DeleteModel(model_registry_pb2.DeleteModelRequest(model_id="m"))
    await client.create_model("m")
    assert (await client.add("m", b"again", archived=True)).version_number == 1


async def test_version_paging(registry: tuple[ModelRegistryServer, Client]) -> None:
    _, client = registry
    await client.create_model("m")
    for index in range(23):
        await client.add("m", f"data {index}".encode(), archived=True)
    numbers: list[int] = []
    handle = ""
    while True:
        reply = await client.infos("m", count=10, handle=handle)
        numbers += [info.version_number for info in reply.version_infos]
        if len(reply.version_infos) < 10:
            break
        handle = reply.next_version_handle
    assert numbers == list(range(1, 24))
    await expect_error(grpc.StatusCode.INVALID_ARGUMENT, client.infos("m", count=10, handle="bad"))


async def test_transient_cache_eviction(registry: tuple[ModelRegistryServer, Client]) -> None:
    # cache_max_items=3, shared by all models; stored iterations are never evicted.
    _, client = registry
    await client.create_model("a")
    await client.create_model("b")
    await client.add("a", b"a1", archived=False)
    await client.add("a", b"a2", archived=True)
    await client.add("b", b"b1", archived=False)
    await client.add("a", b"a3", archived=False)
    await client.add("b", b"b2", archived=False)  # evicts a1 (the oldest published)
    assert [i.version_number for i in (await client.infos("a")).version_infos] == [2, 3]
    await expect_error(grpc.StatusCode.NOT_FOUND, client.data("a", 1))
    assert await client.data("a", 2) == b"a2"
    await client.add("b", b"b3", archived=False)  # evicts b1
    await client.add("b", b"b4", archived=False)  # evicts a3
    assert [i.version_number for i in (await client.infos("a")).version_infos] == [2]
    assert [i.version_number for i in (await client.infos("b")).version_infos] == [2, 3, 4]
    assert await client.data("a", -1) == b"a2"
    # Numbers keep increasing after evictions.
    assert (await client.add("a", b"a4", archived=False)).version_number == 4
    status = await client.stub.Status(common_pb2.StatusRequest(names=["*"]))
    assert status.statuses["nb_transient_iterations"] == "3"
    assert status.statuses["nb_models"] == "2"


async def test_create_version_validation(registry: tuple[ModelRegistryServer, Client]) -> None:
    _, client = registry
    await client.create_model("m")
    details = await expect_error(
        grpc.StatusCode.INVALID_ARGUMENT,
        client.add("m", b"payload", archived=True, data_hash=sha(b"other")),
    )
    assert "hash" in details.lower() and "[m]" in details
    details = await expect_error(
        grpc.StatusCode.INVALID_ARGUMENT, client.add("m", b"payload", archived=True, data_size=3)
    )
    assert "size" in details.lower()
    details = await expect_error(
        grpc.StatusCode.NOT_FOUND, client.add("ghost", b"x", archived=True)
    )
    assert "ghost" in details
    body_first = [Chunk(body=Chunk.Body(data_chunk=b"x")), *version_chunks("m", b"x", True)]
    await expect_error(
        grpc.StatusCode.INVALID_ARGUMENT, client.stub.CreateVersion(stream(body_first))
    )
    await expect_error(grpc.StatusCode.INVALID_ARGUMENT, client.stub.CreateVersion(stream([])))
    two_headers = version_chunks("m", b"x", True) + version_chunks("m", b"x", True)
    await expect_error(
        grpc.StatusCode.INVALID_ARGUMENT, client.stub.CreateVersion(stream(two_headers))
    )
    # Nothing was created by the refused requests.
    assert list((await client.infos("m")).version_infos) == []


async def test_large_model_round_trip(tmp_path: Path) -> None:
    data = os.urandom(64 * 1024 * 1024)
    async with ModelRegistryServer(
        port=0, archive_dir=tmp_path, sent_version_chunk_size=3 * 1024 * 1024
    ) as server:
        channel, client = await _client(server)
        async with channel:
            await client.create_model("big")
            stored = await client.add(
                "big", data, archived=True, data_hash=sha(data), chunk_size=2 * 1024 * 1024
            )
            published = await client.add("big", data, archived=False, chunk_size=2 * 1024 * 1024)
            assert stored.data_size == published.data_size == len(data)
            assert stored.data_hash == published.data_hash == sha(data)
            chunk_sizes = [
                len(chunk.data_chunk)
                async for chunk in client.stub.RetrieveVersionData(
                    model_registry_pb2.RetrieveVersionDataRequest(model_id="big", version_number=1)
                )
            ]
            assert max(chunk_sizes) == 3 * 1024 * 1024 and sum(chunk_sizes) == len(data)
            assert await client.data("big", 1) == data
            assert await client.data("big", 2) == data


async def test_version_update_stream(registry: tuple[ModelRegistryServer, Client]) -> None:
    _, client = registry
    await client.create_model("m")
    await client.add("m", b"one", archived=True)
    await client.add("m", b"two", archived=False)

    call = client.stub.VersionUpdate(model_registry_pb2.VersionUpdateRequest(model_id="m"))
    first = await asyncio.wait_for(call.read(), 5)
    assert isinstance(first, model_registry_pb2.VersionUpdateReply)
    assert first.version_info.version_number == 2  # the latest, immediately
    await client.add("m", b"three", archived=True)
    await client.add("m", b"four", archived=False)
    for expected in (3, 4):
        update = await asyncio.wait_for(call.read(), 5)
        assert isinstance(update, model_registry_pb2.VersionUpdateReply)
        assert update.version_info.version_number == expected
    call.cancel()

    # A model without iterations: nothing at first, then each new one.
    await client.create_model("empty")
    call = client.stub.VersionUpdate(model_registry_pb2.VersionUpdateRequest(model_id="empty"))
    read = asyncio.ensure_future(call.read())
    await asyncio.sleep(0.2)
    assert not read.done()
    await client.add("empty", b"x", archived=False)
    update = await asyncio.wait_for(read, 5)
    assert isinstance(update, model_registry_pb2.VersionUpdateReply)
    assert update.version_info.version_number == 1

    # Deleting the model ends the stream with NOT_FOUND.
    await client.stub.DeleteModel(model_registry_pb2.DeleteModelRequest(model_id="empty"))
    await expect_error(grpc.StatusCode.NOT_FOUND, call.read())

    await expect_error(
        grpc.StatusCode.NOT_FOUND,
        client.stub.VersionUpdate(model_registry_pb2.VersionUpdateRequest(model_id="nope")).read(),
    )


async def test_version_update_ends_on_shutdown(tmp_path: Path) -> None:
    server = ModelRegistryServer(port=0, archive_dir=tmp_path)
    await server.start()
    channel, client = await _client(server)
    async with channel:
        await client.create_model("m")
        call = client.stub.VersionUpdate(model_registry_pb2.VersionUpdateRequest(model_id="m"))
        read = asyncio.ensure_future(call.read())
        await asyncio.sleep(0.1)
        loop = asyncio.get_running_loop()
        started = loop.time()
        await server.stop(grace=10)
        assert loop.time() - started < 5  # open streams do not hold the shutdown
        await expect_error(grpc.StatusCode.UNAVAILABLE, read)


async def test_version_and_status(registry: tuple[ModelRegistryServer, Client]) -> None:
    _, client = registry
    version = await client.stub.Version(common_pb2.VersionRequest())
    names = {entry.name for entry in version.versions}
    assert {"model_registry", "grpc"} <= names
    status = await client.stub.Status(common_pb2.StatusRequest(names=["overall_load", "unknown"]))
    assert set(status.statuses) == {"overall_load"}
    assert 0 <= int(status.statuses["overall_load"]) <= 255


async def test_restart_serves_stored_iterations(tmp_path: Path) -> None:
    archive = tmp_path / "archive"
    async with ModelRegistryServer(port=0, archive_dir=archive) as server:
        channel, client = await _client(server)
        async with channel:
            await client.create_model("weird/name é", {"p": "1"})
            await client.add("weird/name é", b"stored", archived=True, user_data={"u": "2"})
            await client.add("weird/name é", b"published", archived=False)
            stored_info = (await client.infos("weird/name é", numbers=[1])).version_infos[0]
    async with ModelRegistryServer(port=0, archive_dir=archive) as server:
        channel, client = await _client(server)
        async with channel:
            reply = await client.stub.RetrieveModels(model_registry_pb2.RetrieveModelsRequest())
            assert [(m.model_id, dict(m.user_data)) for m in reply.model_infos] == [
                ("weird/name é", {"p": "1"})
            ]
            infos = (await client.infos("weird/name é")).version_infos
            assert list(infos) == [stored_info]  # the published one is gone
            assert await client.data("weird/name é", -1) == b"stored"
            # Numbering continues after the (lost) published iteration.
            assert (await client.add("weird/name é", b"next", archived=True)).version_number == 3


def corrupt_the_only_data_file(archive: Path, content: bytes) -> None:
    data_files = list(archive.glob("models/*/iterations/*.data"))
    assert len(data_files) == 1
    data_files[0].write_bytes(content)


async def test_corrupted_archive_is_detected(tmp_path: Path) -> None:
    async with ModelRegistryServer(port=0, archive_dir=tmp_path) as server:
        channel, client = await _client(server)
        async with channel:
            await client.create_model("m")
            await client.add("m", b"good data", archived=True)
            corrupt_the_only_data_file(tmp_path, b"evil data")  # same size, other content
            details = await expect_error(grpc.StatusCode.DATA_LOSS, client.data("m", 1))
            assert "corrupted" in details and "[m]" in details


async def test_in_memory_registry() -> None:
    async with ModelRegistryServer(port=0, archive_dir=None, cache_max_items=1) as server:
        channel, client = await _client(server)
        async with channel:
            await client.create_model("m")
            await client.add("m", b"kept", archived=True)
            await client.add("m", b"p1", archived=False)
            await client.add("m", b"p2", archived=False)
            assert await client.data("m", 1) == b"kept"
            assert [i.version_number for i in (await client.infos("m")).version_infos] == [1, 3]


async def test_prometheus_metrics(registry: tuple[ModelRegistryServer, Client]) -> None:
    server, client = registry
    metrics = server.metrics.registry
    await client.create_model("m")
    await client.add("m", b"12345", archived=True)
    await client.add("m", b"123", archived=False)
    assert await client.data("m", 1) == b"12345"
    sample = metrics.get_sample_value
    assert sample("model_registry_iterations_created_total", {"kind": "stored"}) == 1
    assert sample("model_registry_iterations_created_total", {"kind": "published"}) == 1
    assert sample("model_registry_received_bytes_total") == 8
    assert sample("model_registry_sent_bytes_total") == 5
    assert sample("model_registry_models") == 1
    assert sample("model_registry_transient_iterations") == 1
    assert sample("model_registry_update_streams") == 0


async def test_archive_used_by_one_process_at_a_time(tmp_path: Path) -> None:
    from cogment_services.model_registry._archive import ArchiveInUseError

    async with ModelRegistryServer(port=0, archive_dir=tmp_path):
        with pytest.raises(ArchiveInUseError, match="another Model Registry"):
            await ModelRegistryServer(port=0, archive_dir=tmp_path).start()
    server = ModelRegistryServer(port=0, archive_dir=tmp_path)
    async with server:  # released by the first one
        pass
    with pytest.raises(RuntimeError, match="starts once"):
        await server.start()


def upload_files(archive: Path) -> list[Path]:
    return list(archive.rglob(".upload-*.tmp"))


async def test_stored_uploads_stream_to_disk_and_leave_nothing_behind(tmp_path: Path) -> None:
    archive = tmp_path / "archive"
    async with ModelRegistryServer(port=0, archive_dir=archive) as server:
        channel, client = await _client(server)
        async with channel:
            await client.create_model("m")
            gate = asyncio.Event()

            async def slow(
                payload: bytes, archived: bool = True
            ) -> AsyncIterator[model_registry_pb2.CreateVersionRequestChunk]:
                header, *bodies = version_chunks("m", payload, archived, chunk_size=1000)
                yield header
                yield bodies[0]
                await gate.wait()
                for body in bodies[1:]:
                    yield body

            # A stored upload is written to a temporary file while it is received.
            pending = asyncio.ensure_future(client.stub.CreateVersion(slow(b"x" * 1500)))
            await eventually(lambda: len(upload_files(archive)) == 1)
            gate.set()
            reply = await asyncio.wait_for(pending, 10)
            assert reply.version_info.version_number == 1
            assert upload_files(archive) == []
            assert await client.data("m", 1) == b"x" * 1500

            # A cancelled upload leaves nothing.
            gate.clear()
            call = client.stub.CreateVersion(slow(b"y" * 1500))
            await eventually(lambda: len(upload_files(archive)) == 1)
            call.cancel()
            await eventually(lambda: upload_files(archive) == [])

            # The model deleted during an upload: NOT_FOUND, nothing left.
            gate.clear()
            pending = asyncio.ensure_future(client.stub.CreateVersion(slow(b"z" * 1500)))
            await eventually(lambda: len(upload_files(archive)) == 1)
            await client.stub.DeleteModel(model_registry_pb2.DeleteModelRequest(model_id="m"))
            gate.set()
            details = await expect_error(grpc.StatusCode.NOT_FOUND, pending)
            assert "[m]" in details
            assert upload_files(archive) == []

            # A bad hash: refused, nothing left, nothing numbered.
            await client.create_model("m")
            await expect_error(
                grpc.StatusCode.INVALID_ARGUMENT,
                client.add("m", b"abc", archived=True, data_hash=sha(b"abd")),
            )
            assert upload_files(archive) == []
            assert (await client.add("m", b"abc", archived=True)).version_number == 1


async def eventually(predicate: Callable[[], bool], timeout: float = 5.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not await asyncio.to_thread(predicate):
        assert loop.time() < deadline, "condition not reached in time"
        await asyncio.sleep(0.02)
