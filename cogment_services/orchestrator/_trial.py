"""One trial: the state machine, connection of the components, ticks, rewards, messages, ending.

The trial talks to its components only through :class:`~._links.ComponentLink` objects opened by
a :class:`~._links.Connector` (transport-independent). Behaviour follows the reference
orchestrator (``orchestrator-spec.md``); where we deliberately differ, it is said here:

- An environment whose stream closes or fails (e.g. its implementation raised) ends the trial at
  once with ``Environment stream failure [...]`` (the reference stays RUNNING forever).
- A malformed ObservationSet (wrong ``actors_map`` size / index) ends the trial with the reason
  (the reference logs and stalls).
- At the end of a soft termination, the actors' ``LAST_ACK`` are awaited concurrently (≤30 s in
  total) rather than sequentially (≤30 s each).
- Every end records a human readable reason in :attr:`Trial.end_reason` (also logged).
"""

from __future__ import annotations

import asyncio
import enum
import logging
import time
from collections.abc import Coroutine, Sequence
from typing import Any, Protocol

from cogment._carried import (
    CarriedAction,
    CarriedActionSet,
    CarriedObservation,
    CarriedObservationSet,
    copy_message,
)
from cogment._timeouts import within
from cogment.api import common_pb2, environment_pb2

from ._datalog import DatalogRecorder, placeholder_action
from ._links import ActorLink, Connector, EnvLink, LinkError
from ._metrics import OrchestratorMetrics
from ._params import ActorSpec, ValidatedParams

__all__ = ["ActorState", "JoinError", "Trial", "TrialHost"]

_log = logging.getLogger("cogment.services.orchestrator")

NORMAL = common_pb2.NORMAL
HEARTBEAT = common_pb2.HEARTBEAT
LAST = common_pb2.LAST
LAST_ACK = common_pb2.LAST_ACK
END = common_pb2.END

INITIALIZING = common_pb2.INITIALIZING
PENDING = common_pb2.PENDING
RUNNING = common_pb2.RUNNING
TERMINATING = common_pb2.TERMINATING
ENDED = common_pb2.ENDED

ENV_LAST_ACK_TIMEOUT = 60.0
ACTORS_LAST_ACK_TIMEOUT = 30.0
END_SEND_TIMEOUT = 5.0
READER_GRACE = 2.0  # after END: time for the peers to close their side before we cancel

_ACTOR_LAST = common_pb2.ActorRunTrialInput(state=LAST)
_ACTOR_HEARTBEAT = common_pb2.ActorRunTrialInput(state=HEARTBEAT)
_ENV_LAST = environment_pb2.EnvRunTrialInput(state=LAST)


class JoinError(Exception):
    """A client actor cannot join (wrong state, unknown name/class, already joined)."""


class ActorState(enum.Enum):
    """Connection state of one actor of a trial."""

    CONNECTING = "connecting"
    ACTIVE = "active"
    DISENGAGED = "disengaged"


# Module constants for the per-tick checks: ``ActorState.ACTIVE`` (an Enum class attribute)
# costs ~70 ns a lookup, a global ~10 ns.
_CONNECTING = ActorState.CONNECTING
_ACTIVE = ActorState.ACTIVE
_DISENGAGED = ActorState.DISENGAGED


class TrialHost(Protocol):
    """What a trial needs from its orchestrator."""

    def trial_state_changed(self, trial: Trial) -> None:
        """Called synchronously on every state change, in order."""
        ...


class _Actor:
    __slots__ = (
        "action",
        "actor_class",
        "address",
        "default_action",
        "index",
        "is_client",
        "join_future",
        "last_ack",
        "link",
        "name",
        "optional",
        "params",
        "reader",
        "response_timeout",
        "rewards",
        "state",
        "timer",
    )

    def __init__(self, spec: ActorSpec, address: str | None) -> None:
        params = spec.params
        self.index = spec.index
        self.params = params
        self.name = params.name
        self.actor_class = params.actor_class
        self.is_client = spec.is_client
        self.address = address
        self.optional = params.optional
        self.response_timeout = float(params.response_timeout)
        self.default_action: bytes | None = (
            params.default_action.content if params.HasField("default_action") else None
        )
        self.link: ActorLink | None = None
        self.state = _CONNECTING
        self.join_future: asyncio.Future[ActorLink] | None = None
        self.rewards: dict[int, list[common_pb2.RewardSource]] = {}
        self.action: common_pb2.Action | CarriedAction | None = None
        self.timer: asyncio.TimerHandle | None = None
        self.last_ack = asyncio.Event()
        self.reader: asyncio.Future[None] | None = None


def _start_reader(
    link: ActorLink | EnvLink, reader: Coroutine[Any, Any, None], name: str
) -> asyncio.Future[None]:
    """Run a reader loop: driven by the link's sends when it can (the in-process link runs it
    in the component's task, no reader task: see ``_inprocess.ReaderDriver``), else in a task.
    The result is done when the reader returned; cancelling it stops the reader.

    So the readers' code (``_read_*``, ``_on_*``, ``_complete_gathering``...) must not enter a
    deadline scope (``within``, ``asyncio.timeout``) around an await: such waits go in tasks of
    their own (as ``_send_end`` does with ``gather``), or the scope would belong to the
    component's task."""
    drive = getattr(link, "drive", None)
    if drive is not None:
        finished: asyncio.Future[None] = drive(reader, name)
        return finished
    return asyncio.get_running_loop().create_task(reader, name=name)


def _fail_join(actor: _Actor, reason: str) -> None:
    future = actor.join_future
    if future is not None and not future.done():
        future.set_exception(LinkError(reason))
        future.exception()  # retrieved: no "never retrieved" warning when nobody waits


def _valid_map(actors_map: Sequence[int], nb_actors: int, nb_obs: int) -> bool:
    """Whether an observation set's ``actors_map`` gives each actor an observation."""
    if len(actors_map) != nb_actors:
        return False
    # min/max: two C calls, where a generator over the entries costs a frame step each.
    return nb_actors == 0 or (min(actors_map) >= 0 and max(actors_map) < nb_obs)


def _aggregate(sources: list[common_pb2.RewardSource]) -> float:
    total = 0.0
    weight = 0.0
    for source in sources:
        if source.confidence > 0:
            total += source.value * source.confidence
            weight += source.confidence
    return total / weight if weight > 0 else 0.0


class Trial:
    """One running trial (create with :meth:`__init__`, then :meth:`start` with its params)."""

    def __init__(
        self,
        trial_id: str,
        user_id: str,
        host: TrialHost,
        connector: Connector,
        metrics: OrchestratorMetrics | None = None,
        env_init_timeout: float = 60.0,
    ) -> None:
        self.id = trial_id
        self.user_id = user_id
        self._host = host
        self._connector = connector
        self._metrics = metrics
        self.state: int = INITIALIZING
        self.created_ns = time.time_ns()
        self.ended_ns: int | None = None
        self.last_activity = time.monotonic()
        self.max_inactivity = 0.0
        self.tick_id = 0
        self.properties: dict[str, str] = {}
        self.env_name = ""
        self.params: common_pb2.TrialParams | None = None
        self._latest_observation: environment_pb2.ObservationSet | CarriedObservationSet | None = (
            None
        )
        #: Why the trial ended (set when it does).
        self.end_reason: str | None = None
        self.ended = asyncio.Event()
        self._actors: list[_Actor] = []
        self._by_name: dict[str, _Actor] = {}
        self._route_cache: dict[str, tuple[_Actor, ...]] = {}
        self._timed_actors: tuple[_Actor, ...] = ()  # actors with a response_timeout
        self._checked_map: list[int] | None = None  # the last valid actors_map, and for
        self._checked_nb_obs = -1  # that many observations
        self._env_address = ""
        self._env_impl = ""
        self._env_link: EnvLink | None = None
        self._env_last_ack = asyncio.Event()
        self._env_reader: asyncio.Future[None] | None = None
        self._env_init_timeout = env_init_timeout
        self._env_init_error = ""
        self._datalog: DatalogRecorder | None = None
        self._run_task: asyncio.Task[None] | None = None
        self._started = False  # first observation set received
        self._gathering = False
        self._pending: set[int] = set()
        self._soft_reason = "Ended"
        self._end_requested = False  # soft end asked (TerminateTrial / max_steps)
        self._final_requested = False  # LAST sent to the env, or received from it
        self._final_done = False  # final observation dispatched
        self._ending = False  # END being sent
        self._max_steps = 0
        self._first_tick_time = 0.0
        self._last_tick_time = 0.0
        self._tasks: set[asyncio.Task[None]] = set()
        host.trial_state_changed(self)

    # ---------------------------------------------------------------------------- inspection

    @property
    def latest_observation(self) -> environment_pb2.ObservationSet | None:
        """The last observation set received from the environment (wire message)."""
        obs = self._latest_observation
        if isinstance(obs, CarriedObservationSet):
            return obs.to_proto()
        return obs

    @property
    def actors(self) -> list[common_pb2.TrialActor]:
        """The actors in index order (``TrialActor`` name and class)."""
        return [common_pb2.TrialActor(name=a.name, actor_class=a.actor_class) for a in self._actors]

    def actor_state(self, name: str) -> ActorState:
        """Connection state of the actor ``name``."""
        return self._by_name[name].state

    @property
    def closed(self) -> bool:
        """True once the trial ended and released its streams (its task finished)."""
        return self.state == ENDED and (self._run_task is None or self._run_task.done())

    def duration_ns(self) -> int:
        """Trial duration so far (or until it ended), in nanoseconds."""
        end = self.ended_ns if self.ended_ns is not None else time.time_ns()
        return max(0, end - self.created_ns)

    def tick_totals(self) -> tuple[int, int, float]:
        """Ticks so far, intervals between two ticks, and their total duration (seconds), for
        the tick metrics (``_metrics.TickCounts``)."""
        if not self._started:
            return 0, 0, 0.0
        return self.tick_id + 1, self.tick_id, self._last_tick_time - self._first_tick_time

    def is_stale(self, now: float) -> bool:
        """True when ``max_inactivity`` is set and exceeded (and the trial is not ended)."""
        return (
            self.state != ENDED
            and self.max_inactivity > 0
            and now - self.last_activity > self.max_inactivity
        )

    # ------------------------------------------------------------------------------- helpers

    def _set_state(self, state: int) -> None:
        if state == self.state:
            return
        self.state = state
        self._host.trial_state_changed(self)

    def _spawn(self, coro: object, name: str) -> asyncio.Task[None]:
        task: asyncio.Task[None] = asyncio.ensure_future(coro)  # type: ignore[call-overload]
        task.set_name(name)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            _log.error(
                "Trial [%s]: internal task [%s] failed",
                self.id,
                task.get_name(),
                exc_info=task.exception(),
            )

    # -------------------------------------------------------------------------------- start

    def fail(self, reason: str) -> None:
        """End a trial that could not start (bad params, hook failure...)."""
        self.end_reason = reason
        _log.warning("Trial [%s] could not start: %s", self.id, reason)
        self._mark_ended()

    def start(
        self,
        validated: ValidatedParams,
        env_address: str,
        actor_addresses: list[str | None],
        datalog_address: str | None,
    ) -> None:
        """Open the datalog, go PENDING and start connecting the components (background)."""
        params = validated.params
        self.params = params
        self.env_name = validated.env_name
        self.properties = dict(params.properties)
        self.max_inactivity = float(params.max_inactivity)
        self._max_steps = int(params.max_steps)
        self._env_address = env_address
        self._env_impl = params.environment.implementation
        for spec, address in zip(validated.actors, actor_addresses, strict=False):
            actor = _Actor(spec, address)
            if actor.is_client:
                actor.join_future = asyncio.get_running_loop().create_future()
            self._actors.append(actor)
            self._by_name[actor.name] = actor
        # Only they need a timer per tick (most trials have none: no loop over the actors).
        self._timed_actors = tuple(a for a in self._actors if a.response_timeout > 0)
        if datalog_address is not None:
            link = self._connector.open_datalog(datalog_address, self.id, self.user_id)
            self._datalog = DatalogRecorder(
                link,
                self.id,
                len(self._actors),
                validated.nb_buffered_ticks,
                list(params.datalog.exclude_fields),
            )
            self._datalog.start(params)
        self.last_activity = time.monotonic()
        self._set_state(PENDING)
        self._run_task = asyncio.create_task(self._run(), name=f"trial-{self.id}")

    async def _run(self) -> None:
        try:
            if not await self._connect_actors():
                await self._hard_end("Failed to initialize all actors")
            elif not await self._connect_environment() and self.state != ENDED:
                await self._hard_end("Failed to initialize environment")
                self.end_reason = f"Failed to initialize environment [{self._env_init_error}]"
            await self.ended.wait()
        except asyncio.CancelledError:
            if self.state != ENDED:
                await asyncio.shield(self._hard_end("Orchestrator shutting down"))
            raise
        except Exception as error:
            _log.exception("Trial [%s]: internal error", self.id)
            await self._hard_end(f"Internal orchestrator error [{error!r}]")
        finally:
            await self._cleanup()

    async def _cleanup(self) -> None:
        readers = [a.reader for a in self._actors if a.reader is not None]
        if self._env_reader is not None:
            readers.append(self._env_reader)
        current = asyncio.current_task()
        readers = [r for r in readers if r is not current and not r.done()]
        if readers:
            _done, pending = await asyncio.wait(readers, timeout=READER_GRACE)
            for task in pending:
                task.cancel()
        for actor in self._actors:
            if actor.link is not None:
                actor.link.abort()
        if self._env_link is not None:
            self._env_link.abort()
        if self._datalog is not None:
            await self._datalog.wait_closed()

    # ----------------------------------------------------------------------------- connect

    def _actor_init(self, actor: _Actor) -> common_pb2.ActorRunTrialInput:
        message = common_pb2.ActorRunTrialInput(state=NORMAL)
        init = message.init_input
        init.actor_name = actor.name
        init.actor_class = actor.actor_class
        init.impl_name = actor.params.implementation
        init.env_name = self.env_name
        if actor.params.HasField("config"):
            init.config.CopyFrom(actor.params.config)
        return message

    async def _init_service_actor(self, actor: _Actor) -> None:
        assert actor.address is not None
        link = self._connector.open_actor(actor.address, self.id)
        actor.link = link
        await link.send(self._actor_init(actor))
        while True:
            message = await link.receive()
            if message is None:
                raise LinkError("stream closed before init")
            if message.state == HEARTBEAT:
                await link.send(_ACTOR_HEARTBEAT)
                continue
            if message.state == NORMAL and message.WhichOneof("data") == "init_output":
                return
            raise LinkError(
                f"unexpected message before init [{common_pb2.CommunicationState.Name(message.state)}]"
            )

    async def _connect_actor(self, actor: _Actor) -> bool:
        timeout = actor.params.initial_connection_timeout
        try:
            if actor.is_client:
                assert actor.join_future is not None
                await within(asyncio.shield(actor.join_future), timeout or None)
            else:
                await within(self._init_service_actor(actor), timeout or None)
        except (asyncio.TimeoutError, LinkError) as error:
            what = (
                f"did not connect within {timeout}s"
                if isinstance(error, asyncio.TimeoutError)
                else str(error)
            )
            level = logging.INFO if actor.optional else logging.WARNING
            _log.log(
                level, "Trial [%s]: actor [%s] failed to initialize: %s", self.id, actor.name, what
            )
            self._disengage(actor, what)
            return actor.optional
        if self.state == ENDED:
            return False
        actor.state = _ACTIVE
        assert actor.link is not None
        actor.reader = _start_reader(actor.link, self._read_actor(actor), f"actor-{actor.name}")
        return True

    async def _connect_actors(self) -> bool:
        results = await asyncio.gather(*(self._connect_actor(a) for a in self._actors))
        return all(results) and self.state != ENDED

    async def _connect_environment(self) -> bool:
        link = self._connector.open_environment(self._env_address, self.id)
        self._env_link = link
        message = environment_pb2.EnvRunTrialInput(state=NORMAL)
        init = message.init_input
        init.name = self.env_name
        init.impl_name = self._env_impl
        init.tick_id = 0
        init.actors_in_trial.extend(self.actors)
        assert self.params is not None
        if self.params.environment.HasField("config"):
            init.config.CopyFrom(self.params.environment.config)
        timeout = self._env_init_timeout
        try:
            await link.send(message)
            await within(self._await_env_init(link), timeout or None)
        except (LinkError, asyncio.TimeoutError) as error:
            what = (
                f"no init reply within {timeout}s"
                if isinstance(error, asyncio.TimeoutError)
                else str(error)
            )
            _log.warning("Trial [%s]: environment failed to initialize: %s", self.id, what)
            self._env_init_error = what
            link.abort()
            return False
        if self.state == ENDED:
            return True
        self._env_reader = _start_reader(link, self._read_env(), f"env-{self.id}")
        return True

    @staticmethod
    async def _await_env_init(link: EnvLink) -> None:
        while True:
            reply = await link.receive()
            if reply is None:
                raise LinkError("stream closed before init")
            if reply.state == HEARTBEAT:
                await link.send(environment_pb2.EnvRunTrialInput(state=HEARTBEAT))
                continue
            if reply.state == NORMAL and reply.WhichOneof("data") == "init_output":
                return
            raise LinkError(
                "unexpected message before init "
                f"[{common_pb2.CommunicationState.Name(reply.state)}]"
            )

    def join_client(
        self, link: ActorLink, actor_name: str | None, actor_class: str | None
    ) -> _Actor:
        """Attach a client actor stream (``ClientActorSP/RunTrial``) by name or by class."""
        wanted = actor_name if actor_name else f"class [{actor_class}]"
        if self.state != PENDING:
            raise JoinError(f"Wrong trial state for actor to join [{wanted}]")
        chosen: _Actor | None = None
        if actor_name:
            actor = self._by_name.get(actor_name)
            if actor is None:
                raise JoinError(f"Unknown actor name [{actor_name}] in trial [{self.id}]")
            if not actor.is_client:
                raise JoinError(f"Actor [{actor_name}] is not a client actor")
            if actor.join_future is None or actor.join_future.done():
                raise JoinError(f"Actor [{actor_name}] already joined or disengaged")
            chosen = actor
        else:
            for actor in self._actors:
                if (
                    actor.is_client
                    and actor.actor_class == actor_class
                    and actor.join_future is not None
                    and not actor.join_future.done()
                ):
                    chosen = actor
                    break
            if chosen is None:
                raise JoinError(f"No free client actor slot of class [{actor_class}]")
        chosen.link = link
        assert chosen.join_future is not None
        chosen.join_future.set_result(link)
        return chosen

    def client_init_message(self, actor: _Actor) -> common_pb2.ActorRunTrialInput:
        """The ``init_input`` to send to a client actor that just joined."""
        return self._actor_init(actor)

    # ------------------------------------------------------------------------------ readers

    async def _read_actor(self, actor: _Actor) -> None:
        link = actor.link
        assert link is not None
        reason = "stream ended"
        try:
            while True:
                # An in-process actor's action comes as itself (cogment._carried): hot path.
                message: common_pb2.ActorRunTrialOutput | CarriedAction | None
                message = await link.receive()
                if isinstance(message, CarriedAction):
                    if self._take_action(actor, message):
                        await self._complete_gathering()
                    continue
                if message is None:
                    break
                state = message.state
                if state == NORMAL:
                    kind = message.WhichOneof("data")
                    if kind == "action":
                        if self._take_action(actor, message.action):
                            await self._complete_gathering()
                    elif kind == "reward":
                        self._on_reward(actor.name, message.reward)
                    elif kind == "message":
                        await self._on_message(actor.name, message.message)
                    else:
                        reason = f"unexpected data [{kind}]"
                        break
                elif state == LAST_ACK:
                    actor.last_ack.set()
                elif state == HEARTBEAT:
                    continue
                elif state == END:
                    reason = "actor sent END"
                    break
                else:
                    reason = f"unexpected state [{common_pb2.CommunicationState.Name(state)}]"
                    break
        except LinkError as error:
            reason = str(error)
        if self.state != ENDED and not self._ending:
            self._disengage(actor, reason)

    async def _read_env(self) -> None:
        link = self._env_link
        assert link is not None
        reason = "stream ended"
        try:
            while True:
                # An in-process environment's observations come as themselves: hot path.
                message: environment_pb2.EnvRunTrialOutput | CarriedObservationSet | None
                message = await link.receive()
                if isinstance(message, CarriedObservationSet):
                    await self._on_observation_set(message)
                    continue
                if message is None:
                    break
                state = message.state
                if state == NORMAL:
                    kind = message.WhichOneof("data")
                    if kind == "observation_set":
                        await self._on_observation_set(message.observation_set)
                    elif kind == "reward":
                        self._on_reward(self.env_name, message.reward)
                    elif kind == "message":
                        await self._on_message(self.env_name, message.message)
                    else:
                        _log.warning(
                            "Trial [%s]: environment sent unexpected data [%s], ignored",
                            self.id,
                            kind,
                        )
                elif state == LAST:
                    if not self._final_requested:
                        self._final_requested = True
                        if self._datalog is not None:
                            self._datalog.add_special_event("Environment ended trial")
                        self._soft_reason = "Environment ended trial"
                elif state == LAST_ACK:
                    self._env_last_ack.set()
                elif state == HEARTBEAT:
                    continue
                else:
                    reason = f"environment sent [{common_pb2.CommunicationState.Name(state)}]"
                    break
        except LinkError as error:
            reason = str(error)
        if self.state != ENDED and not self._ending:
            await self._hard_end(f"Environment stream failure [{reason}]")

    # -------------------------------------------------------------------------------- ticks

    async def _on_observation_set(
        self, obs: environment_pb2.ObservationSet | CarriedObservationSet
    ) -> None:
        if self._final_done or self._ending:
            return
        actors = self._actors
        # In-process environments send their observations as objects (cogment._carried).
        objects = obs.objects if type(obs) is CarriedObservationSet else None
        nb_obs = len(obs.observations) if objects is None else len(objects)
        # Environments send the same map tick after tick: checked again only when it changes.
        if obs.actors_map != self._checked_map or nb_obs != self._checked_nb_obs:
            if not _valid_map(obs.actors_map, len(actors), nb_obs):
                await self._hard_end(
                    "Environment sent a malformed observation set "
                    f"[{len(obs.actors_map)} entries in actors_map for {len(actors)} actors, "
                    f"{nb_obs} observations]"
                )
                return
            self._checked_map = list(obs.actors_map)  # a copy: the sender may reuse its list
            self._checked_nb_obs = nb_obs
        now = time.monotonic()
        self.last_activity = now
        final = self._final_requested
        if self._started:
            self.tick_id += 1
        else:
            self._started = True
            self.tick_id = 0
            self._first_tick_time = now
            if self._metrics is not None:  # read at each scrape (no metric update per tick)
                self._metrics.ticks.started(self)
            self._set_state(RUNNING)
        self._last_tick_time = now
        tick = self.tick_id
        self._latest_observation = obs
        if final:
            self._final_done = True
            self._set_state(TERMINATING)
        if self._datalog is not None:
            logged = obs.to_proto() if isinstance(obs, CarriedObservationSet) else obs
            self._datalog.new_sample(tick, logged, self.state)
        # Gathering state is set before the fan-out: actions may arrive while we still send.
        if self._gathering:
            # A new observation set supersedes an unfinished gathering (and a final one ends it).
            self._stop_gathering_timers()
            self._gathering = False
        if not final:
            self._gathering = True
            pending = self._pending
            pending.clear()
            for actor in actors:
                actor.action = None
                if actor.state is _ACTIVE:
                    pending.add(actor.index)
        observation_map = obs.actors_map
        contents = obs.observations if objects is None else None  # serialized on demand
        timestamp = obs.timestamp
        for actor in actors:
            if actor.state is not _ACTIVE:
                continue
            link = actor.link
            assert link is not None
            try:
                if actor.rewards:
                    await self._send_rewards(actor, link)
                if final:
                    await link.send(_ACTOR_LAST)
                if objects is not None and link.carries_objects:
                    # Each actor gets its own copy (see cogment._carried for the rule).
                    carried: Any = CarriedObservation(  # stands for an ActorRunTrialInput
                        tick, timestamp, copy_message(objects[observation_map[actor.index]])
                    )
                    if link.posts:  # no coroutine per message (see ComponentLink.posts)
                        link.post(carried)
                    else:
                        await link.send(carried)
                    continue
                if contents is None:
                    contents = obs.observations
                message = common_pb2.ActorRunTrialInput(state=NORMAL)
                observation = message.observation
                observation.tick_id = tick
                observation.timestamp = timestamp
                observation.content = contents[observation_map[actor.index]]
                if link.posts:
                    link.post(message)
                else:
                    await link.send(message)
            except LinkError as error:
                self._disengage(actor, str(error))
        if final:
            self._spawn(self._finish_soft(), f"finish-{self.id}")
            return
        if self._datalog is not None:
            self._datalog.send_ready()
        if not self._gathering:
            return
        if self._timed_actors:
            self._start_response_timers(tick)
        if not self._pending:
            await self._complete_gathering()

    def _start_response_timers(self, tick: int) -> None:
        loop = asyncio.get_running_loop()
        pending = self._pending
        for actor in self._timed_actors:
            if actor.index in pending:
                actor.timer = loop.call_later(
                    actor.response_timeout, self._on_response_timeout, actor, tick
                )

    async def _send_rewards(self, actor: _Actor, link: ActorLink) -> None:
        # Only the ticks before the one being dispatched: a reward that arrives during this
        # fan-out (from an actor already served) belongs to the new tick, sent next time.
        rewards = actor.rewards
        current = self.tick_id
        ready = sorted(t for t in rewards if t < current)
        if not ready:
            return
        for tick in ready:
            sources = rewards.pop(tick)
            message = common_pb2.ActorRunTrialInput(state=NORMAL)
            reward = message.reward
            reward.tick_id = tick
            reward.receiver_name = actor.name
            reward.value = _aggregate(sources)
            reward.sources.extend(sources)
            await link.send(message)

    def _stop_gathering_timers(self) -> None:
        for actor in self._timed_actors:  # the others never have a timer
            if actor.timer is not None:
                actor.timer.cancel()
                actor.timer = None

    def _on_response_timeout(self, actor: _Actor, tick: int) -> None:
        actor.timer = None
        if not self._gathering or tick != self.tick_id or actor.index not in self._pending:
            return
        _log.debug("Trial [%s]: actor [%s] missed tick [%d]", self.id, actor.name, tick)
        self._pending.discard(actor.index)
        if not self._pending:
            self._spawn(self._complete_gathering(), f"gather-{self.id}")

    def _take_action(self, actor: _Actor, action: common_pb2.Action | CarriedAction) -> bool:
        """Record ``actor``'s action; True when it completes the gathering (then the caller
        awaits :meth:`_complete_gathering`: synchronous here, no coroutine per action)."""
        if not self._gathering or actor.index not in self._pending:
            return False
        if action.tick_id != -1 and action.tick_id != self.tick_id:
            _log.debug(
                "Trial [%s]: actor [%s] action for tick [%d] ignored at tick [%d]",
                self.id,
                actor.name,
                action.tick_id,
                self.tick_id,
            )
            return False
        actor.action = action
        self.last_activity = time.monotonic()
        if actor.timer is not None:
            actor.timer.cancel()
            actor.timer = None
        pending = self._pending
        pending.discard(actor.index)
        return not pending

    async def _complete_gathering(self) -> None:
        if not self._gathering or self.state == ENDED or self._ending:
            return
        self._gathering = False
        tick = self.tick_id
        link = self._env_link
        # An in-process environment takes objects (cogment._carried); others take bytes.
        carry = link is not None and link.carries_objects
        actions: list[Any] = []  # objects for an in-process environment, else bytes
        unavailable: list[int] = []
        defaults: list[int] = []
        missing_required: list[str] = []
        datalog = self._datalog
        sample = datalog.current if datalog is not None else None
        if self._timed_actors:
            self._stop_gathering_timers()
        for actor in self._actors:
            action = actor.action
            if action is not None:
                if isinstance(action, CarriedAction):
                    actions.append(action.carried if carry else action.content)
                    if sample is not None:
                        sample.actions.append(action.to_proto())
                    continue
                actions.append(action.content)
                if sample is not None:
                    sample.actions.append(action)
                continue
            if sample is not None:
                sample.actions.append(placeholder_action())
            if not actor.optional:
                missing_required.append(actor.name)
                actions.append(b"")
            elif actor.default_action is not None:
                actions.append(actor.default_action)
                defaults.append(actor.index)
            else:
                actions.append(b"")
                unavailable.append(actor.index)
        if sample is not None:
            sample.default_actors.extend(defaults)
            sample.unavailable_actors.extend(unavailable)
        if missing_required:
            await self._hard_end(
                "Action processing requirement failure [Required actors "
                f"[{', '.join(missing_required)}] unavailable at tick [{tick}]]"
            )
            return
        if link is None:  # pragma: no cover - gathering only starts once the env is connected
            return
        try:
            if not self._final_requested and (
                self._end_requested or (self._max_steps > 0 and tick >= self._max_steps)
            ):
                self._final_requested = True
                event = (
                    "End requested" if self._end_requested else "Maximum number of steps reached"
                )
                self._soft_reason = event
                if datalog is not None:
                    datalog.add_special_event(event)
                self._set_state(TERMINATING)
                await link.send(_ENV_LAST)
            if carry:
                carried: Any = CarriedActionSet(tick, time.time_ns(), actions, unavailable)
                # Stands for an EnvRunTrialInput (cogment._carried).
                if link.posts:
                    link.post(carried)
                else:
                    await link.send(carried)
                return
            message = environment_pb2.EnvRunTrialInput(state=NORMAL)
            action_set = message.action_set
            action_set.tick_id = tick
            action_set.timestamp = time.time_ns()
            action_set.actions.extend(actions)  # all bytes here
            if unavailable:
                action_set.unavailable_actors.extend(unavailable)
            if link.posts:  # no coroutine per message (see ComponentLink.posts)
                link.post(message)
            else:
                await link.send(message)
        except LinkError as error:
            await self._hard_end(
                f"Action processing requirement failure [Environment stream failure: {error}]"
            )

    # ---------------------------------------------------------------------- rewards/messages

    def _route(self, receiver: str) -> tuple[_Actor, ...]:
        cached = self._route_cache.get(receiver)
        if cached is not None:
            return cached
        actor = self._by_name.get(receiver)
        result: tuple[_Actor, ...]
        if actor is not None:
            result = (actor,)
        elif receiver == "*":
            result = tuple(self._actors)
        elif "." in receiver:
            actor_class, _, name = receiver.partition(".")
            if name == "*":
                result = tuple(a for a in self._actors if a.actor_class == actor_class)
            else:
                candidate = self._by_name.get(name)
                result = (
                    (candidate,)
                    if candidate is not None and candidate.actor_class == actor_class
                    else ()
                )
        else:
            result = ()
        self._route_cache[receiver] = result
        return result

    def _on_reward(self, sender: str, reward: common_pb2.Reward) -> None:
        if self.state == ENDED:
            return
        tick = reward.tick_id
        current = self.tick_id
        if len(reward.sources) == 0:
            reward.sources.add(value=reward.value, confidence=1.0)
        for source in reward.sources:
            source.sender_name = sender
        if self._datalog is not None:
            self._datalog.add_reward(reward, tick, current)
        if tick == -1 or tick == current:
            tick = current
        elif 0 <= tick < current:
            _log.debug(
                "Trial [%s]: reward from [%s] for past tick [%d] only logged", self.id, sender, tick
            )
            return
        else:
            _log.warning(
                "Trial [%s]: reward from [%s] for invalid tick [%d] (current [%d]) dropped",
                self.id,
                sender,
                tick,
                current,
            )
            return
        receivers = self._route(reward.receiver_name)
        if not receivers:
            _log.warning(
                "Trial [%s]: reward from [%s] to unknown receiver [%s] dropped",
                self.id,
                sender,
                reward.receiver_name,
            )
            return
        for actor in receivers:
            if actor.state is _DISENGAGED:
                continue
            bucket = actor.rewards.get(tick)
            if bucket is None:
                actor.rewards[tick] = list(reward.sources)
            else:
                bucket.extend(reward.sources)

    async def _on_message(self, sender: str, message: common_pb2.Message) -> None:
        if self.state == ENDED or self._ending:
            return
        current = self.tick_id
        if message.tick_id != -1 and message.tick_id != current:
            _log.warning(
                "Trial [%s]: message from [%s] for tick [%d] (current [%d]) dropped",
                self.id,
                sender,
                message.tick_id,
                current,
            )
            return
        message.sender_name = sender
        if self._datalog is not None:
            self._datalog.add_message(message)
        receiver = message.receiver_name
        if receiver == self.env_name:
            link = self._env_link
            if link is None:
                _log.warning("Trial [%s]: message to the environment before it connected", self.id)
                return
            out = environment_pb2.EnvRunTrialInput(state=NORMAL)
            copy = out.message
            copy.tick_id = current
            copy.sender_name = sender
            copy.receiver_name = receiver
            copy.payload.CopyFrom(message.payload)
            try:
                await link.send(out)
            except LinkError as error:
                _log.warning("Trial [%s]: message to the environment failed: %s", self.id, error)
            return
        receivers = self._route(receiver)
        if not receivers:
            _log.warning(
                "Trial [%s]: message from [%s] to unknown receiver [%s] dropped",
                self.id,
                sender,
                receiver,
            )
            return
        for actor in receivers:
            if actor.state is not _ACTIVE or actor.link is None:
                continue
            out_actor = common_pb2.ActorRunTrialInput(state=NORMAL)
            copy = out_actor.message
            copy.tick_id = current
            copy.sender_name = sender
            copy.receiver_name = actor.name
            copy.payload.CopyFrom(message.payload)
            try:
                await actor.link.send(out_actor)
            except LinkError as error:
                self._disengage(actor, str(error))

    # ------------------------------------------------------------------------------- ending

    def _disengage(self, actor: _Actor, reason: str) -> None:
        if actor.state is _DISENGAGED:
            return
        was_active = actor.state is _ACTIVE
        actor.state = _DISENGAGED
        actor.rewards = {}
        if actor.timer is not None:
            actor.timer.cancel()
            actor.timer = None
        _fail_join(actor, reason)
        if actor.link is not None:
            actor.link.abort()
        if was_active:
            level = logging.INFO if actor.optional else logging.WARNING
            _log.log(level, "Trial [%s]: actor [%s] disengaged: %s", self.id, actor.name, reason)
        if self._gathering and actor.index in self._pending:
            self._pending.discard(actor.index)
            if not self._pending:
                self._spawn(self._complete_gathering(), f"gather-{self.id}")

    def request_end(self) -> None:
        """Soft end: takes effect at the next complete action gathering."""
        if self.state == ENDED:
            return
        self._end_requested = True

    def terminate(self, details: str = "Externally requested") -> asyncio.Task[None] | None:
        """Hard end now, in a task of its own (None: already ended or ending).

        Awaiting the task (e.g. with :func:`asyncio.wait`, which does not cancel it) waits
        until the trial is ENDED: END sent to every component, with a bounded wait.
        """
        if self.state == ENDED or self._ending:
            return None
        return self._spawn(self._hard_end(details), f"terminate-{self.id}")

    async def _finish_soft(self) -> None:
        details = ""
        try:
            await within(self._env_last_ack.wait(), ENV_LAST_ACK_TIMEOUT)
        except asyncio.TimeoutError:
            details = "Environment failed to end properly"
        if not details:
            waits = [
                asyncio.ensure_future(a.last_ack.wait())
                for a in self._actors
                if a.state is _ACTIVE and not a.last_ack.is_set()
            ]
            if waits:
                _done, pending = await asyncio.wait(waits, timeout=ACTORS_LAST_ACK_TIMEOUT)
                for task in pending:
                    task.cancel()
                if pending:
                    _log.warning("Trial [%s]: some actors did not acknowledge the end", self.id)
        if self.state == ENDED or self._ending:
            return
        self.end_reason = details if details else self._soft_reason
        await self._send_end(details)
        self._mark_ended()

    async def _hard_end(self, details: str) -> None:
        if self.state == ENDED or self._ending:
            return
        self.end_reason = details
        _log.info("Trial [%s] hard end: %s", self.id, details)
        if self._datalog is not None:
            self._datalog.add_special_event(f"Forced termination: {details}")
        self._gathering = False
        self._stop_gathering_timers()
        if self.state == RUNNING:
            self._set_state(TERMINATING)
        for actor in self._actors:
            _fail_join(actor, f"trial ended: {details}")
        await self._send_end(details)
        self._mark_ended()

    async def _send_end(self, details: str) -> None:
        self._ending = True
        sends = []
        if self._env_link is not None:
            message = environment_pb2.EnvRunTrialInput(state=END)
            if details:
                message.details = details
            sends.append(self._end_one(self._env_link, message))
        for actor in self._actors:
            if actor.state is _CONNECTING:
                # Still initialising: stop waiting for it.
                _fail_join(actor, "trial ended")
                if actor.link is not None:
                    actor.link.abort()
                continue
            if actor.link is not None and actor.state is _ACTIVE:
                actor_message = common_pb2.ActorRunTrialInput(state=END)
                if details:
                    actor_message.details = details
                sends.append(self._end_one(actor.link, actor_message))
        if sends:
            await asyncio.gather(*sends)

    @staticmethod
    async def _end_one(link: ActorLink | EnvLink, message: object) -> None:
        try:
            await within(link.send(message), END_SEND_TIMEOUT)  # type: ignore[arg-type]
            await within(link.close(), END_SEND_TIMEOUT)
        except (LinkError, asyncio.TimeoutError):
            link.abort()

    def _mark_ended(self) -> None:
        if self.state == ENDED:
            return
        self._ending = True
        self.ended_ns = time.time_ns()
        self._stop_gathering_timers()
        if self._datalog is not None:
            self._datalog.finish(ENDED)
        if self._metrics is not None:
            self._metrics.ticks.finished(self)
        self._set_state(ENDED)
        self.ended.set()
        if self._run_task is None:
            self._spawn(self._cleanup(), f"cleanup-{self.id}")
        _log.info("Trial [%s] ended: %s", self.id, self.end_reason)

    async def shutdown(self, timeout: float = 5.0) -> None:
        """Hard end (orchestrator shutting down) and wait for the trial task (bounded)."""
        if self.state != ENDED:
            await self._hard_end("Orchestrator shutting down")
        tasks: list[asyncio.Task[None]] = list(self._tasks)
        if self._run_task is not None:
            tasks.append(self._run_task)
        if tasks:
            _done, pending = await asyncio.wait(tasks, timeout=timeout)
            for task in pending:
                task.cancel()
