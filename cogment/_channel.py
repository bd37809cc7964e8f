"""A lean single-consumer FIFO for the per-message hot paths (session events, outgoing writes).

``asyncio.Queue`` supports bounded sizes, several waiting getters and putters, ``join``... and
pays for it on every message. A session's queues have one reader and no bound, so a deque and
at most one waiting future are enough. The method names are ``asyncio.Queue``'s, so callers and
tests read the same.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable
from typing import Any, Generic, Protocol, TypeVar

__all__ = ["Channel", "Source"]

T = TypeVar("T")


class Source(Protocol):
    """What a :class:`Channel`'s consumer can wait on directly (``_servicers._reader``)."""

    @property
    def waiting(self) -> object | None:
        """Set while the consumer waits on the source."""
        ...

    def wait_input(self) -> Awaitable[bool] | None: ...

    def interrupt(self) -> None: ...


class Channel(Generic[T]):
    """Unbounded FIFO with a single consumer: ``put_nowait`` never waits, ``get`` waits.

    Not thread-safe (like ``asyncio.Queue``). Created outside a running loop is fine: the loop
    is looked up by the first ``get`` that has to wait.
    """

    __slots__ = ("_source", "_waiter", "items")

    def __init__(self) -> None:
        #: The items waiting, oldest first (read by consumers that wait with :meth:`waiter`).
        self.items: deque[T] = deque()
        self._waiter: asyncio.Future[None] | None = None
        self._source: Source | None = None

    def set_source(self, source: Source | None) -> None:
        """Where the items come from, when the consumer may wait on it directly (see
        ``_servicers._reader``): a consumer then waits on the source's input, not on a future
        of its own; the source has run (and posted what it had) when the wait ends."""
        self._source = source

    def put_nowait(self, item: T) -> None:
        """Append ``item`` and wake the waiting consumer, if any."""
        self.items.append(item)
        waiter = self._waiter
        if waiter is not None:
            self._waiter = None
            if not waiter.done():
                waiter.set_result(None)
        else:
            source = self._source
            if source is not None and source.waiting is not None:
                source.interrupt()  # the consumer waits on the source

    def waiter(self) -> Awaitable[Any]:
        """What to await, while :attr:`items` is empty, until something may have arrived (the
        consumer then looks again). Not a coroutine: a hot loop awaits it directly."""
        source = self._source
        if source is not None:
            wait = source.wait_input()
            if wait is not None:
                return wait
        waiter = self._waiter
        if waiter is None or waiter.done():
            waiter = self._waiter = asyncio.get_running_loop().create_future()
        return waiter

    async def get(self) -> T:
        """The oldest item, waiting for one if the channel is empty."""
        items = self.items
        while not items:
            await self.waiter()
        return items.popleft()

    def get_nowait(self) -> T:
        """The oldest item; raise ``asyncio.QueueEmpty`` when there is none."""
        if not self.items:
            raise asyncio.QueueEmpty
        return self.items.popleft()

    def empty(self) -> bool:
        """True when no item is waiting."""
        return not self.items

    def qsize(self) -> int:
        """Number of items waiting."""
        return len(self.items)
