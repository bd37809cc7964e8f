"""``StreamWriter``: writes start inside the sending call, one at a time, in order; a failed
write closes it; ``done`` resolves after the last message (``None``) or at the failure."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from cogment._servicers._writer import StreamWriter

pytestmark = pytest.mark.timeout(10)


class ControlledStream:
    """A stream whose writes complete when the test says so (``complete``/``fail``)."""

    def __init__(self) -> None:
        self.started: list[Any] = []  # messages whose write has begun
        self.written: list[Any] = []  # messages whose write completed
        self.pending: list[asyncio.Future[None]] = []
        self.in_flight = 0
        self.max_in_flight = 0

    async def write(self, message: Any) -> None:
        self.started.append(message)
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.pending.append(future)
        try:
            await future
        finally:
            self.in_flight -= 1
        self.written.append(message)

    def complete(self) -> None:
        self.pending.pop(0).set_result(None)

    def fail(self, error: BaseException) -> None:
        self.pending.pop(0).set_exception(error)


def _writer(write: Any, failures: list[str]) -> StreamWriter:
    return StreamWriter(write, lambda: "test stream", lambda: failures.append("failed"))


async def _settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def test_the_write_starts_inside_the_sending_call() -> None:
    stream = ControlledStream()
    writer = _writer(stream.write, [])
    writer.put_nowait("a")
    assert stream.started == ["a"]  # no task switch needed to begin the write
    stream.complete()
    await _settle()
    assert stream.written == ["a"]


async def test_writes_are_one_at_a_time_and_in_order() -> None:
    stream = ControlledStream()
    writer = _writer(stream.write, [])
    for message in ("a", "b", "c"):
        writer.put_nowait(message)
    assert stream.started == ["a"] and writer.qsize() == 2
    for _ in range(3):
        await _settle()
        stream.complete()
    writer.put_nowait(None)
    await asyncio.wait_for(writer.done, 5)
    assert stream.written == ["a", "b", "c"]
    assert stream.max_in_flight == 1
    assert writer.empty()


async def test_done_waits_for_the_writes_sent_before_the_end() -> None:
    stream = ControlledStream()
    writer = _writer(stream.write, [])
    writer.put_nowait("a")
    writer.put_nowait("b")
    writer.put_nowait(None)
    assert not writer.done.done()
    stream.complete()
    await _settle()
    assert not writer.done.done()  # "b" is being written
    stream.complete()
    await asyncio.wait_for(writer.done, 5)
    assert stream.written == ["a", "b"]


async def test_writes_that_complete_at_once_need_no_loop_iteration() -> None:
    written: list[Any] = []

    async def write(message: Any) -> None:
        written.append(message)

    writer = _writer(write, [])
    for message in ("a", "b", None):
        writer.put_nowait(message)
    assert written == ["a", "b"]
    assert writer.done.done()


async def test_a_bare_yield_is_resumed_at_the_next_iteration() -> None:
    written: list[Any] = []

    async def write(message: Any) -> None:
        await asyncio.sleep(0)
        written.append(message)

    writer = _writer(write, [])
    writer.put_nowait("a")
    writer.put_nowait("b")
    writer.put_nowait(None)
    await asyncio.wait_for(writer.done, 5)
    assert written == ["a", "b"]


async def test_a_failed_write_closes_the_writer_and_drops_the_rest() -> None:
    stream = ControlledStream()
    failures: list[str] = []
    writer = _writer(stream.write, failures)
    writer.put_nowait("a")
    writer.put_nowait("b")
    stream.fail(ConnectionResetError("peer gone"))
    await asyncio.wait_for(writer.done, 5)
    assert failures == ["failed"]
    assert stream.started == ["a"]  # "b" was never written
    writer.put_nowait("c")  # after the failure: dropped, no error
    assert stream.started == ["a"] and failures == ["failed"]


async def test_a_write_raising_at_once_closes_the_writer() -> None:
    async def write(message: Any) -> None:
        raise RuntimeError("stream already closed")

    failures: list[str] = []
    writer = _writer(write, failures)
    writer.put_nowait("a")  # the error does not reach the sender
    assert writer.done.done() and failures == ["failed"]


async def test_a_cancelled_write_closes_the_writer() -> None:
    stream = ControlledStream()
    failures: list[str] = []
    writer = _writer(stream.write, failures)
    writer.put_nowait("a")
    stream.pending.pop(0).cancel()
    await asyncio.wait_for(writer.done, 5)
    assert failures == ["failed"]


async def test_close_abandons_the_write_in_flight() -> None:
    stream = ControlledStream()
    writer = _writer(stream.write, [])
    writer.put_nowait("a")
    writer.put_nowait("b")
    writer.close()
    assert stream.in_flight == 0  # the write coroutine was closed
    assert writer.empty()
