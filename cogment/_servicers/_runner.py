"""Running one session over one gRPC stream: the incoming pumps (actor and environment), the
outgoing side (``_writer.StreamWriter``: writes start inside the sending call, no writer task)
and the user task. Shared by the servers (environment, service actor) and the client actor
(``join_trial``)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, Protocol, cast

import grpc
import grpc.aio
from google.protobuf import text_format
from google.protobuf.message import Message

from cogment._actor import ActorSession
from cogment._carried import CarriedActionSet, CarriedObservation
from cogment._environment import EnvironmentSession
from cogment._log import TRACE, logger, trace
from cogment._servicers._reader import StreamReader
from cogment._servicers._writer import StreamWriter
from cogment._session import (
    ActorStatus,
    EventType,
    RecvAction,
    RecvEvent,
    RecvMessage,
    RecvObservation,
    RecvReward,
    Session,
)
from cogment.api import common_pb2

__all__ = [
    "EOF",
    "INIT_TIMEOUT",
    "MessageStream",
    "UserImpl",
    "pump_actor_inputs",
    "pump_environment_inputs",
    "run_session",
]

EOF: object = grpc.aio.EOF  # type: ignore[attr-defined]  # pyright: ignore[reportAttributeAccessIssue]
"""End of stream marker returned by ``read()``."""

INIT_TIMEOUT = 30.0
"""Seconds to wait for the init message of a trial stream."""

_NORMAL = common_pb2.NORMAL
_HEARTBEAT = common_pb2.HEARTBEAT
_LAST = common_pb2.LAST
_LAST_ACK = common_pb2.LAST_ACK
_END = common_pb2.END
_ACTIVE = EventType.ACTIVE
_ENDING = EventType.ENDING

UserImpl = Callable[[Any], Awaitable[None]]


class MessageStream(Protocol):
    """A bidirectional gRPC stream: a server context or a client call."""

    async def read(self) -> Any: ...

    async def write(self, message: Any) -> None: ...


def _trace_message(session: Session, what: str, msg: Any) -> None:
    if msg is EOF:
        text = "EOF"
    elif isinstance(msg, Message):
        text = text_format.MessageToString(msg, as_one_line=True)
    else:  # carried in-process (cogment._carried)
        text = repr(msg)
    logger.log(TRACE, "%s: %s [%s]", session._where(), what, text)


def _end_of_trial(session: Session, msg: Any) -> None:
    details = msg.details if msg.WhichOneof("data") == "details" else ""
    if session._ending:
        logger.debug("%s: trial ended %s", session._where(), details)
        session._finish(final=True)
    else:
        logger.warning("%s: trial ended forcefully [%s]", session._where(), details)
        session._finish(final=False)


def _half_closed(session: Session) -> None:
    if not session._ended:
        logger.warning(
            "%s: the orchestrator closed the stream without ending the trial", session._where()
        )
        session._finish(final=False)


async def pump_actor_inputs(
    session: ActorSession[Any, Any, Any],
    stream: MessageStream,
    parse_observation: Callable[[bytes], Any],
) -> None:
    """Read ``ActorRunTrialInput`` messages after init and turn them into session events."""
    heartbeat = common_pb2.ActorRunTrialOutput(state=_HEARTBEAT)
    tracing = logger.isEnabledFor(TRACE)
    keeps_bytes = parse_observation is bytes  # no specs: carried objects are given as bytes
    while True:
        msg = await stream.read()
        if tracing:
            _trace_message(session, "received", msg)
        if msg is EOF:
            _half_closed(session)
            return
        state = msg.state
        if state == _NORMAL:
            carried = type(msg) is CarriedObservation  # in-process: envelope and observation
            kind = "observation" if carried else msg.WhichOneof("data")
            if kind == "observation":
                wire = msg if carried else msg.observation
                session._tick_id = wire.tick_id
                content = wire.content  # bytes, or an object carried in-process (_carried)
                obs = RecvObservation(
                    wire.tick_id,
                    wire.timestamp,
                    parse_observation(content)
                    if type(content) is bytes
                    else (content.SerializeToString() if keeps_bytes else content),
                )
                if (
                    session._ending
                    and session._auto_done_sending
                    and session._started
                    and not session._ack_sent
                ):
                    # Final observation: acknowledge the end before delivering it.
                    session._send_last_ack()
                event: RecvEvent[Any, Any] = RecvEvent(_ENDING if session._ending else _ACTIVE, obs)
                if session._ended:
                    session._post_event(event)  # logged and dropped
                else:
                    session._events.put_nowait(event)
            elif kind == "reward":
                reward = RecvReward._from_wire(msg.reward)
                session._post_event(RecvEvent(session._event_type(), rewards=[reward]))
            elif kind == "message":
                message = RecvMessage._from_wire(msg.message)
                session._post_event(RecvEvent(session._event_type(), messages=[message]))
            elif kind == "details":
                logger.info("%s: details from the orchestrator: %s", session._where(), msg.details)
            else:
                logger.warning(
                    "%s: unexpected [%s] data from the orchestrator ignored",
                    session._where(),
                    kind,
                )
        elif state == _HEARTBEAT:
            session._outgoing.put_nowait(heartbeat)
        elif state == _LAST:
            trace("%s: LAST received", session._where())
            session._ending = True
        elif state == _END:
            _end_of_trial(session, msg)
            return
        else:
            logger.warning("%s: unexpected stream state [%s] ignored", session._where(), state)


async def pump_environment_inputs(
    session: EnvironmentSession[Any, Any, Any],
    stream: MessageStream,
    action_parsers: list[Callable[[bytes], Any]],
) -> None:
    """Read ``EnvRunTrialInput`` messages after init and turn them into session events."""
    from cogment.api import environment_pb2

    heartbeat = environment_pb2.EnvRunTrialOutput(state=_HEARTBEAT)
    tracing = logger.isEnabledFor(TRACE)
    nb_actors = len(action_parsers)
    active = ActorStatus.ACTIVE
    unavailable_status = ActorStatus.UNAVAILABLE
    while True:
        msg = await stream.read()
        if tracing:
            _trace_message(session, "received", msg)
        if msg is EOF:
            _half_closed(session)
            return
        state = msg.state
        if state == _NORMAL:
            carried = type(msg) is CarriedActionSet  # in-process: envelope and action set
            kind = "action_set" if carried else msg.WhichOneof("data")
            if kind == "action_set":
                wire = msg if carried else msg.action_set
                tick_id = wire.tick_id
                session._tick_id = tick_id
                contents = wire.actions
                if len(contents) != nb_actors:
                    logger.error(
                        "%s: received %d actions for %d actors: ending the session",
                        session._where(),
                        len(contents),
                        nb_actors,
                    )
                    session._finish(final=False)
                    return
                unavailable = set(wire.unavailable_actors) if wire.unavailable_actors else ()
                timestamp = wire.timestamp
                actions: list[RecvAction[Any]] = []
                for index, content in enumerate(contents):
                    if index in unavailable:
                        actions.append(RecvAction(index, tick_id, unavailable_status, 0, None))
                    else:  # bytes, or an object carried in-process (cogment._carried)
                        actions.append(
                            RecvAction(
                                index,
                                tick_id,
                                active,
                                timestamp,
                                action_parsers[index](content)
                                if type(content) is bytes
                                else (
                                    content  # a carried object (cogment._carried.decode)
                                    if action_parsers[index] is not bytes
                                    else content.SerializeToString()
                                ),
                            )
                        )
                event: RecvEvent[Any, Any] = RecvEvent(
                    _ENDING if session._ending else _ACTIVE, None, actions
                )
                if session._ended:
                    session._post_event(event)  # logged and dropped
                else:
                    session._events.put_nowait(event)
            elif kind == "message":
                message = RecvMessage._from_wire(msg.message)
                session._post_event(RecvEvent(session._event_type(), messages=[message]))
            elif kind == "details":
                logger.info("%s: details from the orchestrator: %s", session._where(), msg.details)
            else:
                logger.warning(
                    "%s: unexpected [%s] data from the orchestrator ignored",
                    session._where(),
                    kind,
                )
        elif state == _HEARTBEAT:
            session._outgoing.put_nowait(heartbeat)
        elif state == _LAST:
            trace("%s: LAST received", session._where())
            session._on_last()
        elif state == _END:
            _end_of_trial(session, msg)
            return
        else:
            logger.warning("%s: unexpected stream state [%s] ignored", session._where(), state)


def start_implementation(impl: UserImpl, session: Session) -> asyncio.Future[None]:
    """The user implementation running on ``session``, as a task (its coroutine directly: no
    wrapper frame resumed at every wake-up). An implementation that raises before returning
    its coroutine, or returns something that cannot be awaited, gives a failed future, as if
    the task had raised it."""
    try:
        return asyncio.ensure_future(impl(session))
    except Exception as exc:  # reported by await_implementation, as the task would be
        failed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        failed.set_exception(exc)
        return failed


async def run_session(
    session: Session,
    impl: UserImpl,
    stream: MessageStream,
    pump: Coroutine[Any, Any, None],
) -> BaseException | None:
    """Run the user implementation with the incoming pump and the stream writer.

    Returns when the user implementation has returned (after flushing what it sent), and gives
    back the exception it raised (already logged with its traceback), if any.
    """
    user_task = start_implementation(impl, session)
    # The pump runs without a task: the user's task reads when it waits for an event.
    reader = StreamReader(pump, session._where, lambda: session._finish(final=False))
    session._events.set_source(reader)
    reader.start()
    # What the session sends is written from the sending call itself (no writer task).
    writer = StreamWriter(
        stream.write,
        session._where,
        lambda: session._finish(final=False),
        (lambda out: _trace_message(session, "sending", out))
        if logger.isEnabledFor(TRACE)
        else None,
    )
    queued = session._outgoing
    cast(Any, session)._outgoing = writer
    while not queued.empty():  # sent before the runner attached (none in practice)
        writer.put_nowait(queued.get_nowait())
    del queued  # not kept alive for the whole session
    user_task.add_done_callback(lambda _: session._close_outgoing())
    try:
        await writer.done  # everything written up to the end (or the stream failed)
        return await await_implementation(session, user_task)
    finally:
        session._ended = True
        writer.close()
        reader.close()
        session._events.set_source(None)
        if not user_task.done():
            user_task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await user_task  # errors were already logged


async def await_implementation(
    session: Any, user_task: asyncio.Future[None]
) -> BaseException | None:
    """Wait for the user implementation of ``session``; the exception it raised, if any.

    A raised exception is logged with its traceback (the caller ends the session with it);
    the implementation's own cancellation is logged; a cancellation of the caller propagates.
    """
    try:
        await user_task
    except asyncio.CancelledError:
        if not user_task.cancelled():
            raise
        logger.debug("%s: implementation cancelled", session._where())
    except Exception as exc:
        logger.error(
            "%s: implementation [%s] raised an exception: ending its session",
            session._where(),
            session.impl_name,
            exc_info=exc,
        )
        return exc
    if not session._ended and not session._last_event_delivered:
        logger.debug("%s: implementation returned before the end of the trial", session._where())
    return None
