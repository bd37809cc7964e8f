"""Reading a session's stream without a pump task: the task waiting for an event does the read.

A session's incoming pump (``_runner.pump_*_inputs``) is a coroutine that reads the stream and
turns each message into session events. Run as its own task, every message costs two task
wake-ups: the pump's (the read completed) and then the user's (an event was posted).
:class:`StreamReader` steps the pump coroutine by hand instead, and lets the task waiting for
an event (the user's, in ``all_events()``) wait on the pump's read itself: when the read
completes, the read's done callback runs the pump up to its next read (posting the events)
and wakes that task at once, which finds its event: one loop callback per message. When nobody is waiting, the read's done callback steps the pump, so
messages are still handled as they arrive (heartbeats answered, END seen) while the user's
code is busy elsewhere.

The waiting task awaits a :class:`_ReadWait`, a future of its own standing for the read's
future without exposing it: cancelling the waiting task (a timeout around ``all_events()``)
cancels the wait, never the gRPC read, whose message is then handled by the done callback as
if nobody had been waiting. Nothing is lost and nothing waits longer.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Callable, Coroutine
from typing import Any

import grpc.aio

from cogment._log import logger

__all__ = ["StreamReader"]


class StreamReader:
    """Runs an incoming ``pump`` coroutine without a task (see the module docstring)."""

    __slots__ = ("_done", "_future", "_on_end", "_pump", "_where", "waiting")

    def __init__(
        self,
        pump: Coroutine[Any, Any, None],
        where: Callable[[], str],
        on_end: Callable[[], None],
    ) -> None:
        """``where`` names the session in logs; ``on_end`` is called once when the pump stops
        (returned, failed or closed)."""
        self._pump = pump
        self._where = where
        self._on_end = on_end
        self._future: Any = None  # what the pump waits on (a read in flight)
        #: The wait of the task waiting on that read, if any (a Channel interrupts it on a put).
        self.waiting: _ReadWait | None = None
        self._done = False

    def start(self) -> None:
        """Run the pump up to its first read."""
        self._step()

    # -- for the waiting side (``Channel.get``) ----------------------------------------------

    def wait_input(self) -> _ReadWait | None:
        """Something to await until the read in flight completes and the pump has handled it
        (``True``: look for events again), or until :meth:`interrupt` (``False``). ``None``
        when no read is waiting to be adopted (the pump ended, or its read just completed and
        is about to be handled by its callback)."""
        future = self._future
        if future is None or self.waiting is not None or future.done():
            return None
        wait = _ReadWait(loop=future.get_loop())
        wait._reader = self
        wait._callback = None
        self.waiting = wait  # the read's done callback now wakes it (see _on_read_done)
        return wait

    def interrupt(self) -> None:
        """Wake the waiting task without input (an event was posted by someone else)."""
        wait = self.waiting
        if wait is not None:
            wait._interrupt()

    def close(self) -> None:
        """Stop the pump (end of the session)."""
        if not self._done:
            self._done = True
            self._future = None
            self._pump.close()

    # -- driving the pump ---------------------------------------------------------------------

    def _on_read_done(self, future: Any) -> None:
        """Done callback of the read in flight: run the pump on (it posts the message's
        events), then wake the task waiting on that read, if any."""
        if future is not self._future:
            return
        wait = self.waiting
        self.waiting = None
        self._step()  # the pump handles the message (posting its events), up to its next read
        if wait is not None and not wait.done():
            callback, wait._callback = wait._callback, None
            wait.set_result(True)
            if callback is not None:
                # Wake the waiting task now, from this callback: one loop callback per read.
                if callback[1] is None:
                    callback[0](wait)
                else:
                    callback[1].run(callback[0], wait)

    def _step(self) -> None:
        """Run the pump on from its completed read, up to its next read (or its end)."""
        self._future = None
        if self._done:
            return
        try:
            awaited = self._pump.send(None)
        except StopIteration:
            self._end()
            return
        except asyncio.CancelledError:
            logger.debug("%s: incoming stream cancelled", self._where())
            self._end()
            return
        except grpc.aio.AioRpcError as exc:
            logger.warning("%s: stream failed: %s %s", self._where(), exc.code(), exc.details())
            self._end()
            return
        except Exception:
            logger.exception("%s: error processing incoming data", self._where())
            self._end()
            return
        if awaited is None:  # a bare yield (sleep(0)): go on at the next loop iteration
            asyncio.get_running_loop().call_soon(self._step)
            return
        if not getattr(awaited, "_asyncio_future_blocking", False):
            self._pump.close()
            logger.error("%s: the incoming pump awaited [%r]", self._where(), awaited)
            self._end()
            return
        awaited._asyncio_future_blocking = False
        self._future = awaited
        awaited.add_done_callback(self._on_read_done)

    def _end(self) -> None:
        self._done = True
        self._future = None
        wait, self.waiting = self.waiting, None
        if wait is not None:
            wait._interrupt()
        # Whatever stopped the incoming data, the user's event loop must not wait forever.
        self._on_end()


class _ReadWait(asyncio.Future[bool]):
    """What a task awaits while it waits on the pump's read: a future resolved ``True`` (the
    read was handled: look for events) or ``False`` (interrupted), or cancelled (the waiting
    task was).

    A real future (its ``__await__`` and ``result`` are asyncio's C code), except that the
    callback a task registers is kept here, not scheduled by the future: the reader calls it at
    once when the read completes (one loop callback per read instead of two), and a
    cancellation leaves the read to the reader.
    """

    __slots__ = ("_callback", "_reader")

    _reader: StreamReader
    _callback: tuple[Callable[[Any], Any], contextvars.Context | None] | None

    def add_done_callback(
        self, fn: Callable[[Any], Any], *, context: contextvars.Context | None = None
    ) -> None:
        if self.done():
            self.get_loop().call_soon(fn, self, context=context)
            return
        self._callback = (fn, context)

    def remove_done_callback(self, fn: Callable[[Any], Any]) -> int:
        callback = self._callback
        if callback is not None and callback[0] == fn:
            self._callback = None
            return 1
        return 0

    def cancel(self, msg: Any = None) -> bool:
        """Stop waiting (the task is cancelled); the read goes on without this waiter."""
        if self.done():
            return False
        self._release()
        super().cancel(msg)
        self._schedule_callback()
        return True

    def _interrupt(self) -> None:
        if self.done():
            return
        self._release()
        self.set_result(False)
        self._schedule_callback()

    def _release(self) -> None:
        """The read is no longer this waiter's: its completion is handled by the reader."""
        reader = self._reader
        if reader.waiting is self:
            reader.waiting = None

    def _schedule_callback(self) -> None:
        callback, self._callback = self._callback, None
        if callback is not None:
            self.get_loop().call_soon(callback[0], self, context=callback[1])
