"""The trial controller: start, terminate, inquire and watch trials on an Orchestrator.

Construction (done by ``Context.get_controller``)::

    channel = cogment._grpc.create_channel(endpoint)          # endpoint already resolved to grpc://
    controller = Controller(channel, user_id, metadata)       # metadata: the Context's GrpcMetadata

``Controller(channel_or_stub, user_id, metadata=None, *, timeout=60.0, url=None)``: the first argument is a
``grpc.aio.Channel`` (the controller then owns it: :meth:`Controller.close`, or ``async with``) or a
``TrialLifecycleSP`` async stub (the published SDK's form).  Every call carries the context ``metadata``
(``watch_trials`` included, unlike the published SDK).  Unary calls have a deadline of ``timeout`` seconds
(``None``: none).  Failures raise :class:`~cogment.CogmentError` naming the RPC, the Orchestrator URL and
the reason (unreachable, timeout, rejected parameters...).
"""

from __future__ import annotations

import enum
from collections.abc import AsyncGenerator, Iterable, Mapping
from typing import Any

import grpc
import grpc.aio
from google.protobuf.message import Message

from cogment._client_base import ChannelClient, stub_for
from cogment._errors import CogmentError
from cogment._grpc import call_metadata, channel_url, rpc_error
from cogment._log import deprecated, logger
from cogment._metadata import GrpcMetadata
from cogment._parameters import TrialParameters
from cogment._session import ActorInfo
from cogment._version_info import versions_dict
from cogment.api import common_pb2, environment_pb2, orchestrator_pb2, orchestrator_pb2_grpc

__all__ = ["DEFAULT_TIMEOUT", "Controller", "TrialInfo", "TrialState"]

DEFAULT_TIMEOUT = 60.0
"""Default deadline (seconds) of the controller's unary calls."""

_SERVICE = "Orchestrator"
_REFUSAL_CODES = frozenset(
    {
        grpc.StatusCode.UNKNOWN,
        grpc.StatusCode.INVALID_ARGUMENT,
        grpc.StatusCode.FAILED_PRECONDITION,
        grpc.StatusCode.ALREADY_EXISTS,
        grpc.StatusCode.ABORTED,
        grpc.StatusCode.INTERNAL,
    }
)


class TrialState(enum.Enum):
    """State of a trial; the values are the wire values of ``cogmentAPI.TrialState``."""

    UNKNOWN = common_pb2.UNKNOWN
    INITIALIZING = common_pb2.INITIALIZING
    PENDING = common_pb2.PENDING
    RUNNING = common_pb2.RUNNING
    TERMINATING = common_pb2.TERMINATING
    ENDED = common_pb2.ENDED


def trial_state(value: int, source: str = "orchestrator") -> TrialState:
    """The :class:`TrialState` of a wire value received from ``source`` (logged, ``UNKNOWN`` if unknown)."""
    try:
        return TrialState(value)
    except ValueError:
        logger.warning("Unknown trial state value [%s] received from the %s", value, source)
        return TrialState.UNKNOWN


class TrialInfo:
    """Details of a trial, as returned by :meth:`Controller.get_trial_info` and :meth:`Controller.watch_trials`.

    Attributes:
        trial_id: the trial id.
        state: the :class:`TrialState`.
        properties: user properties of the trial (``None`` when not provided: ``watch_trials`` without
            ``full_info``).
        env_name: name of the environment (``None`` when not provided).
        tick_id: current tick (``None`` when not provided).
        duration: nanoseconds the trial has run (``None`` when not provided).
        latest_observation: the last ``cogmentAPI.ObservationSet`` of the trial (raw: one serialized
            observation per entry, ``actors_map`` giving each actor's entry), only when requested with
            ``get_trial_info(..., get_latest_observation=True)`` and the trial has not ended; else ``None``.
        actors_in_trial: the trial's actors, only when requested with ``get_trial_info(..., get_actor_list=True)``
            (and the trial is at least PENDING); else ``None``.
    """

    __slots__ = (
        "actors_in_trial",
        "duration",
        "env_name",
        "latest_observation",
        "properties",
        "state",
        "tick_id",
        "trial_id",
    )

    def __init__(
        self,
        trial_id: str,
        state: TrialState,
        *,
        properties: Mapping[str, str] | None = None,
        env_name: str | None = None,
        tick_id: int | None = None,
        duration: int | None = None,
        latest_observation: environment_pb2.ObservationSet | None = None,
        actors_in_trial: list[ActorInfo] | None = None,
    ) -> None:
        self.trial_id = trial_id
        self.state = state
        self.properties: dict[str, str] | None = (
            dict(properties) if properties is not None else None
        )
        self.env_name = env_name
        self.tick_id = tick_id
        self.duration = duration
        self.latest_observation = latest_observation
        self.actors_in_trial = actors_in_trial

    @classmethod
    def from_proto(
        cls,
        info: orchestrator_pb2.TrialInfo,
        *,
        with_observation: bool = False,
        with_actors: bool = False,
    ) -> TrialInfo:
        """The details of a wire ``TrialInfo``."""
        observation = None
        if with_observation and info.HasField("latest_observation"):
            observation = environment_pb2.ObservationSet()
            observation.CopyFrom(info.latest_observation)
        actors = None
        if with_actors:
            actors = [ActorInfo(actor.name, actor.actor_class) for actor in info.actors_in_trial]
        return cls(
            info.trial_id,
            trial_state(info.state),
            properties=info.properties,
            env_name=info.env_name,
            tick_id=info.tick_id,
            duration=info.trial_duration,
            latest_observation=observation,
            actors_in_trial=actors,
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, TrialInfo):
            return NotImplemented
        return all(getattr(self, name) == getattr(other, name) for name in self.__slots__)

    def __repr__(self) -> str:
        return (
            f"TrialInfo(trial_id={self.trial_id!r}, state={self.state.name}, properties={self.properties!r}, "
            f"env_name={self.env_name!r}, tick_id={self.tick_id!r}, duration={self.duration!r})"
        )

    def __str__(self) -> str:
        return (
            f"TrialInfo: trial_id = {self.trial_id}, properties = {self.properties}, env_name = {self.env_name}"
            f", state = {self.state}, tick_id = {self.tick_id}, duration = {self.duration}"
        )


def _trial_id_headers(trial_ids: Iterable[str], method: str) -> list[tuple[str, str]]:
    headers = []
    for trial_id in trial_ids:
        if not isinstance(trial_id, str):
            raise CogmentError(
                f"Controller.{method}(): trial ids must be str, got [{type(trial_id).__name__}]"
            )
        if not trial_id:
            raise CogmentError(f"Controller.{method}(): empty trial id")
        headers.append(("trial-id", trial_id))
    return headers


class Controller(ChannelClient):
    """Client of an Orchestrator's trial lifecycle service: start, terminate, inquire and watch trials."""

    def __init__(
        self,
        channel: grpc.aio.Channel | orchestrator_pb2_grpc.TrialLifecycleSPAsyncStub,
        user_id: str,
        metadata: GrpcMetadata | None = None,
        *,
        timeout: float | None = DEFAULT_TIMEOUT,
        url: str | None = None,
    ) -> None:
        """Create a controller (normally through ``Context.get_controller``).

        Args:
            channel: a channel to the Orchestrator (owned by the controller from now on), or an async
                ``TrialLifecycleSP`` stub (not owned).
            user_id: the user starting trials (sent in ``StartTrial``).
            metadata: gRPC metadata sent with every call (copied).
            timeout: deadline in seconds of the unary calls (``None``: no deadline).
            url: the Orchestrator URL, for error messages (found from the channel when it was made by
                ``cogment._grpc.create_channel``).
        """
        self._channel, self._stub = stub_for(channel, orchestrator_pb2_grpc.TrialLifecycleSPStub)
        self._closed = False
        self._user_id = user_id
        self._metadata = metadata.copy() if metadata is not None else GrpcMetadata()
        self.timeout = timeout
        self.url = url if url is not None else channel_url(channel)

    def __str__(self) -> str:
        return f"Controller: user id = {self._user_id}, orchestrator = {self.url}"

    def __repr__(self) -> str:
        return f"Controller(user_id={self._user_id!r}, url={self.url!r})"

    @property
    def user_id(self) -> str:
        """The user id sent with ``start_trial``."""
        return self._user_id

    def has_specs(self) -> bool:
        """Always True: the controller does not need the specs."""
        return True

    # ------------------------------------------------------------------------------------------ calls

    def _check_open(self, method: str) -> None:
        if self._closed:
            raise CogmentError(f"Controller.{method}(): the controller is closed")

    def _error(self, error: grpc.RpcError, rpc: str) -> CogmentError:
        return rpc_error(error, rpc=rpc, service=_SERVICE, url=self.url, timeout=self.timeout)

    async def start_trial(
        self,
        trial_config: Message | bytes | None = None,
        trial_id_requested: str | None = None,
        trial_params: TrialParameters[Any, Any] | common_pb2.TrialParams | None = None,
    ) -> str:
        """Start a new trial and return its id (``""`` if ``trial_id_requested`` is already in use).

        Args:
            trial_config: the trial config (spec ``trial:config_type``; or already serialized bytes), given
                to the pre-trial hooks with the Orchestrator's default parameters.
            trial_id_requested: the id wanted for the trial (default: a UUID chosen by the Orchestrator).
            trial_params: complete trial parameters (the defaults and the hooks are then skipped).
                Exclusive with ``trial_config``.
        """
        self._check_open("start_trial")
        request = orchestrator_pb2.TrialStartRequest(user_id=self._user_id)
        if trial_config is not None and trial_params is not None:
            raise CogmentError(
                "start_trial(): give either a trial config or trial parameters, not both"
            )
        if trial_config is not None:
            if isinstance(trial_config, (bytes, bytearray)):
                request.config.content = bytes(trial_config)
            elif isinstance(trial_config, Message):
                request.config.content = trial_config.SerializeToString()
            else:
                raise CogmentError(
                    "start_trial(): trial_config must be a protobuf message or bytes, "
                    f"not [{type(trial_config).__name__}]"
                )
        elif trial_params is not None:
            if isinstance(trial_params, TrialParameters):
                request.params.CopyFrom(trial_params.to_proto(copy=False))
            elif isinstance(trial_params, common_pb2.TrialParams):
                request.params.CopyFrom(trial_params)
            else:
                raise CogmentError(
                    "start_trial(): trial_params must be cogment.TrialParameters, "
                    f"not [{type(trial_params).__name__}]"
                )
        if trial_id_requested is not None:
            if not isinstance(trial_id_requested, str):
                raise CogmentError(
                    f"start_trial(): trial_id_requested must be a str, not [{type(trial_id_requested).__name__}]"
                )
            request.trial_id_requested = trial_id_requested

        logger.debug(
            "Requesting the start of a trial (requested id [%s])", trial_id_requested or ""
        )
        try:
            reply = await self._stub.StartTrial(
                request, metadata=call_metadata(self._metadata), timeout=self.timeout
            )
        except grpc.RpcError as error:
            raise self._start_error(error) from error
        if reply.trial_id:
            logger.debug("Trial [%s] started", reply.trial_id)
        else:
            logger.warning(
                "Requested trial id [%s] could not be used (already in use)", trial_id_requested
            )
        return reply.trial_id

    def _start_error(self, error: grpc.RpcError) -> CogmentError:
        if isinstance(error, grpc.aio.AioRpcError) and error.code() in _REFUSAL_CODES:
            return CogmentError(
                f"{_SERVICE} at [{self.url}] refused to start the trial ({error.code().name}): "
                f"{error.details() or 'no details'}"
            )
        return self._error(error, "StartTrial")

    async def terminate_trial(self, trial_ids: Iterable[str] | str, hard: bool = False) -> None:
        """Request the end of trials (at least one id).

        Soft (default): the trial ends after the current step, the environment sees an ENDING event.
        Hard (``hard=True``): the trial ends at once.  A bare ``str`` id is accepted but deprecated.
        """
        self._check_open("terminate_trial")
        if isinstance(trial_ids, str):
            deprecated(
                "Controller.terminate_trial() with a str trial id is deprecated: pass a list of ids"
            )
            trial_ids = [trial_ids]
        headers = _trial_id_headers(trial_ids, "terminate_trial")
        if not headers:
            raise CogmentError("Controller.terminate_trial(): at least one trial id is required")
        request = orchestrator_pb2.TerminateTrialRequest(hard_termination=bool(hard))
        ids = [value for _, value in headers]
        logger.debug("Requesting the end of trials %s (hard: %s)", ids, hard)
        try:
            await self._stub.TerminateTrial(
                request, metadata=call_metadata(self._metadata, headers), timeout=self.timeout
            )
        except grpc.RpcError as error:
            raise self._error(error, f"TerminateTrial {ids}") from error

    async def get_trial_info(
        self,
        trial_ids: Iterable[str] | str | None,
        *,
        get_latest_observation: bool = False,
        get_actor_list: bool = False,
    ) -> list[TrialInfo]:
        """Details of the given trials (unknown ids are skipped); an empty list of ids means all trials.

        ``get_latest_observation`` / ``get_actor_list`` also fill ``TrialInfo.latest_observation`` /
        ``TrialInfo.actors_in_trial``.  A bare ``str`` id or ``None`` are accepted but deprecated.
        """
        self._check_open("get_trial_info")
        if trial_ids is None:
            deprecated("Controller.get_trial_info(None) is deprecated: pass [] for all trials")
            trial_ids = []
        elif isinstance(trial_ids, str):
            deprecated(
                "Controller.get_trial_info() with a str trial id is deprecated: pass a list of ids"
            )
            trial_ids = [trial_ids]
        headers = _trial_id_headers(trial_ids, "get_trial_info")
        request = orchestrator_pb2.TrialInfoRequest(
            get_latest_observation=get_latest_observation, get_actor_list=get_actor_list
        )
        try:
            reply = await self._stub.GetTrialInfo(
                request, metadata=call_metadata(self._metadata, headers), timeout=self.timeout
            )
        except grpc.RpcError as error:
            raise self._error(error, "GetTrialInfo") from error
        return [
            TrialInfo.from_proto(
                info, with_observation=get_latest_observation, with_actors=get_actor_list
            )
            for info in reply.trial
        ]

    async def get_actors(self, trial_id: str) -> list[ActorInfo]:
        """The actors of trial ``trial_id`` (name and class), in actor index order."""
        self._check_open("get_actors")
        headers = _trial_id_headers([trial_id], "get_actors")
        request = orchestrator_pb2.TrialInfoRequest(get_actor_list=True)
        try:
            reply = await self._stub.GetTrialInfo(
                request, metadata=call_metadata(self._metadata, headers), timeout=self.timeout
            )
        except grpc.RpcError as error:
            raise self._error(error, "GetTrialInfo") from error
        if not reply.trial:
            raise CogmentError(f"Unknown trial [{trial_id}] on the {_SERVICE} at [{self.url}]")
        if len(reply.trial) > 1:
            raise CogmentError(
                f"Unexpected reply from the {_SERVICE} at [{self.url}]: "
                f"{len(reply.trial)} trials for id [{trial_id}]"
            )
        return [
            ActorInfo(actor.name, actor.actor_class) for actor in reply.trial[0].actors_in_trial
        ]

    async def watch_trials(
        self, trial_state_filters: Iterable[TrialState] = (), full_info: bool = False
    ) -> AsyncGenerator[TrialInfo, bool | None]:
        """Iterate over the trials whose state matches the filters (empty: all): first the current ones,
        then every state change, as they happen.  Without ``full_info`` only ``trial_id`` and ``state`` are
        set.  Sending ``False`` into the generator stops it.  The iteration ends if the Orchestrator ends the
        stream (when it shuts down); losing the Orchestrator raises ``CogmentError``.
        """
        self._check_open("watch_trials")
        request = orchestrator_pb2.TrialListRequest(full_info=bool(full_info))
        for state in trial_state_filters:
            if not isinstance(state, TrialState):
                raise CogmentError(
                    f"watch_trials(): unknown filter [{state!r}] of type [{type(state).__name__}]: "
                    "filters must be cogment.TrialState values"
                )
            request.filter.append(state.value)
        call = self._stub.WatchTrials(request, metadata=call_metadata(self._metadata))
        try:
            async for entry in call:
                if entry.HasField("info"):
                    info = TrialInfo.from_proto(entry.info)
                else:
                    info = TrialInfo(entry.trial_id, trial_state(entry.state))
                keep_going = yield info
                if keep_going is not None and not keep_going:
                    break
            else:
                logger.warning("The %s at [%s] ended the WatchTrials stream", _SERVICE, self.url)
        except grpc.RpcError as error:
            raise self._error(error, "WatchTrials") from error
        finally:
            call.cancel()

    async def get_remote_versions(self) -> dict[str, str]:
        """Versions of the Orchestrator's components: ``{name: version}``."""
        self._check_open("get_remote_versions")
        try:
            info = await self._stub.Version(
                common_pb2.VersionRequest(),
                metadata=call_metadata(self._metadata),
                timeout=self.timeout,
            )
        except grpc.RpcError as error:
            raise self._error(error, "Version") from error
        return versions_dict(info)

    # -------------------------------------------------------------------------------------- lifetime

    async def close(self) -> None:
        """Close the controller (and its channel when it owns one): it cannot be used afterwards."""
        self._closed = True
        await super().close()
