"""The deprecated v1 Model Registry client (``cogment.model_registry``) against the real service."""

from __future__ import annotations

import warnings
from collections.abc import AsyncIterator
from pathlib import Path

import grpc.aio
import pytest

from cogment import CogmentError, Endpoint
from cogment._grpc import create_channel
from cogment._model_registry_v1 import _BoundedLRU
from cogment.model_registry import Model, ModelRegistry, VersionInfo
from cogment_services.model_registry import ModelRegistryServer

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
async def channel(tmp_path: Path) -> AsyncIterator[grpc.aio.Channel]:
    async with ModelRegistryServer(port=0, archive_dir=tmp_path) as server:
        opened = create_channel(Endpoint(server.endpoint))
        async with opened:
            yield opened


async def test_v1_store_and_retrieve(channel: grpc.aio.Channel) -> None:
    registry = await ModelRegistry(channel)  # awaitable, like the published one
    model = Model(
        "m", b"v1 data", user_data={"owner": "me", "n": 3}, version_user_data={"epoch": 1}
    )
    first = await registry.store_initial_version(model)
    assert isinstance(first, VersionInfo)
    assert (first.version_number, first.archived, first.data_size) == (1, False, 7)
    second = await registry.store_version(Model("m", b"v2 data"), archived=True)
    assert (second.version_number, second.archived) == (2, True)

    info = await registry.retrieve_model_info("m")
    assert info is not None and info.id == "m"
    assert info.user_data == {"owner": "me", "n": 3}  # cached from store_initial_version
    assert await registry.retrieve_model_info("nope") is None

    latest = await registry.retrieve_version("m")
    assert latest is not None and latest.serialized_model == b"v2 data"
    assert latest.stored_version_info is not None
    assert latest.stored_version_info.version_number == 2
    older = await registry.retrieve_version("m", 1)
    assert older is not None and older.version_user_data == {"epoch": "1"}
    assert await registry.retrieve_version("m", 5) is None
    assert await registry.retrieve_version("nope") is None

    with pytest.warns(DeprecationWarning):
        decoded = await registry.retrieve_version("m", 1, lambda data: data.upper())
    assert decoded is not None and decoded.deserialized_model == b"V1 DATA"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        cached = await registry.retrieve_version("m", 1, lambda data: b"not called")
    assert cached is not None and cached.deserialized_model == b"V1 DATA"
    assert cached.serialized_model is None  # served from the deserialized cache

    with pytest.raises(CogmentError, match="Unknown attribute"):
        Model("m", b"x", bogus=1)
    with pytest.raises(CogmentError, match="serialized_model"):
        await registry.store_version(Model("m", None))
    with pytest.raises(CogmentError, match="ghost"):
        await registry.store_version(Model("ghost", b"x"))


async def test_published_sdk_test_flow(channel: grpc.aio.Channel) -> None:
    # The flow of the published SDK's own tests/test_model_registry.py (which peeks at the caches).
    registry = ModelRegistry(channel)
    serialized = b"\x08\x01"
    model = Model(
        model_id="test",
        serialized_model=serialized,
        user_data={"model_key": "model_value"},
        version_user_data={"version_key": "version_value"},
    )
    await registry.store_initial_version(model)
    retrieved = await registry.retrieve_version("test")
    assert retrieved is not None
    assert retrieved.serialized_model == serialized
    assert retrieved.user_data == {"model_key": "model_value"}
    assert retrieved.version_user_data == {"version_key": "version_value"}
    assert retrieved.stored_version_info is not None
    assert retrieved.stored_version_info.data_size == len(serialized)
    assert retrieved.stored_version_info.version_number == 1
    assert retrieved.id == "test" and retrieved.deserialized_model is None

    with pytest.warns(DeprecationWarning):
        model.deserialized_model = {"decoded": 1}
    await registry.store_version(model)
    retrieved = await registry.retrieve_version("test")
    assert retrieved is not None and retrieved.serialized_model is None
    assert retrieved.stored_version_info is not None
    assert retrieved.stored_version_info.version_number == 2
    assert retrieved.deserialized_model == {"decoded": 1}

    registry._data_cache.clear()
    registry._info_cache.clear()
    with pytest.warns(DeprecationWarning):
        retrieved = await registry.retrieve_version("test", -1, lambda data: {"decoded": data[1]})
    assert retrieved is not None and retrieved.serialized_model == serialized
    assert retrieved.deserialized_model == {"decoded": 1}
    assert len(registry._data_cache) == 1 and len(registry._info_cache) == 1


def test_bounded_lru_evicts_least_recently_used() -> None:
    cache: _BoundedLRU[int, str] = _BoundedLRU(max_size=128)
    for index in range(129):  # the published SDK raised KeyError on the 129th
        cache.put(index, str(index))
        if index == 10:
            assert cache.get(0) == "0"  # touch 0: now recently used
    assert len(cache) == 128
    assert 0 in cache and 1 not in cache
