"""Model Registry workload: store then retrieve one big model through our SDK client, against
writing (``fsync`` + atomic rename) and reading the same bytes as a local file."""

from __future__ import annotations

import os
import time
from pathlib import Path

from cogment import Endpoint
from cogment._grpc import create_channel
from cogment.model_registry_v2 import ModelRegistry


async def store_and_retrieve(url: str, name: str, model: bytes) -> tuple[float, float]:
    """Seconds to store ``model`` (acknowledged once durable) and to retrieve it."""
    async with create_channel(Endpoint(url)) as channel:
        registry = ModelRegistry(channel)
        start = time.perf_counter()
        await registry.store_model(name, model)
        stored = time.perf_counter() - start
        start = time.perf_counter()
        retrieved = await registry.retrieve_model(name)
        fetched = time.perf_counter() - start
    if retrieved != model:
        raise RuntimeError("the Model Registry returned other bytes than stored")
    return stored, fetched


def file_write_and_read(folder: Path, model: bytes) -> tuple[float, float]:
    """Seconds to write ``model`` durably to a local file (temp file, fsync, rename) and to
    read it back."""
    final = folder / "model.bin"
    temp = folder / "model.bin.tmp"
    start = time.perf_counter()
    with temp.open("wb") as out:
        out.write(model)
        out.flush()
        os.fsync(out.fileno())
    os.replace(temp, final)
    written = time.perf_counter() - start
    start = time.perf_counter()
    data = final.read_bytes()
    read = time.perf_counter() - start
    if data != model:
        raise RuntimeError("the local file returned other bytes than written")
    return written, read
