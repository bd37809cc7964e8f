"""gRPC ``cogmentAPI.ModelRegistrySP`` on top of :class:`ModelRegistryState`."""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import AsyncIterator, Callable
from typing import Any

import grpc
import grpc.aio

from cogment._version import __version__
from cogment.api import common_pb2, model_registry_pb2, model_registry_pb2_grpc
from cogment_services.model_registry._archive import ArchiveCorruptionError
from cogment_services.model_registry._metrics import RegistryMetrics
from cogment_services.model_registry._records import IterationRecord
from cogment_services.model_registry._registry import (
    InvalidRequestError,
    ModelRegistryState,
    NotFoundError,
    RegistryError,
    ShuttingDownError,
    Upload,
)

__all__ = ["DEFAULT_CHUNK_SIZE", "ModelRegistryServicer"]

_log = logging.getLogger("cogment.services.model_registry")

#: Default size of the data chunks sent by ``RetrieveVersionData`` (2 MiB).
DEFAULT_CHUNK_SIZE = 2 * 1024 * 1024

_Context = grpc.aio.ServicerContext[Any, Any]


def version_info_proto(record: IterationRecord) -> model_registry_pb2.ModelVersionInfo:
    """The wire form of an iteration record."""
    return model_registry_pb2.ModelVersionInfo(
        model_id=record.model_id,
        version_number=record.number,
        creation_timestamp=record.timestamp_ns,
        archived=record.archived,
        data_hash=record.data_hash,
        data_size=record.data_size,
        user_data=record.user_data,
    )


def _overall_load() -> str:
    try:
        load = os.getloadavg()[0] / (os.cpu_count() or 1)
    except (OSError, AttributeError):
        return "0"
    return str(max(0, min(254, int(100 * load))))


async def _abort(context: _Context, error: Exception) -> None:
    if isinstance(error, NotFoundError):
        code = grpc.StatusCode.NOT_FOUND
    elif isinstance(error, InvalidRequestError):
        code = grpc.StatusCode.INVALID_ARGUMENT
    elif isinstance(error, ShuttingDownError):
        code = grpc.StatusCode.UNAVAILABLE
    elif isinstance(error, ArchiveCorruptionError):
        code = grpc.StatusCode.DATA_LOSS
    else:
        code = grpc.StatusCode.INTERNAL
    if code in (grpc.StatusCode.DATA_LOSS, grpc.StatusCode.INTERNAL):
        _log.error("%s", error)
    else:
        _log.debug("Request refused: %s", error)
    await context.abort(code, str(error))


class ModelRegistryServicer(model_registry_pb2_grpc.ModelRegistrySPServicer):
    """Serves one :class:`ModelRegistryState`; data is sent in ``chunk_size`` pieces."""

    def __init__(
        self,
        state: ModelRegistryState,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
        metrics: RegistryMetrics | None = None,
    ) -> None:
        if chunk_size <= 0:
            raise ValueError(f"chunk size must be positive, not {chunk_size}")
        self._state = state
        self._chunk_size = chunk_size
        self._metrics = metrics if metrics is not None else RegistryMetrics(state)

    async def CreateOrUpdateModel(
        self, request: model_registry_pb2.CreateOrUpdateModelRequest, context: _Context
    ) -> model_registry_pb2.CreateOrUpdateModelReply:
        try:
            await self._state.create_or_update_model(
                request.model_info.model_id, dict(request.model_info.user_data)
            )
        except (RegistryError, OSError) as error:
            await _abort(context, error)
        return model_registry_pb2.CreateOrUpdateModelReply()

    async def DeleteModel(
        self, request: model_registry_pb2.DeleteModelRequest, context: _Context
    ) -> model_registry_pb2.DeleteModelReply:
        try:
            await self._state.delete_model(request.model_id)
        except (RegistryError, OSError) as error:
            await _abort(context, error)
        return model_registry_pb2.DeleteModelReply()

    async def RetrieveModels(
        self, request: model_registry_pb2.RetrieveModelsRequest, context: _Context
    ) -> model_registry_pb2.RetrieveModelsReply:
        try:
            records, next_handle = self._state.retrieve_models(
                list(request.model_ids), request.models_count, request.model_handle
            )
        except RegistryError as error:
            await _abort(context, error)
            raise  # unreachable: abort raises
        reply = model_registry_pb2.RetrieveModelsReply(next_model_handle=next_handle)
        for record in records:
            reply.model_infos.add(model_id=record.model_id, user_data=record.user_data)
        return reply

    async def CreateVersion(
        self,
        request_iterator: AsyncIterator[model_registry_pb2.CreateVersionRequestChunk],
        context: _Context,
    ) -> model_registry_pb2.CreateVersionReply:
        header: model_registry_pb2.ModelVersionInfo | None = None
        upload: Upload | None = None
        try:
            async for chunk in request_iterator:
                kind = chunk.WhichOneof("msg")
                if kind == "header":
                    if header is not None:
                        raise InvalidRequestError("CreateVersion: more than one header chunk")
                    header = chunk.header.version_info
                    if not header.model_id:
                        raise InvalidRequestError("CreateVersion: the header has no model id")
                    # An unknown model is reported once all the data is received: refusing
                    # while a client is still sending makes some clients see INTERNAL errors.
                    upload = await self._state.begin_upload(header.model_id, header.archived)
                elif kind == "body":
                    if upload is None:
                        raise InvalidRequestError(
                            "CreateVersion: a body chunk came before the header"
                        )
                    await upload.add(chunk.body.data_chunk)
                else:
                    raise InvalidRequestError(
                        "CreateVersion: empty chunk (neither header nor body)"
                    )
            if header is None or upload is None:
                raise InvalidRequestError("CreateVersion: no header chunk received")
            committing, upload = upload, None
            record = await self._state.commit_upload(
                committing,
                archived=header.archived,
                user_data=dict(header.user_data),
                declared_hash=header.data_hash,
                declared_size=header.data_size,
            )
        except (RegistryError, ArchiveCorruptionError, OSError) as error:
            await _abort(context, error)
            raise  # unreachable: abort raises
        finally:
            if upload is not None:  # not committed (error, cancellation)
                await upload.discard()
        self._metrics.iterations_created.labels("stored" if record.archived else "published").inc()
        self._metrics.received_bytes.inc(record.data_size)
        return model_registry_pb2.CreateVersionReply(version_info=version_info_proto(record))

    async def RetrieveVersionInfos(
        self, request: model_registry_pb2.RetrieveVersionInfosRequest, context: _Context
    ) -> model_registry_pb2.RetrieveVersionInfosReply:
        try:
            records, next_handle = self._state.iteration_infos(
                request.model_id,
                list(request.version_numbers),
                request.versions_count,
                request.version_handle,
            )
        except RegistryError as error:
            await _abort(context, error)
            raise  # unreachable: abort raises
        return model_registry_pb2.RetrieveVersionInfosReply(
            version_infos=[version_info_proto(record) for record in records],
            next_version_handle=next_handle,
        )

    async def RetrieveVersionData(
        self, request: model_registry_pb2.RetrieveVersionDataRequest, context: _Context
    ) -> AsyncIterator[model_registry_pb2.RetrieveVersionDataReplyChunk]:
        try:
            found = await self._state.open_iteration(request.model_id, request.version_number)
        except (RegistryError, ArchiveCorruptionError, OSError) as error:
            await _abort(context, error)
            return
        size = self._chunk_size
        try:
            if found.data is not None:
                data = found.data
                if not data:
                    yield model_registry_pb2.RetrieveVersionDataReplyChunk()
                for start in range(0, len(data), size):
                    yield model_registry_pb2.RetrieveVersionDataReplyChunk(
                        data_chunk=data[start : start + size]
                    )
                    self._metrics.sent_bytes.inc(min(size, len(data) - start))
                return
            assert found.file is not None
            file = found.file
            sent = 0
            while True:
                block = await asyncio.to_thread(file.read, size)
                if not block:
                    break
                sent += len(block)
                yield model_registry_pb2.RetrieveVersionDataReplyChunk(data_chunk=block)
                self._metrics.sent_bytes.inc(len(block))
            if sent == 0:
                yield model_registry_pb2.RetrieveVersionDataReplyChunk()
        finally:
            found.close()

    async def VersionUpdate(
        self, request: model_registry_pb2.VersionUpdateRequest, context: _Context
    ) -> AsyncIterator[model_registry_pb2.VersionUpdateReply]:
        try:
            async for record in self._state.updates(request.model_id):
                yield model_registry_pb2.VersionUpdateReply(version_info=version_info_proto(record))
        except RegistryError as error:
            await _abort(context, error)

    async def Version(
        self, request: common_pb2.VersionRequest, context: _Context
    ) -> common_pb2.VersionInfo:
        reply = common_pb2.VersionInfo()
        reply.versions.add(name="model_registry", version=__version__)
        reply.versions.add(name="cogment", version=__version__)
        reply.versions.add(name="grpc", version=grpc.__version__)
        return reply

    async def Status(
        self, request: common_pb2.StatusRequest, context: _Context
    ) -> common_pb2.StatusReply:
        statuses: dict[str, Callable[[], str]] = {
            "overall_load": _overall_load,
            "nb_models": lambda: str(self._state.model_count),
            "nb_transient_iterations": lambda: str(self._state.transient_count),
            "nb_update_streams": lambda: str(self._state.update_stream_count),
        }
        names = list(request.names)
        if "*" in names:
            names = list(statuses)
        reply = common_pb2.StatusReply()
        for name in names:
            compute = statuses.get(name)
            if compute is not None:
                reply.statuses[name] = compute()
        return reply
