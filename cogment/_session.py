"""Sessions base class, received-event classes and enums shared by environments and actors."""

from __future__ import annotations

import enum
import time
from collections.abc import AsyncGenerator, Iterable, Iterator, Sequence
from typing import Any, ClassVar, Generic, TypeVar

from google.protobuf import any_pb2
from google.protobuf.message import Message

from cogment._channel import Channel
from cogment._errors import CogmentError
from cogment._log import deprecated, logger
from cogment.api import common_pb2

__all__ = [
    "ActT",
    "ActorInfo",
    "ActorStatus",
    "ConfigT",
    "EventType",
    "ObsT",
    "RecvAction",
    "RecvEvent",
    "RecvMessage",
    "RecvObservation",
    "RecvReward",
    "RecvRewardSource",
    "Session",
]

ObsT = TypeVar("ObsT", bound=Message)
"""Observation space type (a protobuf message class, or a union of them)."""
ActT = TypeVar("ActT", bound=Message)
"""Action space type (a protobuf message class, or a union of them)."""
ConfigT = TypeVar("ConfigT")
"""Config type: a protobuf message class, or ``None`` when the spec declares no config."""

_NORMAL = common_pb2.NORMAL
_HEARTBEAT = common_pb2.HEARTBEAT
_LAST = common_pb2.LAST
_LAST_ACK = common_pb2.LAST_ACK
_END = common_pb2.END


class EventType(enum.Enum):
    """Type of a received event."""

    NONE = 0
    """Empty event; never delivered."""
    ACTIVE = 1
    """Normal event of a running trial."""
    ENDING = 2
    """Event of a trial that is ending (after the orchestrator or environment asked to end)."""
    FINAL = 3
    """Last event of the trial; carries no data. The event loop exits after it."""


class ActorStatus(enum.Enum):
    """Status of an actor as seen in a received action."""

    UNKNOWN = 0
    ACTIVE = 1
    UNAVAILABLE = 2
    DEFAULT = 3


class ActorInfo:
    """Name and class of an actor of a trial."""

    __slots__ = ("actor_class_name", "actor_name")

    def __init__(self, name: str, class_name: str) -> None:
        self.actor_name = name
        self.actor_class_name = class_name

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ActorInfo):
            return NotImplemented
        return (self.actor_name, self.actor_class_name) == (
            other.actor_name,
            other.actor_class_name,
        )

    def __hash__(self) -> int:
        return hash((self.actor_name, self.actor_class_name))

    def __repr__(self) -> str:
        return (
            f"ActorInfo(actor_name={self.actor_name!r}, actor_class_name={self.actor_class_name!r})"
        )

    __str__ = __repr__


class RecvObservation(Generic[ObsT]):
    """An observation received by an actor."""

    __slots__ = ("observation", "tick_id", "timestamp")

    tick_id: int
    """Tick (time step) of the observation."""
    timestamp: int
    """Unix time of the observation, in nanoseconds."""
    observation: ObsT
    """The observation (a message of the actor class's observation space)."""

    def __init__(self, tick_id: int, timestamp: int, observation: ObsT) -> None:
        self.tick_id = tick_id
        self.timestamp = timestamp
        self.observation = observation

    @property
    def snapshot(self) -> ObsT:
        """Deprecated alias of ``observation``."""
        deprecated("`RecvObservation.snapshot` is deprecated; use `observation`")
        return self.observation

    def __repr__(self) -> str:
        return f"RecvObservation(tick_id={self.tick_id}, timestamp={self.timestamp})"


class RecvAction(Generic[ActT]):
    """An action received by the environment (or found in a datalog sample)."""

    __slots__ = ("action", "actor_index", "status", "tick_id", "timestamp")

    actor_index: int
    """Index of the actor in the trial (order of ``get_active_actors()``)."""
    tick_id: int
    """Tick (time step) of the action."""
    status: ActorStatus
    """Status of the actor (ACTIVE, UNAVAILABLE, DEFAULT)."""
    timestamp: int
    """Unix time of the action, in nanoseconds (0 when the actor is not active)."""
    action: ActT | None
    """The action (None when the actor is not active)."""

    def __init__(
        self,
        actor_index: int,
        tick_id: int,
        status: ActorStatus,
        timestamp: int,
        action: ActT | None,
    ) -> None:
        self.actor_index = actor_index
        self.tick_id = tick_id
        self.status = status
        self.timestamp = timestamp
        self.action = action

    def __repr__(self) -> str:
        return (
            f"RecvAction(actor_index={self.actor_index}, tick_id={self.tick_id}, "
            f"status={self.status}, timestamp={self.timestamp})"
        )


class RecvRewardSource:
    """One source (sender) of a received reward."""

    __slots__ = ("confidence", "sender_name", "user_data", "value")

    def __init__(
        self, value: float, confidence: float, sender_name: str, user_data: any_pb2.Any | None
    ) -> None:
        self.value = value
        self.confidence = confidence
        self.sender_name = sender_name
        self.user_data = user_data

    @classmethod
    def _from_wire(cls, src: common_pb2.RewardSource) -> RecvRewardSource:
        return cls(
            src.value,
            src.confidence,
            src.sender_name,
            src.user_data if src.HasField("user_data") else None,
        )

    def __repr__(self) -> str:
        return (
            f"RecvRewardSource(value={self.value}, confidence={self.confidence}, "
            f"sender_name={self.sender_name!r})"
        )


class RecvReward:
    """A reward received by an actor (aggregated from one or more sources)."""

    __slots__ = ("_sources", "receiver_name", "tick_id", "value")

    def __init__(
        self, tick_id: int, receiver_name: str, value: float, sources: Sequence[RecvRewardSource]
    ) -> None:
        self.tick_id = tick_id
        self.receiver_name = receiver_name
        self.value = value
        self._sources = list(sources)

    @classmethod
    def _from_wire(cls, reward: common_pb2.Reward) -> RecvReward:
        return cls(
            reward.tick_id,
            reward.receiver_name,
            reward.value,
            [RecvRewardSource._from_wire(s) for s in reward.sources],
        )

    def get_nb_sources(self) -> int:
        """Number of sources this reward aggregates."""
        return len(self._sources)

    def all_sources(self) -> Iterator[RecvRewardSource]:
        """Iterate over the sources of this reward."""
        yield from self._sources

    def __repr__(self) -> str:
        return (
            f"RecvReward(tick_id={self.tick_id}, receiver_name={self.receiver_name!r}, "
            f"value={self.value}, nb_sources={len(self._sources)})"
        )


class RecvMessage:
    """A message received by an actor or the environment."""

    __slots__ = ("payload", "receiver_name", "sender_name", "tick_id")

    def __init__(
        self, tick_id: int, receiver_name: str, sender_name: str, payload: any_pb2.Any | None
    ) -> None:
        self.tick_id = tick_id
        self.receiver_name = receiver_name
        self.sender_name = sender_name
        self.payload = payload

    @classmethod
    def _from_wire(cls, msg: common_pb2.Message) -> RecvMessage:
        return cls(
            msg.tick_id,
            msg.receiver_name,
            msg.sender_name,
            msg.payload if msg.HasField("payload") else None,
        )

    def __repr__(self) -> str:
        return (
            f"RecvMessage(tick_id={self.tick_id}, sender_name={self.sender_name!r}, "
            f"receiver_name={self.receiver_name!r})"
        )


class RecvEvent(Generic[ObsT, ActT]):
    """An event delivered by ``Session.all_events()``; always has a ``type``."""

    __slots__ = ("actions", "messages", "observation", "rewards", "type")

    type: EventType
    """ACTIVE, ENDING or FINAL."""
    observation: RecvObservation[ObsT] | None
    """The observation (actors only), or None."""
    actions: list[RecvAction[ActT]]
    """The actions of all the actors (environment only), or empty."""
    rewards: list[RecvReward]
    """Rewards received (actors only)."""
    messages: list[RecvMessage]
    """Messages received."""

    def __init__(
        self,
        etype: EventType,
        observation: RecvObservation[ObsT] | None = None,
        actions: list[RecvAction[ActT]] | None = None,
        rewards: list[RecvReward] | None = None,
        messages: list[RecvMessage] | None = None,
    ) -> None:
        self.type = etype
        self.observation = observation
        self.actions = actions if actions is not None else []
        self.rewards = rewards if rewards is not None else []
        self.messages = messages if messages is not None else []

    def __repr__(self) -> str:
        parts = [f"type={self.type}"]
        if self.observation is not None:
            parts.append(repr(self.observation))
        parts.extend(repr(x) for x in (*self.actions, *self.rewards, *self.messages))
        return f"RecvEvent({', '.join(parts)})"


def now_ns() -> int:
    """Current Unix time in nanoseconds."""
    return time.time_ns()


def pack_any(payload: Message) -> any_pb2.Any:
    """Pack ``payload`` in a ``google.protobuf.Any`` (an ``Any`` is used as is)."""
    if isinstance(payload, any_pb2.Any):
        return payload
    packed = any_pb2.Any()
    packed.Pack(payload)
    return packed


def _check_targets(to: Iterable[str], what: str) -> list[str]:
    if isinstance(to, str):
        raise CogmentError(f"{what}: `to` must be a list of names, not the string [{to}]")
    targets = list(to)
    for target in targets:
        if not isinstance(target, str):  # untyped callers
            raise CogmentError(f"{what}: invalid target [{target!r}] (expected a str)")
    return targets


class Session:
    """Base class of the environment and actor sessions: trial state, events, rewards, messages.

    Sessions are created by the runtime and handed to the registered implementation.
    """

    _OUT_TYPE: ClassVar[type[Message]]
    """Wire message type written by this kind of session (set by subclasses)."""

    _KIND: ClassVar[str] = "Session"

    _last_tick_delivered: int = -1
    """Tick of the last observation given to the user (``all_events``)."""

    _carry_objects: bool = False
    """Send observations/actions as objects (``cogment._carried``): set for sessions run
    in-process by an embedded Orchestrator."""

    name: str
    impl_name: str
    config: Any

    def __init__(
        self,
        trial_id: str,
        name: str,
        impl_name: str,
        config: Any,
        tick_id: int = -1,
        sender_name: str | None = None,
    ) -> None:
        self.name = name
        """Name of the environment or actor this session represents."""
        self.impl_name = impl_name
        """Name of the implementation running this session."""
        self.config = config
        """User config (protobuf message of the spec's config type), or None."""
        self._trial_id = trial_id
        self._tick_id = tick_id
        self._sender_name = name if sender_name is None else sender_name
        self._started = False
        self._ending = False  # LAST seen or sent: later events are ENDING
        self._ack_sent = False  # LAST_ACK queued: nothing more can be sent
        self._ended = False  # trial over (END, EOF or cancellation)
        self._auto_done_sending = True
        self._last_event_delivered = False
        self._events: Channel[RecvEvent[Any, Any] | None] = Channel()
        self._outgoing: Channel[Message | None] = Channel()

    # -- public API ---------------------------------------------------------------------------

    def get_trial_id(self) -> str:
        """Id of the trial this session belongs to."""
        return self._trial_id

    def get_tick_id(self) -> int:
        """Current tick (time step) of the trial."""
        return self._tick_id

    def is_trial_over(self) -> bool:
        """True once the trial has ended."""
        return self._ended

    def sending_done(self) -> None:
        """Tell the orchestrator this session has sent everything (only while ending).

        Only needed when the session was started with ``auto_done_sending=False``.
        """
        if self._auto_done_sending:
            raise CogmentError(
                f"{self._where()}: cannot call sending_done(): auto_done_sending is set"
            )
        if not self._ending:
            raise CogmentError(
                f"{self._where()}: cannot call sending_done() before the trial is ending"
            )
        if self._ended:
            logger.warning("%s: sending_done() ignored: the trial has ended", self._where())
            return
        if self._ack_sent:
            logger.debug("%s: sending_done() called more than once", self._where())
            return
        self._send_last_ack()

    def add_reward(
        self,
        value: float,
        confidence: float,
        to: Sequence[str],
        tick_id: int = -1,
        user_data: Message | None = None,
    ) -> None:
        """Send a reward to actors: names, ``"*"`` (all) or ``"<class>.*"``.

        ``tick_id=-1`` means the current tick; ``user_data`` is packed in a protobuf ``Any``.
        """
        targets = _check_targets(to, f"{self._where()} add_reward")
        if not self._can_send("reward"):
            return
        packed = pack_any(user_data) if user_data is not None else None
        for target in targets:
            source = common_pb2.RewardSource(
                sender_name=self._sender_name, value=value, confidence=confidence
            )
            if packed is not None:
                source.user_data.CopyFrom(packed)
            reward = common_pb2.Reward(
                tick_id=tick_id, receiver_name=target, value=value, sources=[source]
            )
            self._outgoing.put_nowait(self._OUT_TYPE(state=_NORMAL, reward=reward))

    async def all_events(self) -> AsyncGenerator[RecvEvent[Any, Any], bool | None]:
        """Iterate over the received events until the trial ends.

        Sending ``False`` into the generator (``asend(False)``) stops it.
        """
        if not self._started:
            logger.warning("%s: cannot retrieve events before start()", self._where())
            return
        events = self._events
        items = events.items
        while not self._last_event_delivered:
            while not items:  # Channel.get, inline: one coroutine frame less per event
                await events.waiter()
            event = items.popleft()
            if event is None:
                self._last_event_delivered = True
                return
            if event.type is EventType.FINAL:
                self._last_event_delivered = True
            elif event.observation is not None:
                # What an actor's next action answers (see _on_observation_delivered).
                self._last_tick_delivered = event.observation.tick_id
            keep = yield event
            if keep is not None and not keep:
                return

    async def event_loop(self) -> AsyncGenerator[RecvEvent[Any, Any], None]:
        """Deprecated alias of ``all_events()``."""
        deprecated("`Session.event_loop()` is deprecated; use `all_events()`")
        async for event in self.all_events():
            yield event

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(trial_id={self._trial_id!r}, name={self.name!r}, "
            f"impl_name={self.impl_name!r})"
        )

    # -- internals shared by the subclasses -----------------------------------------------------

    def _where(self) -> str:
        return f"Trial [{self._trial_id}] - {self._KIND} [{self.name}]"

    def _on_observation_delivered(self, tick_id: int) -> None:
        """Remember the tick of the last observation given to the user (actors answer it)."""
        self._last_tick_delivered = tick_id

    def _can_send(self, what: str) -> bool:
        if not self._started:
            logger.warning("%s: cannot send %s before start()", self._where(), what)
            return False
        if self._ack_sent:
            logger.warning(
                "%s: cannot send %s after acknowledging ending (dropped)", self._where(), what
            )
            return False
        return True

    def _send_message(self, payload: Message | None, to: Sequence[str]) -> None:
        targets = _check_targets(to, f"{self._where()} send_message")
        if not self._can_send("message"):
            return
        packed = pack_any(payload) if payload is not None else None
        for target in targets:
            msg = common_pb2.Message(tick_id=-1, receiver_name=target)
            if packed is not None:
                msg.payload.CopyFrom(packed)
            self._outgoing.put_nowait(self._OUT_TYPE(state=_NORMAL, message=msg))

    def _send_last_ack(self) -> None:
        self._ack_sent = True
        self._outgoing.put_nowait(self._OUT_TYPE(state=_LAST_ACK))

    def _mark_started(self, auto_done_sending: bool) -> None:
        if self._started:
            raise CogmentError(f"{self._where()}: cannot start more than once")
        if self._ended:
            raise CogmentError(f"{self._where()}: cannot start: the trial has ended")
        self._auto_done_sending = auto_done_sending
        self._started = True

    def _event_type(self) -> EventType:
        return EventType.ENDING if self._ending else EventType.ACTIVE

    def _post_event(self, event: RecvEvent[Any, Any]) -> None:
        if self._ended:
            logger.debug("%s: event after the end of the trial dropped", self._where())
            return
        self._events.put_nowait(event)

    def _finish(self, *, final: bool) -> None:
        """End of the trial as seen by the session: optional FINAL event, then end of events."""
        if self._ended:
            return
        if final:
            self._events.put_nowait(RecvEvent(EventType.FINAL))
        self._ended = True
        self._events.put_nowait(None)

    def _close_outgoing(self) -> None:
        self._outgoing.put_nowait(None)
