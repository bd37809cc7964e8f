"""Deprecated Model Registry client (v1 API): ``cogment.Model`` and ``Context.get_model_registry()``.

Kept so that programs written for it keep working; new code uses
:class:`cogment.model_registry_v2.ModelRegistry`. Differences with the published SDK 2.10.1:
the caches are really bounded (its LRU raised ``KeyError`` on eviction), the context metadata
is sent with every call, "not found" gives None while other failures raise
:class:`~cogment.CogmentError`, and no Prometheus metric is registered globally at import.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Mapping
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import grpc
import grpc.aio

from cogment._client_base import call_failed, stub_for
from cogment._errors import CogmentError
from cogment._grpc import channel_url
from cogment._log import deprecated
from cogment._metadata import GrpcMetadata
from cogment._model_registry import find_model_info, retrieve_version_data
from cogment.api import model_registry_pb2 as _pb
from cogment.api import model_registry_pb2_grpc as _pb_grpc

if TYPE_CHECKING:
    from cogment.api.model_registry_pb2_grpc import ModelRegistrySPAsyncStub

__all__ = ["Model", "ModelInfo", "ModelRegistry", "VersionInfo"]

_SEND_CHUNK_SIZE = 2 * 1024 * 1024
_CACHE_SIZE = 128

_K = TypeVar("_K")
_V = TypeVar("_V")


class _BoundedLRU(Generic[_K, _V]):
    """At most ``max_size`` entries; the least recently used one is evicted first."""

    def __init__(self, max_size: int = _CACHE_SIZE) -> None:
        self._max_size = max_size
        self._entries: OrderedDict[_K, _V] = OrderedDict()

    def get(self, key: _K) -> _V | None:
        value = self._entries.get(key)
        if value is not None:
            self._entries.move_to_end(key)
        return value

    def put(self, key: _K, value: _V) -> None:
        self._entries[key] = value
        self._entries.move_to_end(key)
        while len(self._entries) > self._max_size:
            self._entries.popitem(last=False)

    def clear(self) -> None:
        self._entries.clear()

    def __contains__(self, key: object) -> bool:
        return key in self._entries

    def __len__(self) -> int:
        return len(self._entries)


class ModelInfo:
    """A model id and its user data (v1 API)."""

    def __init__(self, model_id: str, model_user_data: Mapping[str, Any]) -> None:
        self.id = model_id
        self.user_data: dict[str, Any] = dict(model_user_data)


class VersionInfo:
    """Information about a stored model version (v1 API)."""

    def __init__(self, proto_version_info: _pb.ModelVersionInfo) -> None:
        self.version_number = proto_version_info.version_number
        self.creation_timestamp = proto_version_info.creation_timestamp
        self.archived = proto_version_info.archived
        self.data_hash = proto_version_info.data_hash
        self.data_size = proto_version_info.data_size

    def __repr__(self) -> str:
        return (
            f"VersionInfo(version_number={self.version_number}, archived={self.archived},"
            f" data_size={self.data_size}, data_hash={self.data_hash!r})"
        )


class Model(ModelInfo):
    """A model and one of its versions (v1 API, deprecated): ``cogment.Model``.

    ``Model(model_id, serialized_model, **attributes)``: the keyword arguments set existing
    attributes (``user_data``, ``version_user_data``, ``stored_version_info``...).
    """

    def __init__(self, model_id: str, serialized_model: bytes | None, **kwargs: Any) -> None:
        super().__init__(model_id, {})
        self.version_user_data: dict[str, Any] = {}
        self._deserialized_model: Any = None
        self.serialized_model = serialized_model
        self.stored_version_info: VersionInfo | None = None
        for name, value in kwargs.items():
            if name.startswith("_") or not hasattr(self, name):
                raise CogmentError(f"Unknown attribute [{name}] for cogment.Model")
            setattr(self, name, value)

    @property
    def deserialized_model(self) -> Any:
        """The deserialized model (deprecated storage of user objects in the registry client)."""
        return self._deserialized_model

    @deserialized_model.setter
    def deserialized_model(self, value: Any) -> None:
        deprecated("The storage of deserialized models in the Model Registry is deprecated")
        self._deserialized_model = value


class ModelRegistry:
    """Deprecated v1 Model Registry client; use :class:`cogment.model_registry_v2.ModelRegistry`.

    Args:
        channel_or_stub: a ``grpc.aio`` channel to the registry, or a ``ModelRegistrySP`` stub.
        metadata: gRPC metadata sent with every call.
    """

    def __init__(
        self,
        channel_or_stub: grpc.aio.Channel | ModelRegistrySPAsyncStub,
        metadata: GrpcMetadata | None = None,
    ) -> None:
        _, self._stub = stub_for(channel_or_stub, _pb_grpc.ModelRegistrySPStub)
        self._endpoint = channel_url(channel_or_stub)
        self._metadata = metadata.to_grpc_metadata() if metadata is not None else ()
        self._info_cache: _BoundedLRU[str, ModelInfo] = _BoundedLRU()
        self._data_cache: _BoundedLRU[str, Any] = _BoundedLRU()

    def __await__(self) -> Any:
        """``await registry`` returns the registry itself (published SDK compatibility)."""

        async def itself() -> ModelRegistry:
            return self

        return itself().__await__()

    def _error(self, what: str, error: grpc.aio.AioRpcError) -> CogmentError:
        return call_failed("Model Registry", self._endpoint, what, error)

    async def store_initial_version(self, model: Model) -> VersionInfo:
        """Create (or update) the model ``model.id`` with ``model.user_data`` and store the
        version ``model.serialized_model`` (not archived)."""
        user_data = {key: str(value) for key, value in model.user_data.items()}
        request = _pb.CreateOrUpdateModelRequest(
            model_info=_pb.ModelInfo(model_id=model.id, user_data=user_data)
        )
        try:
            await self._stub.CreateOrUpdateModel(request, metadata=self._metadata)
        except grpc.aio.AioRpcError as error:
            raise self._error(f"creating model [{model.id}]", error) from error
        self._info_cache.put(model.id, ModelInfo(model.id, model.user_data))
        return await self.store_version(model)

    async def retrieve_model_info(self, model_id: str) -> ModelInfo | None:
        """The info of ``model_id`` (cached), or None if there is no such model."""
        cached = self._info_cache.get(model_id)
        if cached is not None:
            return cached
        proto = await find_model_info(
            self._stub, model_id, self._metadata, self._endpoint, f"retrieving model [{model_id}]"
        )
        if proto is None:
            return None
        info = ModelInfo(proto.model_id, proto.user_data)
        self._info_cache.put(model_id, info)
        return info

    async def store_version(self, model: Model, archived: bool = False) -> VersionInfo:
        """Store ``model.serialized_model`` as a new version of ``model.id`` (which must exist)."""
        data = model.serialized_model
        if data is None:
            raise CogmentError(f"Cannot store model [{model.id}] without a serialized_model")
        data = bytes(data)
        header = _pb.ModelVersionInfo(
            model_id=model.id,
            archived=archived,
            data_size=len(data),
            user_data={key: str(value) for key, value in model.version_user_data.items()},
        )

        async def chunks() -> AsyncIterator[_pb.CreateVersionRequestChunk]:
            yield _pb.CreateVersionRequestChunk(
                header=_pb.CreateVersionRequestChunk.Header(version_info=header)
            )
            for start in range(0, len(data), _SEND_CHUNK_SIZE):
                yield _pb.CreateVersionRequestChunk(
                    body=_pb.CreateVersionRequestChunk.Body(
                        data_chunk=data[start : start + _SEND_CHUNK_SIZE]
                    )
                )

        try:
            reply = await self._stub.CreateVersion(chunks(), metadata=self._metadata)
        except grpc.aio.AioRpcError as error:
            raise self._error(f"storing a version of model [{model.id}]", error) from error
        if model._deserialized_model is not None:
            self._data_cache.put(reply.version_info.data_hash, model._deserialized_model)
        return VersionInfo(reply.version_info)

    async def retrieve_version(
        self,
        model_id: str,
        version_number: int = -1,
        deserialize_func: Callable[[bytes], Any] | None = None,
    ) -> Model | None:
        """Version ``version_number`` (-1 = latest) of ``model_id``, or None if not found.

        With ``deserialize_func`` (deprecated), ``deserialized_model`` is set and cached by data
        hash, and ``serialized_model`` is None when it comes from that cache.
        """
        if deserialize_func is not None:
            deprecated("The use of a deserializing functions is deprecated")

        async def version_info() -> _pb.ModelVersionInfo | None:
            request = _pb.RetrieveVersionInfosRequest(
                model_id=model_id, version_numbers=[version_number]
            )
            try:
                reply = await self._stub.RetrieveVersionInfos(request, metadata=self._metadata)
            except grpc.aio.AioRpcError as error:
                if error.code() == grpc.StatusCode.NOT_FOUND:
                    return None
                raise self._error(
                    f"retrieving version [{version_number}] of model [{model_id}]", error
                ) from error
            return reply.version_infos[0] if reply.version_infos else None

        model_info, info = await asyncio.gather(self.retrieve_model_info(model_id), version_info())
        if model_info is None or info is None:
            return None

        cached = self._data_cache.get(info.data_hash)
        data: bytes | None = None
        if cached is None:
            try:
                data = await retrieve_version_data(
                    self._stub, model_id, info.version_number, self._metadata
                )
            except grpc.aio.AioRpcError as error:
                raise self._error(
                    f"retrieving the data of version [{info.version_number}] of model [{model_id}]",
                    error,
                ) from error
            if data is None:
                return None
        model = Model(
            model_id,
            data,
            stored_version_info=VersionInfo(info),
            user_data=model_info.user_data,
            version_user_data=dict(info.user_data),
        )
        if cached is not None:
            model._deserialized_model = cached
        elif deserialize_func is not None and data is not None:
            model._deserialized_model = deserialize_func(data)
            self._data_cache.put(info.data_hash, model._deserialized_model)
        return model
