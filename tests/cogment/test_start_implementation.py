"""``start_implementation``: the user's coroutine becomes the task itself; an implementation
that fails before giving a coroutine is reported like one that raised."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from cogment._servicers._runner import start_implementation

pytestmark = pytest.mark.timeout(10)


async def test_the_coroutine_is_the_task() -> None:
    seen: list[Any] = []

    async def impl(session: Any) -> None:
        seen.append(session)

    task = start_implementation(impl, "session")  # type: ignore[arg-type]
    assert isinstance(task, asyncio.Task)
    assert task.get_coro().__qualname__.endswith("impl")  # type: ignore[union-attr]
    await task
    assert seen == ["session"]


async def test_raising_before_the_coroutine_gives_a_failed_future() -> None:
    def impl(session: Any) -> Any:
        raise ValueError("bad config")

    future = start_implementation(impl, "session")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="bad config"):
        await future


async def test_a_result_that_cannot_be_awaited_gives_a_failed_future() -> None:
    def impl(session: Any) -> Any:
        return 42

    future = start_implementation(impl, "session")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        await future
