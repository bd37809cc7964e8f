"""The lean FIFO of the session hot paths (``cogment._channel``) and ``cogment._timeouts``."""

from __future__ import annotations

import asyncio

import pytest

from cogment._channel import Channel
from cogment._timeouts import within


def test_channel_without_a_loop_keeps_order() -> None:
    channel: Channel[int] = Channel()  # sessions are built outside a running loop in tests
    assert channel.empty() and channel.qsize() == 0
    for value in (1, 2, 3):
        channel.put_nowait(value)
    assert channel.qsize() == 3
    assert [channel.get_nowait() for _ in range(3)] == [1, 2, 3]
    with pytest.raises(asyncio.QueueEmpty):
        channel.get_nowait()


@pytest.mark.timeout(10)
async def test_channel_get_waits_for_put() -> None:
    channel: Channel[str] = Channel()
    getter = asyncio.ensure_future(channel.get())
    await asyncio.sleep(0)
    assert not getter.done()
    channel.put_nowait("a")
    channel.put_nowait("b")
    assert await asyncio.wait_for(getter, 5) == "a"
    assert await channel.get() == "b"


@pytest.mark.timeout(10)
async def test_channel_cancelled_get_loses_nothing() -> None:
    channel: Channel[int] = Channel()
    getter = asyncio.ensure_future(channel.get())
    await asyncio.sleep(0)
    getter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await getter
    channel.put_nowait(7)  # no waiter left: must not fail, and the item stays
    assert await asyncio.wait_for(channel.get(), 5) == 7


@pytest.mark.timeout(10)
async def test_within_returns_the_result_or_times_out() -> None:
    async def answer(delay: float) -> int:
        await asyncio.sleep(delay)
        return 42

    assert await within(answer(0), 5) == 42
    assert await within(answer(0), None) == 42
    with pytest.raises(asyncio.TimeoutError):
        await within(answer(5), 0.05)
    future: asyncio.Future[int] = asyncio.get_running_loop().create_future()
    with pytest.raises(asyncio.TimeoutError):
        await within(asyncio.shield(future), 0.05)
    assert not future.cancelled()  # shielded: a join future outlives a missed deadline
