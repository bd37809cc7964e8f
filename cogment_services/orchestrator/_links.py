"""Transport between the trial logic and the components (environment, actors, datalog, hooks).

The trial state machine only sees :class:`ComponentLink` objects (async ``send``/``receive`` of
the RunTrial messages) and a :class:`Connector` that opens them. gRPC is one transport
(:class:`GrpcConnector`, :class:`GrpcCallLink`, :class:`GrpcServerLink`); an in-process
transport only needs another :class:`Connector` (and links over ``asyncio`` queues), with no
change to the trial logic.

Endpoint resolution (``grpc://``, ``cogment://client``, ``cogment://discover``) goes through an
:class:`EndpointResolver`; the default one resolves ``grpc://`` only. A Directory-backed
resolver plugs in through the same interface (see :class:`DirectoryResolver`).
"""

from __future__ import annotations

import abc
import asyncio
import logging
from collections.abc import Awaitable
from typing import Any, Generic, Protocol, TypeVar

import grpc
import grpc.aio

from cogment._directory import Directory, resolve_endpoint
from cogment._endpoint_url import (
    CLIENT_ACTOR_URL,
    EndpointUrl,
    EndpointUrlError,
    parse_endpoint_url,
)
from cogment._errors import CogmentError
from cogment._grpc import MAX_MESSAGE_BYTES
from cogment._servicers._writer import StreamWriter
from cogment.api import (
    agent_pb2_grpc,
    common_pb2,
    datalog_pb2,
    datalog_pb2_grpc,
    environment_pb2,
    environment_pb2_grpc,
    hooks_pb2,
    hooks_pb2_grpc,
)

__all__ = [
    "ActorLink",
    "ComponentLink",
    "Connector",
    "DatalogLink",
    "DirectoryResolver",
    "EndpointResolver",
    "EnvLink",
    "GrpcCallLink",
    "GrpcConnector",
    "GrpcServerLink",
    "LinkError",
    "ResolutionError",
    "StaticResolver",
]

_log = logging.getLogger("cogment.services.orchestrator")

#: grpc.aio's end-of-stream marker (missing from the grpc stubs).
_EOF: Any = getattr(grpc.aio, "EOF")  # noqa: B009

SendT = TypeVar("SendT")
RecvT = TypeVar("RecvT")


class LinkError(Exception):
    """A link failed (connection refused, stream broken, peer error)."""


class ResolutionError(Exception):
    """An endpoint could not be resolved to an address.

    ``invalid_argument`` is True when the endpoint can never be resolved here (e.g. a
    discovery endpoint without a Directory), as opposed to a lookup that failed this time.
    """

    def __init__(self, message: str, invalid_argument: bool = False) -> None:
        super().__init__(message)
        self.invalid_argument = invalid_argument


class ComponentLink(abc.ABC, Generic[SendT, RecvT]):
    """One bidirectional message stream between the orchestrator and a component.

    ``send`` and ``receive`` raise :class:`LinkError` on failure; ``receive`` returns ``None``
    at a clean end of stream. ``send`` may be called from several tasks (writes are serialised).
    """

    #: Whether the peer takes observations/actions as objects (``cogment._carried``): the
    #: in-process link; wire links take the protobuf messages.
    carries_objects = False

    #: Whether :meth:`post` works: ``send`` never waits on this link (it queues the message),
    #: so the trial's per-tick sends call ``post`` instead (no coroutine per message). Our
    #: links all do; a link whose sends really wait leaves it False.
    posts = False

    @abc.abstractmethod
    async def send(self, message: SendT) -> None:
        """Send one message."""

    def post(self, message: SendT) -> None:
        """Send one message without waiting (only when :attr:`posts`); fails as ``send``."""
        raise NotImplementedError(f"{type(self).__name__} cannot post: await send()")

    @abc.abstractmethod
    def receive(self) -> Awaitable[RecvT | None]:
        """The next message, or ``None`` when the peer closed its side (``await`` it; an
        ``async def`` implements it)."""

    @abc.abstractmethod
    async def close(self) -> None:
        """Half-close our side (no more sends); the peer may still send until it ends."""

    @abc.abstractmethod
    def abort(self) -> None:
        """Tear the stream down now (cancel)."""


#: Orchestrator → actor: ActorRunTrialInput; actor → orchestrator: ActorRunTrialOutput.
ActorLink = ComponentLink[common_pb2.ActorRunTrialInput, common_pb2.ActorRunTrialOutput]
EnvLink = ComponentLink[environment_pb2.EnvRunTrialInput, environment_pb2.EnvRunTrialOutput]
DatalogLink = ComponentLink[datalog_pb2.RunTrialDatalogInput, datalog_pb2.RunTrialDatalogOutput]


def _describe(error: BaseException) -> str:
    if isinstance(error, grpc.aio.AioRpcError):
        return f"{error.code().name}: {error.details()}"
    return repr(error)


class _QueuedWriter:
    """Writes the messages of one stream in order, so ``send`` never waits.

    ``grpc.aio`` writes complete only when the message reached the transport; awaiting each
    one in the trial logic would add that latency to every tick (and serialise the fan-out to
    several actors). A :class:`~cogment._servicers._writer.StreamWriter` starts each write
    inside ``post`` (no writer task: no queue wake-up and task switch per message, and the
    send leaves one loop iteration earlier), one at a time, the next one from the previous
    one's completion. The first failure is kept and re-raised by the next ``post``.
    """

    __slots__ = ("_describe", "_error", "_stream", "_write")

    def __init__(self, write: Any, describe: str) -> None:
        self._write = write
        self._describe = describe
        self._error: LinkError | None = None
        self._stream = StreamWriter(self._write_one, lambda: describe, self._stopped)

    def post(self, message: Any) -> None:
        if self._error is not None:
            raise self._error
        self._stream.put_nowait(message)

    async def _write_one(self, message: Any) -> None:
        try:
            await self._write(message)
        except Exception as error:
            if self._error is None:
                self._error = LinkError(f"write to {self._describe} failed: {_describe(error)}")
                self._error.__cause__ = error
            raise

    def _stopped(self) -> None:
        """The stream writer gave up (a write failed or was cancelled)."""
        if self._error is None:
            self._error = LinkError(f"write to {self._describe} failed")

    async def flush(self) -> None:
        """Wait until everything posted so far is written (or a write failed); no more posts
        are written after it."""
        self._stream.put_nowait(None)
        await asyncio.shield(self._stream.done)
        if self._error is not None:
            raise self._error

    def cancel(self) -> None:
        self._stream.close()


class GrpcCallLink(ComponentLink[SendT, RecvT]):
    """A link over a client-side ``grpc.aio`` stream-stream call (we opened the RPC)."""

    __slots__ = ("_call", "_closed", "_target", "_writer")

    def __init__(self, call: Any, target: str) -> None:
        self._call = call
        self._closed = False
        self._target = target
        self._writer = _QueuedWriter(call.write, f"[{target}]")

    posts = True

    async def send(self, message: SendT) -> None:
        self.post(message)

    def post(self, message: SendT) -> None:
        if self._closed:
            raise LinkError(f"stream to [{self._target}] already closed")
        self._writer.post(message)

    async def receive(self) -> RecvT | None:
        try:
            message = await self._call.read()
        except grpc.aio.AioRpcError as error:
            if error.code() == grpc.StatusCode.CANCELLED:
                return None
            raise LinkError(f"stream from [{self._target}] failed: {_describe(error)}") from error
        except (grpc.aio.UsageError, asyncio.InvalidStateError) as error:
            raise LinkError(f"read from [{self._target}] failed: {error!r}") from error
        if message is _EOF:
            return None
        return message  # type: ignore[no-any-return]

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            await self._writer.flush()
            await self._call.done_writing()
        except (LinkError, grpc.aio.AioRpcError, grpc.aio.UsageError, asyncio.InvalidStateError):
            pass

    def abort(self) -> None:
        self._closed = True
        self._writer.cancel()
        self._call.cancel()


class GrpcServerLink(ComponentLink[SendT, RecvT]):
    """A link over the server side of a stream-stream RPC (the component called us)."""

    __slots__ = ("_closed", "_context", "_writer", "finished", "peer")

    def __init__(self, context: grpc.aio.ServicerContext[Any, Any]) -> None:
        self._context = context
        self._closed = False
        #: Set when the orchestrator is done with the stream: the RPC handler may return.
        self.finished = asyncio.Event()
        self.peer = context.peer()
        self._writer = _QueuedWriter(context.write, f"client [{self.peer}]")

    posts = True

    async def send(self, message: SendT) -> None:
        self.post(message)

    def post(self, message: SendT) -> None:
        if self._closed:
            raise LinkError(f"stream to client [{self.peer}] already closed")
        self._writer.post(message)

    async def receive(self) -> RecvT | None:
        try:
            message = await self._context.read()
        except Exception as error:
            raise LinkError(f"read from client [{self.peer}] failed: {error!r}") from error
        if message is _EOF:
            return None
        return message  # type: ignore[no-any-return]

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            await self._writer.flush()
        except LinkError:
            pass
        finally:
            self.finished.set()

    def abort(self) -> None:
        self._closed = True
        self._writer.cancel()
        self.finished.set()


class EndpointResolver(Protocol):
    """Resolves a parsed endpoint URL to a connection address (``host:port``).

    For an actor endpoint it may return ``cogment://client`` (a client actor).
    """

    async def resolve(self, endpoint: EndpointUrl) -> str:
        """The address to connect to; raise :class:`ResolutionError` when impossible."""
        ...


class StaticResolver:
    """Resolves ``grpc://host:port`` only; ``cogment://discover`` needs a Directory."""

    async def resolve(self, endpoint: EndpointUrl) -> str:
        if endpoint.is_grpc:
            return endpoint.grpc_target
        if endpoint.is_discovery:
            raise ResolutionError(
                f"cannot resolve [{endpoint.url}]: no directory configured "
                "(give --directory_endpoint, or use a grpc:// endpoint)",
                invalid_argument=True,
            )
        raise ResolutionError(
            f"cannot resolve [{endpoint.url}] to a network address", invalid_argument=True
        )


class DirectoryResolver:
    """Resolves ``cogment://discover`` URLs through a Directory (``cogment._directory``).

    For actors, the Directory may answer ``cogment://client``: :meth:`resolve` then returns
    :data:`CLIENT_ACTOR_URL` and the actor is a client actor.
    """

    def __init__(self, directory: Directory, use_ssl: bool = False) -> None:
        self._directory = directory
        self._use_ssl = use_ssl

    async def resolve(self, endpoint: EndpointUrl) -> str:
        if endpoint.is_grpc:
            return endpoint.grpc_target
        if not endpoint.is_discovery:
            raise ResolutionError(f"cannot resolve [{endpoint.url}] to a network address")
        try:
            found = await resolve_endpoint(self._directory, endpoint, None, self._use_ssl)
        except CogmentError as error:
            raise ResolutionError(str(error)) from error
        if found.is_client_actor:
            return CLIENT_ACTOR_URL
        try:
            return parse_endpoint_url(found.url).grpc_target
        except EndpointUrlError as error:
            raise ResolutionError(
                f"the Directory answered [{found.url}] for [{endpoint.url}]: {error}"
            ) from error


class Connector(abc.ABC):
    """Opens links to service components (the orchestrator is the client)."""

    @abc.abstractmethod
    def open_actor(self, address: str, trial_id: str) -> ActorLink:
        """Open ``ServiceActorSP/RunTrial`` on ``address`` (metadata ``trial-id``)."""

    @abc.abstractmethod
    def open_environment(self, address: str, trial_id: str) -> EnvLink:
        """Open ``EnvironmentSP/RunTrial`` on ``address`` (metadata ``trial-id``)."""

    @abc.abstractmethod
    def open_datalog(self, address: str, trial_id: str, user_id: str) -> DatalogLink:
        """Open ``DatalogSP/RunTrialDatalog`` (metadata ``trial-id``, ``user-id``)."""

    @abc.abstractmethod
    async def call_prehook(
        self,
        address: str,
        trial_id: str,
        user_id: str,
        params: common_pb2.TrialParams,
        timeout: float | None,
    ) -> common_pb2.TrialParams:
        """Call ``TrialHooksSP/OnPreTrial``; return the hook's params (raise :class:`LinkError`)."""

    @abc.abstractmethod
    async def close(self) -> None:
        """Release every connection."""


#: The components' channels: the SDK's message size limit (64 MiB, so observations and actions
#: the SDK sends are received), and no retries: a RunTrial stream is never retried, and the
#: retry machinery costs ~6 KiB per open stream (three streams per running trial).
_CHANNEL_OPTIONS = [
    ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
    ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
    ("grpc.enable_retries", 0),
]


class GrpcConnector(Connector):
    """gRPC transport: one shared channel per address (TLS when credentials are given)."""

    def __init__(self, credentials: grpc.ChannelCredentials | None = None) -> None:
        self._credentials = credentials
        self._channels: dict[str, grpc.aio.Channel] = {}
        # Stubs are built once per address: building one creates a multicallable per method.
        self._actor_stubs: dict[str, agent_pb2_grpc.ServiceActorSPStub] = {}
        self._env_stubs: dict[str, environment_pb2_grpc.EnvironmentSPStub] = {}
        self._datalog_stubs: dict[str, datalog_pb2_grpc.DatalogSPStub] = {}

    def _channel(self, address: str) -> grpc.aio.Channel:
        channel = self._channels.get(address)
        if channel is None:
            if self._credentials is not None:
                channel = grpc.aio.secure_channel(address, self._credentials, _CHANNEL_OPTIONS)
            else:
                channel = grpc.aio.insecure_channel(address, _CHANNEL_OPTIONS)
            self._channels[address] = channel
        return channel

    def open_actor(self, address: str, trial_id: str) -> ActorLink:
        stub = self._actor_stubs.get(address)
        if stub is None:
            stub = agent_pb2_grpc.ServiceActorSPStub(self._channel(address))
            self._actor_stubs[address] = stub
        call = stub.RunTrial(metadata=(("trial-id", trial_id),))  # type: ignore[call-arg]
        return GrpcCallLink(call, address)

    def open_environment(self, address: str, trial_id: str) -> EnvLink:
        stub = self._env_stubs.get(address)
        if stub is None:
            stub = environment_pb2_grpc.EnvironmentSPStub(self._channel(address))
            self._env_stubs[address] = stub
        call = stub.RunTrial(metadata=(("trial-id", trial_id),))  # type: ignore[call-arg]
        return GrpcCallLink(call, address)

    def open_datalog(self, address: str, trial_id: str, user_id: str) -> DatalogLink:
        stub = self._datalog_stubs.get(address)
        if stub is None:
            stub = datalog_pb2_grpc.DatalogSPStub(self._channel(address))
            self._datalog_stubs[address] = stub
        call = stub.RunTrialDatalog(  # type: ignore[call-arg]
            metadata=(("trial-id", trial_id), ("user-id", user_id))
        )
        return GrpcCallLink(call, address)

    async def call_prehook(
        self,
        address: str,
        trial_id: str,
        user_id: str,
        params: common_pb2.TrialParams,
        timeout: float | None,
    ) -> common_pb2.TrialParams:
        stub = hooks_pb2_grpc.TrialHooksSPStub(self._channel(address))
        try:
            reply = await stub.OnPreTrial(
                hooks_pb2.PreTrialParams(params=params),
                metadata=(("trial-id", trial_id), ("user-id", user_id)),
                timeout=timeout,
            )
        except grpc.aio.AioRpcError as error:
            raise LinkError(_describe(error)) from error
        return reply.params

    async def close(self) -> None:
        channels = list(self._channels.values())
        self._channels.clear()
        self._actor_stubs.clear()
        self._env_stubs.clear()
        self._datalog_stubs.clear()
        for channel in channels:
            try:
                await channel.close(grace=None)
            except Exception:  # pragma: no cover - best effort
                _log.debug("error closing channel", exc_info=True)
