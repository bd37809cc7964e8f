"""The environment session."""

from __future__ import annotations

import time
from collections.abc import AsyncGenerator, Iterable, Sequence
from typing import Any, Generic, TypeVar

from google.protobuf.message import Message

from cogment._carried import CarriedObservationSet, copy_message
from cogment._errors import CogmentError
from cogment._log import deprecated, logger
from cogment._session import (
    ActorInfo,
    ActT,
    ConfigT,
    ObsT,
    RecvAction,
    RecvEvent,
    Session,
    now_ns,
)
from cogment.api import common_pb2, environment_pb2

__all__ = ["EnvironmentSession"]

_NORMAL = common_pb2.NORMAL
_LAST = common_pb2.LAST
_EVERYONE = ("*", "*.*")  # observation targets meaning every actor


_SpaceT = TypeVar("_SpaceT", bound=Message)


class EnvironmentSession(Session, Generic[ObsT, ActT, ConfigT]):
    """Session of the environment of a trial, handed to the implementation registered with
    ``Context.register_environment``.

    Type parameters: union of the observation spaces, union of the action spaces, config type.
    Observations are given as ``(target, observation)`` pairs where ``target`` is ``"*"``, an actor
    name, ``"<class>.*"`` or ``"<class>.<name>"``.
    """

    _OUT_TYPE = environment_pb2.EnvRunTrialOutput
    _KIND = "Environment"

    config: ConfigT

    def __init__(
        self,
        trial_id: str,
        name: str,
        impl_name: str,
        actors: Sequence[ActorInfo],
        config: ConfigT,
        tick_id: int = -1,
    ) -> None:
        super().__init__(trial_id, name, impl_name, config, tick_id)
        self._actors = list(actors)
        self._actor_index = {a.actor_name: i for i, a in enumerate(self._actors)}
        self._class_members: dict[str, list[int]] = {}
        for index, actor in enumerate(self._actors):
            self._class_members.setdefault(actor.actor_class_name, []).append(index)

    def _narrow_action(
        self, received: RecvAction[ActT], class_name: str, space: type[_SpaceT]
    ) -> _SpaceT | None:
        """The action of ``received`` as ``space``, checking its sender is of ``class_name``.

        The generated per-class helpers (``cog_settings.EnvironmentSession.<class>_action``)
        call this: ``None`` if the actor sent no action (unavailable), ``CogmentError`` naming
        the sender if it is not of that class or its action is not a ``space``.
        """
        if not 0 <= received.actor_index < len(self._actors):
            raise CogmentError(f"action of an unknown actor [{received.actor_index}]")
        actor = self._actors[received.actor_index]
        if actor.actor_class_name != class_name:
            sender = f"[{actor.actor_name}] (class [{actor.actor_class_name}])"
            raise CogmentError(f"action of {sender}: expected class [{class_name}]")
        action = received.action
        if action is None:
            return None
        if not isinstance(action, space):
            found = f"[{type(action).__name__}] of [{actor.actor_name}]"
            raise CogmentError(f"action {found}: expected [{space.__name__}]")
        return action

    def get_active_actors(self) -> list[ActorInfo]:
        """The actors of the trial (name and class), in trial order (the action indexes)."""
        return list(self._actors)

    def start(
        self,
        observations: Iterable[tuple[str, ObsT]] | None = None,
        auto_done_sending: bool = True,
    ) -> None:
        """Start the environment; call it before any other method.

        ``observations`` (optional) are the initial observations. With ``auto_done_sending=False``
        the implementation must call ``sending_done()`` after ``end()``.
        """
        first = self._build_observation_set(observations) if observations is not None else None
        self._mark_started(auto_done_sending)
        self._outgoing.put_nowait(
            environment_pb2.EnvRunTrialOutput(
                state=_NORMAL, init_output=environment_pb2.EnvInitialOutput()
            )
        )
        if first is not None:
            self._outgoing.put_nowait(_observation_output(first))

    def produce_observations(self, observations: Iterable[tuple[str, ObsT]]) -> None:
        """Send observations to the actors; after an ENDING event they are the final ones."""
        if not self._can_send("observations"):
            return
        self._send_observations(observations)
        if self._ending and self._auto_done_sending:
            self._send_last_ack()

    def end(self, final_observations: Iterable[tuple[str, ObsT]] | None = None) -> None:
        """End the trial, sending the final observations. Message events can still arrive."""
        if not self._can_send("end"):
            return
        if not self._ending:
            self._ending = True
            self._outgoing.put_nowait(environment_pb2.EnvRunTrialOutput(state=_LAST))
        if final_observations is not None:
            self._send_observations(final_observations)
        if self._auto_done_sending:
            self._send_last_ack()

    def send_message(
        self, payload: Message | None, to: Sequence[str], to_environment: bool | None = None
    ) -> None:
        """Send a message to actors (names, ``"*"`` or ``"<class>.*"``)."""
        if to_environment is not None:
            deprecated(
                "send_message(to_environment=) is deprecated and ignored for the environment"
            )
        self._send_message(payload, to)

    def all_events(self) -> AsyncGenerator[RecvEvent[ObsT, ActT], bool | None]:
        """Iterate over received events (actions, messages) until the trial ends.

        Sending ``False`` into the generator stops it.
        """
        return super().all_events()

    # -- internals ----------------------------------------------------------------------------

    def _send_observations(self, observations: Iterable[tuple[str, ObsT]]) -> None:
        self._outgoing.put_nowait(_observation_output(self._build_observation_set(observations)))

    def _build_observation_set(
        self, observations: Iterable[tuple[str, ObsT]]
    ) -> environment_pb2.ObservationSet | CarriedObservationSet:
        # Fast path for the most common form, one observation for everyone: [("*", obs)].
        if type(observations) is list and len(observations) == 1:
            item = observations[0]
            if (
                type(item) is tuple
                and len(item) == 2
                and item[0] in _EVERYONE
                and isinstance(item[1], Message)
                and self._actors
            ):
                obs = item[1]
                actors_map = [0] * len(self._actors)
                if self._carry_objects:  # in-process: a copy of the object (cogment._carried)
                    copy = obs.__class__()
                    copy.CopyFrom(obs)
                    return CarriedObservationSet(time.time_ns(), actors_map, [copy])
                return environment_pb2.ObservationSet(
                    tick_id=-1,
                    timestamp=time.time_ns(),
                    observations=[obs.SerializeToString()],
                    actors_map=actors_map,
                )
        nb_actors = len(self._actors)
        actors_map = [-1] * nb_actors
        carry = self._carry_objects  # in-process: copies of the objects (cogment._carried)
        serialized: list[Any] = []
        seen: dict[int, int] = {}  # id(observation) -> index in `serialized`
        alive: list[object] = []  # keeps the observations seen alive, so their ids stay unique
        if (
            isinstance(observations, tuple)
            and len(observations) == 2
            and isinstance(observations[0], str)
        ):
            raise CogmentError(
                f"{self._where()}: observations must be a list of (target, observation) "
                "pairs, not a single pair"
            )
        for item in observations:
            try:
                target, obs = item
            except (TypeError, ValueError):
                raise CogmentError(
                    f"{self._where()}: invalid observation entry [{item!r}]: "
                    "expected a (target, observation) pair"
                ) from None
            key = id(obs)
            obs_index = seen.get(key)
            if obs_index is None:
                if not isinstance(obs, Message):
                    raise CogmentError(
                        f"{self._where()}: observation for [{target}] is not a protobuf "
                        f"message: [{type(obs).__name__}]"
                    )
                obs_index = len(serialized)
                seen[key] = obs_index
                alive.append(obs)
                serialized.append(copy_message(obs) if carry else obs.SerializeToString())
            for actor_index in self._resolve_targets(target):
                if actors_map[actor_index] != -1:
                    raise CogmentError(
                        f"{self._where()}: more than one observation for actor "
                        f"[{self._actors[actor_index].actor_name}] (target [{target}])"
                    )
                actors_map[actor_index] = obs_index
        missing = [self._actors[i].actor_name for i, v in enumerate(actors_map) if v == -1]
        if missing:
            raise CogmentError(f"{self._where()}: no observation for actor(s) {missing}")
        if carry:
            return CarriedObservationSet(now_ns(), actors_map, serialized)
        return environment_pb2.ObservationSet(
            tick_id=-1, timestamp=now_ns(), observations=serialized, actors_map=actors_map
        )

    def _resolve_targets(self, target: str) -> Sequence[int]:
        if target in _EVERYONE:
            return range(len(self._actors))
        index = self._actor_index.get(target)
        if index is not None:
            return (index,)
        class_name, dot, actor_name = target.partition(".")
        if dot:
            members = self._class_members.get(class_name)
            if members is not None:
                if actor_name == "*":
                    return members
                index = self._actor_index.get(actor_name)
                if index is not None and index in members:
                    return (index,)
        raise CogmentError(
            f"{self._where()}: unknown observation target [{target}] "
            f"(actors: {list(self._actor_index)})"
        )

    def _on_last(self) -> None:
        if self._ending:
            logger.debug("%s: LAST received while already ending", self._where())
        self._ending = True


def _observation_output(obs_set: environment_pb2.ObservationSet | CarriedObservationSet) -> Any:
    if isinstance(obs_set, CarriedObservationSet):
        return obs_set  # stands for its envelope too
    return environment_pb2.EnvRunTrialOutput(state=_NORMAL, observation_set=obs_set)
