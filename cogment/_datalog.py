"""The datalog session and the ``LogSample`` it delivers."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Iterator
from typing import Any

from cogment._errors import CogmentError
from cogment._log import deprecated, logger
from cogment._parameters import TrialParameters
from cogment._session import (
    ActorStatus,
    RecvAction,
    RecvMessage,
    RecvObservation,
    RecvReward,
)
from cogment.api import common_pb2, datalog_pb2

__all__ = ["DatalogSession", "LogParams", "LogSample"]


class LogParams:
    """Deprecated view of the trial parameters for datalogs (use ``TrialParameters``)."""

    def __init__(self, cog_settings: Any) -> None:
        deprecated("cogment.LogParams is deprecated; use cogment.TrialParameters")
        self._cog_settings = cog_settings
        self._raw_params: common_pb2.TrialParams | None = None
        self._actor_indexes: dict[str, int] | None = None
        self.max_steps = 0
        self.max_inactivity = 0
        self.datalog: dict[str, Any] = {}
        self.environment: dict[str, str] = {}
        self.nb_actors = 0

    @classmethod
    def _of(cls, cog_settings: Any, raw_params: common_pb2.TrialParams) -> LogParams:
        params = cls.__new__(cls)
        params._cog_settings = cog_settings
        params._set(raw_params)
        return params

    def _set(self, raw_params: common_pb2.TrialParams) -> None:
        if not isinstance(raw_params, common_pb2.TrialParams):
            raise CogmentError(f"LogParams: wrong type of parameters [{type(raw_params).__name__}]")
        self._raw_params = raw_params
        self._actor_indexes = None
        self.max_steps = raw_params.max_steps
        self.max_inactivity = raw_params.max_inactivity
        self.datalog = {
            "endpoint": raw_params.datalog.endpoint,
            "exclude": list(raw_params.datalog.exclude_fields),
        }
        self.environment = {
            "name": raw_params.environment.name,
            "endpoint": raw_params.environment.endpoint,
            "implementation": raw_params.environment.implementation,
        }
        self.nb_actors = len(raw_params.actors)

    def _raw(self) -> common_pb2.TrialParams:
        if self._raw_params is None:
            raise CogmentError("LogParams: not set")
        return self._raw_params

    def get_serialization_type(self) -> int:
        return 2

    def serialize(self) -> bytes:
        return self._raw().SerializeToString()

    def deserialize(self, raw_string: bytes) -> None:
        self._set(common_pb2.TrialParams.FromString(raw_string))

    def get_trial_config(self) -> Any:
        raw = self._raw()
        if not raw.HasField("trial_config"):
            return None
        return self._cog_settings.trial.config_type.FromString(raw.trial_config.content)

    def get_environment_config(self) -> Any:
        raw = self._raw()
        if not raw.environment.HasField("config"):
            return None
        return self._cog_settings.environment.config_type.FromString(raw.environment.config.content)

    def get_actor_index(self, actor_name: str) -> int | None:
        if self._actor_indexes is None:
            self._actor_indexes = {a.name: i for i, a in enumerate(self._raw().actors)}
        return self._actor_indexes.get(actor_name)

    def get_actor_name(self, actor_index: int) -> str:
        return self._raw().actors[actor_index].name

    def get_actor(self, actor_index: int) -> dict[str, Any]:
        actor = self._raw().actors[actor_index]
        spec = self._cog_settings.actor_classes[actor.actor_class]
        config = None
        if actor.HasField("config") and spec.config_type is not None:
            config = spec.config_type.FromString(actor.config.content)
        return {
            "name": actor.name,
            "actor_class": actor.actor_class,
            "endpoint": actor.endpoint,
            "implementation": actor.implementation,
            "config": config,
            "action_space": spec.action_space,
            "observation_space": spec.observation_space,
        }


class LogSample:
    """One datalog sample: the data of a tick (or an out-of-sync partial sample)."""

    _SERIALIZATION_TYPE = 2

    tick_id: int | None
    out_of_sync: bool | None
    timestamp: int | None
    state: Any
    events: list[str] | None

    def __init__(self, params: TrialParameters[Any, Any] | LogParams) -> None:
        if isinstance(params, LogParams):
            deprecated("LogSample(LogParams) is deprecated; give the TrialParameters")
            params = TrialParameters.from_proto(params._cog_settings, params._raw())
        if not isinstance(params, TrialParameters):
            raise CogmentError(
                f"LogSample needs the TrialParameters of the trial, got [{type(params).__name__}]"
            )
        self._parameters = params
        self._nb_actors = len(params.actors)
        self._actor_indexes: dict[str, int] | None = None
        self._raw_sample = datalog_pb2.DatalogSample()
        self.tick_id = None
        self.out_of_sync = None
        self.timestamp = None
        self.state = None
        self.events = None

    def _set(self, sample: datalog_pb2.DatalogSample) -> None:
        self._raw_sample = sample
        if sample.HasField("info"):
            from cogment._controller import TrialState

            info = sample.info
            self.state = TrialState(info.state)
            self.out_of_sync = info.out_of_sync
            self.tick_id = info.tick_id
            self.timestamp = info.timestamp
            self.events = list(info.special_events)
        else:
            self.state = self.out_of_sync = self.tick_id = self.timestamp = self.events = None

    def get_serialization_type(self) -> int:
        """Type of the data of ``serialize``/``deserialize`` (2: ``DatalogSample``)."""
        return self._SERIALIZATION_TYPE

    def serialize(self) -> bytes:
        """The sample as bytes (a serialized ``cogmentAPI.DatalogSample``)."""
        return self._raw_sample.SerializeToString()

    def deserialize(self, raw_string: bytes) -> None:
        """Set the sample from ``serialize()`` output."""
        sample = datalog_pb2.DatalogSample()
        sample.ParseFromString(raw_string)
        self._set(sample)

    def all_actor_names(self) -> Iterator[str]:
        """Names of the actors of the trial, in order."""
        for actor in self._parameters.actors:
            yield actor.name

    def _actor_index(self, actor: int | str) -> int:
        if isinstance(actor, bool) or not isinstance(actor, (int, str)):
            raise CogmentError(f"LogSample: actor must be a name or an index, got [{actor!r}]")
        if isinstance(actor, str):
            if self._actor_indexes is None:
                self._actor_indexes = {a.name: i for i, a in enumerate(self._parameters.actors)}
            index = self._actor_indexes.get(actor)
            if index is None:
                raise CogmentError(f"LogSample: unknown actor [{actor}]")
            return index
        if not 0 <= actor < self._nb_actors:
            raise CogmentError(
                f"LogSample: actor index [{actor}] out of range (0..{self._nb_actors - 1})"
            )
        return actor

    def _actor_spec(self, index: int) -> Any:
        if not self._parameters.has_specs():
            return None
        return self._parameters.actors[index].actor_class_spec

    def get_action(self, actor: int | str) -> RecvAction[Any] | None:
        """The action of ``actor`` (name or index) in this sample, or None if there is none."""
        index = self._actor_index(actor)
        sample = self._raw_sample
        if index >= len(sample.actions):
            return None
        data = sample.actions[index]
        if index in sample.unavailable_actors:
            return RecvAction(index, data.tick_id, ActorStatus.UNAVAILABLE, 0, None)
        if index in sample.default_actors:
            return RecvAction(index, data.tick_id, ActorStatus.DEFAULT, 0, None)
        spec = self._actor_spec(index)
        action = spec.action_space.FromString(data.content) if spec is not None else None
        return RecvAction(index, data.tick_id, ActorStatus.ACTIVE, data.timestamp, action)

    def get_observation(self, actor: int | str) -> RecvObservation[Any] | None:
        """The observation sent to ``actor`` (name or index), or None if there is none."""
        index = self._actor_index(actor)
        sample = self._raw_sample
        if not sample.HasField("observations"):
            return None
        data = sample.observations
        if index >= len(data.actors_map):
            return None
        content = data.observations[data.actors_map[index]]
        spec = self._actor_spec(index)
        obs = spec.observation_space.FromString(content) if spec is not None else content
        return RecvObservation(data.tick_id, data.timestamp, obs)

    def all_rewards(self) -> Iterator[RecvReward]:
        """The rewards of this sample."""
        for reward in self._raw_sample.rewards:
            yield RecvReward._from_wire(reward)

    def all_messages(self) -> Iterator[RecvMessage]:
        """The messages of this sample."""
        for message in self._raw_sample.messages:
            yield RecvMessage._from_wire(message)

    def __repr__(self) -> str:
        return (
            f"LogSample(tick_id={self.tick_id}, state={self.state}, out_of_sync={self.out_of_sync})"
        )


class DatalogSession:
    """Session of a datalog for one trial: call ``start()`` then iterate ``all_samples()``."""

    trial_id: str
    user_id: str
    trial_parameters: TrialParameters[Any, Any]

    def __init__(self, trial_id: str, user_id: str, trial_parameters: TrialParameters[Any, Any]):
        self.trial_id = trial_id
        """Id of the trial."""
        self.user_id = user_id
        """Id of the user who started the trial."""
        self.trial_parameters = trial_parameters
        """Parameters of the trial."""
        self._started = False
        self._samples: asyncio.Queue[LogSample | None] = asyncio.Queue()
        self._done = False

    def start(self) -> None:
        """Start receiving samples."""
        if self._started:
            raise CogmentError(f"Trial [{self.trial_id}] - datalog: cannot start more than once")
        self._started = True

    async def all_samples(self) -> AsyncGenerator[LogSample, None]:
        """Iterate over the samples as they arrive, until the end of the trial."""
        if not self._started:
            logger.warning("Trial [%s] - datalog: all_samples() before start()", self.trial_id)
            return
        while not self._done:
            sample = await self._samples.get()
            if sample is None:
                self._done = True
                return
            yield sample

    async def get_all_samples(self) -> AsyncGenerator[LogSample, None]:
        """Deprecated alias of ``all_samples()``."""
        deprecated("DatalogSession.get_all_samples() is deprecated; use all_samples()")
        async for sample in self.all_samples():
            yield sample

    @property
    def trial_params(self) -> LogParams:
        """Deprecated: use ``trial_parameters``."""
        deprecated("DatalogSession.trial_params is deprecated; use trial_parameters")
        params = self.trial_parameters
        return LogParams._of(params._cog_settings, params.to_proto())

    def _new_sample(self, sample: datalog_pb2.DatalogSample) -> None:
        # Samples arriving before start() are kept (the published SDK dropped them).
        log_sample = LogSample(self.trial_parameters)
        log_sample._set(sample)
        self._samples.put_nowait(log_sample)

    def _end(self) -> None:
        self._samples.put_nowait(None)

    def __repr__(self) -> str:
        return f"DatalogSession(trial_id={self.trial_id!r}, user_id={self.user_id!r})"
