"""The SDK side of the in-process transport: components run by an Orchestrator in this process.

An embedded Orchestrator (``Context.embedded_orchestrator``) opens a :class:`Pipe` per
component stream instead of a gRPC call. The pipe carries the very ``RunTrial`` message objects
the two sides build (no gRPC, no serialization); observations and actions travel as objects
(``cogment._carried``: sessions run here have ``_carry_objects`` set). The SDK side runs the
same session machinery as the gRPC servicers (``_servicers._runner``), reading from a
:class:`ComponentStream` instead of a gRPC context.

Aliasing: a message is built by its sender for one receiver and never changed after it was
sent (the Orchestrator builds a fresh envelope per actor and per tick; its shared constants --
HEARTBEAT, LAST -- have no payload). User payloads follow the rule of ``cogment._carried``:
copied when sent, one object per receiver, so no user code ever sees an object another
component holds (other payloads -- messages, configs -- are still bytes parsed by the receiver).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Callable, Coroutine
from typing import Any, Protocol, cast

from cogment._errors import CogmentError
from cogment._log import TRACE, logger
from cogment._servicers._common import (
    ActorImpl,
    EnvironmentImpl,
    InitProtocolError,
    read_init,
)
from cogment._servicers._runner import (
    EOF,
    INIT_TIMEOUT,
    UserImpl,
    _trace_message,
    await_implementation,
    pump_actor_inputs,
    pump_environment_inputs,
    start_implementation,
)
from cogment._session import Session
from cogment._specs import Specs
from cogment._timeouts import within
from cogment.api import common_pb2, environment_pb2

__all__ = [
    "CLOSED",
    "ComponentStream",
    "Failure",
    "InProcessAttachment",
    "Mailbox",
    "Pipe",
    "join_trial_inprocess",
    "run_environment",
    "run_service_actor",
]


class _Closed:
    __slots__ = ()

    def __repr__(self) -> str:
        return "CLOSED"


CLOSED: Any = _Closed()
"""End of one direction of a pipe (the sender half-closed)."""


class Failure:
    """One direction of a pipe failed (the other side gives up with ``reason``)."""

    __slots__ = ("reason",)

    def __init__(self, reason: str) -> None:
        self.reason = reason

    def __repr__(self) -> str:
        return f"Failure({self.reason!r})"


class Mailbox:
    """A one-reader FIFO of messages: ``put`` never waits; ``get`` waits for the next one.

    Cheaper than ``asyncio.Queue`` (no maxsize, no putters, one waiter at most). After
    :data:`CLOSED` or a :class:`Failure`, ``get`` keeps returning it.
    """

    __slots__ = ("_consumer", "_end", "_items", "_waiter")

    def __init__(self) -> None:
        self._items: deque[Any] = deque()
        self._waiter: asyncio.Future[None] | None = None
        self._end: Any = None
        self._consumer: Callable[[Any], None] | None = None

    def put(self, item: Any) -> None:
        if self._end is not None:
            return  # the stream is over: late messages are dropped (as on a closed gRPC stream)
        if item is CLOSED or isinstance(item, Failure):
            self._end = item
        consumer = self._consumer
        if consumer is not None:
            consumer(item)
            return
        self._items.append(item)
        waiter = self._waiter
        if waiter is not None:
            self._waiter = None
            if not waiter.done():
                waiter.set_result(None)

    def hand_over(self, consumer: Callable[[Any], None]) -> None:
        """From now on, give every message to ``consumer`` at once (those waiting first)."""
        items = self._items
        while items:
            consumer(items.popleft())
        self._consumer = consumer

    async def get(self) -> Any:
        items = self._items
        while not items:
            if self._end is not None:
                return self._end
            waiter = asyncio.get_running_loop().create_future()
            self._waiter = waiter
            try:
                await waiter
            finally:
                if self._waiter is waiter:
                    self._waiter = None
        return items.popleft()


class Pipe:
    """The two directions of one component stream."""

    __slots__ = ("to_component", "to_orchestrator")

    def __init__(self) -> None:
        self.to_component = Mailbox()
        self.to_orchestrator = Mailbox()


class ComponentStream:
    """The component's end of a :class:`Pipe`, shaped like a gRPC stream (``read``/``write``)."""

    __slots__ = ("_pipe", "_where")

    #: Sessions on it send observations and actions as objects (``cogment._carried``).
    carries_objects = True

    def __init__(self, pipe: Pipe, where: str) -> None:
        self._pipe = pipe
        self._where = where

    async def read(self) -> Any:
        item = await self._pipe.to_component.get()
        if item is CLOSED:
            return EOF
        if isinstance(item, Failure):
            raise CogmentError(f"{self._where}: {item.reason}")
        return item

    async def write(self, message: Any) -> None:
        self._pipe.to_orchestrator.put(message)

    async def done_writing(self) -> None:
        self._pipe.to_orchestrator.put(CLOSED)

    async def code(self) -> None:
        """Nothing to wait for at the end (a gRPC call's status)."""

    def fail(self, reason: str) -> None:
        """Tell the orchestrator this component gave up (it sees a stream failure)."""
        self._pipe.to_orchestrator.put(Failure(reason))


class _Next:
    """What a driven pump awaits for its next message: the :class:`PumpDriver` resumes it."""

    __slots__ = ()

    def __await__(self) -> Any:
        return (yield self)


_NEXT = _Next()


class DrivenStream(ComponentStream):
    """A component stream whose ``read`` is answered by a :class:`PumpDriver`, synchronously.

    ``read()`` is not a coroutine: it returns the awaitable the driver resumes (one coroutine
    frame less per message); the driver turns :data:`CLOSED` into ``EOF`` and a
    :class:`Failure` into a ``CogmentError`` raised where the pump awaits.
    """

    __slots__ = ()

    def read(self) -> Any:  # an awaitable (not a coroutine), as the pumps need
        return _NEXT


class PumpDriver:
    """Runs an incoming pump (``_runner.pump_*_inputs`` over a :class:`DrivenStream`) inside
    the orchestrator's ``send``: each message is handled when it is sent, with no task and no
    task switch. Same outcome as ``_reader.StreamReader``: errors are logged and the session
    is finished when the pump stops.
    """

    __slots__ = ("_coro", "_done", "_pending", "_running", "_session", "_where")

    def __init__(self, session: Session, pump: Coroutine[Any, Any, None], where: str) -> None:
        self._session = session
        self._where = where
        self._coro = pump
        self._pending: deque[Any] = deque()
        self._running = False
        self._done = False
        self._step(None)

    def feed(self, item: Any) -> None:
        """Handle one message (queued if the pump is already running: no re-entrance)."""
        if self._done:
            return
        self._pending.append(item)
        if self._running:
            return
        self._running = True
        try:
            pending = self._pending
            while pending and not self._done:
                self._step(pending.popleft())
        finally:
            self._running = False

    def _step(self, item: Any) -> None:
        session = self._session
        try:
            if item is CLOSED:
                awaited = self._coro.send(EOF)
            elif type(item) is Failure:
                awaited = self._coro.throw(CogmentError(f"{self._where}: {item.reason}"))
            else:
                awaited = self._coro.send(item)
        except StopIteration:
            self._stop()
            return
        except CogmentError as exc:
            logger.warning("%s: stream failed: %s", session._where(), exc)
            self._stop()
            return
        except Exception:
            logger.exception("%s: error processing incoming data", session._where())
            self._stop()
            return
        if awaited is not _NEXT:
            self._coro.close()
            logger.error("%s: the incoming pump awaited [%r]", session._where(), awaited)
            self._stop()

    def _stop(self) -> None:
        self._done = True
        self._pending.clear()
        # Whatever stopped the incoming data, the user's event loop must not wait forever.
        self._session._finish(final=False)

    def close(self) -> None:
        """Stop the pump (end of the session)."""
        if not self._done:
            self._done = True
            self._coro.close()


class Registered(Protocol):
    """What the in-process runners use of a ``Context``."""

    _env_impls: dict[str, EnvironmentImpl]
    _actor_impls: dict[str, ActorImpl]
    _specs: Specs


async def _init(stream: ComponentStream, out_type: type[Any], where: str) -> Any | None:
    try:
        return await within(read_init(stream, out_type, where), INIT_TIMEOUT)
    except asyncio.TimeoutError:
        reason = f"{where}: no init data from the orchestrator after {INIT_TIMEOUT}s"
    except (InitProtocolError, CogmentError) as exc:
        reason = str(exc)
    logger.error("%s", reason)
    stream.fail(reason)
    return None


#: A session made from its init data: the session, its implementation, and its incoming pump
#: reading the given stream.
_Made = tuple[Session, Any, Callable[[ComponentStream], Coroutine[Any, Any, None]]]


async def _run_component(
    pipe: Pipe,
    where: str,
    missing: str | None,
    init_type: type[Any],
    make_session: Callable[[Any], _Made],
    kind: str,
) -> None:
    """Run the session of one in-process component stream: init, session, implementation.
    ``missing``: why no session can run (nothing registered), or None; ``kind``: names the
    implementation in the failure the orchestrator sees."""
    stream = ComponentStream(pipe, where)
    if missing is not None:
        stream.fail(missing)
        return
    init = await _init(stream, init_type, where)
    if init is None:
        stream.fail(f"{where}: the orchestrator closed the stream before init")
        return
    try:
        session, impl, pump = make_session(init)
    except CogmentError as exc:
        logger.error("%s", exc)
        stream.fail(str(exc))
        return
    error = await run_direct_session(
        session, impl.impl, pipe, pump(DrivenStream(pipe, where)), where
    )
    _done(stream, error, f"{kind} implementation [{impl.name}]")


async def run_environment(context: Registered, trial_id: str, pipe: Pipe) -> None:
    """Run the environment session of one in-process ``EnvironmentSP/RunTrial`` stream."""
    from cogment._servicers._trial_servicers import EnvironmentServicer

    def make_session(init: Any) -> _Made:
        session, impl, parsers = EnvironmentServicer(
            context._env_impls, context._specs, None
        )._make_session(trial_id, init)
        return session, impl, lambda stream: pump_environment_inputs(session, stream, parsers)

    await _run_component(
        pipe,
        f"Trial [{trial_id}] - environment",
        None if context._env_impls else "No environment registered",
        environment_pb2.EnvRunTrialOutput,
        make_session,
        "Environment",
    )


async def run_service_actor(context: Registered, trial_id: str, pipe: Pipe) -> None:
    """Run the actor session of one in-process ``ServiceActorSP/RunTrial`` stream."""
    from cogment._servicers._trial_servicers import make_actor_session

    def make_session(init: Any) -> _Made:
        session, impl, parser = make_actor_session(
            context._actor_impls, context._specs, trial_id, init, send_init_on_start=True
        )
        return session, impl, lambda stream: pump_actor_inputs(session, stream, parser)

    await _run_component(
        pipe,
        f"Trial [{trial_id}] - actor",
        None if context._actor_impls else "No actor registered",
        common_pb2.ActorRunTrialOutput,
        make_session,
        "Actor",
    )


class _DirectOutgoing:
    """Stands for a session's outgoing queue: what the session sends goes straight to the
    orchestrator's mailbox (no writer task, no task switch); ``None`` (the implementation
    returned) sets ``finished``."""

    __slots__ = ("_mailbox", "_session", "_tracing", "finished")

    def __init__(self, mailbox: Mailbox, session: Session) -> None:
        self._mailbox = mailbox
        self._session = session
        self._tracing = logger.isEnabledFor(TRACE)
        self.finished = asyncio.get_running_loop().create_future()

    def put_nowait(self, message: Any) -> None:
        if message is None:
            if not self.finished.done():
                self.finished.set_result(None)
            return
        if self._tracing:
            _trace_message(self._session, "sending", message)
        self._mailbox.put(message)

    def empty(self) -> bool:
        return True

    def qsize(self) -> int:
        return 0


async def run_direct_session(
    session: Session, impl: UserImpl, pipe: Pipe, pump: Coroutine[Any, Any, None], where: str
) -> BaseException | None:
    """``_runner.run_session`` for a pipe: the same life cycle without the writer task, and
    the incoming ``pump`` (reading a :class:`DrivenStream`) run by a :class:`PumpDriver`.

    Returns when the user implementation has returned, with the exception it raised (logged).
    """
    outgoing = _DirectOutgoing(pipe.to_orchestrator, session)
    session._carry_objects = True  # observations and actions go as objects (cogment._carried)
    queued = session._outgoing
    cast(Any, session)._outgoing = outgoing
    while not queued.empty():  # sent before the session was attached (none in practice)
        outgoing.put_nowait(queued.get_nowait())
    user_task = start_implementation(impl, session)
    driver = PumpDriver(session, pump, where)
    pipe.to_component.hand_over(driver.feed)
    user_task.add_done_callback(lambda _: session._close_outgoing())
    try:
        return await await_implementation(session, user_task)
    finally:
        session._ended = True
        driver.close()
        if not user_task.done():
            user_task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await user_task  # errors were already logged


def _done(stream: ComponentStream, error: BaseException | None, what: str) -> None:
    if error is not None:
        stream.fail(f"{what} raised {error!r}")
    else:
        stream._pipe.to_orchestrator.put(CLOSED)


class InProcessAttachment(Protocol):
    """What an embedded Orchestrator offers the Context it runs in."""

    def accepts(self, url: str) -> bool:
        """Whether a client actor joining at ``url`` means this Orchestrator."""
        ...

    def attach_client_actor(self, trial_id: str) -> Pipe:
        """A pipe to the client-actor slot of ``trial_id`` (raise ``CogmentError`` if unknown)."""
        ...


async def join_trial_inprocess(
    context: Any,
    attachment: InProcessAttachment,
    trial_id: str,
    impl_name: str | None,
    actor_name: str | None,
    actor_class: str | None,
) -> None:
    """``Context.join_trial`` through the embedded Orchestrator (no gRPC)."""
    from cogment._client_actor import _run

    where = f"Trial [{trial_id}] - client actor [{actor_name or actor_class}]"
    pipe = attachment.attach_client_actor(trial_id)
    stream = ComponentStream(pipe, where)
    try:
        await _run(context, stream, trial_id, actor_name, actor_class, impl_name, where)
    finally:
        pipe.to_orchestrator.put(CLOSED)
