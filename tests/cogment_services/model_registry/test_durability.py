"""``cogment services model_registry`` killed with SIGKILL in the middle of writes keeps everything
it acknowledged, intact, after a restart."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import os
import random
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import grpc
import grpc.aio
import pytest

from cogment.api import model_registry_pb2, model_registry_pb2_grpc

pytestmark = pytest.mark.timeout(90)

Chunk = model_registry_pb2.CreateVersionRequestChunk


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def sha(data: bytes) -> str:
    return base64.b64encode(hashlib.sha256(data).digest()).decode("ascii")


def read_status(path: Path) -> str:
    return path.read_text() if path.exists() else ""


@contextlib.contextmanager
def registry_process(
    archive: Path, port: int, status: Path, *extra: str
) -> Iterator[subprocess.Popen[bytes]]:
    """``python -m cogment services model_registry`` on ``port``; killed at the end."""
    status.unlink(missing_ok=True)
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "cogment",
            "services",
            "model_registry",
            f"--port={port}",
            f"--archive_dir={archive}",
            f"--status_file={status}",
            "--log_level=warning",
            *extra,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 20
        while "R" not in read_status(status):
            if process.poll() is not None:
                stderr = process.stderr.read().decode() if process.stderr else ""
                raise AssertionError(f"model registry exited with {process.returncode}: {stderr}")
            if time.monotonic() > deadline:
                raise AssertionError("model registry not ready within 20s")
            time.sleep(0.05)
        yield process
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=10)
        if process.stderr:
            process.stderr.close()


async def chunks(
    model_id: str, data: bytes
) -> AsyncIterator[model_registry_pb2.CreateVersionRequestChunk]:
    info = model_registry_pb2.ModelVersionInfo(
        model_id=model_id, archived=True, data_size=len(data)
    )
    yield Chunk(header=Chunk.Header(version_info=info))
    for start in range(0, len(data), 1 << 20):
        yield Chunk(body=Chunk.Body(data_chunk=data[start : start + (1 << 20)]))


async def test_sigkill_during_writes_keeps_acknowledged_data(tmp_path: Path) -> None:
    archive = tmp_path / "archive"
    status = tmp_path / "status"
    port = free_port()
    acknowledged_models: dict[str, dict[str, str]] = {}
    acknowledged: dict[tuple[str, int], str] = {}  # (model, iteration) -> hash
    rng = random.Random(1234)

    with registry_process(archive, port, status) as process:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            stub = model_registry_pb2_grpc.ModelRegistrySPStub(channel)
            enough = asyncio.Event()

            async def writer(index: int) -> None:
                model_id = f"model-{index}"
                with contextlib.suppress(grpc.aio.AioRpcError):
                    properties = {"writer": str(index)}
                    await stub.CreateOrUpdateModel(
                        model_registry_pb2.CreateOrUpdateModelRequest(
                            model_info=model_registry_pb2.ModelInfo(
                                model_id=model_id, user_data=properties
                            )
                        )
                    )
                    acknowledged_models[model_id] = properties
                    while True:
                        data = rng.randbytes(rng.randint(1, 3 << 20))
                        reply = await stub.CreateVersion(chunks(model_id, data))
                        assert reply.version_info.data_hash == sha(data)
                        acknowledged[(model_id, reply.version_info.version_number)] = sha(data)
                        if len(acknowledged) >= 12:
                            enough.set()

            writers = [asyncio.create_task(writer(index)) for index in range(3)]
            await asyncio.wait_for(enough.wait(), 60)
            os.kill(process.pid, signal.SIGKILL)  # writes are in flight
            await asyncio.wait_for(asyncio.gather(*writers), 20)
        assert process.wait(timeout=10) == -signal.SIGKILL

    assert len(acknowledged) >= 12
    with registry_process(archive, port, status):
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            stub = model_registry_pb2_grpc.ModelRegistrySPStub(channel)
            models = await stub.RetrieveModels(model_registry_pb2.RetrieveModelsRequest())
            found_models = {model.model_id: dict(model.user_data) for model in models.model_infos}
            assert found_models == acknowledged_models
            for model_id in found_models:
                infos = await stub.RetrieveVersionInfos(
                    model_registry_pb2.RetrieveVersionInfosRequest(model_id=model_id)
                )
                numbers = [info.version_number for info in infos.version_infos]
                expected = sorted(number for (model, number) in acknowledged if model == model_id)
                # Everything acknowledged is there; at most the in-flight one more.
                assert set(expected) <= set(numbers)
                assert len(numbers) - len(expected) <= 1
                assert numbers == list(range(1, len(numbers) + 1))
                for info in infos.version_infos:
                    data = b"".join(
                        [
                            chunk.data_chunk
                            async for chunk in stub.RetrieveVersionData(
                                model_registry_pb2.RetrieveVersionDataRequest(
                                    model_id=model_id, version_number=info.version_number
                                )
                            )
                        ]
                    )
                    assert sha(data) == info.data_hash  # the server checked it too
                    assert len(data) == info.data_size
                    if (model_id, info.version_number) in acknowledged:
                        assert info.data_hash == acknowledged[(model_id, info.version_number)]
    # No temporary file survives the restart's clean-up.
    assert not [path for path in archive.rglob("*.tmp")]


def test_cli_rejects_bad_flags(tmp_path: Path) -> None:
    from cogment_services.model_registry._cli import main

    assert main(["--cache_max_items=-1", f"--archive_dir={tmp_path}", "--port=0"]) == 2
    assert main(["--sent_version_chunk_size=0", f"--archive_dir={tmp_path}", "--port=0"]) == 2
    assert main(["--port=70000", f"--archive_dir={tmp_path}"]) == 2
    assert main(["--help"]) == 0


async def test_directory_registration(tmp_path: Path) -> None:
    from cogment._directory import Directory as DirectoryClient
    from cogment._endpoint_url import ServiceType
    from cogment_services.directory import Directory

    port = free_port()
    async with Directory(port=0) as directory:
        running = registry_process(
            tmp_path / "archive",
            port,
            tmp_path / "status",
            f"--directory_endpoint={directory.endpoint}",
            "--directory_registration_host=127.0.0.1",
            "--directory_registration_properties=team=blue,flag",
        )
        # Wait for readiness in a thread: the Directory serves from this event loop.
        process = await asyncio.to_thread(running.__enter__)
        try:
            async with DirectoryClient.connect(directory.endpoint) as client:
                found = await client.inquire_by_type(ServiceType.MODEL_REG, {"team": "blue"})
                assert found == [(f"grpc://127.0.0.1:{port}", False)]
                stopping = asyncio.get_running_loop().time()
                process.send_signal(signal.SIGTERM)
                assert await asyncio.to_thread(process.wait, 10) == 0
                assert asyncio.get_running_loop().time() - stopping < 5
                assert read_status(tmp_path / "status") == "IRT"
                assert await client.inquire_by_type(ServiceType.MODEL_REG) == []
        finally:
            await asyncio.to_thread(running.__exit__, None, None, None)
