"""The embeddable Orchestrator: trial table, StartTrial pipeline, GC, watchers, gRPC servers.

Use it inside an asyncio program::

    async with Orchestrator(lifecycle_port=0, params="params.yaml") as orch:
        controller = context.get_controller(orch.endpoint)
        ...

Choices where the reference is silent or defective (see also ``_trial.py``):

- StartTrial errors are gRPC ``INVALID_ARGUMENT`` naming the field (bad params),
  ``FAILED_PRECONDITION`` (pre-trial hook failure, unresolvable endpoint) instead of UNKNOWN.
  A trial that fails to start goes INITIALIZING → ENDED (with :attr:`Trial.end_reason`) instead
  of staying INITIALIZING forever.
- Staleness (``max_inactivity``) is checked by a 1 s timer as well as at GC time.
- Pre-trial hook calls have a deadline (``hook_timeout``, 60 s by default).
- WatchTrials streams end cleanly when the orchestrator stops (the reference hangs).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import grpc
import grpc.aio

from cogment._directory import Directory, DirectoryRegistrations, ServiceRegistration
from cogment._endpoint_url import (
    CLIENT_ACTOR_URL,
    DiscoveryContext,
    EndpointUrl,
    EndpointUrlError,
    ServiceType,
    parse_endpoint_url,
)
from cogment._errors import CogmentError
from cogment._grpc import MAX_MESSAGE_BYTES
from cogment.api import common_pb2, orchestrator_pb2, orchestrator_pb2_grpc
from cogment_services._registration import directory_endpoint
from cogment_services._server import (
    EmbeddedService,
    PrometheusExporter,
    ServiceStartupError,
    TlsFiles,
    bind_server,
    create_server,
    stop_server,
)

from ._links import (
    Connector,
    DirectoryResolver,
    EndpointResolver,
    GrpcConnector,
    LinkError,
    ResolutionError,
    StaticResolver,
)
from ._metrics import OrchestratorMetrics
from ._params import ParamsError, load_params_file, normalize_and_validate, params_from_mapping
from ._trial import ENDED, Trial

__all__ = ["Orchestrator", "OrchestratorConfig", "StartTrialError"]

_log = logging.getLogger("cogment.services.orchestrator")

#: What ``Version`` reports (the reference reports ``cogment`` only).
COGMENT_API_VERSION = "2.22.0"


class StartTrialError(Exception):
    """StartTrial refused; ``code`` is the gRPC status to answer with."""

    def __init__(self, code: grpc.StatusCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass
class OrchestratorConfig:
    """Settings of an :class:`Orchestrator` (the CLI flags, as Python values).

    ``params`` is the default trial parameters: a ``TrialParams``, the mapping under the YAML
    ``trial_params`` key, or the path of a params file. ``actor_port`` ``None`` means the
    lifecycle port (one server). Port 0 = a free port.
    """

    lifecycle_port: int = 9000
    actor_port: int | None = None
    host: str = "0.0.0.0"
    params: common_pb2.TrialParams | Mapping[str, Any] | str | Path | None = None
    pre_trial_hooks: Sequence[str] = ()
    directory_endpoint: str | None = None
    directory_authentication_token: str | None = None
    directory_auto_register: bool = True
    directory_registration_host: str | None = None
    directory_registration_properties: Mapping[str, str] = field(default_factory=dict)
    prometheus_port: int = 0
    gc_frequency: int = 10
    tls: TlsFiles | None = None
    hook_timeout: float = 60.0
    environment_init_timeout: float = 60.0
    stale_check_interval: float = 1.0
    grace_period: float = 2.0
    registration_source: str = "Self-Implicit"
    #: False: no gRPC server (an embedded Orchestrator reached in-process only).
    serve_grpc: bool = True


class _Watcher:
    __slots__ = ("filter", "full_info", "queue")

    def __init__(self, states: set[int], full_info: bool) -> None:
        self.filter = states
        self.full_info = full_info
        self.queue: asyncio.Queue[orchestrator_pb2.TrialListEntry | None] = asyncio.Queue()


class Orchestrator(EmbeddedService):
    """A Cogment Orchestrator running in the current asyncio event loop.

    An async context manager: ``async with Orchestrator(lifecycle_port=0) as orch: ...``.
    Keyword arguments override the fields of ``config`` (:class:`OrchestratorConfig`).
    """

    def __init__(
        self,
        config: OrchestratorConfig | None = None,
        *,
        connector: Connector | None = None,
        resolver: EndpointResolver | None = None,
        **overrides: Any,
    ) -> None:
        base = config if config is not None else OrchestratorConfig()
        self.config = replace(base, **overrides) if overrides else base
        self._default_params = self._load_default_params(self.config.params)
        tls = self.config.tls if self.config.tls is not None and self.config.tls.enabled else None
        self._tls = tls
        self._connector = connector or GrpcConnector(
            tls.channel_credentials() if tls is not None else None
        )
        self._resolver: EndpointResolver = resolver or StaticResolver()
        self._resolver_is_default = resolver is None
        self._directory: Directory | None = None
        self._registrations: list[DirectoryRegistrations] = []
        self.metrics = OrchestratorMetrics()
        self._exporter = PrometheusExporter(self.metrics.registry, self.config.prometheus_port)
        self.trials: dict[str, Trial] = {}
        self._watchers: list[_Watcher] = []
        self._servers: list[grpc.aio.Server] = []
        self._hook_addresses: list[str] = []
        self._start_counter = 0
        self._stale_task: asyncio.Task[None] | None = None
        self._running = False
        self._stopped = asyncio.Event()
        self.lifecycle_port = 0
        self.actor_port = 0

    # ------------------------------------------------------------------------------ config

    @staticmethod
    def _load_default_params(
        params: common_pb2.TrialParams | Mapping[str, Any] | str | Path | None,
    ) -> common_pb2.TrialParams | None:
        if params is None:
            return None
        if isinstance(params, common_pb2.TrialParams):
            copy = common_pb2.TrialParams()
            copy.CopyFrom(params)
            return copy
        if isinstance(params, (str, Path)):
            return load_params_file(params)
        return params_from_mapping(params)

    @property
    def endpoint(self) -> str:
        """The lifecycle endpoint as a URL a controller can use (``grpc://127.0.0.1:<port>``)."""
        return f"grpc://{self._local_host()}:{self.lifecycle_port}"

    @property
    def actor_endpoint(self) -> str:
        """The client-actor endpoint (``grpc://127.0.0.1:<port>``) for ``join_trial``."""
        return f"grpc://{self._local_host()}:{self.actor_port}"

    def _local_host(self) -> str:
        host = self.config.host
        return "127.0.0.1" if host in ("0.0.0.0", "::", "[::]", "") else host

    # ----------------------------------------------------------------------------- running

    async def start(self) -> None:
        """Resolve hooks, bind and start the gRPC server(s) and the metrics exporter."""
        if self._running:
            return
        if self.config.directory_endpoint:
            self._connect_directory(self.config.directory_endpoint)
        for index, url in enumerate(self.config.pre_trial_hooks):
            self._hook_addresses.append(await self._resolve_hook(url, index))
        if not self.config.serve_grpc:
            self._running = True
            self._stale_task = asyncio.create_task(self._stale_loop(), name="orchestrator-stale")
            _log.info("Orchestrator ready (in-process only, no gRPC server)")
            return
        lifecycle_servicer = _LifecycleServicer(self)
        actor_servicer = _ClientActorServicer(self)
        same = (
            self.config.actor_port is None or self.config.actor_port == self.config.lifecycle_port
        )
        try:
            server = create_server(MAX_MESSAGE_BYTES)
            orchestrator_pb2_grpc.add_TrialLifecycleSPServicer_to_server(lifecycle_servicer, server)
            if same:
                orchestrator_pb2_grpc.add_ClientActorSPServicer_to_server(actor_servicer, server)
            self.lifecycle_port = bind_server(
                server, self.config.host, self.config.lifecycle_port, self._tls
            )
            self._servers.append(server)
            if same:
                self.actor_port = self.lifecycle_port
            else:
                assert self.config.actor_port is not None
                actor_server = create_server(MAX_MESSAGE_BYTES)
                orchestrator_pb2_grpc.add_ClientActorSPServicer_to_server(
                    actor_servicer, actor_server
                )
                self.actor_port = bind_server(
                    actor_server, self.config.host, self.config.actor_port, self._tls
                )
                self._servers.append(actor_server)
            for each in self._servers:
                await each.start()
            self._exporter.start()
        except BaseException:
            for each in self._servers:
                await each.stop(None)
            self._servers.clear()
            raise
        self._running = True
        self._stale_task = asyncio.create_task(self._stale_loop(), name="orchestrator-stale")
        if self._directory is not None and self.config.directory_auto_register:
            try:
                await self._register_in_directory(self._directory)
            except BaseException:
                await self.stop()
                raise
        _log.info(
            "Orchestrator ready: lifecycle port [%d], actor port [%d]",
            self.lifecycle_port,
            self.actor_port,
        )

    def _connect_directory(self, url: str) -> None:
        try:
            parsed = parse_endpoint_url(url)
        except EndpointUrlError as error:
            raise ServiceStartupError(f"--directory_endpoint: {error}") from error
        if not parsed.is_grpc:
            raise ServiceStartupError(f"--directory_endpoint: [{url}] must be a grpc:// endpoint")
        # With TLS, every outgoing channel uses TLS, the Directory's too (same PEM files).
        endpoint = directory_endpoint(url, self._tls)
        self._directory = Directory.connect(endpoint, self.config.directory_authentication_token)
        if self._resolver_is_default:
            self._resolver = DirectoryResolver(self._directory, use_ssl=self._tls is not None)

    async def _register_in_directory(self, directory: Directory) -> None:
        properties = dict(self.config.directory_registration_properties)
        properties.setdefault("__registration_source", self.config.registration_source)
        properties["__version"] = COGMENT_API_VERSION
        host = self.config.directory_registration_host
        ssl = self._tls is not None
        entries = [
            (ServiceType.LIFE_CYCLE, self.lifecycle_port),
            (ServiceType.CLIENT_ACTOR, self.actor_port),
        ]
        for service_type, port in entries:
            registrations = DirectoryRegistrations(
                directory,
                [ServiceRegistration(service_type, properties)],
                port=port,
                ssl=ssl,
                host=host,
            )
            try:
                await registrations.register()
            except CogmentError as error:
                raise ServiceStartupError(
                    f"--directory_auto_register: registration failed: {error}"
                ) from error
            self._registrations.append(registrations)

    async def _resolve_hook(self, url: str, index: int) -> str:
        try:
            parsed = parse_endpoint_url(url)
            if parsed.is_context_discovery:
                parsed = parsed.with_context(DiscoveryContext.of_type(ServiceType.HOOK))
            return await self._resolver.resolve(parsed)
        except (EndpointUrlError, ResolutionError) as error:
            raise ServiceStartupError(f"--pre_trial_hooks[{index}]: {error}") from error

    async def stop(self) -> None:
        """End every trial (hard), close watchers, stop the servers (bounded by the grace)."""
        if not self._running:
            return
        self._running = False
        if self._stale_task is not None:
            self._stale_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._stale_task
        for watcher in self._watchers:
            watcher.queue.put_nowait(None)
        for registrations in self._registrations:
            await registrations.deregister()
        self._registrations.clear()
        trials = [t for t in self.trials.values()]
        if trials:
            await asyncio.gather(*(t.shutdown() for t in trials), return_exceptions=True)
        await asyncio.gather(*(stop_server(s, self.config.grace_period) for s in self._servers))
        self._servers.clear()
        self._exporter.stop()
        await self._connector.close()
        if self._directory is not None:
            await self._directory.close()
            self._directory = None
        self._stopped.set()
        _log.info("Orchestrator stopped")

    async def serve_forever(self) -> None:
        """Wait until :meth:`stop` is called from elsewhere."""
        await self._stopped.wait()

    # ------------------------------------------------------------------------ trial events

    def trial_state_changed(self, trial: Trial) -> None:
        """Push the change to the matching watchers (called by the trial, in order)."""
        state = trial.state
        if state == common_pb2.PENDING:
            self.metrics.trials_started.inc()
            self.metrics.trials_active.inc()
        elif state == ENDED:
            self.metrics.trials_ended.inc()
            if trial.params is not None:
                self.metrics.trials_active.dec()
            self.metrics.trial_duration.observe(trial.duration_ns() / 1e9)
        if not self._watchers:
            return
        for watcher in self._watchers:
            if watcher.filter and state not in watcher.filter:
                continue
            watcher.queue.put_nowait(self._entry(trial, watcher.full_info))

    def _entry(self, trial: Trial, full_info: bool) -> orchestrator_pb2.TrialListEntry:
        if full_info:
            return orchestrator_pb2.TrialListEntry(info=self.trial_info(trial, False, False))
        return orchestrator_pb2.TrialListEntry(trial_id=trial.id, state=trial.state)  # type: ignore[arg-type]

    def trial_info(
        self, trial: Trial, with_observation: bool, with_actors: bool
    ) -> orchestrator_pb2.TrialInfo:
        """The ``TrialInfo`` of ``trial``."""
        info = orchestrator_pb2.TrialInfo(
            trial_id=trial.id,
            state=trial.state,  # type: ignore[arg-type]
            tick_id=trial.tick_id,
            trial_duration=trial.duration_ns(),
        )
        if trial.properties:
            info.properties.update(trial.properties)
        if trial.env_name:
            info.env_name = trial.env_name
        if with_observation and trial.state != ENDED and trial.latest_observation is not None:
            info.latest_observation.CopyFrom(trial.latest_observation)
        if with_actors and trial.state >= common_pb2.PENDING and trial.params is not None:
            info.actors_in_trial.extend(trial.actors)
        return info

    def get_trial(self, trial_id: str) -> Trial | None:
        """The trial ``trial_id`` (ended ones stay until garbage collected), or ``None``."""
        return self.trials.get(trial_id)

    # ------------------------------------------------------------------------- start trial

    def _collect_garbage(self) -> None:
        started = time.perf_counter()
        now = time.monotonic()
        for trial_id, trial in list(self.trials.items()):
            if trial.state == ENDED:
                del self.trials[trial_id]
            elif trial.is_stale(now):
                self._end_stale(trial)
        self.metrics.gc_duration.observe(time.perf_counter() - started)

    def _end_stale(self, trial: Trial) -> None:
        _log.warning("Trial [%s] inactive for more than %ss", trial.id, trial.max_inactivity)
        trial.terminate("The trial was inactive for too long")

    async def _stale_loop(self) -> None:
        interval = self.config.stale_check_interval
        while True:
            await asyncio.sleep(interval)
            now = time.monotonic()
            for trial in list(self.trials.values()):
                if trial.is_stale(now):
                    self._end_stale(trial)

    async def start_trial(self, request: orchestrator_pb2.TrialStartRequest) -> str:
        """Run the StartTrial pipeline; return the trial id ("" for a duplicate requested id).

        Raises :class:`StartTrialError` with the gRPC code and message on refusal.
        """
        trial_id = request.trial_id_requested or str(uuid.uuid4())
        if trial_id in self.trials:
            _log.warning("StartTrial: requested trial id [%s] already exists", trial_id)
            return ""
        self._start_counter += 1
        frequency = self.config.gc_frequency
        if frequency <= 1 or self._start_counter % frequency == 0:
            self._collect_garbage()
        user_id = request.user_id
        trial = Trial(
            trial_id,
            user_id,
            self,
            self._connector,
            self.metrics,
            env_init_timeout=self.config.environment_init_timeout,
        )
        self.trials[trial_id] = trial
        try:
            params = await self._choose_params(request, trial_id, user_id)
            validated = normalize_and_validate(params)
            env_address = await self._resolve(validated.env_endpoint, "environment.endpoint")
            actor_addresses: list[str | None] = []
            for spec in validated.actors:
                if spec.endpoint is None:
                    actor_addresses.append(None)
                    continue
                where = f"actors[{spec.index}].endpoint"
                address = await self._resolve(spec.endpoint, where, client_allowed=True)
                actor_addresses.append(None if address == CLIENT_ACTOR_URL else address)
            datalog_address = (
                await self._resolve(validated.datalog_endpoint, "datalog.endpoint")
                if validated.datalog_endpoint is not None
                else None
            )
        except ParamsError as error:
            trial.fail(f"Invalid trial parameters: {error}")
            raise StartTrialError(grpc.StatusCode.INVALID_ARGUMENT, str(error)) from error
        except StartTrialError as error:
            trial.fail(error.message)
            raise
        trial.start(validated, env_address, actor_addresses, datalog_address)
        _log.info("Trial [%s] started (user [%s])", trial_id, user_id)
        return trial_id

    async def _resolve(
        self, endpoint: EndpointUrl, where: str, client_allowed: bool = False
    ) -> str:
        try:
            address = await self._resolver.resolve(endpoint)
        except ResolutionError as error:
            code = (
                grpc.StatusCode.INVALID_ARGUMENT
                if error.invalid_argument
                else grpc.StatusCode.FAILED_PRECONDITION
            )
            raise StartTrialError(code, f"{where}: {error}") from error
        if address == CLIENT_ACTOR_URL and not client_allowed:
            raise StartTrialError(
                grpc.StatusCode.INVALID_ARGUMENT,
                f"{where}: [{endpoint.url}] resolved to cogment://client, only valid for actors",
            )
        return address

    async def _choose_params(
        self, request: orchestrator_pb2.TrialStartRequest, trial_id: str, user_id: str
    ) -> common_pb2.TrialParams:
        params = common_pb2.TrialParams()
        if request.HasField("params"):
            params.CopyFrom(request.params)
            return params
        if self._default_params is not None:
            params.CopyFrom(self._default_params)
        if request.HasField("config"):
            params.trial_config.content = request.config.content
        for index, address in enumerate(self._hook_addresses):
            try:
                params = await self._connector.call_prehook(
                    address, trial_id, user_id, params, self.config.hook_timeout
                )
            except LinkError as error:
                raise StartTrialError(
                    grpc.StatusCode.FAILED_PRECONDITION,
                    f"Pre-trial hook failure [{error}] (hook {index} at [{address}])",
                ) from error
        return params

    # ------------------------------------------------------------------------- watchers

    def add_watcher(self, states: set[int], full_info: bool) -> _Watcher:
        """Register a WatchTrials stream; it first gets every current matching trial."""
        watcher = _Watcher(states, full_info)
        for trial in self.trials.values():
            if not states or trial.state in states:
                watcher.queue.put_nowait(self._entry(trial, full_info))
        if not self._running:
            watcher.queue.put_nowait(None)
        self._watchers.append(watcher)
        return watcher

    def remove_watcher(self, watcher: _Watcher) -> None:
        """Unregister a WatchTrials stream."""
        with contextlib.suppress(ValueError):
            self._watchers.remove(watcher)


def _trial_ids(context: grpc.aio.ServicerContext[Any, Any]) -> list[str]:
    return [
        value if isinstance(value, str) else value.decode()
        for key, value in (context.invocation_metadata() or ())
        if key == "trial-id"
    ]


def _version_info() -> common_pb2.VersionInfo:
    return common_pb2.VersionInfo(
        versions=[common_pb2.VersionInfo.Version(name="cogment", version=COGMENT_API_VERSION)]
    )


def _status_reply(request: common_pb2.StatusRequest) -> common_pb2.StatusReply:
    reply = common_pb2.StatusReply()
    names = set(request.names)
    if "*" in names or "overall_load" in names:
        reply.statuses["overall_load"] = "0"
    return reply


class _VersionAndStatus:
    """``Version`` and ``Status``, the same in both services of the Orchestrator."""

    async def Version(
        self, request: common_pb2.VersionRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> common_pb2.VersionInfo:
        return _version_info()

    async def Status(
        self, request: common_pb2.StatusRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> common_pb2.StatusReply:
        return _status_reply(request)


class _LifecycleServicer(_VersionAndStatus, orchestrator_pb2_grpc.TrialLifecycleSPServicer):
    def __init__(self, orchestrator: Orchestrator) -> None:
        self._orch = orchestrator

    async def StartTrial(
        self,
        request: orchestrator_pb2.TrialStartRequest,
        context: grpc.aio.ServicerContext[Any, Any],
    ) -> orchestrator_pb2.TrialStartReply:
        try:
            trial_id = await self._orch.start_trial(request)
        except StartTrialError as error:
            await context.abort(error.code, f"TrialLifecycleSP/StartTrial failure: {error.message}")
        return orchestrator_pb2.TrialStartReply(trial_id=trial_id)

    async def TerminateTrial(
        self,
        request: orchestrator_pb2.TerminateTrialRequest,
        context: grpc.aio.ServicerContext[Any, Any],
    ) -> orchestrator_pb2.TerminateTrialReply:
        ids = _trial_ids(context)
        if not ids:
            await context.abort(
                grpc.StatusCode.INVALID_ARGUMENT,
                "TrialLifecycleSP/TerminateTrial failure: no [trial-id] metadata given",
            )
        endings: list[asyncio.Task[None]] = []
        for trial_id in ids:
            trial = self._orch.get_trial(trial_id)
            if trial is None:
                continue
            if request.hard_termination:
                ending = trial.terminate("Externally requested")
                if ending is not None:
                    endings.append(ending)
            else:
                trial.request_end()
        if endings:
            # A hard end is complete (ENDED) when the reply goes out, as the reference does.
            # asyncio.wait, unlike gather, never cancels the endings if this call is cancelled.
            await asyncio.wait(endings)
        return orchestrator_pb2.TerminateTrialReply()

    async def GetTrialInfo(
        self,
        request: orchestrator_pb2.TrialInfoRequest,
        context: grpc.aio.ServicerContext[Any, Any],
    ) -> orchestrator_pb2.TrialInfoReply:
        ids = _trial_ids(context)
        trials = (
            [t for t in (self._orch.get_trial(i) for i in ids) if t is not None]
            if ids
            else list(self._orch.trials.values())
        )
        reply = orchestrator_pb2.TrialInfoReply()
        for trial in trials:
            reply.trial.append(
                self._orch.trial_info(trial, request.get_latest_observation, request.get_actor_list)
            )
        return reply

    async def WatchTrials(  # type: ignore[override]
        self,
        request: orchestrator_pb2.TrialListRequest,
        context: grpc.aio.ServicerContext[Any, Any],
    ) -> None:
        watcher = self._orch.add_watcher(set(request.filter), request.full_info)
        try:
            while True:
                entry = await watcher.queue.get()
                if entry is None:
                    return
                await context.write(entry)
        finally:
            self._orch.remove_watcher(watcher)


class _ClientActorServicer(_VersionAndStatus, orchestrator_pb2_grpc.ClientActorSPServicer):
    def __init__(self, orchestrator: Orchestrator) -> None:
        self._orch = orchestrator

    async def RunTrial(  # type: ignore[override]
        self,
        request_iterator: Any,
        context: grpc.aio.ServicerContext[Any, Any],
    ) -> None:
        from ._links import GrpcServerLink
        from ._trial import JoinError

        ids = _trial_ids(context)
        if len(ids) != 1:
            await context.abort(
                grpc.StatusCode.INVALID_ARGUMENT,
                "ClientActorSP/RunTrial failure: exactly one [trial-id] metadata is required",
            )
        trial = self._orch.get_trial(ids[0])
        if trial is None:
            await context.abort(
                grpc.StatusCode.NOT_FOUND,
                f"ClientActorSP/RunTrial failure: unknown trial [{ids[0]}]",
            )
        assert trial is not None
        link: GrpcServerLink[common_pb2.ActorRunTrialInput, common_pb2.ActorRunTrialOutput]
        link = GrpcServerLink(context)
        first: common_pb2.ActorRunTrialOutput | None = None
        while True:
            message = await link.receive()
            if message is None:
                return
            if message.state == common_pb2.HEARTBEAT:
                await link.send(common_pb2.ActorRunTrialInput(state=common_pb2.HEARTBEAT))
                continue
            if message.state == common_pb2.NORMAL and message.WhichOneof("data") == "init_output":
                first = message
                break
            await context.abort(
                grpc.StatusCode.INVALID_ARGUMENT,
                "ClientActorSP/RunTrial failure: the first message must be a NORMAL init_output",
            )
        init = first.init_output
        slot = init.WhichOneof("slot_selection")
        try:
            actor = trial.join_client(
                link,
                init.actor_name if slot == "actor_name" else None,
                init.actor_class if slot == "actor_class" else None,
            )
        except JoinError as error:
            await context.abort(
                grpc.StatusCode.FAILED_PRECONDITION, f"ClientActorSP/RunTrial failure: {error}"
            )
            return
        try:
            await link.send(trial.client_init_message(actor))
        except LinkError:
            return
        await link.finished.wait()
