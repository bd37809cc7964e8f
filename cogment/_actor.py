"""Actor classes (as declared in the spec) and the actor session."""

from __future__ import annotations

import time
from collections.abc import AsyncGenerator, Iterator, Sequence
from typing import Any, Generic, TypeVar, cast, overload

from google.protobuf.message import Message

from cogment._carried import CarriedAction
from cogment._errors import CogmentError
from cogment._log import deprecated
from cogment._session import (
    ActorInfo,
    ActT,
    ConfigT,
    ObsT,
    RecvEvent,
    Session,
)
from cogment.api import common_pb2

__all__ = ["ActorClass", "ActorClassList", "ActorSession", "SessionT"]

_NORMAL = common_pb2.NORMAL
_CarriedAction: Any = CarriedAction  # stands for an ActorRunTrialOutput (cogment._carried)


class ActorSession(Session, Generic[ObsT, ActT, ConfigT]):
    """Session of an actor in a trial, handed to the implementation registered with
    ``Context.register_actor`` (service actors) or run by ``Context.join_trial`` (client actors).

    Type parameters: observation space, action space, config type.
    """

    _OUT_TYPE = common_pb2.ActorRunTrialOutput
    _KIND = "Actor"

    config: ConfigT
    actor_class: str
    class_name: str
    env_name: str

    def __init__(
        self,
        trial_id: str,
        name: str,
        impl_name: str,
        actor_class: ActorClass[Any],
        env_name: str,
        config: ConfigT,
        *,
        send_init_on_start: bool = True,
    ) -> None:
        super().__init__(trial_id, name, impl_name, config)
        self.actor_class = actor_class.name
        """Name of the actor class of this actor (spec ``actor_classes:name``)."""
        self.class_name = actor_class.name
        """Same as ``actor_class`` (kept for compatibility)."""
        self.env_name = env_name
        """Name of the environment of the trial (to send it messages)."""
        self._actor_class_spec = actor_class
        self._send_init_on_start = send_init_on_start
        self._last_tick_delivered = -1

    def start(self, auto_done_sending: bool = True) -> None:
        """Start the actor; call it before any other method.

        With ``auto_done_sending=False`` the implementation must call ``sending_done()`` once the
        final observation has been received.
        """
        self._mark_started(auto_done_sending)
        if self._send_init_on_start:
            self._outgoing.put_nowait(
                common_pb2.ActorRunTrialOutput(
                    state=_NORMAL, init_output=common_pb2.ActorInitialOutput()
                )
            )

    def do_action(self, action: ActT | None) -> None:
        """Send an action for the last observation received (``None`` sends an empty action)."""
        if not self._started or self._ack_sent:  # hot path: the checks of _can_send, inline
            self._can_send("action")  # logs why
            return
        if self._carry_objects:  # in-process: the object itself (a copy: see cogment._carried)
            if action is not None:
                copy = action.__class__()
                copy.CopyFrom(action)
                action = copy
            self._outgoing.put_nowait(
                _CarriedAction(self._last_tick_delivered, time.time_ns(), action)
            )
            return
        wire = common_pb2.Action(tick_id=self._last_tick_delivered, timestamp=time.time_ns())
        if action is not None:
            wire.content = action.SerializeToString()
        self._outgoing.put_nowait(common_pb2.ActorRunTrialOutput(state=_NORMAL, action=wire))

    def send_message(
        self, payload: Message | None, to: Sequence[str], to_environment: bool | None = None
    ) -> None:
        """Send a message to actors (names, ``"*"``, ``"<class>.*"``) or the environment
        (its name, ``self.env_name``)."""
        if to_environment is not None:
            deprecated(
                "send_message(to_environment=) is deprecated; "
                "put `session.env_name` in `to` instead"
            )
            if to_environment:
                to = [*to, self.env_name]
        self._send_message(payload, to)

    def get_active_actors(self) -> list[ActorInfo]:
        """Not available to actors (raises ``CogmentError``, as the published SDK does)."""
        raise CogmentError("get_active_actors() is deprecated for actors and not available")

    def all_events(self) -> AsyncGenerator[RecvEvent[ObsT, ActT], bool | None]:
        """Iterate over received events (observations, rewards, messages) until the trial ends.

        Sending ``False`` into the generator stops it.
        """
        return super().all_events()


SessionT = TypeVar("SessionT", bound=ActorSession[Any, Any, Any])
"""The session type an actor class hands to its implementations."""
_SessionT_co = TypeVar("_SessionT_co", bound=ActorSession[Any, Any, Any], covariant=True)


class ActorClass(Generic[_SessionT_co]):
    """An actor class declared in the spec: name, config type, action and observation spaces.

    Covariant in its session type: an ``ActorClass[PlayerSession]`` is usable where an
    ``ActorClass[ActorSession[Any, Any, Any]]`` is expected.

    ``session_type`` is the session class the runtime instantiates for actors of this class (the
    generated typed subclass of ``ActorSession``; plain ``ActorSession`` by default).
    """

    @overload
    def __init__(
        self: ActorClass[ActorSession[Any, Any, Any]],
        name: str,
        config_type: type[Message] | None,
        action_space: type[Message],
        observation_space: type[Message],
    ) -> None: ...

    @overload
    def __init__(
        self,
        name: str,
        config_type: type[Message] | None,
        action_space: type[Message],
        observation_space: type[Message],
        session_type: type[_SessionT_co],
    ) -> None: ...

    def __init__(
        self,
        name: str,
        config_type: type[Message] | None,
        action_space: type[Message],
        observation_space: type[Message],
        session_type: type[Any] | None = None,
    ) -> None:
        self.name = name
        self.config_type = config_type
        self.action_space = action_space
        self.observation_space = observation_space
        self.session_type = cast(
            "type[_SessionT_co]", session_type if session_type is not None else ActorSession
        )

    def __repr__(self) -> str:
        config = self.config_type.__name__ if self.config_type is not None else None
        return (
            f"ActorClass(name={self.name!r}, config_type={config}, "
            f"action_space={self.action_space.__name__}, "
            f"observation_space={self.observation_space.__name__}, "
            f"session_type={self.session_type.__name__})"
        )


class ActorClassList:
    """The actor classes of a spec: attribute access by name, ``[name]``, ``get``, ``in``, iteration."""

    def __init__(self, *classes: ActorClass[Any]) -> None:
        self._actor_classes_list: list[ActorClass[Any]] = list(classes)
        self._by_name: dict[str, ActorClass[Any]] = {}
        for actor_class in classes:
            if actor_class.name in self._by_name:
                raise CogmentError(f"Duplicate actor class name [{actor_class.name}]")
            self._by_name[actor_class.name] = actor_class
            setattr(self, actor_class.name, actor_class)

    def __iter__(self) -> Iterator[ActorClass[Any]]:
        return iter(self._actor_classes_list)

    def __len__(self) -> int:
        return len(self._actor_classes_list)

    def __contains__(self, key: object) -> bool:
        return key in self._by_name

    def __getitem__(self, key: str) -> ActorClass[Any]:
        try:
            return self._by_name[key]
        except KeyError:
            raise KeyError(
                f"Unknown actor class [{key}] (known: {', '.join(self._by_name) or 'none'})"
            ) from None

    def __getattr__(self, name: str) -> ActorClass[Any]:
        # Only called for names not set in __init__: give a clear error.
        if name.startswith("_"):
            raise AttributeError(name)
        raise AttributeError(
            f"Unknown actor class [{name}] (known: "
            f"{', '.join(self.__dict__.get('_by_name', {})) or 'none'})"
        )

    def get(self, key: str, default: ActorClass[Any] | None = None) -> ActorClass[Any] | None:
        """The actor class named ``key``, or ``default``."""
        return self._by_name.get(key, default)

    def get_class_by_index(self, index: int) -> ActorClass[Any]:
        """The ``index``-th actor class, in spec order."""
        return self._actor_classes_list[index]

    def __repr__(self) -> str:
        return f"ActorClassList({', '.join(repr(c) for c in self._actor_classes_list)})"
