"""Writing a session's outgoing messages on its stream, in order, without a writer task.

A session sends from synchronous methods (``do_action``, ``produce_observations``...), so
something else has to await the stream's ``write``. A writer task waiting on a queue costs, per
message, a future and a task wake-up before the write even starts. :class:`StreamWriter` starts
the write inside the sending call instead: it steps the ``write`` coroutine by hand up to its
first suspension (gRPC has then queued the send), and resumes it from the done callback of the
future it waits on, as a task would. Writes stay one at a time and in order (gRPC allows one
send in flight per stream): a message sent while another is being written waits in a deque and
starts when the previous one completes.

It stands for the session's ``_outgoing`` queue (``put_nowait``; ``None`` closes it). ``done``
resolves once everything put before ``None`` was written, or at the first failed write (the
stream is gone: later messages are dropped, as the writer task did).
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable, Coroutine
from typing import Any

from cogment._log import logger

__all__ = ["StreamWriter"]


class StreamWriter:
    """The outgoing side of one session stream (see the module docstring)."""

    __slots__ = (
        "_closed",
        "_on_failure",
        "_pending",
        "_trace",
        "_where",
        "_write",
        "_writing",
        "done",
    )

    def __init__(
        self,
        write: Callable[[Any], Coroutine[Any, Any, Any]],
        where: Callable[[], str],
        on_failure: Callable[[], None],
        trace: Callable[[Any], None] | None = None,
    ) -> None:
        """``write``: the stream's ``write``; ``where``: names the session in logs;
        ``on_failure``: called once if a write fails; ``trace``: called with each message sent
        (when tracing)."""
        self._write = write
        self._where = where
        self._on_failure = on_failure
        self._trace = trace
        # Messages sent while a write is in flight (made on first use: ~0.6 KiB per deque,
        # and most streams never have one waiting).
        self._pending: deque[Any] | None = None
        self._writing: Coroutine[Any, Any, Any] | None = None
        self._closed = False  # closed (None put) or failed: ``done`` is resolved
        self.done: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    # -- the queue interface the sessions use -------------------------------------------------

    def put_nowait(self, message: Any) -> None:
        """Send ``message`` after those already sent; ``None``: no more messages."""
        if self._closed:
            if message is not None:
                logger.debug("%s: message dropped, the stream is closed", self._where())
            return
        if self._writing is not None or self._pending:
            if self._pending is None:
                self._pending = deque()
            self._pending.append(message)
            return
        if message is not None and self._trace is None:
            self._step(self._write(message))  # the common case: nothing waits, write now
            return
        self._start(message)

    def empty(self) -> bool:
        return not self._pending

    def qsize(self) -> int:
        return len(self._pending) if self._pending else 0

    # -- driving the write coroutines ---------------------------------------------------------

    def _start(self, message: Any) -> None:
        """Write ``message`` then the pending ones, until one has to wait or the end."""
        while True:
            if message is None:
                self._close()
                return
            if self._trace is not None:
                self._trace(message)
            if self._step(self._write(message)):
                return  # waiting: resumed by _resume
            pending = self._pending
            if self._closed or not pending:
                return
            message = pending.popleft()

    def _step(self, coro: Coroutine[Any, Any, Any]) -> bool:
        """Run ``coro`` to its next suspension; True if it is waiting (a write in flight)."""
        try:
            awaited = coro.send(None)
        except StopIteration:
            return False
        except (Exception, asyncio.CancelledError) as exc:  # the stream is gone
            self._fail(exc)
            return False
        blocking = getattr(awaited, "_asyncio_future_blocking", None)
        if blocking is None:  # a bare yield (as sleep(0) does): resume at the next iteration
            self._writing = coro
            asyncio.get_running_loop().call_soon(self._resume, None)
            return True
        if not blocking:
            coro.close()
            self._fail(RuntimeError(f"the stream's write awaited {awaited!r}"))
            return False
        awaited._asyncio_future_blocking = False
        self._writing = coro
        awaited.add_done_callback(self._resume)
        return True

    def _resume(self, _future: Any) -> None:
        coro = self._writing
        self._writing = None
        if coro is None or self._step(coro):
            return
        pending = self._pending
        if pending and not self._closed:
            self._start(pending.popleft())

    def _fail(self, exc: BaseException) -> None:
        logger.debug("%s: stream closed while writing: %r", self._where(), exc)
        if not self._closed:
            self._close()
            self._on_failure()

    def _close(self) -> None:
        self._closed = True
        self._pending = None
        if not self.done.done():
            self.done.set_result(None)

    def close(self) -> None:
        """Abandon a write still in flight (the session is over)."""
        coro, self._writing = self._writing, None
        if coro is not None:
            coro.close()
        self._pending = None
