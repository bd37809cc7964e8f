"""gRPC handlers of the Trial Datastore: ``cogmentAPI.DatalogSP`` and ``cogmentAPI.TrialDatastoreSP``.

Both services are registered on one server with generic handlers, so that ``RetrieveSamples``
can stream the stored bytes of a sample without parsing and re-serializing it.

Errors are gRPC statuses whose message names what was wrong: ``INVALID_ARGUMENT`` (missing
``trial-id`` metadata, bad first Datalog message, bad paging handle, mismatched sample trial
id), ``NOT_FOUND`` (unknown trial ids: nothing is deleted or streamed), ``INTERNAL`` (storage
failure).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Sequence
from typing import Any, NoReturn

import grpc
import grpc.aio

from cogment._version import __version__
from cogment.api import common_pb2, datalog_pb2, trial_datastore_pb2
from cogment_services.trial_datastore._convert import TrialActorIndex, stored_sample_from_datalog
from cogment_services.trial_datastore._filter import SampleFilter, wrap_sample_reply
from cogment_services.trial_datastore._store import TrialRecord, TrialStore, UnknownTrialError

__all__ = ["DatalogServicer", "TrialDatastoreServicer", "add_servicers_to_server"]

_log = logging.getLogger("cogment.services.trial_datastore")

_Context = grpc.aio.ServicerContext[Any, Any]

#: Samples read from storage at once when streaming.
_READ_CHUNK = 256
#: Samples of one ``AddSample`` call stored per write.
_ADD_CHUNK = 100


async def _abort(context: _Context, code: grpc.StatusCode, message: str) -> NoReturn:
    _log.debug("%s: %s", code.name, message)
    await context.abort(code, message)
    raise AssertionError("unreachable")  # pragma: no cover - abort raises


def _metadata_values(context: _Context, key: str) -> list[str]:
    values = []
    for entry in context.invocation_metadata() or ():
        name, value = entry
        if name == key:
            values.append(value if isinstance(value, str) else value.decode("utf-8", "replace"))
    return values


async def _single_trial_id(context: _Context, rpc: str) -> str:
    values = _metadata_values(context, "trial-id")
    if len(values) != 1 or not values[0]:
        await _abort(
            context,
            grpc.StatusCode.INVALID_ARGUMENT,
            f"{rpc}: exactly one 'trial-id' metadata entry is required, got {values!r}",
        )
    return values[0]


def _version_info() -> common_pb2.VersionInfo:
    info = common_pb2.VersionInfo()
    info.versions.add(name="cogment", version=__version__)
    info.versions.add(name="trial_datastore", version=__version__)
    info.versions.add(name="grpc", version=grpc.__version__)
    return info


def _status_reply(store: TrialStore, request: common_pb2.StatusRequest) -> common_pb2.StatusReply:
    values = {
        "overall_load": "0",
        "nb_trials": str(len(store)),
        "stored_size": str(store.stored_size),
    }
    reply = common_pb2.StatusReply()
    for name in request.names:
        if name == "*":
            reply.statuses.update(values)
            break
        if name in values:
            reply.statuses[name] = values[name]
    return reply


class _StoreServicer:
    """What both services share: the store, ``Version`` and ``Status``."""

    def __init__(self, store: TrialStore) -> None:
        self.store = store

    async def Version(
        self, request: common_pb2.VersionRequest, context: _Context
    ) -> common_pb2.VersionInfo:
        """Versions of this service."""
        return _version_info()

    async def Status(
        self, request: common_pb2.StatusRequest, context: _Context
    ) -> common_pb2.StatusReply:
        """``overall_load``, ``nb_trials``, ``stored_size`` (``*`` = all)."""
        return _status_reply(self.store, request)


class DatalogServicer(_StoreServicer):
    """``DatalogSP``: the Orchestrator streams a trial's parameters then its samples."""

    async def RunTrialDatalog(
        self,
        request_iterator: AsyncIterator[datalog_pb2.RunTrialDatalogInput],
        context: _Context,
    ) -> AsyncIterator[datalog_pb2.RunTrialDatalogOutput]:
        """Store the trial, then each sample; every message is acknowledged (an empty
        output) once it is stored, in order."""
        rpc = "DatalogSP/RunTrialDatalog"
        trial_ids = _metadata_values(context, "trial-id")
        if not trial_ids or not trial_ids[0]:
            await _abort(
                context, grpc.StatusCode.INVALID_ARGUMENT, f"{rpc}: missing 'trial-id' metadata"
            )
        trial_id = trial_ids[0]
        user_ids = _metadata_values(context, "user-id")
        user_id = user_ids[0] if user_ids else ""
        first = None
        async for message in request_iterator:
            first = message
            break
        if first is None:
            return
        if not first.HasField("trial_params"):
            await _abort(
                context,
                grpc.StatusCode.INVALID_ARGUMENT,
                f"{rpc}: trial [{trial_id}]: the first message must be 'trial_params', "
                f"got '{first.WhichOneof('msg')}'",
            )
        try:
            record = await self.store.put_trial(
                trial_id, user_id, first.trial_params.SerializeToString()
            )
        except Exception as error:
            _log.exception("trial [%s]: cannot store the parameters", trial_id)
            await _abort(context, grpc.StatusCode.INTERNAL, f"{rpc}: trial [{trial_id}]: {error}")
        self.store.set_live(record, True)
        _log.debug("trial [%s]: datalog started", trial_id)
        pending: asyncio.Queue[asyncio.Future[None] | BaseException | None] = asyncio.Queue(
            maxsize=1024
        )
        reader = asyncio.get_running_loop().create_task(
            self._read_samples(record, user_id, request_iterator, pending)
        )
        try:
            yield datalog_pb2.RunTrialDatalogOutput()
            while True:
                item = await pending.get()
                if item is None:
                    break
                if isinstance(item, BaseException):
                    await _abort(context, grpc.StatusCode.INVALID_ARGUMENT, f"{rpc}: {item}")
                try:
                    await item
                except UnknownTrialError:
                    pass  # deleted (or evicted) while being logged: the sample is dropped
                except Exception as error:
                    _log.error("trial [%s]: cannot store a sample: %r", trial_id, error)
                    await _abort(
                        context, grpc.StatusCode.INTERNAL, f"{rpc}: trial [{trial_id}]: {error}"
                    )
                yield datalog_pb2.RunTrialDatalogOutput()
        finally:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await reader
            self.store.set_live(record, False)
            _log.debug("trial [%s]: datalog ended (%d samples)", trial_id, record.samples_count)

    async def _read_samples(
        self,
        record: TrialRecord,
        user_id: str,
        request_iterator: AsyncIterator[datalog_pb2.RunTrialDatalogInput],
        pending: asyncio.Queue[asyncio.Future[None] | BaseException | None],
    ) -> None:
        trial_id = record.trial_id
        actors = TrialActorIndex(record.params)
        last_state = record.state
        warned = False
        loop = asyncio.get_running_loop()
        try:
            async for message in request_iterator:
                if not message.HasField("sample"):
                    await pending.put(
                        ValueError(
                            f"trial [{trial_id}]: after 'trial_params', only 'sample' messages "
                            f"are expected, got '{message.WhichOneof('msg')}'"
                        )
                    )
                    return
                sample = message.sample
                out_of_sync = sample.info.out_of_sync
                state = last_state if out_of_sync else int(sample.info.state)
                last_state = state
                try:
                    stored = stored_sample_from_datalog(
                        trial_id, user_id, actors, sample, state=state if out_of_sync else None
                    )
                except Exception as error:
                    await pending.put(
                        ValueError(
                            f"trial [{trial_id}]: invalid sample (tick {sample.info.tick_id}): {error!r}"
                        )
                    )
                    return
                future: asyncio.Future[None]
                if record.deleted:
                    if not warned:
                        _log.warning("trial [%s] was deleted: dropping its next samples", trial_id)
                        warned = True
                    future = loop.create_future()
                    future.set_result(None)
                else:
                    future = self.store.submit_samples(record, [stored.SerializeToString()], state)
                await pending.put(future)
        except asyncio.CancelledError:
            raise
        except Exception as error:  # the stream broke: end the handler
            _log.debug("trial [%s]: datalog stream failed: %r", trial_id, error)
        await pending.put(None)


class TrialDatastoreServicer(_StoreServicer):
    """``TrialDatastoreSP``: query, stream, import and delete trials."""

    async def RetrieveTrials(
        self, request: trial_datastore_pb2.RetrieveTrialsRequest, context: _Context
    ) -> trial_datastore_pb2.RetrieveTrialsReply:
        """Trials in creation order after ``trial_handle``, filtered by ids and properties;
        waits up to ``timeout`` ms for ``trials_count`` of them."""
        handle = request.trial_handle
        try:
            after = int(handle) if handle else 0
            if after < 0:
                raise ValueError
        except ValueError:
            await _abort(
                context,
                grpc.StatusCode.INVALID_ARGUMENT,
                f"TrialDatastoreSP/RetrieveTrials: invalid trial_handle [{handle}]: use an empty "
                "one or a next_trial_handle returned earlier",
            )
        ids = set(request.trial_ids) if request.trial_ids else None
        limit = request.trials_count or (len(ids) if ids is not None else 0)
        properties = dict(request.properties)
        deadline = time.monotonic() + request.timeout / 1000.0
        found: list[TrialRecord] = []
        while True:
            for record in self.store.trials_after(after):
                after = record.seq
                if record.matches(ids, properties):
                    found.append(record)
                    if limit and len(found) >= limit:
                        break
            remaining = deadline - time.monotonic()
            if (limit and len(found) >= limit) or remaining <= 0:
                break
            await self.store.wait_trials_changed(remaining)
        reply = trial_datastore_pb2.RetrieveTrialsReply(
            next_trial_handle=str(after) if after else handle
        )
        for record in found:
            reply.trial_infos.add(
                trial_id=record.trial_id,
                last_state=record.state,
                user_id=record.user_id,
                samples_count=record.samples_count,
                params=record.params,
            )
        return reply

    async def RetrieveSamples(
        self, request: trial_datastore_pb2.RetrieveSamplesRequest, context: _Context
    ) -> AsyncIterator[bytes]:
        """Stored samples of each trial in request order, then, for the trials still being
        logged, their new samples as they arrive until they end."""
        if not request.trial_ids:
            return
        try:
            records = self.store.require(list(request.trial_ids))
        except UnknownTrialError as error:
            await _abort(
                context, grpc.StatusCode.NOT_FOUND, f"TrialDatastoreSP/RetrieveSamples: {error}"
            )
        fields = [int(field) for field in request.selected_sample_fields]
        filters = {
            record.seq: SampleFilter(
                record.params,
                request.actor_names,
                request.actor_classes,
                request.actor_implementations,
                fields,
            )
            for record in records
        }
        positions = {record.seq: 0 for record in records}
        following: list[TrialRecord] = []
        for record in records:
            sample_filter = filters[record.seq]
            while positions[record.seq] < record.samples_count:
                start = positions[record.seq]
                chunk = await self.store.read_samples(
                    record, start, min(record.samples_count, start + _READ_CHUNK)
                )
                if not chunk:
                    break
                positions[record.seq] = start + len(chunk)
                for sample in chunk:
                    yield wrap_sample_reply(sample_filter.filter_bytes(sample))
            if not (record.finished and positions[record.seq] >= record.samples_count):
                following.append(record)
        if not following:
            return
        queue: asyncio.Queue[bytes | None] = asyncio.Queue(maxsize=_READ_CHUNK)
        tasks = [
            asyncio.get_running_loop().create_task(
                self._follow(record, positions[record.seq], filters[record.seq], queue)
            )
            for record in following
        ]
        try:
            running = len(tasks)
            while running:
                item = await queue.get()
                if item is None:
                    running -= 1
                else:
                    yield item
            for task in tasks:
                await task  # re-raise a storage failure
        finally:
            for task in tasks:
                task.cancel()

    async def _follow(
        self,
        record: TrialRecord,
        position: int,
        sample_filter: SampleFilter,
        queue: asyncio.Queue[bytes | None],
    ) -> None:
        try:
            while True:
                if position < record.samples_count:
                    chunk = await self.store.read_samples(
                        record, position, min(record.samples_count, position + _READ_CHUNK)
                    )
                    if not chunk:
                        break
                    position += len(chunk)
                    for sample in chunk:
                        await queue.put(wrap_sample_reply(sample_filter.filter_bytes(sample)))
                elif record.finished:
                    break
                else:
                    await record.wait_changed()
        except asyncio.CancelledError:
            raise
        except Exception:
            await queue.put(None)
            raise
        await queue.put(None)

    async def AddTrial(
        self, request: trial_datastore_pb2.AddTrialRequest, context: _Context
    ) -> trial_datastore_pb2.AddTrialReply:
        """Create (or update) the trial named by the ``trial-id`` metadata."""
        trial_id = await _single_trial_id(context, "TrialDatastoreSP/AddTrial")
        try:
            await self.store.put_trial(
                trial_id, request.user_id, request.trial_params.SerializeToString()
            )
        except Exception as error:
            _log.exception("trial [%s]: cannot store the parameters", trial_id)
            await _abort(
                context,
                grpc.StatusCode.INTERNAL,
                f"TrialDatastoreSP/AddTrial: trial [{trial_id}]: {error}",
            )
        return trial_datastore_pb2.AddTrialReply()

    async def AddSample(
        self,
        request_iterator: AsyncIterator[trial_datastore_pb2.AddSampleRequest],
        context: _Context,
    ) -> trial_datastore_pb2.AddSamplesReply:
        """Append samples to the trial named by the ``trial-id`` metadata (added first)."""
        rpc = "TrialDatastoreSP/AddSample"
        ids = _metadata_values(context, "trial-id")
        record = self.store.get(ids[0]) if len(ids) == 1 and ids[0] else None
        if record is None:
            # Refused before reading: drain the client's stream first, or a client still
            # sending sees gRPC's "Internal error from Core" instead of this status.
            async for _ in request_iterator:
                pass
            trial_id = await _single_trial_id(context, rpc)
            await _abort(
                context,
                grpc.StatusCode.NOT_FOUND,
                f"{rpc}: unknown trial [{trial_id}]: add it with AddTrial first",
            )
        trial_id = ids[0]
        chunk: list[bytes] = []
        state = record.state

        async def flush() -> None:
            if not chunk:
                return
            try:
                await self.store.submit_samples(record, list(chunk), state)
            except Exception as error:
                await _abort(
                    context, grpc.StatusCode.INTERNAL, f"{rpc}: trial [{trial_id}]: {error}"
                )
            chunk.clear()

        async for message in request_iterator:
            sample = message.trial_sample
            if sample.trial_id and sample.trial_id != trial_id:
                await flush()
                async for _ in request_iterator:  # drained, as above
                    pass
                await _abort(
                    context,
                    grpc.StatusCode.INVALID_ARGUMENT,
                    f"{rpc}: sample of trial [{sample.trial_id}] sent for trial [{trial_id}] "
                    "(leave trial_sample.trial_id empty or equal to the 'trial-id' metadata)",
                )
            sample.trial_id = trial_id
            state = int(sample.state)
            chunk.append(sample.SerializeToString())
            if len(chunk) >= _ADD_CHUNK:
                await flush()
        await flush()
        return trial_datastore_pb2.AddSamplesReply()

    async def DeleteTrials(
        self, request: trial_datastore_pb2.DeleteTrialsRequest, context: _Context
    ) -> trial_datastore_pb2.DeleteTrialsReply:
        """Delete the trials, all or none (``NOT_FOUND`` names the unknown ids)."""
        try:
            await self.store.delete_trials(list(request.trial_ids))
        except UnknownTrialError as error:
            await _abort(
                context,
                grpc.StatusCode.NOT_FOUND,
                f"TrialDatastoreSP/DeleteTrials: {error}; nothing was deleted",
            )
        except Exception as error:
            _log.exception("cannot delete trials %s", list(request.trial_ids))
            await _abort(
                context, grpc.StatusCode.INTERNAL, f"TrialDatastoreSP/DeleteTrials: {error}"
            )
        return trial_datastore_pb2.DeleteTrialsReply()


def _identity(data: bytes) -> bytes:
    return data


def _version_and_status(
    servicer: _StoreServicer,
) -> dict[str, grpc.RpcMethodHandler[Any, Any]]:
    """The ``Version`` and ``Status`` handlers, the same in both services."""
    return {
        "Version": grpc.unary_unary_rpc_method_handler(
            servicer.Version,
            request_deserializer=common_pb2.VersionRequest.FromString,
            response_serializer=common_pb2.VersionInfo.SerializeToString,
        ),
        "Status": grpc.unary_unary_rpc_method_handler(
            servicer.Status,
            request_deserializer=common_pb2.StatusRequest.FromString,
            response_serializer=common_pb2.StatusReply.SerializeToString,
        ),
    }


def add_servicers_to_server(server: grpc.aio.Server, store: TrialStore) -> None:
    """Register ``DatalogSP`` and ``TrialDatastoreSP`` backed by ``store`` on ``server``."""
    datalog = DatalogServicer(store)
    datastore = TrialDatastoreServicer(store)
    handlers: Sequence[grpc.GenericRpcHandler[Any, Any]] = (
        grpc.method_handlers_generic_handler(
            "cogmentAPI.DatalogSP",
            {
                "RunTrialDatalog": grpc.stream_stream_rpc_method_handler(
                    datalog.RunTrialDatalog,
                    request_deserializer=datalog_pb2.RunTrialDatalogInput.FromString,
                    response_serializer=datalog_pb2.RunTrialDatalogOutput.SerializeToString,
                ),
                **_version_and_status(datalog),
            },
        ),
        grpc.method_handlers_generic_handler(
            "cogmentAPI.TrialDatastoreSP",
            {
                "RetrieveTrials": grpc.unary_unary_rpc_method_handler(
                    datastore.RetrieveTrials,
                    request_deserializer=trial_datastore_pb2.RetrieveTrialsRequest.FromString,
                    response_serializer=trial_datastore_pb2.RetrieveTrialsReply.SerializeToString,
                ),
                "RetrieveSamples": grpc.unary_stream_rpc_method_handler(
                    datastore.RetrieveSamples,
                    request_deserializer=trial_datastore_pb2.RetrieveSamplesRequest.FromString,
                    response_serializer=_identity,
                ),
                "AddTrial": grpc.unary_unary_rpc_method_handler(
                    datastore.AddTrial,
                    request_deserializer=trial_datastore_pb2.AddTrialRequest.FromString,
                    response_serializer=trial_datastore_pb2.AddTrialReply.SerializeToString,
                ),
                "AddSample": grpc.stream_unary_rpc_method_handler(
                    datastore.AddSample,
                    request_deserializer=trial_datastore_pb2.AddSampleRequest.FromString,
                    response_serializer=trial_datastore_pb2.AddSamplesReply.SerializeToString,
                ),
                "DeleteTrials": grpc.unary_unary_rpc_method_handler(
                    datastore.DeleteTrials,
                    request_deserializer=trial_datastore_pb2.DeleteTrialsRequest.FromString,
                    response_serializer=trial_datastore_pb2.DeleteTrialsReply.SerializeToString,
                ),
                **_version_and_status(datastore),
            },
        ),
    )
    server.add_generic_rpc_handlers(handlers)
