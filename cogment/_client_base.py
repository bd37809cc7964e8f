"""Plumbing shared by the SDK's service clients (Controller, Datastore, Directory, Model Registries).

- :func:`stub_for`: a client is built on a ``grpc.aio`` channel (it makes its stub on it) or on a ready
  async stub (the published SDK's form); it gets the stub, and the channel when it was given one.
- :class:`ChannelClient`: the lifetime of a client that may own its channel: :meth:`ChannelClient.close`
  closes the channel it owns (once), ``async with client:`` closes it on exit.
- :func:`call_failed`: the error a failed call raises, naming the service, its URL, the call and the
  gRPC status.
"""

from __future__ import annotations

from collections.abc import Callable
from types import TracebackType
from typing import TypeVar

import grpc
import grpc.aio
from typing_extensions import Self

from cogment._errors import CogmentError

__all__ = ["ChannelClient", "call_failed", "stub_for"]

_StubT = TypeVar("_StubT")


def stub_for(
    channel_or_stub: grpc.aio.Channel | _StubT, make_stub: Callable[[grpc.aio.Channel], _StubT]
) -> tuple[grpc.aio.Channel | None, _StubT]:
    """The stub to call, and the channel it was made on when given a channel (``None`` for a stub)."""
    if isinstance(channel_or_stub, grpc.aio.Channel):
        return channel_or_stub, make_stub(channel_or_stub)
    return None, channel_or_stub


class ChannelClient:
    """A client that may own its channel (``_channel``, ``None`` when it owns none)."""

    _channel: grpc.aio.Channel | None = None

    async def close(self) -> None:
        """Close the channel this client owns (no-op when it owns none, or once closed)."""
        channel, self._channel = self._channel, None
        if channel is not None:
            await channel.close(None)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()


def call_failed(service: str, url: str, what: str, error: grpc.aio.AioRpcError) -> CogmentError:
    """``"<service> [<url>]: <what> failed: <STATUS> <details>"``."""
    return CogmentError(f"{service} [{url}]: {what} failed: {error.code().name} {error.details()}")
