"""``StreamReader``: the pump runs without a task; the task waiting for an item reads itself,
and cancelling it never cancels the read (no message lost, no wait longer than asked)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from cogment._channel import Channel
from cogment._servicers._reader import StreamReader

pytestmark = pytest.mark.timeout(10)

EOF = object()


class ControlledStream:
    """Reads that complete when the test delivers a message (one read in flight at most)."""

    def __init__(self) -> None:
        self.reads: list[asyncio.Future[Any]] = []

    async def read(self) -> Any:
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self.reads.append(future)
        return await future

    def deliver(self, message: Any) -> None:
        pending = [f for f in self.reads if not f.done()]
        assert len(pending) == 1, f"{len(pending)} reads in flight"
        pending[0].set_result(message)

    def fail(self, error: BaseException) -> None:
        pending = [f for f in self.reads if not f.done()]
        pending[0].set_exception(error)


class Harness:
    def __init__(self) -> None:
        self.stream = ControlledStream()
        self.channel: Channel[Any] = Channel()
        self.ended = 0
        self.handled: list[Any] = []
        self.reader = StreamReader(self._pump(), lambda: "test session", self._on_end)
        self.channel.set_source(self.reader)
        self.reader.start()

    async def _pump(self) -> None:
        while True:
            message = await self.stream.read()
            if message is EOF:
                return
            self.handled.append(message)
            if message != "silent":  # e.g. a heartbeat: handled, nothing posted
                self.channel.put_nowait(message)

    def _on_end(self) -> None:
        self.ended += 1
        self.channel.put_nowait(None)


async def _settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def test_the_waiting_task_reads_and_gets_the_item() -> None:
    h = Harness()
    getter = asyncio.ensure_future(h.channel.get())
    await _settle()
    h.stream.deliver("a")
    assert await asyncio.wait_for(getter, 5) == "a"


async def test_messages_are_handled_when_nobody_waits() -> None:
    h = Harness()
    h.stream.deliver("a")
    await _settle()
    assert h.handled == ["a"]  # handled at arrival, by the read's callback
    h.stream.deliver("b")
    await _settle()
    assert [await h.channel.get(), await h.channel.get()] == ["a", "b"]


async def test_a_message_that_posts_nothing_keeps_the_task_waiting() -> None:
    h = Harness()
    getter = asyncio.ensure_future(h.channel.get())
    await _settle()
    h.stream.deliver("silent")
    await _settle()
    assert not getter.done() and h.handled == ["silent"]
    h.stream.deliver("b")
    assert await asyncio.wait_for(getter, 5) == "b"


async def test_a_timeout_cancels_the_wait_not_the_read() -> None:
    h = Harness()
    with pytest.raises(asyncio.TimeoutError):
        await asyncio.wait_for(h.channel.get(), 0.05)
    assert not h.stream.reads[-1].cancelled()  # the read is still in flight
    h.stream.deliver("late")
    await _settle()
    assert h.handled == ["late"]  # handled without a waiter: nothing lost
    assert await asyncio.wait_for(h.channel.get(), 5) == "late"


async def test_a_cancelled_waiter_after_the_read_completed_loses_nothing() -> None:
    h = Harness()
    getter = asyncio.ensure_future(h.channel.get())
    await _settle()
    h.stream.deliver("a")  # the getter is woken from the read's callback...
    getter.cancel()  # ...and cancelled before it runs
    await _settle()
    if getter.cancelled():
        assert await asyncio.wait_for(h.channel.get(), 5) == "a"
    else:
        assert getter.result() == "a"
    assert h.handled == ["a"]


async def test_an_item_posted_by_someone_else_wakes_the_waiting_task() -> None:
    h = Harness()
    getter = asyncio.ensure_future(h.channel.get())
    await _settle()
    h.channel.put_nowait("from elsewhere")
    assert await asyncio.wait_for(getter, 5) == "from elsewhere"
    h.stream.deliver("a")  # the read it was waiting on goes on
    await _settle()
    assert h.handled == ["a"]


async def test_the_end_of_the_stream_wakes_the_waiting_task() -> None:
    h = Harness()
    getter = asyncio.ensure_future(h.channel.get())
    await _settle()
    h.stream.deliver(EOF)
    assert await asyncio.wait_for(getter, 5) is None
    assert h.ended == 1


async def test_a_failed_read_ends_the_pump_and_wakes_the_waiting_task() -> None:
    h = Harness()
    getter = asyncio.ensure_future(h.channel.get())
    await _settle()
    h.stream.fail(ConnectionResetError("peer gone"))
    assert await asyncio.wait_for(getter, 5) is None
    assert h.ended == 1


async def test_close_stops_the_pump() -> None:
    h = Harness()
    h.reader.close()
    h.stream.reads[-1].set_result("after close")
    await _settle()
    assert h.handled == []
