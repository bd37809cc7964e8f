"""Storage backends of the Trial Datastore: the small interface and the in-memory backend.

A backend only persists; the live index of trials (states, counts, waiting readers, eviction)
lives in :class:`~cogment_services.trial_datastore._store.TrialStore`. Samples are kept as
serialized ``StoredTrialSample`` bytes, numbered from 0 in arrival order within their trial.
"""

from __future__ import annotations

import abc
import asyncio
import itertools
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["MemoryBackend", "PersistedTrial", "StorageBackend"]


@dataclass
class PersistedTrial:
    """A trial as a backend stores it."""

    seq: int
    """Position of the trial in the datastore (creation order, never reused)."""
    trial_id: str
    user_id: str
    params: bytes
    """Serialized ``TrialParams``."""
    state: int
    """``TrialState`` of the last sample (UNKNOWN before the first one)."""
    samples_count: int


class StorageBackend(abc.ABC):
    """Where trials and samples are kept. Every method runs on the event loop's thread."""

    @abc.abstractmethod
    async def open(self) -> list[PersistedTrial]:
        """Open the storage; returns the trials already stored, in ``seq`` order."""

    @abc.abstractmethod
    async def close(self) -> None:
        """Flush and release the storage (idempotent)."""

    @abc.abstractmethod
    async def put_trial(self, trial_id: str, user_id: str, params: bytes) -> int:
        """Create the trial, or update its user id and params; returns its ``seq``."""

    @abc.abstractmethod
    def append_samples(
        self, seq: int, first_index: int, samples: Sequence[bytes], state: int
    ) -> asyncio.Future[None]:
        """Store ``samples`` as numbers ``first_index``... of trial ``seq``, whose state becomes
        ``state``. The future completes once they are durable (in order of submission)."""

    @abc.abstractmethod
    async def read_samples(self, seq: int, start: int, stop: int) -> list[bytes]:
        """Samples ``start`` (included) to ``stop`` (excluded) of trial ``seq``."""

    @abc.abstractmethod
    async def delete_trials(self, seqs: Sequence[int]) -> None:
        """Delete the trials and their samples, all of them or none."""


class MemoryBackend(StorageBackend):
    """Everything in this process's memory; lost when it ends. Bounded by the store's LRU."""

    def __init__(self) -> None:
        self._samples: dict[int, list[bytes]] = {}
        self._seq_of_trial: dict[str, int] = {}
        self._trial_of_seq: dict[int, str] = {}
        self._seqs = itertools.count(1)

    async def open(self) -> list[PersistedTrial]:
        return []

    async def close(self) -> None:
        self._samples.clear()
        self._seq_of_trial.clear()
        self._trial_of_seq.clear()

    async def put_trial(self, trial_id: str, user_id: str, params: bytes) -> int:
        seq = self._seq_of_trial.get(trial_id)
        if seq is None:
            seq = next(self._seqs)
            self._seq_of_trial[trial_id] = seq
            self._trial_of_seq[seq] = trial_id
            self._samples[seq] = []
        return seq

    def append_samples(
        self, seq: int, first_index: int, samples: Sequence[bytes], state: int
    ) -> asyncio.Future[None]:
        stored = self._samples.setdefault(seq, [])
        if len(stored) != first_index:
            raise RuntimeError(
                f"sample numbering broken for trial #{seq}: have {len(stored)}, got {first_index}"
            )
        stored.extend(samples)
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        future.set_result(None)
        return future

    async def read_samples(self, seq: int, start: int, stop: int) -> list[bytes]:
        return self._samples.get(seq, [])[start:stop]

    async def delete_trials(self, seqs: Sequence[int]) -> None:
        for seq in seqs:
            self._samples.pop(seq, None)
            trial_id = self._trial_of_seq.pop(seq, None)
            if trial_id is not None:
                self._seq_of_trial.pop(trial_id, None)
