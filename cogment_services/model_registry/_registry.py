"""The Model Registry's state and rules, independent of gRPC.

- Models have a name (id) and user data; iterations are numbered per model from 1, stored
  (archived, on disk through :class:`ArchiveStore`) and published (transient, in a bounded
  in-memory cache shared by all models, the oldest evicted first) share the numbering.
- Numbers ``-n`` designate the n-th latest *available* iteration (-1 = latest).
- Commits of iterations are serialized per model, so subscribers see increasing numbers.

Errors are :class:`RegistryError` subclasses whose message names the model/iteration.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import logging
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Coroutine, Sequence
from dataclasses import dataclass, field
from typing import Any, BinaryIO, TypeVar

from cogment_services.model_registry._archive import ArchiveStore, PendingData
from cogment_services.model_registry._records import IterationRecord, ModelRecord

__all__ = [
    "InvalidRequestError",
    "IterationData",
    "ModelRegistryState",
    "NotFoundError",
    "RegistryError",
    "ShuttingDownError",
    "Upload",
]

_log = logging.getLogger("cogment.services.model_registry")


class RegistryError(Exception):
    """A request the registry cannot satisfy; the message says why."""


class NotFoundError(RegistryError):
    """Unknown model or unavailable iteration."""


class InvalidRequestError(RegistryError):
    """Malformed request (bad hash, bad size, bad iteration number...)."""


class ShuttingDownError(RegistryError):
    """The registry is stopping: open update streams end with this."""


#: Chunks larger than this are hashed in a worker thread (hashlib releases the GIL).
_HASH_IN_THREAD = 256 * 1024

_DELETED = "deleted"
_SHUTDOWN = "shutdown"


@dataclass
class _Model:
    record: ModelRecord
    iterations: dict[int, IterationRecord] = field(default_factory=dict)  # ascending numbers
    last_number: int = 0
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    subscribers: set[asyncio.Queue[IterationRecord | str]] = field(default_factory=set)
    deleted: bool = False


@dataclass
class IterationData:
    """Where an iteration's bytes are: in memory (transient) or in an opened archive file."""

    record: IterationRecord
    data: bytes | None = None
    file: BinaryIO | None = None

    def close(self) -> None:
        """Close the archive file, if any."""
        if self.file is not None:
            self.file.close()
            self.file = None


_T = TypeVar("_T")


async def _to_completion(coroutine: Coroutine[Any, Any, _T]) -> _T:
    """Run ``coroutine`` to its end even if the caller is cancelled: a state change (disk and
    memory) is never cut in half."""
    task = asyncio.ensure_future(coroutine)
    task.add_done_callback(_consume_outcome)
    return await asyncio.shield(task)


def _consume_outcome(task: asyncio.Future[Any]) -> None:
    if not task.cancelled() and task.exception() is not None:
        _log.debug("Registry operation failed: %r", task.exception())


def _close_opened(opening: asyncio.Future[BinaryIO]) -> None:
    # The caller was cancelled while the stored data was being opened and checked.
    if not opening.cancelled() and opening.exception() is None:
        opening.result().close()


def _discard_opened(opening: asyncio.Future[PendingData]) -> None:
    # The caller was cancelled while the temporary file was being created.
    if not opening.cancelled() and opening.exception() is None:
        opening.result().discard()


class Upload:
    """The data of a new iteration being received (see :meth:`ModelRegistryState.begin_upload`)."""

    def __init__(
        self, model_id: str, model: _Model | None, pending: PendingData | None, keep: bool
    ) -> None:
        self.model_id = model_id
        self.model = model
        self.pending = pending
        self._keep = keep
        self._chunks: list[bytes] = []
        self._hasher = hashlib.sha256()
        self.size = 0

    async def add(self, chunk: bytes) -> None:
        """Append a chunk of data (hashed, and written to the archive for stored iterations)."""
        if self.pending is not None:
            await asyncio.to_thread(self.pending.write, chunk)
            self.size = self.pending.size
            return
        if len(chunk) > _HASH_IN_THREAD:
            await asyncio.to_thread(self._hasher.update, chunk)
        else:
            self._hasher.update(chunk)
        self.size += len(chunk)
        if self._keep:
            self._chunks.append(chunk)

    @property
    def digest(self) -> str:
        """Base64 SHA-256 of the data received so far."""
        if self.pending is not None:
            return self.pending.digest
        return base64.b64encode(self._hasher.digest()).decode("ascii")

    def data(self) -> bytes:
        """The data received (in-memory uploads only)."""
        data = b"".join(self._chunks)
        self._chunks = [data]
        return data

    async def discard(self) -> None:
        """Drop the data (deletes the temporary file of a stored upload not committed)."""
        self._chunks = []
        pending, self.pending = self.pending, None
        if pending is not None:
            await asyncio.to_thread(pending.discard)


class ModelRegistryState:
    """All models and iterations.

    ``archive`` None makes a purely in-memory registry (stored iterations are then kept in
    memory, never evicted, and lost when the process ends).
    """

    def __init__(self, archive: ArchiveStore | None, cache_max_items: int = 100) -> None:
        if cache_max_items < 0:
            raise ValueError(f"cache_max_items must be >= 0, not {cache_max_items}")
        self._archive = archive
        self._cache_max_items = cache_max_items
        self._models: dict[str, _Model] = {}
        self._transient: OrderedDict[tuple[str, int], bytes] = OrderedDict()
        # Stored iterations when there is no archive directory (in-memory registry).
        self._stored_in_memory: dict[tuple[str, int], bytes] = {}
        self._models_lock = asyncio.Lock()
        self._closed = False

    async def load(self) -> None:
        """Load what the archive holds (call once, before serving)."""
        if self._archive is None:
            return
        for loaded in await asyncio.to_thread(self._archive.load):
            model = _Model(loaded.record, last_number=loaded.last_number)
            for iteration in loaded.iterations:
                model.iterations[iteration.number] = iteration
            self._models[loaded.record.model_id] = model
        _log.info(
            "Loaded %d models and %d stored iterations from [%s]",
            len(self._models),
            sum(len(model.iterations) for model in self._models.values()),
            self._archive.root,
        )

    def close(self) -> None:
        """End every open update stream (with :class:`ShuttingDownError`) and refuse new ones."""
        self._closed = True
        for model in self._models.values():
            for queue in model.subscribers:
                queue.put_nowait(_SHUTDOWN)

    def release(self) -> None:
        """Release the archive directory (after the server stopped)."""
        if self._archive is not None:
            self._archive.close()

    # ---------------------------------------------------------------------------- stats

    @property
    def model_count(self) -> int:
        """Number of models."""
        return len(self._models)

    @property
    def update_stream_count(self) -> int:
        """Number of open update (``VersionUpdate``) streams."""
        return sum(len(model.subscribers) for model in self._models.values())

    @property
    def transient_count(self) -> int:
        """Number of published iterations currently cached."""
        return len(self._transient)

    # --------------------------------------------------------------------------- models

    def _get(self, model_id: str) -> _Model:
        model = self._models.get(model_id)
        if model is None:
            raise NotFoundError(f"Unknown model [{model_id}]")
        return model

    async def create_or_update_model(self, model_id: str, user_data: dict[str, str]) -> bool:
        """Create the model, or replace its user data; returns True if it was created."""
        if not model_id:
            raise InvalidRequestError("Model id (name) must not be empty")
        return await _to_completion(self._create_or_update_model(model_id, user_data))

    async def _create_or_update_model(self, model_id: str, user_data: dict[str, str]) -> bool:
        async with self._models_lock:
            record = ModelRecord(model_id, dict(user_data))
            if self._archive is not None:
                await asyncio.to_thread(self._archive.save_model, record)
            model = self._models.get(model_id)
            if model is None:
                self._models[model_id] = _Model(record)
                _log.debug("Created model [%s]", model_id)
                return True
            model.record = record
            return False

    async def delete_model(self, model_id: str) -> None:
        """Delete the model and all its iterations; open update streams end."""
        await _to_completion(self._delete_model(model_id))

    async def _delete_model(self, model_id: str) -> None:
        async with self._models_lock:
            model = self._get(model_id)
            async with model.lock:
                if self._archive is not None:
                    await asyncio.to_thread(self._archive.delete_model, model_id)
                del self._models[model_id]
                model.deleted = True
                for number in model.iterations:
                    self._transient.pop((model_id, number), None)
                    self._stored_in_memory.pop((model_id, number), None)
                model.iterations.clear()
                for queue in model.subscribers:
                    queue.put_nowait(_DELETED)
        _log.debug("Deleted model [%s]", model_id)

    def retrieve_models(
        self, model_ids: Sequence[str], count: int, handle: str
    ) -> tuple[list[ModelRecord], str]:
        """Given models (all must exist), or a page of all models sorted by name.

        The handle of a page is the last name it returned; the next page starts after it.
        """
        if model_ids:
            return [self._get(model_id).record for model_id in model_ids], ""
        names = (
            sorted(name for name in self._models if name > handle)
            if handle
            else sorted(self._models)
        )
        if count > 0:
            names = names[:count]
        next_handle = names[-1] if names else handle
        return [self._models[name].record for name in names], next_handle

    # ----------------------------------------------------------------------- iterations

    def _resolve(self, model: _Model, number: int) -> IterationRecord:
        model_id = model.record.model_id
        if number == 0:
            raise InvalidRequestError(
                f"Invalid iteration number 0 for model [{model_id}]: iterations start at 1,"
                " negative numbers count from the latest (-1 = latest)"
            )
        if number > 0:
            found = model.iterations.get(number)
            if found is None:
                raise NotFoundError(f"Iteration [{number}] of model [{model_id}] is not available")
            return found
        if -number > len(model.iterations):
            if not model.iterations:
                raise NotFoundError(f"Model [{model_id}] has no iteration available")
            raise NotFoundError(
                f"Iteration [{number}] of model [{model_id}] is not available: only"
                f" {len(model.iterations)} iterations are available"
            )
        numbers = list(model.iterations)
        return model.iterations[numbers[number]]

    def iteration_infos(
        self, model_id: str, numbers: Sequence[int], count: int, handle: str
    ) -> tuple[list[IterationRecord], str]:
        """Given iterations (all must be available), or a page of all available ones.

        The handle of a page is the last iteration number it returned.
        """
        model = self._get(model_id)
        if numbers:
            return [self._resolve(model, number) for number in numbers], ""
        after = 0
        if handle:
            try:
                after = int(handle)
            except ValueError:
                raise InvalidRequestError(
                    f"Invalid version handle [{handle}] for model [{model_id}]"
                ) from None
        page = [record for number, record in model.iterations.items() if number > after]
        if count > 0:
            page = page[:count]
        next_handle = str(page[-1].number) if page else str(after)
        return page, next_handle

    async def open_iteration(self, model_id: str, number: int) -> IterationData:
        """The data of an iteration; stored data is SHA-256 checked before it is returned.

        The caller must :meth:`IterationData.close` the result.
        """
        model = self._get(model_id)
        record = self._resolve(model, number)
        if not record.archived:
            return IterationData(record, data=self._transient[(model_id, record.number)])
        if self._archive is None:
            return IterationData(record, data=self._stored_in_memory[(model_id, record.number)])
        archive = self._archive

        def open_and_verify() -> BinaryIO:
            file = archive.open_iteration(record)
            try:
                archive.verify(record, file)
            except BaseException:
                file.close()
                raise
            return file

        opening = asyncio.ensure_future(asyncio.to_thread(open_and_verify))
        try:
            file = await asyncio.shield(opening)
        except asyncio.CancelledError:
            opening.add_done_callback(_close_opened)
            raise
        except FileNotFoundError:
            raise NotFoundError(
                f"Iteration [{record.number}] of model [{model_id}] is no longer stored"
            ) from None
        return IterationData(record, file=file)

    async def begin_upload(self, model_id: str, archived: bool) -> Upload:
        """Start receiving the data of a new iteration of ``model_id``.

        Stored iterations of a registry with an archive go straight to a temporary file
        (bounded memory); the others are kept in memory. Data for an unknown model is only
        counted (the commit then fails with :class:`NotFoundError`).
        """
        model = self._models.get(model_id)
        pending = None
        if model is not None and archived and self._archive is not None:
            opening = asyncio.ensure_future(asyncio.to_thread(self._archive.begin_data, model_id))
            try:
                pending = await asyncio.shield(opening)
            except asyncio.CancelledError:
                opening.add_done_callback(_discard_opened)
                raise
        return Upload(model_id, model, pending, keep=model is not None)

    async def commit_upload(
        self,
        upload: Upload,
        archived: bool,
        user_data: dict[str, str],
        declared_hash: str = "",
        declared_size: int = 0,
    ) -> IterationRecord:
        """Validate the received data and commit the new iteration; returns it with its
        number and timestamp. ``declared_hash`` (base64 SHA-256) and ``declared_size`` are
        checked when non-empty/zero. The upload is consumed (discarded on failure). A
        cancelled caller does not interrupt the commit (no half-updated state).
        """

        async def commit_then_discard() -> IterationRecord:
            try:
                return await self._commit(upload, archived, user_data, declared_hash, declared_size)
            finally:
                await upload.discard()

        return await _to_completion(commit_then_discard())

    async def _commit(
        self,
        upload: Upload,
        archived: bool,
        user_data: dict[str, str],
        declared_hash: str,
        declared_size: int,
    ) -> IterationRecord:
        model_id = upload.model_id
        model = upload.model
        if model is None:
            raise NotFoundError(f"Unknown model [{model_id}]")
        digest = upload.digest
        if declared_hash and declared_hash != digest:
            raise InvalidRequestError(
                f"Data hash mismatch for a new iteration of model [{model_id}]: declared"
                f" [{declared_hash}], received data has SHA-256 [{digest}]"
            )
        if declared_size and declared_size != upload.size:
            raise InvalidRequestError(
                f"Data size mismatch for a new iteration of model [{model_id}]: declared"
                f" {declared_size} bytes, received {upload.size} bytes"
            )
        async with model.lock:
            if model.deleted:
                raise NotFoundError(f"Model [{model_id}] was deleted")
            number = model.last_number + 1
            record = IterationRecord(
                model_id=model_id,
                number=number,
                timestamp_ns=time.time_ns(),
                archived=archived,
                data_hash=digest,
                data_size=upload.size,
                user_data=dict(user_data),
            )
            data = b""
            if upload.pending is not None:
                assert self._archive is not None and archived
                await asyncio.to_thread(self._archive.commit_pending, record, upload.pending)
                upload.pending = None  # now the stored iteration: not to be discarded
            else:
                data = upload.data()
                if self._archive is not None:
                    await asyncio.to_thread(self._archive.save_last_number, model_id, number)
            model.last_number = number
            model.iterations[number] = record
            if not archived:
                self._cache(model_id, number, data)
            elif self._archive is None:
                self._stored_in_memory[(model_id, number)] = data
            for queue in model.subscribers:
                queue.put_nowait(record)
        _log.debug(
            "New iteration [%d] of model [%s] (%s, %d bytes)",
            number,
            model_id,
            "stored" if archived else "published",
            record.data_size,
        )
        return record

    async def create_iteration(
        self,
        model_id: str,
        data: bytes,
        archived: bool,
        user_data: dict[str, str],
        declared_hash: str = "",
        declared_size: int = 0,
    ) -> IterationRecord:
        """:meth:`begin_upload` + one chunk + :meth:`commit_upload`."""
        upload = await self.begin_upload(model_id, archived)
        try:
            await upload.add(data)
        except BaseException:
            await upload.discard()
            raise
        return await self.commit_upload(upload, archived, user_data, declared_hash, declared_size)

    def _cache(self, model_id: str, number: int, data: bytes) -> None:
        self._transient[(model_id, number)] = data
        while len(self._transient) > self._cache_max_items:
            (old_model_id, old_number), _ = self._transient.popitem(last=False)
            old_model = self._models.get(old_model_id)
            if old_model is not None:
                old_model.iterations.pop(old_number, None)
            _log.debug("Evicted published iteration [%d] of model [%s]", old_number, old_model_id)

    async def updates(self, model_id: str) -> AsyncIterator[IterationRecord]:
        """The latest available iteration (if any), then each new one as it is committed.

        Ends with :class:`NotFoundError` if the model is deleted.
        """
        model = self._get(model_id)
        if self._closed:
            raise ShuttingDownError("The Model Registry is shutting down")
        queue: asyncio.Queue[IterationRecord | str] = asyncio.Queue()
        model.subscribers.add(queue)
        try:
            last_sent = 0
            if model.iterations:
                latest = model.iterations[next(reversed(model.iterations))]
                last_sent = latest.number
                yield latest
            while True:
                record = await queue.get()
                if record == _DELETED:
                    raise NotFoundError(f"Model [{model_id}] was deleted")
                if isinstance(record, str):
                    raise ShuttingDownError("The Model Registry is shutting down")
                if record.number > last_sent:
                    last_sent = record.number
                    yield record
        finally:
            with contextlib.suppress(KeyError):
                model.subscribers.remove(queue)
