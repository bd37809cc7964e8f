"""The in-process transport: an Orchestrator running trials with the components registered in
the same process's ``cogment.Context``, without sockets, gRPC or serialization of the streams.

Use it from the Context that registers the components::

    context.register_environment(impl=env)
    context.register_actor(impl=agent, impl_name="agent", actor_classes=["player"])
    async with context.embedded_orchestrator() as orch:
        controller = orch.get_controller()
        params = cogment.TrialParameters(
            cog_settings, environment_endpoint=orch.components_endpoint, ...
        )
        trial_id = await controller.start_trial(trial_params=params)

Routing: the environment and actors whose endpoint is :data:`INPROCESS_ENDPOINT` (or the
address this Context serves on with ``serve_all_registered``, if it does) run in-process; any
other ``grpc://`` endpoint goes over gRPC as usual (mixed trials). Client actors of this
Context join in-process with ``context.join_trial(trial_id, actor_name=...)`` (default
endpoint); remote ones join over gRPC when the Orchestrator serves a port (give
``lifecycle_port``; without it no socket is opened at all).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from typing import TYPE_CHECKING, Any

import grpc
import grpc.aio

from cogment._errors import CogmentError
from cogment._inprocess import (
    CLOSED,
    Failure,
    Pipe,
    Registered,
    run_environment,
    run_service_actor,
)
from cogment.api import common_pb2, orchestrator_pb2

from ._links import (
    ActorLink,
    ComponentLink,
    Connector,
    DatalogLink,
    EnvLink,
    LinkError,
    RecvT,
    SendT,
)
from ._orchestrator import Orchestrator, OrchestratorConfig

if TYPE_CHECKING:
    from cogment._controller import Controller

__all__ = [
    "INPROCESS_ENDPOINT",
    "EmbeddedOrchestrator",
    "InProcessConnector",
    "InProcessLink",
]

_log = logging.getLogger("cogment.services.orchestrator")

#: The endpoint of the components registered in the Context of an embedded Orchestrator.
INPROCESS_ENDPOINT = "grpc://inprocess:1"
_INPROCESS_ADDRESS = "inprocess:1"
_LOCAL_HOSTS = ("127.0.0.1", "localhost", "0.0.0.0", "[::1]", "[::]", "::1")


class _Next:
    """What a driven reader awaits for its next message: its :class:`ReaderDriver` resumes it."""

    __slots__ = ()

    def __await__(self) -> Any:
        return (yield self)


_NEXT = _Next()


class ReaderDriver:
    """Runs a trial's reader coroutine (``Trial._read_actor`` / ``_read_env``) inside the
    component's send: each message is handled when the component sends it, in the sender's
    task, with no reader task and no task switch.

    While the reader only awaits its next message (the hot path: actions, observations,
    rewards, messages; in-process sends never suspend) it runs synchronously. If it awaits
    anything else (a hard end waiting for its END sends), the rest of it moves to a task of its
    own, which takes the messages that arrived meanwhile, and hands back to synchronous driving
    when it awaits its next message with none waiting. So no asyncio deadline scope
    (``asyncio.timeout``) is ever entered in the sender's task across a suspension: the trial
    logic enters them only in tasks of its own (``gather``ed END sends, the soft-end task).

    The reader's ``await link.receive()`` is answered here with the message itself: ``None``
    for the end of the stream, a :class:`LinkError` thrown in for a failure (about
    ``describe``), so the link's ``receive`` needs no coroutine of its own per message.

    ``finished`` is done when the reader returned; cancelling it stops the reader.
    """

    __slots__ = (
        "_coro",
        "_describe",
        "_done",
        "_name",
        "_pending",
        "_running",
        "_task",
        "finished",
    )

    def __init__(self, coro: Coroutine[Any, Any, None], name: str, describe: str = "") -> None:
        self._coro = coro
        self._name = name
        self._describe = describe
        self._pending: deque[Any] = deque()
        self._running = False
        self._done = False
        self._task: asyncio.Task[None] | None = None
        self.finished: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.finished.add_done_callback(self._finished)
        self._run(None)  # up to its first receive

    def feed(self, item: Any) -> None:
        """Handle one message now (queued while the reader is busy or in its task)."""
        if self._done:
            return
        if self._running or self._task is not None:
            self._pending.append(item)
            return
        # Idle (the usual case): straight to the reader, then what it sent itself meanwhile.
        self._run(item)
        pending = self._pending
        while pending and not self._done and self._task is None:
            self._run(pending.popleft())

    def answer(self, item: Any) -> tuple[Any, BaseException | None]:
        """What the reader's ``receive`` gives for ``item``: (message, None) or (None, error)."""
        if item is CLOSED:
            return None, None
        if type(item) is Failure:
            return None, self._failed(item)
        return item, None

    def _failed(self, failure: Failure) -> LinkError:
        return LinkError(f"stream from {self._describe} failed: {failure.reason}")

    def _run(self, item: Any) -> None:
        self._running = True
        try:
            # answer(), inlined: this runs for every message of the trial.
            if item is CLOSED:
                awaited = self._coro.send(None)
            elif type(item) is Failure:
                awaited = self._coro.throw(self._failed(item))
            else:
                awaited = self._coro.send(item)
        except StopIteration:
            self._stop()
            return
        except Exception:
            _log.exception("in-process reader [%s] failed", self._name)
            self._stop()
            return
        finally:
            self._running = False
        if awaited is not _NEXT:
            self._task = asyncio.get_running_loop().create_task(
                self._resume(awaited), name=self._name
            )

    async def _resume(self, awaited: Any) -> None:
        try:
            await _Resume(self, awaited)
        except asyncio.CancelledError:
            self._stop()
            raise
        except Exception:
            _log.exception("in-process reader [%s] failed", self._name)
            self._stop()

    def _stop(self) -> None:
        self._done = True
        self._pending.clear()
        if not self.finished.done():
            self.finished.set_result(None)

    def _finished(self, future: asyncio.Future[None]) -> None:
        if not future.cancelled():
            return
        self._done = True
        self._pending.clear()
        task = self._task
        if task is not None and not task.done():
            task.cancel()
        elif not self._running:
            self._coro.close()


class _Resume:
    """The rest of a driven reader, run by its driver's task from a real suspension."""

    __slots__ = ("_awaited", "_driver")

    def __init__(self, driver: ReaderDriver, awaited: Any) -> None:
        self._driver = driver
        self._awaited = awaited

    def __await__(self) -> Any:
        driver = self._driver
        coro = driver._coro
        awaited = self._awaited
        while True:
            if awaited is _NEXT:
                if not driver._pending or driver._done:
                    driver._task = None  # back to synchronous driving
                    pending = driver._pending
                    while pending and not driver._done and driver._task is None:
                        driver._run(pending.popleft())
                    return
                value, error = driver.answer(driver._pending.popleft())
            else:
                try:
                    value, error = (yield awaited), None
                except BaseException as exc:  # thrown into the task: pass it on
                    value, error = None, exc
            try:
                awaited = coro.send(value) if error is None else coro.throw(error)
            except StopIteration:
                driver._task = None
                driver._stop()
                return


class InProcessLink(ComponentLink[SendT, RecvT]):
    """The orchestrator's end of a :class:`~cogment._inprocess.Pipe` (messages as objects)."""

    __slots__ = ("_closed", "_describe", "_driven", "_pipe", "_task")

    carries_objects = True
    posts = True

    def __init__(self, pipe: Pipe, describe: str, task: asyncio.Task[None] | None = None) -> None:
        self._pipe = pipe
        self._describe = describe
        self._task = task
        self._closed = False
        self._driven = False

    async def send(self, message: SendT) -> None:
        self.post(message)

    def post(self, message: SendT) -> None:
        if self._closed:
            raise LinkError(f"stream to {self._describe} already closed")
        self._pipe.to_component.put(message)

    def drive(self, reader: Coroutine[Any, Any, None], name: str) -> asyncio.Future[None]:
        """Run ``reader`` (a loop over :meth:`receive`) in the component's sends, with a
        :class:`ReaderDriver`; returns its ``finished`` future (cancel it to stop it)."""
        self._driven = True
        driver = ReaderDriver(reader, name, self._describe)
        self._pipe.to_orchestrator.hand_over(driver.feed)
        return driver.finished

    def receive(self) -> Awaitable[RecvT | None]:
        if self._driven:
            # The ReaderDriver answers this await with the message (or None, or throws the
            # LinkError): no coroutine per message on the trial's hot path.
            next_message: Awaitable[RecvT | None] = _NEXT
            return next_message
        return self._get()

    async def _get(self) -> RecvT | None:
        item = await self._pipe.to_orchestrator.get()
        if item is CLOSED:
            return None
        if isinstance(item, Failure):
            raise LinkError(f"stream from {self._describe} failed: {item.reason}")
        return item  # type: ignore[no-any-return]

    async def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._pipe.to_component.put(CLOSED)

    def abort(self) -> None:
        self._closed = True
        self._pipe.to_component.put(CLOSED)
        task = self._task
        if task is not None and not task.done():
            task.cancel()


async def _guarded(run: Coroutine[Any, Any, None], pipe: Pipe, what: str) -> None:
    """Run a component; whatever happens, its stream ends (a failure if it did not close it)."""
    try:
        await run
    except asyncio.CancelledError:
        pipe.to_orchestrator.put(Failure(f"in-process {what} cancelled"))
        raise
    except Exception as error:
        _log.error("in-process %s failed", what, exc_info=error)
        pipe.to_orchestrator.put(Failure(f"in-process {what} failed: {error!r}"))
    else:
        pipe.to_orchestrator.put(CLOSED)  # ignored if it already ended its stream


class InProcessConnector(Connector):
    """Runs the components of ``context`` in-process; other addresses go to ``fallback``."""

    def __init__(self, context: Registered, fallback: Connector) -> None:
        self._context = context
        self._fallback = fallback
        self._tasks: set[asyncio.Task[None]] = set()

    def is_local(self, address: str) -> bool:
        """Whether ``address`` means the components of this Context."""
        if address == _INPROCESS_ADDRESS:
            return True
        port = getattr(self._context, "served_port", 0)
        if not port:
            return False
        host, _, port_text = address.rpartition(":")
        return port_text == str(port) and host in _LOCAL_HOSTS

    def _spawn(
        self,
        run: Callable[[Registered, str, Pipe], Coroutine[Any, Any, None]],
        trial_id: str,
        what: str,
    ) -> InProcessLink[Any, Any]:
        pipe = Pipe()
        task = asyncio.get_running_loop().create_task(
            _guarded(run(self._context, trial_id, pipe), pipe, what),
            name=f"inprocess-{what}-{trial_id}",
        )
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return InProcessLink(pipe, f"in-process {what}", task)

    def _task_done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)

    def open_actor(self, address: str, trial_id: str) -> ActorLink:
        if self.is_local(address):
            return self._spawn(run_service_actor, trial_id, "actor")
        return self._fallback.open_actor(address, trial_id)

    def open_environment(self, address: str, trial_id: str) -> EnvLink:
        if self.is_local(address):
            return self._spawn(run_environment, trial_id, "environment")
        return self._fallback.open_environment(address, trial_id)

    def open_datalog(self, address: str, trial_id: str, user_id: str) -> DatalogLink:
        if address == _INPROCESS_ADDRESS:
            pipe = Pipe()
            pipe.to_orchestrator.put(
                Failure("datalogs are not run in-process: serve it and give its grpc:// endpoint")
            )
            return InProcessLink(pipe, "in-process datalog")
        return self._fallback.open_datalog(address, trial_id, user_id)

    async def call_prehook(
        self,
        address: str,
        trial_id: str,
        user_id: str,
        params: common_pb2.TrialParams,
        timeout: float | None,
    ) -> common_pb2.TrialParams:
        if address == _INPROCESS_ADDRESS:
            raise LinkError(
                "pre-trial hooks are not run in-process: serve it and give its grpc:// endpoint"
            )
        return await self._fallback.call_prehook(address, trial_id, user_id, params, timeout)

    async def close(self) -> None:
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(BaseException):
                await task
        await self._fallback.close()


# ------------------------------------------------------------------------------ controller


class _CallContext:
    """What the lifecycle servicer uses of a gRPC context, for in-process calls."""

    def __init__(self, metadata: Any) -> None:
        self._metadata = tuple(metadata or ())
        self.written: asyncio.Queue[Any] = asyncio.Queue()

    def invocation_metadata(self) -> Any:
        return self._metadata

    async def abort(self, code: grpc.StatusCode, details: str) -> None:
        raise grpc.aio.AioRpcError(code, grpc.aio.Metadata(), grpc.aio.Metadata(), details, None)

    async def write(self, message: Any) -> None:
        self.written.put_nowait(message)


def _as_servicer_context(context: _CallContext) -> Any:
    """The servicer's view: the parts of a gRPC servicer context it uses."""
    return context


def _call(metadata: Any) -> Any:
    return _as_servicer_context(_CallContext(metadata))


class _WatchCall:
    """The result of an in-process ``WatchTrials``: async iteration and ``cancel()``."""

    def __init__(self, run: Callable[[_CallContext], Awaitable[None]], metadata: Any) -> None:
        self._context = _CallContext(metadata)
        self._task: asyncio.Task[None] | None = None
        self._run = run

    def __aiter__(self) -> AsyncIterator[orchestrator_pb2.TrialListEntry]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[orchestrator_pb2.TrialListEntry]:
        context = self._context

        async def serve() -> None:
            try:
                await self._run(context)
            finally:
                context.written.put_nowait(None)

        self._task = asyncio.get_running_loop().create_task(serve())
        while True:
            entry = await context.written.get()
            if entry is None:
                return
            yield entry

    def cancel(self) -> bool:
        if self._task is not None and not self._task.done():
            self._task.cancel()
        return True


class InProcessLifecycleStub:
    """A ``TrialLifecycleSP`` async stub calling the Orchestrator directly (for ``Controller``)."""

    def __init__(self, orchestrator: Orchestrator) -> None:
        from ._orchestrator import _LifecycleServicer

        self._servicer = _LifecycleServicer(orchestrator)

    async def StartTrial(
        self, request: Any, metadata: Any = None, timeout: float | None = None
    ) -> Any:
        return await self._servicer.StartTrial(request, _call(metadata))

    async def TerminateTrial(
        self, request: Any, metadata: Any = None, timeout: float | None = None
    ) -> Any:
        reply = await self._servicer.TerminateTrial(request, _call(metadata))
        # A hard end runs in a task: let it start (TERMINATING) before answering, as the
        # network round trip of the gRPC path does.
        await asyncio.sleep(0)
        return reply

    async def GetTrialInfo(
        self, request: Any, metadata: Any = None, timeout: float | None = None
    ) -> Any:
        return await self._servicer.GetTrialInfo(request, _call(metadata))

    def WatchTrials(self, request: Any, metadata: Any = None, timeout: float | None = None) -> Any:
        servicer = self._servicer
        return _WatchCall(
            lambda context: servicer.WatchTrials(request, _as_servicer_context(context)),
            metadata,
        )

    async def Version(
        self, request: Any, metadata: Any = None, timeout: float | None = None
    ) -> Any:
        return await self._servicer.Version(request, _call(metadata))


# ------------------------------------------------------------------------------ orchestrator


class EmbeddedOrchestrator(Orchestrator):
    """An :class:`Orchestrator` running the components of ``context`` in-process.

    Made by ``context.embedded_orchestrator(**settings)``. Without ``lifecycle_port`` it opens
    no socket: use :meth:`get_controller` and :attr:`components_endpoint`. With a port it also
    serves gRPC (remote controllers and client actors; remote components through their
    ``grpc://`` endpoints work in any case).
    """

    #: The endpoint to give the environment and actors of ``context`` in the trial parameters.
    components_endpoint = INPROCESS_ENDPOINT

    def __init__(
        self, context: Any, config: OrchestratorConfig | None = None, **overrides: Any
    ) -> None:
        if config is None and "serve_grpc" not in overrides:
            overrides["serve_grpc"] = "lifecycle_port" in overrides or "actor_port" in overrides
        super().__init__(config, **overrides)
        self._context = context
        self._join_tasks: set[asyncio.Task[None]] = set()
        self._connector = InProcessConnector(context, self._connector)

    async def start(self) -> None:
        if getattr(self._context, "_inprocess", None) not in (None, self):
            raise CogmentError("this Context already has an embedded Orchestrator running")
        await super().start()
        self._context._inprocess = self

    async def stop(self) -> None:
        if getattr(self._context, "_inprocess", None) is self:
            self._context._inprocess = None
        await super().stop()
        joins = list(self._join_tasks)
        for task in joins:
            task.cancel()
        for task in joins:
            with contextlib.suppress(BaseException):
                await task

    def get_controller(self) -> Controller:
        """A ``cogment.Controller`` calling this Orchestrator directly (no gRPC)."""
        from cogment._controller import Controller

        stub: Any = InProcessLifecycleStub(self)
        return Controller(
            stub,
            self._context.user_id,
            self._context.metadata,
            url="in-process",
        )

    # -- client actors of the Context (cogment._inprocess.InProcessAttachment)

    def accepts(self, url: str) -> bool:
        """Whether ``join_trial`` at ``url`` means this Orchestrator (the default endpoint, or
        this Orchestrator's own actor endpoint when it serves)."""
        from cogment._endpoints import Endpoint

        if url == Endpoint().url:
            return True
        return bool(self.actor_port) and url == self.actor_endpoint

    def attach_client_actor(self, trial_id: str) -> Pipe:
        """Open the in-process stream of a client actor joining ``trial_id``."""
        trial = self.get_trial(trial_id)
        if trial is None:
            raise CogmentError(f"join_trial: unknown trial [{trial_id}] (NOT_FOUND)")
        pipe = Pipe()
        link: InProcessLink[common_pb2.ActorRunTrialInput, common_pb2.ActorRunTrialOutput]
        link = InProcessLink(pipe, f"in-process client actor of trial [{trial_id}]")
        task = asyncio.get_running_loop().create_task(self._join(trial_id, link, pipe))
        self._join_tasks.add(task)
        task.add_done_callback(self._join_tasks.discard)
        return pipe

    async def _join(
        self,
        trial_id: str,
        link: InProcessLink[common_pb2.ActorRunTrialInput, common_pb2.ActorRunTrialOutput],
        pipe: Pipe,
    ) -> None:
        from ._trial import JoinError

        trial = self.get_trial(trial_id)
        assert trial is not None
        while True:
            message = await link.receive()
            if message is None:
                return
            if message.state == common_pb2.HEARTBEAT:
                await link.send(common_pb2.ActorRunTrialInput(state=common_pb2.HEARTBEAT))
                continue
            if message.state == common_pb2.NORMAL and message.WhichOneof("data") == "init_output":
                break
            pipe.to_component.put(Failure("the first message must be a NORMAL init_output"))
            return
        init = message.init_output
        slot = init.WhichOneof("slot_selection")
        try:
            actor = trial.join_client(
                link,
                init.actor_name if slot == "actor_name" else None,
                init.actor_class if slot == "actor_class" else None,
            )
        except JoinError as error:
            pipe.to_component.put(Failure(f"cannot join the trial: {error} (FAILED_PRECONDITION)"))
            return
        await link.send(trial.client_init_message(actor))
