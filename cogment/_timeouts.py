"""Awaiting with a deadline without the extra task ``asyncio.wait_for`` creates (Python < 3.12).

On Python 3.11+ :func:`within` runs the awaitable in the current task under
``asyncio.timeout``; on 3.10 it falls back to ``asyncio.wait_for``. Either way a missed
deadline raises ``asyncio.TimeoutError`` (the builtin ``TimeoutError`` on 3.11+).
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable
from typing import TypeVar

__all__ = ["within"]

T = TypeVar("T")

if sys.version_info >= (3, 11):

    async def within(awaitable: Awaitable[T], seconds: float | None) -> T:
        """Await ``awaitable``; raise ``asyncio.TimeoutError`` after ``seconds`` (None: never)."""
        if seconds is None:
            return await awaitable
        async with asyncio.timeout(seconds):
            return await awaitable

else:  # pragma: no cover - Python 3.10

    async def within(awaitable: Awaitable[T], seconds: float | None) -> T:
        """Await ``awaitable``; raise ``asyncio.TimeoutError`` after ``seconds`` (None: never)."""
        return await asyncio.wait_for(awaitable, seconds)
