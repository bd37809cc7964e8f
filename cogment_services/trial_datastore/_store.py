"""The live index of the Trial Datastore: trials, their states and counts, waiting readers.

All of it runs on the service's event loop; the backend persists (memory or SQLite). A reader
waiting for new trials or new samples awaits an event that writers set.

A trial is *live* while a Datalog stream from the Orchestrator is writing it; readers of a
live trial that has not ``ENDED`` keep waiting for its next samples. Imported trials
(``AddTrial`` / ``AddSample``) and trials found on disk at start are not live.

With a size bound (the in-memory default), the least recently used trials that are not live
are evicted whole (parameters and samples) until the stored size fits the bound.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Sequence

from cogment.api import common_pb2
from cogment_services.trial_datastore._storage import StorageBackend

__all__ = ["TrialRecord", "TrialStore", "UnknownTrialError"]

_log = logging.getLogger("cogment.services.trial_datastore")

_ENDED = common_pb2.ENDED


class UnknownTrialError(KeyError):
    """A trial id that is not in the datastore."""

    def __init__(self, trial_ids: Sequence[str]) -> None:
        super().__init__(trial_ids)
        self.trial_ids = list(trial_ids)

    def __str__(self) -> str:
        return "unknown trial id(s): " + ", ".join(repr(trial_id) for trial_id in self.trial_ids)


class TrialRecord:
    """One trial of the datastore."""

    def __init__(self, seq: int, trial_id: str, user_id: str, params_bytes: bytes) -> None:
        self.seq = seq
        self.trial_id = trial_id
        self.user_id = user_id
        self.params_bytes = params_bytes
        self.params = common_pb2.TrialParams.FromString(params_bytes)
        self.state: int = common_pb2.UNKNOWN
        self.samples_count = 0
        """Samples durably stored (readable)."""
        self.submitted_count = 0
        """Samples numbered so far (stored or being stored)."""
        self.samples_size = 0
        self.writers = 0
        """Datalog streams writing this trial now."""
        self.deleted = False
        self._changed = asyncio.Event()

    @property
    def live(self) -> bool:
        """Whether a Datalog stream is writing this trial."""
        return self.writers > 0

    @property
    def finished(self) -> bool:
        """No more samples are expected: it ended, or nobody is writing it."""
        return self.deleted or self.state == _ENDED or not self.live

    @property
    def size(self) -> int:
        """Bytes it takes in the store (for the size bound)."""
        return len(self.params_bytes) + self.samples_size

    def set_params(self, user_id: str, params_bytes: bytes) -> None:
        """Replace the user id and the parameters."""
        self.user_id = user_id
        self.params_bytes = params_bytes
        self.params = common_pb2.TrialParams.FromString(params_bytes)

    def notify(self) -> None:
        """Wake up every reader waiting on this trial."""
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()

    async def wait_changed(self, timeout: float | None = None) -> None:
        """Wait for the next change (a sample, the end of the writer, a deletion)."""
        event = self._changed
        if timeout is None:
            await event.wait()
        else:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(event.wait(), timeout)

    def matches(self, trial_ids: Iterable[str] | None, properties: dict[str, str]) -> bool:
        """Whether the trial passes a ``RetrieveTrials`` filter."""
        if trial_ids is not None and self.trial_id not in trial_ids:
            return False
        own = self.params.properties
        return all(own.get(name) == value for name, value in properties.items())


class TrialStore:
    """Trials and samples on top of a :class:`StorageBackend`."""

    def __init__(self, backend: StorageBackend, max_samples_size: int | None = None) -> None:
        self.backend = backend
        self.max_samples_size = max_samples_size
        self._trials: dict[str, TrialRecord] = {}
        self._by_seq: OrderedDict[int, TrialRecord] = OrderedDict()
        self._lru: OrderedDict[str, None] = OrderedDict()
        self._size = 0
        self._trials_changed = asyncio.Event()
        self.evicted_count = 0
        """Trials evicted (size bound) since the start."""
        self.samples_stored = 0
        """Samples stored since the start."""

    # -------------------------------------------------------------------------------- lifecycle

    async def open(self) -> None:
        """Open the backend and index what it already holds."""
        for persisted in await self.backend.open():
            record = TrialRecord(
                persisted.seq, persisted.trial_id, persisted.user_id, persisted.params
            )
            record.state = persisted.state
            record.samples_count = record.submitted_count = persisted.samples_count
            self._index(record)
        if self._trials:
            _log.info("%d trial(s) found in storage", len(self._trials))

    async def close(self) -> None:
        """Wake every reader up and close the backend."""
        for record in self._trials.values():
            record.writers = 0
            record.notify()
        await self.backend.close()

    # ------------------------------------------------------------------------------------ index

    def _index(self, record: TrialRecord) -> None:
        self._trials[record.trial_id] = record
        self._by_seq[record.seq] = record
        self._lru[record.trial_id] = None
        self._size += record.size

    def _unindex(self, record: TrialRecord) -> None:
        self._trials.pop(record.trial_id, None)
        self._by_seq.pop(record.seq, None)
        self._lru.pop(record.trial_id, None)
        self._size -= record.size
        record.deleted = True
        record.notify()

    def touch(self, record: TrialRecord) -> None:
        """Mark ``record`` as recently used."""
        if record.trial_id in self._lru:
            self._lru.move_to_end(record.trial_id)

    @property
    def stored_size(self) -> int:
        """Bytes of parameters and samples in the store."""
        return self._size

    def __len__(self) -> int:
        return len(self._trials)

    @property
    def live_count(self) -> int:
        """Trials being written by a Datalog stream."""
        return sum(1 for record in self._trials.values() if record.live)

    def get(self, trial_id: str) -> TrialRecord | None:
        """The trial ``trial_id``, or None."""
        return self._trials.get(trial_id)

    def require(self, trial_ids: Sequence[str]) -> list[TrialRecord]:
        """The trials ``trial_ids`` (duplicates dropped); :class:`UnknownTrialError` if any is
        missing."""
        missing = [trial_id for trial_id in trial_ids if trial_id not in self._trials]
        if missing:
            raise UnknownTrialError(missing)
        unique = dict.fromkeys(trial_ids)
        return [self._trials[trial_id] for trial_id in unique]

    def trials_after(self, seq: int) -> Iterator[TrialRecord]:
        """Trials created after position ``seq``, in creation order."""
        for record in list(self._by_seq.values()):
            if record.seq > seq and not record.deleted:
                yield record

    async def wait_trials_changed(self, timeout: float) -> None:
        """Wait up to ``timeout`` seconds for a trial to be created or updated."""
        event = self._trials_changed
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(event.wait(), timeout)

    def _notify_trials(self) -> None:
        changed, self._trials_changed = self._trials_changed, asyncio.Event()
        changed.set()

    # ----------------------------------------------------------------------------------- writes

    async def put_trial(self, trial_id: str, user_id: str, params_bytes: bytes) -> TrialRecord:
        """Create the trial ``trial_id`` or replace its user id and parameters."""
        seq = await self.backend.put_trial(trial_id, user_id, params_bytes)
        record = self._trials.get(trial_id)
        if record is None or record.seq != seq:
            if record is not None:
                self._unindex(record)
            record = TrialRecord(seq, trial_id, user_id, params_bytes)
            self._index(record)
        else:
            self._size -= record.size
            record.set_params(user_id, params_bytes)
            self._size += record.size
            self.touch(record)
        self._notify_trials()
        record.notify()
        self._evict()
        return record

    def submit_samples(
        self, record: TrialRecord, samples: Sequence[bytes], state: int
    ) -> asyncio.Future[None]:
        """Append ``samples`` to ``record`` (its state becomes ``state``).

        Returns a future done once they are durable and readable; submissions of one trial
        complete in order.
        """
        if record.deleted:
            raise UnknownTrialError([record.trial_id])
        first = record.submitted_count
        record.submitted_count += len(samples)
        size = sum(len(sample) for sample in samples)
        stored = self.backend.append_samples(record.seq, first, samples, state)
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()

        def on_stored(future: asyncio.Future[None]) -> None:
            error = None if future.cancelled() else future.exception()
            if record.deleted and not done.done():
                # deleted (or evicted) meanwhile: whatever the storage said, the samples are gone
                if error is None and not future.cancelled():
                    done.set_exception(UnknownTrialError([record.trial_id]))
                    return
                error = UnknownTrialError([record.trial_id])
            if future.cancelled() or error is not None:
                if not done.done():
                    done.set_exception(error or asyncio.CancelledError())
                return
            if not record.deleted:
                record.samples_count = max(record.samples_count, first + len(samples))
                record.state = state
                record.samples_size += size
                self._size += size
                self.samples_stored += len(samples)
                self.touch(record)
                record.notify()
                self._notify_trials()
                self._evict()
            if not done.done():
                done.set_result(None)

        stored.add_done_callback(on_stored)
        return done

    def set_live(self, record: TrialRecord, live: bool) -> None:
        """Count a Datalog stream starting (``True``) or ending (``False``) to write ``record``."""
        record.writers = record.writers + 1 if live else max(0, record.writers - 1)
        record.notify()
        if not record.live:
            self._evict()

    async def delete_trials(self, trial_ids: Sequence[str]) -> list[TrialRecord]:
        """Delete all the trials ``trial_ids``, or none if one of them is unknown."""
        records = self.require(trial_ids)
        await self.backend.delete_trials([record.seq for record in records])
        for record in records:
            if self._trials.get(record.trial_id) is record:
                self._unindex(record)
        self._notify_trials()
        return records

    async def read_samples(self, record: TrialRecord, start: int, stop: int) -> list[bytes]:
        """Stored samples ``start``..``stop`` (excluded) of ``record``."""
        self.touch(record)
        if record.deleted or start >= stop:
            return []
        return await self.backend.read_samples(record.seq, start, stop)

    # --------------------------------------------------------------------------------- eviction

    def _evict(self) -> None:
        limit = self.max_samples_size
        if limit is None or self._size <= limit:
            return
        victims = []
        size = self._size
        for trial_id in self._lru:
            if size <= limit:
                break
            record = self._trials[trial_id]
            if record.live and record.state != _ENDED:
                continue  # being written: never evicted
            victims.append(record)
            size -= record.size
        if not victims:
            return
        for record in victims:
            self._unindex(record)
        self.evicted_count += len(victims)
        _log.info(
            "evicted %d least recently used trial(s); %d bytes stored (limit %d)",
            len(victims),
            self._size,
            limit,
        )
        task = asyncio.get_running_loop().create_task(
            self.backend.delete_trials([record.seq for record in victims])
        )
        task.add_done_callback(_log_failure)


def _log_failure(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        _log.error("evicting trials failed: %r", task.exception())
