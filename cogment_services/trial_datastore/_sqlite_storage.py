"""Durable storage of the Trial Datastore in one SQLite file (stdlib ``sqlite3``).

- WAL journal with ``synchronous=FULL``: a write is acknowledged only after its transaction is
  committed and synced, so a crash (even ``kill -9``) loses nothing that was acknowledged.
- One writer thread owns the writing connection and *group-commits*: every write waiting in
  its queue goes into one transaction, so many concurrent trials share each sync.
- Reads run in worker threads on their own connections (WAL readers never block the writer).
- Trial ``seq`` numbers come from ``AUTOINCREMENT``: never reused, even after deletions, so
  paging handles stay valid across restarts.
- One service at a time per file: an exclusive lock on ``<file>.lock`` refuses a second one.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import queue
import sqlite3
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from cogment_services.trial_datastore._storage import PersistedTrial, StorageBackend

__all__ = ["SqliteBackend"]

_log = logging.getLogger("cogment.services.trial_datastore")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS trials (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    trial_id TEXT NOT NULL UNIQUE,
    user_id TEXT NOT NULL,
    params BLOB NOT NULL,
    state INTEGER NOT NULL DEFAULT 0,
    samples_count INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS samples (
    trial_seq INTEGER NOT NULL,
    idx INTEGER NOT NULL,
    data BLOB NOT NULL,
    PRIMARY KEY (trial_seq, idx)
) WITHOUT ROWID;
"""

#: Most writes folded into one transaction.
_MAX_BATCH = 512

_Operation = Callable[[sqlite3.Connection], Any]


class SqliteBackend(StorageBackend):
    """Trials and samples in the SQLite database at ``path`` (created if missing)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._queue: queue.SimpleQueue[
            tuple[_Operation, asyncio.Future[Any], asyncio.AbstractEventLoop] | None
        ] = queue.SimpleQueue()
        self._writer: threading.Thread | None = None
        self._readers = threading.local()
        self._reader_connections: list[sqlite3.Connection] = []
        self._reader_lock = threading.Lock()
        self._closed = False
        self._lock_fd: int | None = None

    # ------------------------------------------------------------------------------ connections

    def _connect(self) -> sqlite3.Connection:
        connection = sqlite3.connect(
            self.path, isolation_level=None, check_same_thread=False, timeout=30.0
        )
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=FULL")
        return connection

    def _reader(self) -> sqlite3.Connection:
        connection: sqlite3.Connection | None = getattr(self._readers, "connection", None)
        if connection is None:
            connection = self._connect()
            connection.execute("PRAGMA query_only=1")
            self._readers.connection = connection
            with self._reader_lock:
                self._reader_connections.append(connection)
        return connection

    # ----------------------------------------------------------------------------- writer thread

    def _run_writer(self, connection: sqlite3.Connection) -> None:
        try:
            while True:
                item = self._queue.get()
                if item is None:
                    return
                batch = [item]
                stop = False
                while len(batch) < _MAX_BATCH:
                    try:
                        more = self._queue.get_nowait()
                    except queue.Empty:
                        break
                    if more is None:
                        stop = True
                        break
                    batch.append(more)
                self._commit_batch(connection, batch)
                if stop:
                    return
        finally:
            connection.close()

    @staticmethod
    def _commit_batch(
        connection: sqlite3.Connection,
        batch: list[tuple[_Operation, asyncio.Future[Any], asyncio.AbstractEventLoop]],
    ) -> None:
        outcomes: list[tuple[bool, Any]] = []
        try:
            connection.execute("BEGIN IMMEDIATE")
            for operation, _, _ in batch:
                connection.execute("SAVEPOINT op")
                try:
                    outcomes.append((True, operation(connection)))
                    connection.execute("RELEASE op")
                except Exception as error:
                    connection.execute("ROLLBACK TO op")
                    connection.execute("RELEASE op")
                    outcomes.append((False, error))
            connection.execute("COMMIT")
        except Exception as error:
            _log.error("SQLite commit failed: %r", error)
            if connection.in_transaction:
                with contextlib.suppress(sqlite3.Error):
                    connection.execute("ROLLBACK")
            outcomes = [(False, error)] * len(batch)
        for (_, future, loop), (ok, value) in zip(batch, outcomes, strict=True):
            loop.call_soon_threadsafe(_settle, future, ok, value)

    def _submit(self, operation: _Operation) -> asyncio.Future[Any]:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        if self._closed or self._writer is None:
            future.set_exception(RuntimeError(f"SQLite storage [{self.path}] is closed"))
            return future
        self._queue.put((operation, future, loop))
        return future

    # ----------------------------------------------------------------------------------- backend

    def _lock(self) -> None:
        lock_path = f"{self.path}.lock"
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            import fcntl
        except ImportError:  # pragma: no cover - not POSIX: no exclusivity check
            self._lock_fd = fd
            return
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            raise OSError(
                f"the trial datastore file [{self.path}] is used by another process "
                f"(lock [{lock_path}] held)"
            ) from None
        self._lock_fd = fd

    def _unlock(self) -> None:
        fd, self._lock_fd = self._lock_fd, None
        if fd is not None:
            os.close(fd)  # releases the flock

    async def open(self) -> list[PersistedTrial]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock()

        def initialize() -> tuple[sqlite3.Connection, list[PersistedTrial]]:
            connection = self._connect()
            connection.executescript(_SCHEMA)
            rows = connection.execute(
                "SELECT seq, trial_id, user_id, params, state, samples_count FROM trials "
                "ORDER BY seq"
            ).fetchall()
            return connection, [PersistedTrial(*row) for row in rows]

        try:
            connection, trials = await asyncio.to_thread(initialize)
        except sqlite3.Error as error:
            self._unlock()
            raise OSError(f"cannot open the trial datastore file [{self.path}]: {error}") from error
        self._writer = threading.Thread(
            target=self._run_writer, args=(connection,), name="trial-datastore-sqlite", daemon=True
        )
        self._writer.start()
        return trials

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        writer = self._writer
        if writer is not None:
            self._queue.put(None)
            await asyncio.to_thread(writer.join)
        with self._reader_lock:
            for connection in self._reader_connections:
                with contextlib.suppress(sqlite3.Error):
                    connection.close()
            self._reader_connections.clear()
        self._unlock()

    async def put_trial(self, trial_id: str, user_id: str, params: bytes) -> int:
        def operation(connection: sqlite3.Connection) -> int:
            row = connection.execute(
                "INSERT INTO trials (trial_id, user_id, params) VALUES (?, ?, ?) "
                "ON CONFLICT (trial_id) DO UPDATE SET user_id = excluded.user_id, "
                "params = excluded.params RETURNING seq",
                (trial_id, user_id, params),
            ).fetchone()
            return int(row[0])

        result: int = await self._submit(operation)
        return result

    def append_samples(
        self, seq: int, first_index: int, samples: Sequence[bytes], state: int
    ) -> asyncio.Future[None]:
        rows = [(seq, first_index + offset, data) for offset, data in enumerate(samples)]
        count = first_index + len(samples)

        def operation(connection: sqlite3.Connection) -> None:
            updated = connection.execute(
                "UPDATE trials SET state = ?, samples_count = ? WHERE seq = ?", (state, count, seq)
            ).rowcount
            if updated != 1:
                raise KeyError(f"trial #{seq} is not in the datastore (deleted?)")
            connection.executemany(
                "INSERT INTO samples (trial_seq, idx, data) VALUES (?, ?, ?)", rows
            )

        return self._submit(operation)

    async def read_samples(self, seq: int, start: int, stop: int) -> list[bytes]:
        def read() -> list[bytes]:
            rows = (
                self._reader()
                .execute(
                    "SELECT data FROM samples WHERE trial_seq = ? AND idx >= ? AND idx < ? "
                    "ORDER BY idx",
                    (seq, start, stop),
                )
                .fetchall()
            )
            return [bytes(row[0]) for row in rows]

        return await asyncio.to_thread(read)

    async def delete_trials(self, seqs: Sequence[int]) -> None:
        keys = [(seq,) for seq in seqs]

        def operation(connection: sqlite3.Connection) -> None:
            connection.executemany("DELETE FROM samples WHERE trial_seq = ?", keys)
            connection.executemany("DELETE FROM trials WHERE seq = ?", keys)

        await self._submit(operation)


def _settle(future: asyncio.Future[Any], ok: bool, value: Any) -> None:
    if future.done():
        return
    if ok:
        future.set_result(value)
    else:
        future.set_exception(value)
