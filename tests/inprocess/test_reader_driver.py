"""The orchestrator's in-process reader driver: a trial reader run inside the component's
sends (no reader task), moved to a task of its own only while it awaits something else."""

from __future__ import annotations

import asyncio
from typing import cast

import pytest

from cogment._inprocess import CLOSED, Failure, Pipe
from cogment_services.orchestrator._inprocess import InProcessLink
from cogment_services.orchestrator._links import LinkError

pytestmark = pytest.mark.timeout(10)


async def _reader(
    link: InProcessLink[object, object], seen: list[object], gate: asyncio.Event
) -> None:
    try:
        while True:
            message = await link.receive()
            if message is None:
                seen.append("end")
                return
            seen.append((message, asyncio.current_task()))
            if message == "wait":
                await gate.wait()  # a real suspension: the rest runs in the driver's task
                seen.append("released")
    except LinkError as error:
        seen.append(f"error: {error}")


def _last(seen: list[object]) -> object:
    return seen[-1]


async def test_messages_are_handled_in_the_senders_task() -> None:
    pipe = Pipe()
    link: InProcessLink[object, object] = InProcessLink(pipe, "test")
    seen: list[object] = []
    pipe.to_orchestrator.put("early")  # queued before the reader started: handled first
    finished = link.drive(_reader(link, seen, asyncio.Event()), "reader")
    me = asyncio.current_task()
    assert seen == [("early", me)]
    pipe.to_orchestrator.put("a")
    assert _last(seen) == ("a", me)  # synchronously, in this task
    pipe.to_orchestrator.put(CLOSED)
    assert _last(seen) == "end"
    assert finished.done()


async def test_a_real_suspension_moves_the_rest_to_a_task_then_back() -> None:
    pipe = Pipe()
    link: InProcessLink[object, object] = InProcessLink(pipe, "test")
    seen: list[object] = []
    gate = asyncio.Event()
    finished = link.drive(_reader(link, seen, gate), "reader")
    me = asyncio.current_task()
    pipe.to_orchestrator.put("wait")
    pipe.to_orchestrator.put("queued")  # arrives while the reader waits: kept, in order
    assert seen == [("wait", me)]
    gate.set()
    for _ in range(5):
        await asyncio.sleep(0)
    assert seen[1] == "released"
    message, task = cast("tuple[object, object]", seen[2])
    assert message == "queued" and task is not me  # handled by the driver's task
    pipe.to_orchestrator.put("b")  # back to synchronous driving
    assert _last(seen) == ("b", me)
    pipe.to_orchestrator.put(Failure("boom"))
    assert _last(seen) == "error: stream from test failed: boom"
    assert finished.done()


async def test_cancelling_finished_stops_the_reader_in_either_mode() -> None:
    for suspend in (False, True):
        pipe = Pipe()
        link: InProcessLink[object, object] = InProcessLink(pipe, "test")
        seen: list[object] = []
        finished = link.drive(_reader(link, seen, asyncio.Event()), "reader")
        if suspend:
            pipe.to_orchestrator.put("wait")
            await asyncio.sleep(0)
        finished.cancel()
        await asyncio.sleep(0)
        pipe.to_orchestrator.put("after")
        assert all(item[0] != "after" for item in seen if isinstance(item, tuple))
