"""Model Registry client (v2 API): store, publish, retrieve and track model iterations.

Obtained with ``await context.get_model_registry_v2(endpoint)``; can also be built directly
from a ``grpc.aio`` channel: ``ModelRegistry(channel)``.

Differences with the published SDK 2.10.1, on purpose:

- every iteration is sent with its SHA-256 ``data_hash`` so the registry checks integrity;
- errors are :class:`~cogment.CogmentError` naming the model, the iteration and the gRPC
  status; only "not found" turns into ``None`` (a lost connection raises);
- :meth:`ModelRegistry.iteration_updates` cancels its gRPC stream when the generator is closed;
- :meth:`ModelRegistry.track_latest_model` shares one background task per (event loop,
  registry endpoint, model name); it stops as soon as the last :class:`LatestModel` reference is
  dropped (or on :meth:`LatestModel.close`), reconnects after transient failures, and makes
  waiters raise instead of hanging when tracking fails for good (model deleted, ...).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import inspect
import logging
import weakref
from collections.abc import (
    AsyncGenerator,
    AsyncIterator,
    Awaitable,
    Callable,
    Iterable,
    Mapping,
    Sequence,
)
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, TypeVar, cast, overload

import grpc
import grpc.aio

from cogment._client_base import call_failed, stub_for
from cogment._errors import CogmentError
from cogment._grpc import channel_url
from cogment._metadata import GrpcMetadata, GrpcMetadataItem, GrpcMetadataValue
from cogment.api import model_registry_pb2 as _pb
from cogment.api import model_registry_pb2_grpc as _pb_grpc

if TYPE_CHECKING:
    from cogment.api.model_registry_pb2_grpc import ModelRegistrySPAsyncStub

__all__ = ["LatestModel", "ModelInfo", "ModelIterationInfo", "ModelRegistry"]

_log = logging.getLogger("cogment.sdk")

ModelT = TypeVar("ModelT")

#: Size of the data chunks sent to the registry (half the default gRPC message limit).
SEND_CHUNK_SIZE = 2 * 1024 * 1024
_SERVICE = "Model Registry"
_PAGE_SIZE = 100
_RETRY_MIN_SECONDS = 0.1
_RETRY_MAX_SECONDS = 5.0
_RETRIABLE = frozenset(
    {grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.UNKNOWN, grpc.StatusCode.INTERNAL}
)


def _hash(data: bytes) -> str:
    return base64.b64encode(hashlib.sha256(data).digest()).decode("ascii")


# ------------------------------------------------------------------------------------ records


@dataclass
class ModelInfo:
    """Information about a model name stored in the Model Registry.

    Attributes:
        name: the model name.
        properties: custom information associated with the model name (not specific to any
            iteration).
    """

    name: str
    properties: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_proto(cls, proto: _pb.ModelInfo) -> ModelInfo:
        """Build from the wire ``cogmentAPI.ModelInfo``."""
        return cls(name=proto.model_id, properties=dict(proto.user_data))

    def __str__(self) -> str:
        return f"ModelInfo: name = {self.name}, properties = {self.properties}"


@dataclass
class ModelIterationInfo:
    """Information specific to one model iteration stored or published in the Model Registry.

    Attributes:
        model_name: the name of the model.
        iteration: the iteration number (from 1).
        timestamp: when the iteration was received by the registry, Unix epoch nanoseconds.
        hash: SHA-256 of the iteration's data, base64 (standard alphabet, with padding).
        size: size in bytes of the iteration's data.
        stored: True if stored (archived), False if only published (transient).
        properties: custom information associated with the iteration.
    """

    model_name: str
    iteration: int
    timestamp: int
    hash: str
    size: int
    stored: bool
    properties: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_proto(cls, proto: _pb.ModelVersionInfo) -> ModelIterationInfo:
        """Build from the wire ``cogmentAPI.ModelVersionInfo``."""
        return cls(
            model_name=proto.model_id,
            iteration=proto.version_number,
            timestamp=proto.creation_timestamp,
            hash=proto.data_hash,
            size=proto.data_size,
            stored=proto.archived,
            properties=dict(proto.user_data),
        )

    def __str__(self) -> str:
        return (
            f"ModelIterationInfo: model_name = {self.model_name}, iteration = {self.iteration}"
            f", timestamp = {self.timestamp}, hash = {self.hash}, size = {self.size}"
            f", stored = {self.stored}, properties = {self.properties}"
        )


# ------------------------------------------------------------------------------- latest model

DeserializeFunc = Callable[[bytes], ModelT | Awaitable[ModelT]]


class _Tracker(Generic[ModelT]):
    """Shared state of a tracked model and its background task (never references LatestModel)."""

    def __init__(
        self,
        registry: ModelRegistry,
        name: str,
        deserialize_func: DeserializeFunc[ModelT] | None,
    ) -> None:
        self.registry = registry
        self.name = name
        self.deserialize_func = deserialize_func
        self.model: ModelT | None = None
        self.info: ModelIterationInfo | None = None
        self.failure: CogmentError | None = None
        self.changed = asyncio.Condition()
        self.loop = asyncio.get_running_loop()
        self.task: asyncio.Task[None] | None = self.loop.create_task(
            self._run(), name=f"cogment-track-model-{name}"
        )

    # Called by weakref.finalize (possibly outside the loop) and by LatestModel.close.
    def stop(self, reason: str) -> None:
        task, self.task = self.task, None
        if task is None:
            return
        if self.failure is None:
            self.failure = CogmentError(f"Tracking of model [{self.name}] stopped: {reason}")
        if self.loop.is_closed():
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is self.loop:
            task.cancel()
            self.loop.create_task(self._notify())
        else:
            self.loop.call_soon_threadsafe(task.cancel)

    async def _notify(self) -> None:
        async with self.changed:
            self.changed.notify_all()

    async def _deserialize(self, data: bytes) -> ModelT:
        if self.deserialize_func is None:
            return cast(ModelT, data)  # ModelT is bytes when there is no deserialize_func
        result = self.deserialize_func(data)
        if inspect.isawaitable(result):
            return await result
        return result

    async def _run(self) -> None:
        name = self.name
        delay = _RETRY_MIN_SECONDS
        try:
            while True:
                try:
                    async for proto in self.registry._version_updates(name):
                        delay = _RETRY_MIN_SECONDS
                        info = ModelIterationInfo.from_proto(proto)
                        if self.info is not None and info.iteration <= self.info.iteration:
                            continue
                        data = await self.registry._retrieve_data(name, info.iteration)
                        if data is None:
                            _log.warning(
                                "Tracked model [%s] iteration [%d] is no longer available"
                                " (evicted from the registry cache?): skipped",
                                name,
                                info.iteration,
                            )
                            continue
                        try:
                            model = await self._deserialize(data)
                        except Exception:
                            _log.exception(
                                "Tracked model [%s]: deserializing iteration [%d] failed: skipped",
                                name,
                                info.iteration,
                            )
                            continue
                        self.model, self.info = model, info
                        _log.debug("Tracked model [%s] now at iteration [%d]", name, info.iteration)
                        await self._notify()
                    _log.debug("Tracked model [%s]: update stream ended, reconnecting", name)
                except grpc.aio.AioRpcError as error:
                    if error.code() == grpc.StatusCode.NOT_FOUND:
                        raise CogmentError(
                            f"Tracked model [{name}] not found in the Model Registry"
                            f" (deleted?): {error.details()}"
                        ) from error
                    if error.code() not in _RETRIABLE:
                        raise CogmentError(
                            f"Tracking model [{name}] failed: {error.code().name} {error.details()}"
                        ) from error
                    _log.warning(
                        "Tracked model [%s]: Model Registry unreachable (%s %s), retrying in %.1fs",
                        name,
                        error.code().name,
                        error.details(),
                        delay,
                    )
                await asyncio.sleep(delay)
                delay = min(delay * 2, _RETRY_MAX_SECONDS)
        except asyncio.CancelledError:
            raise
        except CogmentError as error:
            _log.error("%s", error)
            self.failure = error
        except Exception as error:
            _log.exception("Tracking model [%s] failed", name)
            self.failure = CogmentError(f"Tracking model [{name}] failed: {error!r}")
        self.task = None
        await self._notify()

    async def wait(self, predicate: Callable[[], bool]) -> None:
        async with self.changed:
            await self.changed.wait_for(lambda: predicate() or self.failure is not None)
        if not predicate():
            assert self.failure is not None
            raise self.failure


class LatestModel(Generic[ModelT]):
    """The latest iteration of a model, retrieved in the background (see
    :meth:`ModelRegistry.track_latest_model`).

    One instance is shared by every ``track_latest_model`` call for the same model on the same
    registry: changes made to the model object are seen by all its users, until a newer
    iteration arrives. Tracking stops when the last reference to it is dropped, or on
    :meth:`close`.

    Attributes:
        name: the name of the model.
    """

    name: str

    def __init__(self, tracker: _Tracker[ModelT]) -> None:
        self._tracker = tracker
        self.name = tracker.name
        self._finalizer = weakref.finalize(self, tracker.stop, "no more references")

    def is_deserialized(self) -> bool:
        """True if the data returned by :meth:`get` comes from the ``deserialize_func``, False
        if it is the raw bytes from the Model Registry."""
        return self._tracker.deserialize_func is not None

    def is_available(self) -> bool:
        """True if an iteration is available (:meth:`get` will not wait)."""
        return self._tracker.info is not None

    async def wait_for_available(self) -> None:
        """Wait for an iteration to be available.

        Raises:
            CogmentError: tracking failed (model deleted, ...) before any iteration arrived.
        """
        await self._tracker.wait(self.is_available)

    async def wait_for_newer(self, iteration: int) -> None:
        """Wait until an iteration strictly newer than ``iteration`` is available (then
        :meth:`get` returns it, or an even newer one).

        Raises:
            CogmentError: tracking failed before such an iteration arrived.
        """
        tracker = self._tracker
        await tracker.wait(lambda: tracker.info is not None and tracker.info.iteration > iteration)

    async def get(self) -> tuple[ModelT, ModelIterationInfo]:
        """The latest iteration retrieved: ``(model, info)``; waits for the first one.

        ``model`` is the bytes, or what ``deserialize_func`` returned for them.
        """
        await self.wait_for_available()
        tracker = self._tracker
        assert tracker.info is not None
        return cast(ModelT, tracker.model), tracker.info

    def get_no_wait(self) -> tuple[ModelT, ModelIterationInfo] | tuple[None, None]:
        """Like :meth:`get` without waiting: ``(None, None)`` while no iteration is available
        (undocumented in the published SDK, kept for low-latency uses)."""
        tracker = self._tracker
        if tracker.info is None:
            return None, None
        return cast(ModelT, tracker.model), tracker.info

    def close(self) -> None:
        """Stop tracking now, for every user of this shared instance; later waits raise."""
        self._finalizer()

    def __repr__(self) -> str:
        info = self._tracker.info
        at = f"iteration {info.iteration}" if info is not None else "no iteration yet"
        return f"<LatestModel [{self.name}] {at}>"


_TrackerKey = tuple[int, str, str]
_tracked: weakref.WeakValueDictionary[_TrackerKey, LatestModel[Any]] = weakref.WeakValueDictionary()
_tracking_starts: dict[_TrackerKey, asyncio.Future[LatestModel[Any]]] = {}


# ------------------------------------------------------------------------------------ registry

MetadataLike = GrpcMetadata | Iterable[tuple[str, GrpcMetadataValue]] | None


async def find_model_info(
    stub: ModelRegistrySPAsyncStub,
    name: str,
    metadata: Sequence[GrpcMetadataItem],
    endpoint: str,
    what: str,
) -> _pb.ModelInfo | None:
    """The registry's info of model ``name``, ``None`` when there is no such model.

    Other failures raise :class:`~cogment.CogmentError` (``what`` names the attempt, e.g.
    ``"getting the info of model [x]"``).  Shared by the v2 and the deprecated v1 clients.
    """
    request = _pb.RetrieveModelsRequest(model_ids=[name])
    try:
        reply = await stub.RetrieveModels(request, metadata=metadata)
    except grpc.aio.AioRpcError as error:
        if error.code() == grpc.StatusCode.NOT_FOUND:
            return None
        raise call_failed(_SERVICE, endpoint, what, error) from error
    for info in reply.model_infos:
        if info.model_id == name:
            return info
    return None


async def retrieve_version_data(
    stub: ModelRegistrySPAsyncStub, name: str, iteration: int, metadata: Sequence[GrpcMetadataItem]
) -> bytes | None:
    """The data of iteration ``iteration`` of model ``name`` (its chunks joined), ``None`` when the
    registry answers NOT_FOUND; other failures raise the ``grpc.aio.AioRpcError`` as it is.
    Shared by the v2 and the deprecated v1 clients."""
    request = _pb.RetrieveVersionDataRequest(model_id=name, version_number=iteration)
    chunks: list[bytes] = []
    try:
        async for chunk in stub.RetrieveVersionData(request, metadata=metadata):
            chunks.append(chunk.data_chunk)
    except grpc.aio.AioRpcError as error:
        if error.code() == grpc.StatusCode.NOT_FOUND:
            return None
        raise
    return b"".join(chunks)


class ModelRegistry:
    """Client of a Model Registry (``cogmentAPI.ModelRegistrySP``).

    Args:
        channel_or_stub: a ``grpc.aio`` channel to the registry, or a ``ModelRegistrySP`` stub
            made on one. The caller owns the channel (this class never closes it).
        metadata: gRPC metadata sent with every call (a copy is kept).
        endpoint: the registry's URL, used in error messages and to share tracked models
            between registry instances of the same endpoint (default: the URL of a channel
            made by ``cogment._grpc.create_channel``, else one per channel/stub).
    """

    def __init__(
        self,
        channel_or_stub: grpc.aio.Channel | ModelRegistrySPAsyncStub,
        metadata: MetadataLike = None,
        *,
        endpoint: str | None = None,
    ) -> None:
        _, self._stub = stub_for(channel_or_stub, _pb_grpc.ModelRegistrySPStub)
        if metadata is None:
            self._metadata: tuple[tuple[str, GrpcMetadataValue], ...] = ()
        elif isinstance(metadata, GrpcMetadata):
            self._metadata = metadata.to_grpc_metadata()
        else:
            self._metadata = GrpcMetadata(metadata).to_grpc_metadata()
        if endpoint is None:
            known = channel_url(channel_or_stub)
            endpoint = known if known != "<unknown>" else f"channel-{id(channel_or_stub):x}"
        self._endpoint = endpoint
        # Names known to exist: sending to them skips the existence check.
        self._known_models: set[str] = set()

    def __str__(self) -> str:
        return f"ModelRegistry [{self._endpoint}]"

    def __await__(self) -> Any:
        """``await registry`` returns the registry itself (compatibility with the published
        SDK, where ``get_model_registry_v2`` results were awaited)."""

        async def itself() -> ModelRegistry:
            return self

        return itself().__await__()

    def has_specs(self) -> bool:
        """Always True: the Model Registry does not rely on trial specs."""
        return True

    def _error(self, what: str, error: grpc.aio.AioRpcError) -> CogmentError:
        return call_failed(_SERVICE, self._endpoint, what, error)

    # ------------------------------------------------------------------------- sending

    async def store_model(
        self,
        name: str,
        model: bytes | bytearray | memoryview,
        iteration_properties: Mapping[str, str] | None = None,
    ) -> ModelIterationInfo:
        """Store ``model`` as a new iteration of ``name`` (kept until the model is removed).

        The model name is created if needed. Iteration numbers start at 1 and increase by 1
        for every iteration, stored or published.
        """
        return await self._send_model(name, model, iteration_properties, stored=True)

    async def publish_model(
        self,
        name: str,
        model: bytes | bytearray | memoryview,
        iteration_properties: Mapping[str, str] | None = None,
    ) -> ModelIterationInfo:
        """Publish ``model`` as a new transient iteration of ``name``: it stays available for
        a time that depends on the registry's cache size, and is never stored."""
        return await self._send_model(name, model, iteration_properties, stored=False)

    async def _send_model(
        self,
        name: str,
        model: bytes | bytearray | memoryview,
        iteration_properties: Mapping[str, str] | None,
        stored: bool,
    ) -> ModelIterationInfo:
        if not isinstance(name, str) or not name:
            raise CogmentError(f"Invalid model name [{name!r}]: must be a non-empty str")
        if not isinstance(model, (bytes, bytearray, memoryview)):
            raise CogmentError(f"Model [{name}] data must be bytes, not [{type(model).__name__}]")
        data = bytes(model)
        if not data:
            raise CogmentError(f"Model [{name}] data is empty")
        properties = dict(iteration_properties or {})
        header = _pb.ModelVersionInfo(
            model_id=name,
            archived=stored,
            data_size=len(data),
            data_hash=_hash(data),
            user_data=properties,
        )

        async def chunks() -> AsyncIterator[_pb.CreateVersionRequestChunk]:
            yield _pb.CreateVersionRequestChunk(
                header=_pb.CreateVersionRequestChunk.Header(version_info=header)
            )
            view = memoryview(data)
            for start in range(0, len(data), SEND_CHUNK_SIZE):
                yield _pb.CreateVersionRequestChunk(
                    body=_pb.CreateVersionRequestChunk.Body(
                        data_chunk=bytes(view[start : start + SEND_CHUNK_SIZE])
                    )
                )

        what = f"{'storing' if stored else 'publishing'} an iteration of model [{name}]"
        if name not in self._known_models:
            await self._ensure_model(name)
        for attempt in range(2):
            try:
                reply = await self._stub.CreateVersion(chunks(), metadata=self._metadata)
                return ModelIterationInfo.from_proto(reply.version_info)
            except grpc.aio.AioRpcError as error:
                if error.code() != grpc.StatusCode.NOT_FOUND or attempt > 0:
                    raise self._error(what, error) from error
            # Removed since we last saw it: create it again.
            self._known_models.discard(name)
            await self._ensure_model(name)
        raise AssertionError("unreachable")  # pragma: no cover

    async def _ensure_model(self, name: str) -> None:
        """Create model ``name`` unless it exists (its properties are then left untouched)."""
        if await self._fetch_model_info(name) is None:
            await self._create_or_update(name, {}, f"creating model [{name}]")
        self._known_models.add(name)

    async def _create_or_update(self, name: str, properties: Mapping[str, str], what: str) -> None:
        request = _pb.CreateOrUpdateModelRequest(
            model_info=_pb.ModelInfo(model_id=name, user_data=dict(properties))
        )
        try:
            await self._stub.CreateOrUpdateModel(request, metadata=self._metadata)
        except grpc.aio.AioRpcError as error:
            raise self._error(what, error) from error

    # ------------------------------------------------------------------------ retrieving

    async def _raise_if_unknown(self, name: str) -> None:
        if await self._fetch_model_info(name) is None:
            raise CogmentError(f"Unknown model [{name}] in Model Registry [{self._endpoint}]")

    async def retrieve_model(self, name: str, iteration: int = -1) -> bytes | None:
        """The data of iteration ``iteration`` of ``name`` (-1 = latest, -2 = the one before...).

        Returns None if that iteration is not available (a transient one may be evicted at
        any time).

        Raises:
            CogmentError: unknown model, or the registry failed.
        """
        try:
            data = await self._retrieve_data(name, iteration)
        except grpc.aio.AioRpcError as error:
            raise self._error(
                f"retrieving iteration [{iteration}] of model [{name}]", error
            ) from error
        if data is None:
            await self._raise_if_unknown(name)
        return data

    async def _retrieve_data(self, name: str, iteration: int) -> bytes | None:
        """The data, or None on NOT_FOUND; other gRPC errors are raised as they are."""
        return await retrieve_version_data(self._stub, name, iteration, self._metadata)

    async def remove_model(self, name: str) -> None:
        """Delete model ``name`` and all its stored and transient iterations.

        Raises:
            CogmentError: unknown model, or the registry failed.
        """
        self._known_models.discard(name)
        try:
            await self._stub.DeleteModel(
                _pb.DeleteModelRequest(model_id=name), metadata=self._metadata
            )
        except grpc.aio.AioRpcError as error:
            if error.code() == grpc.StatusCode.NOT_FOUND:
                raise CogmentError(
                    f"Unknown model [{name}] in Model Registry [{self._endpoint}]"
                ) from error
            raise self._error(f"removing model [{name}]", error) from error

    async def list_models(self) -> list[ModelInfo]:
        """Info of every model in the registry."""
        request = _pb.RetrieveModelsRequest(models_count=_PAGE_SIZE)
        models: list[ModelInfo] = []
        try:
            while True:
                reply = await self._stub.RetrieveModels(request, metadata=self._metadata)
                models.extend(ModelInfo.from_proto(info) for info in reply.model_infos)
                if len(reply.model_infos) < _PAGE_SIZE or not reply.next_model_handle:
                    return models
                request.model_handle = reply.next_model_handle
        except grpc.aio.AioRpcError as error:
            raise self._error("listing models", error) from error

    async def list_iterations(self, model_name: str) -> list[ModelIterationInfo]:
        """Info of every available iteration of ``model_name`` (all stored ones, and the
        transient ones still cached), oldest first.

        Raises:
            CogmentError: unknown model, or the registry failed.
        """
        request = _pb.RetrieveVersionInfosRequest(model_id=model_name, versions_count=_PAGE_SIZE)
        iterations: list[ModelIterationInfo] = []
        try:
            while True:
                reply = await self._stub.RetrieveVersionInfos(request, metadata=self._metadata)
                iterations.extend(
                    ModelIterationInfo.from_proto(info) for info in reply.version_infos
                )
                if len(reply.version_infos) < _PAGE_SIZE or not reply.next_version_handle:
                    return iterations
                request.version_handle = reply.next_version_handle
        except grpc.aio.AioRpcError as error:
            if error.code() == grpc.StatusCode.NOT_FOUND:
                raise CogmentError(
                    f"Unknown model [{model_name}] in Model Registry [{self._endpoint}]"
                ) from error
            raise self._error(f"listing the iterations of model [{model_name}]", error) from error

    async def get_iteration_info(self, name: str, iteration: int) -> ModelIterationInfo | None:
        """Info of iteration ``iteration`` (-1 = latest) of ``name``; None if not available.

        Raises:
            CogmentError: unknown model, or the registry failed.
        """
        request = _pb.RetrieveVersionInfosRequest(model_id=name, version_numbers=[iteration])
        try:
            reply = await self._stub.RetrieveVersionInfos(request, metadata=self._metadata)
        except grpc.aio.AioRpcError as error:
            if error.code() != grpc.StatusCode.NOT_FOUND:
                raise self._error(
                    f"getting iteration [{iteration}] of model [{name}]", error
                ) from error
            await self._raise_if_unknown(name)
            return None
        if not reply.version_infos:
            return None
        return ModelIterationInfo.from_proto(reply.version_infos[0])

    async def update_model_info(self, name: str, properties: Mapping[str, str]) -> None:
        """Set the properties of model ``name`` (creating it if needed), replacing the old ones."""
        if not isinstance(name, str) or not name:
            raise CogmentError(f"Invalid model name [{name!r}]: must be a non-empty str")
        await self._create_or_update(name, properties, f"updating the info of model [{name}]")

    async def _fetch_model_info(self, name: str) -> _pb.ModelInfo | None:
        return await find_model_info(
            self._stub, name, self._metadata, self._endpoint, f"getting the info of model [{name}]"
        )

    async def get_model_info(self, name: str) -> ModelInfo | None:
        """Info of model ``name`` (its properties), or None if there is no such model."""
        info = await self._fetch_model_info(name)
        return None if info is None else ModelInfo.from_proto(info)

    # ------------------------------------------------------------------------- updates

    async def _version_updates(self, name: str) -> AsyncGenerator[_pb.ModelVersionInfo, None]:
        """Raw ``VersionUpdate`` stream (gRPC errors not translated); cancelled when closed."""
        call = self._stub.VersionUpdate(
            _pb.VersionUpdateRequest(model_id=name), metadata=self._metadata
        )
        try:
            async for reply in call:
                yield reply.version_info
        finally:
            call.cancel()

    async def iteration_updates(self, model_name: str) -> AsyncGenerator[ModelIterationInfo, None]:
        """Info of the latest iteration of ``model_name`` (if any), then of each new iteration
        as it is stored or published. Closing the generator cancels the underlying stream.

        Raises:
            CogmentError: unknown (or deleted) model, or the registry failed.
        """
        updates = self._version_updates(model_name)
        try:
            async for proto in updates:
                yield ModelIterationInfo.from_proto(proto)
        except grpc.aio.AioRpcError as error:
            if error.code() == grpc.StatusCode.NOT_FOUND:
                raise CogmentError(
                    f"Unknown model [{model_name}] in Model Registry [{self._endpoint}]:"
                    f" {error.details()}"
                ) from error
            raise self._error(f"receiving the iterations of model [{model_name}]", error) from error
        finally:
            await updates.aclose()

    # ------------------------------------------------------------------------ tracking

    @overload
    async def track_latest_model(
        self, name: str, deserialize_func: None = None, initial_wait: float = 0
    ) -> LatestModel[bytes]: ...

    @overload
    async def track_latest_model(
        self,
        name: str,
        deserialize_func: Callable[[bytes], Awaitable[ModelT]],
        initial_wait: float = 0,
    ) -> LatestModel[ModelT]: ...

    @overload
    async def track_latest_model(
        self, name: str, deserialize_func: Callable[[bytes], ModelT], initial_wait: float = 0
    ) -> LatestModel[ModelT]: ...

    async def track_latest_model(
        self,
        name: str,
        deserialize_func: Callable[[bytes], Any] | None = None,
        initial_wait: float = 0,
    ) -> LatestModel[Any]:
        """Track model ``name``: a background task retrieves each new iteration, available
        through the returned :class:`LatestModel`.

        Calls for the same model on the same registry endpoint (in the same event loop) share
        one background task and return the same :class:`LatestModel`.

        Args:
            name: the model name.
            deserialize_func: called (in the event loop) with the bytes of each iteration; its
                result (awaited if awaitable) is what :meth:`LatestModel.get` returns. None =
                the bytes themselves.
            initial_wait: seconds to wait for the model name to exist in the registry.

        Raises:
            CogmentError: the model does not exist after ``initial_wait`` seconds, or
                ``deserialize_func`` differs from the one the model is already tracked with,
                or does not take exactly one argument.
        """
        if deserialize_func is not None:
            if not callable(deserialize_func):
                raise CogmentError(f"deserialize_func for model [{name}] is not callable")
            try:
                inspect.signature(deserialize_func).bind(b"")
            except TypeError as error:
                raise CogmentError(
                    f"deserialize_func for model [{name}] must take exactly one argument"
                    f" (the bytes): {error}"
                ) from error
            except ValueError:
                pass  # no signature available (some builtins): trust it
        loop = asyncio.get_running_loop()
        key: _TrackerKey = (id(loop), self._endpoint, name)

        while True:
            existing = _tracked.get(key)
            if (
                existing is not None
                and existing._tracker.loop is loop
                and existing._tracker.task is not None
            ):
                break  # tracked and running: share it
            starting = _tracking_starts.get(key)
            if starting is None:
                return await self._start_tracking(key, name, deserialize_func, initial_wait)
            # Another caller is waiting for the model to exist: share its outcome. (If that
            # caller gets cancelled, try again ourselves.)
            await asyncio.wait([starting])
            if not starting.cancelled():
                existing = starting.result()
                break
        tracked_func = existing._tracker.deserialize_func
        if deserialize_func is not None and deserialize_func is not tracked_func:
            raise CogmentError(
                f"Model [{name}] is already tracked with a different deserialize_func"
                f" [{tracked_func!r}], not [{deserialize_func!r}]"
            )
        return existing

    async def _start_tracking(
        self,
        key: _TrackerKey,
        name: str,
        deserialize_func: Callable[[bytes], Any] | None,
        initial_wait: float,
    ) -> LatestModel[Any]:
        future: asyncio.Future[LatestModel[Any]] = asyncio.get_running_loop().create_future()
        _tracking_starts[key] = future
        try:
            await self._wait_for_model(name, initial_wait)
            latest: LatestModel[Any] = LatestModel(_Tracker(self, name, deserialize_func))
            _tracked[key] = latest
            future.set_result(latest)
            return latest
        except asyncio.CancelledError:
            future.cancel()
            raise
        except BaseException as error:
            future.set_exception(error)
            future.exception()  # retrieved, even if nobody else waits
            raise
        finally:
            del _tracking_starts[key]

    async def _wait_for_model(self, name: str, initial_wait: float) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + max(0.0, float(initial_wait))
        delay = _RETRY_MIN_SECONDS
        while await self._fetch_model_info(name) is None:
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise CogmentError(
                    f"Model [{name}] not found in Model Registry [{self._endpoint}]"
                    + (f" after waiting {initial_wait}s" if initial_wait else "")
                )
            _log.debug("Model [%s] not yet in the Model Registry", name)
            await asyncio.sleep(min(delay, remaining))
            delay = min(delay * 2, 1.0)
