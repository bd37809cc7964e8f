"""Datastore client: list, read (historical or live) and delete the trials of a Trial Datastore.

Construction (done by ``Context.get_datastore``)::

    channel = cogment._grpc.create_channel(endpoint)              # endpoint resolved to grpc://
    datastore = Datastore(channel, cog_settings, metadata)         # metadata: the Context's GrpcMetadata

``Datastore(channel_or_stub, cog_settings, metadata=None, *, timeout=60.0, url=None)``: the first argument
is a ``grpc.aio.Channel`` (the datastore then owns it: :meth:`Datastore.close`, or ``async with``) or a
``TrialDatastoreSP`` async stub (the published SDK's form, not owned). Every call carries ``metadata``.
Unary calls have a deadline of ``timeout`` seconds (``None``: none); the sample stream has none (it
follows running trials until they end). Failures raise :class:`~cogment.CogmentError` naming the call,
the Datastore URL and the reason.

Differences from the published SDK (its defects, fixed): the environment (index -1) is named by the
trial's environment name instead of being taken for the last actor; message payloads are readable
(``DatastoreMessage.payload``); an observation or action without specs raises a clear error.
"""

from __future__ import annotations

import asyncio
import datetime
import enum
from collections.abc import AsyncGenerator, Iterable, Iterator, Mapping, Sequence
from typing import Any, Generic, Literal, cast

import grpc
import grpc.aio
from google.protobuf import any_pb2
from google.protobuf.message import DecodeError, Message
from typing_extensions import TypeVar

from cogment._client_base import ChannelClient, stub_for
from cogment._controller import TrialState, trial_state
from cogment._errors import CogmentError
from cogment._grpc import call_metadata, channel_url, rpc_error
from cogment._metadata import GrpcMetadata, GrpcMetadataItem
from cogment._parameters import TrialParameters
from cogment.api import trial_datastore_pb2, trial_datastore_pb2_grpc

__all__ = [
    "DEFAULT_TIMEOUT",
    "Datastore",
    "DatastoreActorData",
    "DatastoreFields",
    "DatastoreMessage",
    "DatastoreReward",
    "DatastoreSample",
    "DatastoreTrialInfo",
]

DEFAULT_TIMEOUT = 60.0
"""Default deadline (seconds) of the datastore's unary calls."""

_SERVICE = "Trial Datastore"
_REV_NANO = 1e-9

ObsT = TypeVar("ObsT", default=Any)
"""Observation space of the actor's class (spec ``actor_classes:observation:space``)."""
ActT = TypeVar("ActT", default=Any)
"""Action space of the actor's class (spec ``actor_classes:action:space``)."""


class DatastoreFields(enum.Enum):
    """The data of a :class:`DatastoreActorData` that ``Datastore.all_samples`` can select."""

    UNKNOWN = trial_datastore_pb2.STORED_TRIAL_SAMPLE_FIELD_UNKNOWN
    OBSERVATION = trial_datastore_pb2.STORED_TRIAL_SAMPLE_FIELD_OBSERVATION
    ACTION = trial_datastore_pb2.STORED_TRIAL_SAMPLE_FIELD_ACTION
    REWARD = trial_datastore_pb2.STORED_TRIAL_SAMPLE_FIELD_REWARD
    RECEIVED_REWARDS = trial_datastore_pb2.STORED_TRIAL_SAMPLE_FIELD_RECEIVED_REWARDS
    SENT_REWARDS = trial_datastore_pb2.STORED_TRIAL_SAMPLE_FIELD_SENT_REWARDS
    RECEIVED_MESSAGES = trial_datastore_pb2.STORED_TRIAL_SAMPLE_FIELD_RECEIVED_MESSAGES
    SENT_MESSAGES = trial_datastore_pb2.STORED_TRIAL_SAMPLE_FIELD_SENT_MESSAGES


class _TrialNames:
    """Names of a trial's participants by wire index (-1 = the environment), their classes, and
    the message types of the classes' spaces, looked up once per trial (not once per sample).
    """

    __slots__ = ("_spaces", "actor_classes", "actors", "cog_settings", "environment")

    def __init__(self, parameters: TrialParameters[Any, Any]) -> None:
        raw = parameters.to_proto(copy=False)
        self.actors = [actor.name for actor in raw.actors]
        self.actor_classes = [actor.actor_class for actor in raw.actors]
        self.environment = raw.environment.name
        self.cog_settings: Any = parameters._cog_settings
        self._spaces: dict[tuple[str, str], type[Message]] = {}

    def space(self, actor_class: str, which: str, actor_name: str) -> type[Message]:
        """The message type of the ``which`` space of ``actor_class`` (errors name the actor)."""
        found = self._spaces.get((actor_class, which))
        if found is not None:
            return found
        if self.cog_settings is None:
            raise CogmentError(
                f"Cannot decode the {which} of actor [{actor_name}] without specs (cog_settings): "
                f"use '{which}_serialized'"
            )
        actor_classes = getattr(self.cog_settings, "actor_classes", None)
        spec = actor_classes.get(actor_class) if actor_classes is not None else None
        if spec is None:
            raise CogmentError(
                f"Actor class [{actor_class}] of actor [{actor_name}] is not in the specs"
            )
        space = getattr(spec, f"{which}_space", None)
        if space is None:
            raise CogmentError(f"Actor class [{actor_class}] has no {which} space in the specs")
        found = cast(type[Message], space)
        self._spaces[(actor_class, which)] = found
        return found

    def name(self, index: int) -> str:
        if 0 <= index < len(self.actors):
            return self.actors[index]
        if index == -1:
            return self.environment
        raise CogmentError(
            f"Datastore sample refers to participant index [{index}], but the trial has "
            f"{len(self.actors)} actors"
        )


_Payload = Literal["observation", "action"]
"""The fields of an actor's sample data that index a payload to decode with the class's space."""


def _payload(payloads: Sequence[bytes], index: int, what: str) -> bytes:
    if not 0 <= index < len(payloads):
        raise CogmentError(
            f"Datastore sample {what} refers to payload [{index}] of {len(payloads)}"
        )
    return payloads[index]


def _parse_any(content: bytes, what: str) -> any_pb2.Any:
    result = any_pb2.Any()
    try:
        result.ParseFromString(content)
    except DecodeError as error:
        raise CogmentError(
            f"Datastore {what} is not a valid google.protobuf.Any: {error}"
        ) from error
    return result


class DatastoreTrialInfo:
    """A trial stored in the Datastore.

    Attributes:
        trial_id: the trial id.
        user_id: the user who started the trial.
        trial_state: the last (or current) :class:`~cogment.TrialState` of the trial.
        sample_count: the number of samples stored (grows while the trial runs).
        parameters: the trial's :class:`~cogment.TrialParameters`.
    """

    __slots__ = ("_names", "parameters", "sample_count", "trial_id", "trial_state", "user_id")

    def __init__(self, cog_settings: Any, info: trial_datastore_pb2.StoredTrialInfo) -> None:
        self.trial_id: str = info.trial_id
        self.trial_state: TrialState = trial_state(info.last_state, "datastore")
        self.user_id: str = info.user_id
        self.sample_count: int = info.samples_count
        self.parameters: TrialParameters[Any, Any] = TrialParameters.from_proto(
            cog_settings, info.params
        )
        self._names = _TrialNames(self.parameters)

    def has_specs(self) -> bool:
        """True if the specs are known (observations and actions can be decoded)."""
        return self.parameters.has_specs()

    def __str__(self) -> str:
        return (
            f"DatastoreTrialInfo: trial_id = {self.trial_id}, trial_state = {self.trial_state}, "
            f"user_id = {self.user_id}, sample_count = {self.sample_count}, "
            f"parameters = {self.parameters}"
        )

    def __repr__(self) -> str:
        return (
            f"DatastoreTrialInfo(trial_id={self.trial_id!r}, trial_state={self.trial_state}, "
            f"sample_count={self.sample_count})"
        )


_ExchangeT = TypeVar(
    "_ExchangeT",
    trial_datastore_pb2.StoredTrialActorSampleReward,
    trial_datastore_pb2.StoredTrialActorSampleMessage,
)


class _Exchange(Generic[_ExchangeT]):
    """A reward or message of a sample: its sender and receiver by participant index, payloads by index."""

    __slots__ = ("_names", "_payloads", "_raw")

    def __init__(self, raw: _ExchangeT, payloads: Sequence[bytes], names: _TrialNames) -> None:
        self._raw: _ExchangeT = raw
        self._payloads = payloads
        self._names = names

    @property
    def sender(self) -> str:
        """Name of the sender (the environment's name when the environment sent it)."""
        return self._names.name(self._raw.sender)

    @property
    def receiver(self) -> str:
        """Name of the receiver (the environment's name when the environment received it)."""
        return self._names.name(self._raw.receiver)


class DatastoreReward(_Exchange[trial_datastore_pb2.StoredTrialActorSampleReward]):
    """One reward sent or received by an actor in a sample.

    Attributes:
        value: the reward value.
        confidence: its confidence.
    """

    __slots__ = ("confidence", "value")

    def __init__(
        self,
        reward: trial_datastore_pb2.StoredTrialActorSampleReward,
        payloads: Sequence[bytes],
        names: _TrialNames,
    ) -> None:
        super().__init__(reward, payloads, names)
        self.value: float = reward.reward
        self.confidence: float = reward.confidence

    @property
    def user_data(self) -> any_pb2.Any | None:
        """User data of the reward (``None`` if none was given)."""
        if not self._raw.HasField("user_data"):
            return None
        return _parse_any(
            _payload(self._payloads, self._raw.user_data, "reward user data"), "reward user data"
        )

    def __str__(self) -> str:
        return (
            f"DatastoreReward: value = {self.value}, confidence = {self.confidence}, "
            f"sender = {self.sender}, receiver = {self.receiver}, user_data = {self.user_data}"
        )


class DatastoreMessage(_Exchange[trial_datastore_pb2.StoredTrialActorSampleMessage]):
    """One message sent or received by an actor in a sample."""

    __slots__ = ()

    @property
    def payload(self) -> any_pb2.Any | None:
        """The message content (``None`` if it was empty)."""
        content = _payload(self._payloads, self._raw.payload, "message payload")
        if not content:
            return None
        return _parse_any(content, "message payload")

    def __str__(self) -> str:
        return (
            f"DatastoreMessage: sender = {self.sender}, receiver = {self.receiver}, "
            f"payload = {self.payload}"
        )


class DatastoreActorData(Generic[ObsT, ActT]):
    """The data of one actor in a sample.

    ``ObsT``/``ActT`` are the observation and action spaces of the actor's class (``Any`` by default).
    Fields not selected with ``all_samples(fields=...)``, or missing (e.g. in the last ``ENDED``
    sample), are ``None`` (``reward``: 0.0).
    """

    __slots__ = ("_actor_class", "_names", "_payloads", "_raw")

    def __init__(
        self,
        actor_sample: trial_datastore_pb2.StoredTrialActorSample,
        payloads: Sequence[bytes],
        parameters: TrialParameters[Any, Any],
        names: _TrialNames,
    ) -> None:
        # ``parameters`` is the trial's; everything needed from it is already in ``names``
        # (built once per trial), so nothing is looked up per sample.
        del parameters
        self._raw = actor_sample
        self._payloads = payloads
        self._names = names
        actor_classes = names.actor_classes
        if not 0 <= actor_sample.actor < len(actor_classes):
            raise CogmentError(
                f"Datastore sample refers to actor [{actor_sample.actor}], but the trial has "
                f"{len(actor_classes)} actors"
            )
        self._actor_class = actor_classes[actor_sample.actor]

    @property
    def name(self) -> str:
        """Name of the actor."""
        return self._names.name(self._raw.actor)

    @property
    def actor_class(self) -> str:
        """Name of the actor's class."""
        return self._actor_class

    def has_specs(self) -> bool:
        """True if the specs are known (``observation`` and ``action`` can be decoded)."""
        return self._names.cog_settings is not None

    def _space(self, which: str) -> type[Message]:
        return self._names.space(self._actor_class, which, self.name)

    def _serialized(self, which: _Payload) -> bytes | None:
        if not self._raw.HasField(which):
            return None
        index: int = getattr(self._raw, which)
        return _payload(self._payloads, index, which)

    def _decode(self, which: _Payload) -> Any:
        content = self._serialized(which)
        if content is None:
            return None
        message = self._space(which)()
        try:
            message.ParseFromString(content)
        except DecodeError as error:
            raise CogmentError(
                f"Cannot decode the {which} of actor [{self.name}] as "
                f"[{message.DESCRIPTOR.full_name}]: {error}"
            ) from error
        return message

    @property
    def observation_serialized(self) -> bytes | None:
        """The observation received by the actor, serialized (works without specs)."""
        return self._serialized("observation")

    @property
    def observation(self) -> ObsT | None:
        """The observation received by the actor (its class's observation space)."""
        return cast("ObsT | None", self._decode("observation"))

    @property
    def action_serialized(self) -> bytes | None:
        """The action of the actor, serialized (works without specs)."""
        return self._serialized("action")

    @property
    def action(self) -> ActT | None:
        """The action of the actor (its class's action space)."""
        return cast("ActT | None", self._decode("action"))

    @property
    def reward(self) -> float:
        """The aggregated reward received by the actor in this sample (0.0 if none)."""
        return self._raw.reward if self._raw.HasField("reward") else 0.0

    def all_received_rewards(self) -> Iterator[DatastoreReward]:
        """The individual rewards received by the actor (the aggregate is computed from them)."""
        for reward in self._raw.received_rewards:
            yield DatastoreReward(reward, self._payloads, self._names)

    def all_sent_rewards(self) -> Iterator[DatastoreReward]:
        """The individual rewards sent by the actor."""
        for reward in self._raw.sent_rewards:
            yield DatastoreReward(reward, self._payloads, self._names)

    def all_received_messages(self) -> Iterator[DatastoreMessage]:
        """The messages received by the actor."""
        for message in self._raw.received_messages:
            yield DatastoreMessage(message, self._payloads, self._names)

    def all_sent_messages(self) -> Iterator[DatastoreMessage]:
        """The messages sent by the actor."""
        for message in self._raw.sent_messages:
            yield DatastoreMessage(message, self._payloads, self._names)

    def __str__(self) -> str:
        raw = self._raw
        return (
            f"DatastoreActorData: name = {self.name}, reward = {self.reward}, "
            f"observation = {self.observation_serialized!r}, action = {self.action_serialized!r}, "
            f"nb received rewards = {len(raw.received_rewards)}, "
            f"nb sent rewards = {len(raw.sent_rewards)}, "
            f"nb received messages = {len(raw.received_messages)}, "
            f"nb sent messages = {len(raw.sent_messages)}"
        )


class DatastoreSample:
    """The data of one trial sample (typically one tick).

    Attributes:
        trial_id: the trial of the sample.
        trial_state: the :class:`~cogment.TrialState` at the end of the sample period (the last
            sample is ``ENDED``; its data may be ``None``).
        tick_id: the tick of the sample.
        timestamp: start of the tick, in nanoseconds since the Unix epoch.
        actors_data: ``{actor name: DatastoreActorData}`` of the actors selected.
    """

    __slots__ = (
        "_parameters",
        "_raw",
        "actors_data",
        "tick_id",
        "timestamp",
        "trial_id",
        "trial_state",
    )

    def __init__(
        self,
        sample: trial_datastore_pb2.StoredTrialSample,
        parameters: TrialParameters[Any, Any],
        names: _TrialNames | None = None,
    ) -> None:
        self._raw = sample
        self._parameters = parameters
        self.trial_id: str = sample.trial_id
        self.trial_state: TrialState = trial_state(sample.state, "datastore")
        self.tick_id: int = sample.tick_id
        self.timestamp: int = sample.timestamp
        trial_names = names if names is not None else _TrialNames(parameters)
        payloads = sample.payloads
        self.actors_data: dict[str, DatastoreActorData[Any, Any]] = {}
        for actor_sample in sample.actor_samples:
            data: DatastoreActorData[Any, Any] = DatastoreActorData(
                actor_sample, payloads, parameters, trial_names
            )
            if data.name in self.actors_data:
                raise CogmentError(
                    f"Duplicate actor [{data.name}] in a datastore sample of trial [{self.trial_id}]"
                )
            self.actors_data[data.name] = data

    def has_specs(self) -> bool:
        """True if the specs are known (observations and actions can be decoded)."""
        return self._parameters.has_specs()

    def __str__(self) -> str:
        utc = datetime.datetime.fromtimestamp(self.timestamp * _REV_NANO, tz=datetime.timezone.utc)
        return (
            f"DatastoreSample: trial_id = {self.trial_id}, trial_state = {self.trial_state}, "
            f"tick_id = {self.tick_id}, timestamp = {self.timestamp} UTC[{utc}], "
            f"nb actors = {len(self.actors_data)}"
        )


def _strings(values: Iterable[str] | str, what: str) -> list[str]:
    if isinstance(values, str):
        raise CogmentError(f"Datastore.{what} must be a list of str, not a str [{values}]")
    result = list(values)
    for value in result:
        if not isinstance(value, str):
            raise CogmentError(f"Datastore.{what} must be str, not [{type(value).__name__}]")
    return result


def _properties(properties: Mapping[str, str], what: str) -> dict[str, str]:
    if not isinstance(properties, Mapping):
        raise CogmentError(
            f"Datastore.{what}: properties must be a dict, not [{type(properties).__name__}]"
        )
    return {str(name): str(value) for name, value in properties.items()}


class Datastore(ChannelClient):
    """Client of a Trial Datastore: list, read (historical or live) and delete trials."""

    def __init__(
        self,
        channel: grpc.aio.Channel | trial_datastore_pb2_grpc.TrialDatastoreSPAsyncStub,
        cog_settings: Any,
        metadata: GrpcMetadata | None = None,
        *,
        timeout: float | None = DEFAULT_TIMEOUT,
        url: str | None = None,
    ) -> None:
        """Create a datastore client (normally through ``Context.get_datastore``).

        Args:
            channel: a channel to the Trial Datastore (owned by this client from now on), or an async
                ``TrialDatastoreSP`` stub (not owned).
            cog_settings: the specs (``None``: observations and actions only serialized).
            metadata: gRPC metadata sent with every call (copied).
            timeout: deadline in seconds of the unary calls (``None``: no deadline).
            url: the Datastore URL, for error messages.
        """
        self._channel, self._stub = stub_for(channel, trial_datastore_pb2_grpc.TrialDatastoreSPStub)
        self._cog_settings = cog_settings
        self._metadata = metadata.copy() if metadata is not None else GrpcMetadata()
        self.timeout = timeout
        self.url = url if url is not None else channel_url(channel)

    def __str__(self) -> str:
        return f"Datastore: {self.url}"

    def __repr__(self) -> str:
        return f"Datastore(url={self.url!r})"

    def has_specs(self) -> bool:
        """True if the specs are known (observations and actions can be decoded)."""
        return self._cog_settings is not None

    def _error(self, error: grpc.RpcError, rpc: str, timeout: float | None = None) -> CogmentError:
        return rpc_error(error, rpc=rpc, service=_SERVICE, url=self.url, timeout=timeout)

    def _metadata_items(self) -> tuple[GrpcMetadataItem, ...]:
        return call_metadata(self._metadata)

    async def _retrieve(
        self, request: trial_datastore_pb2.RetrieveTrialsRequest, wait: float = 0.0
    ) -> trial_datastore_pb2.RetrieveTrialsReply:
        timeout = None if self.timeout is None else self.timeout + wait
        try:
            return await self._stub.RetrieveTrials(
                request, metadata=self._metadata_items(), timeout=timeout
            )
        except grpc.RpcError as error:
            raise self._error(error, "RetrieveTrials", timeout) from error

    async def get_trials(
        self, ids: Iterable[str] = (), properties: Mapping[str, str] | None = None
    ) -> list[DatastoreTrialInfo]:
        """The trials with these ``ids`` (all if empty) whose properties match ``properties``."""
        request = trial_datastore_pb2.RetrieveTrialsRequest(
            trial_ids=_strings(ids, "get_trials(ids)"),
            properties=_properties(properties or {}, "get_trials"),
        )
        reply = await self._retrieve(request)
        return [DatastoreTrialInfo(self._cog_settings, info) for info in reply.trial_infos]

    async def all_trials(
        self,
        bundle_size: int = 1,
        wait_for_trials: float = 0,
        properties: Mapping[str, str] | None = None,
        ids: Iterable[str] = (),
    ) -> AsyncGenerator[DatastoreTrialInfo, None]:
        """Iterate over the trials matching ``properties`` and ``ids``, ``bundle_size`` at a time.

        With ``wait_for_trials`` seconds, each bundle waits that long for new trials to fill it;
        the iteration ends when a bundle comes back incomplete.
        """
        if not isinstance(bundle_size, int) or bundle_size < 1:
            raise CogmentError(
                f"Datastore.all_trials(): bundle_size must be an int >= 1, not [{bundle_size}]"
            )
        if wait_for_trials < 0:
            raise CogmentError(
                f"Datastore.all_trials(): wait_for_trials must be >= 0, not [{wait_for_trials}]"
            )
        request = trial_datastore_pb2.RetrieveTrialsRequest(
            trial_ids=_strings(ids, "all_trials(ids)"),
            properties=_properties(properties or {}, "all_trials"),
            timeout=int(wait_for_trials * 1000),
            trials_count=bundle_size,
        )
        while True:
            reply = await self._retrieve(request, wait=float(wait_for_trials))
            for info in reply.trial_infos:
                yield DatastoreTrialInfo(self._cog_settings, info)
            if len(reply.trial_infos) < bundle_size or not reply.next_trial_handle:
                return
            request.trial_handle = reply.next_trial_handle

    async def delete_trials(self, ids: Iterable[str]) -> None:
        """Delete the trials ``ids`` (at least one): all of them, or none if one is unknown."""
        trial_ids = _strings(ids, "delete_trials(ids)")
        if not trial_ids:
            raise CogmentError("Datastore.delete_trials(): at least one trial id is required")
        try:
            await self._stub.DeleteTrials(
                trial_datastore_pb2.DeleteTrialsRequest(trial_ids=trial_ids),
                metadata=self._metadata_items(),
                timeout=self.timeout,
            )
        except grpc.RpcError as error:
            raise self._error(error, f"DeleteTrials {trial_ids}", self.timeout) from error

    async def all_samples(
        self,
        trial_infos: Iterable[DatastoreTrialInfo],
        actor_names: Iterable[str] = (),
        actor_classes: Iterable[str] = (),
        actor_implementations: Iterable[str] = (),
        fields: Iterable[DatastoreFields] = (),
    ) -> AsyncGenerator[DatastoreSample, None]:
        """Iterate over the samples of ``trial_infos`` (from ``get_trials``/``all_trials``).

        Ended trials give their stored samples; running trials are followed live until they end.
        Only the actors matching every non-empty filter are included, with only the ``fields``
        selected (all if empty).
        """
        infos = list(trial_infos)
        if not infos:
            raise CogmentError("Datastore.all_samples(): at least one trial info is required")
        request = trial_datastore_pb2.RetrieveSamplesRequest(
            actor_names=_strings(actor_names, "all_samples(actor_names)"),
            actor_classes=_strings(actor_classes, "all_samples(actor_classes)"),
            actor_implementations=_strings(
                actor_implementations, "all_samples(actor_implementations)"
            ),
        )
        trials: dict[str, tuple[TrialParameters[Any, Any], _TrialNames]] = {}
        for info in infos:
            if not isinstance(info, DatastoreTrialInfo):
                raise CogmentError(
                    "Datastore.all_samples(): trial_infos must be DatastoreTrialInfo, "
                    f"not [{type(info).__name__}]"
                )
            request.trial_ids.append(info.trial_id)
            trials[info.trial_id] = (info.parameters, info._names)
        for field in fields:
            if not isinstance(field, DatastoreFields):
                raise CogmentError(
                    f"Datastore.all_samples(): fields must be cogment.DatastoreFields, not [{field!r}]"
                )
            request.selected_sample_fields.append(field.value)
        call = self._stub.RetrieveSamples(request, metadata=self._metadata_items())
        try:
            async for reply in call:
                sample = reply.trial_sample
                known = trials.get(sample.trial_id)
                if known is None:
                    raise CogmentError(
                        f"Datastore [{self.url}] sent a sample of trial [{sample.trial_id}], "
                        "which was not requested"
                    )
                yield DatastoreSample(sample, known[0], known[1])
        except grpc.RpcError as error:
            raise self._error(error, f"RetrieveSamples {list(request.trial_ids)}") from error
        finally:
            call.cancel()

    def __await__(self) -> Any:
        """``await datastore`` returns the datastore itself (the published SDK's awaitable form)."""

        async def itself() -> Datastore:
            return self

        return asyncio.ensure_future(itself()).__await__()
