"""The gRPC servicers the orchestrator dials for each trial: environment and service actor."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any, TypeAlias

import grpc
import grpc.aio

from cogment._actor import ActorClass, ActorSession
from cogment._environment import EnvironmentSession
from cogment._errors import CogmentError
from cogment._log import logger
from cogment._servicers._common import (
    ActorImpl,
    EnvironmentImpl,
    InitProtocolError,
    Metrics,
    metadata_value,
    read_init,
    status_reply,
    version_info,
)
from cogment._servicers._runner import (
    INIT_TIMEOUT,
    pump_actor_inputs,
    pump_environment_inputs,
    run_session,
)
from cogment._session import ActorInfo
from cogment._specs import Specs, parse_config
from cogment._timeouts import within
from cogment.api import (
    agent_pb2_grpc,
    common_pb2,
    environment_pb2,
    environment_pb2_grpc,
)

__all__ = ["EnvironmentServicer", "ServiceActorServicer", "make_parser", "select_actor_impl"]

Context: TypeAlias = "grpc.aio.ServicerContext[Any, Any]"


def make_parser(message_type: type[Any] | None, has_specs: bool) -> Callable[[bytes], Any]:
    """A parser for serialized payloads of ``message_type`` (raw bytes kept without specs)."""
    if not has_specs or message_type is None:
        return bytes
    parse: Callable[[bytes], Any] = message_type.FromString
    return parse


async def _init_phase(context: Context, out_type: type[Any], where: str) -> Any | None:
    try:
        return await within(read_init(context, out_type, where), INIT_TIMEOUT)
    except asyncio.TimeoutError:
        logger.error("%s: no init data from the orchestrator after %ss", where, INIT_TIMEOUT)
        await context.abort(grpc.StatusCode.DEADLINE_EXCEEDED, f"{where}: no init data received")
    except InitProtocolError as exc:
        logger.error("%s", exc)
        await context.abort(grpc.StatusCode.UNKNOWN, str(exc))
    return None  # pragma: no cover - abort raises


async def _trial_id(context: Context, what: str) -> str:
    trial_id = metadata_value(context, "trial-id")
    if not trial_id:
        msg = f"{what} RunTrial call without `trial-id` metadata"
        logger.error(msg)
        await context.abort(grpc.StatusCode.INVALID_ARGUMENT, msg)
    assert trial_id is not None
    return trial_id


class EnvironmentServicer(environment_pb2_grpc.EnvironmentSPServicer):
    """Serves ``EnvironmentSP``: one environment session per ``RunTrial``."""

    def __init__(
        self, impls: dict[str, EnvironmentImpl], specs: Specs, metrics: Metrics | None
    ) -> None:
        self._impls = impls
        self._specs = specs
        self._metrics = metrics
        self._sessions: set[tuple[str, str]] = set()

    def _select(self, trial_id: str, name: str, impl_name: str) -> EnvironmentImpl:
        if impl_name:
            found = self._impls.get(impl_name)
            if found is None:
                raise CogmentError(
                    f"Trial [{trial_id}] - environment [{name}]: unknown implementation "
                    f"[{impl_name}] (registered: {list(self._impls)})"
                )
            return found
        found = next(iter(self._impls.values()))
        logger.info(
            "Trial [%s] - implementation [%s] arbitrarily chosen for environment [%s]",
            trial_id,
            found.name,
            name,
        )
        return found

    def _make_session(
        self, trial_id: str, init: environment_pb2.EnvInitialInput
    ) -> tuple[EnvironmentSession[Any, Any, Any], EnvironmentImpl, list[Callable[[bytes], Any]]]:
        name = init.name
        if not name:
            raise CogmentError(f"Trial [{trial_id}] - empty environment name in init data")
        impl = self._select(trial_id, name, init.impl_name)
        specs = self._specs
        where = f"Trial [{trial_id}] - environment [{name}]"
        actors = [ActorInfo(a.name, a.actor_class) for a in init.actors_in_trial]
        parsers = [
            make_parser(specs.actor_class(a.actor_class_name, where).action_space, specs.has_specs)
            for a in actors
        ]
        config = None
        if init.HasField("config"):
            config = parse_config(
                specs.environment_config_type, init.config.content, where, specs.has_specs
            )
        session = specs.environment_session_type(
            trial_id, name, impl.name, actors, config, init.tick_id
        )
        return session, impl, parsers

    async def RunTrial(  # type: ignore[override]  # pyright: ignore[reportIncompatibleMethodOverride]
        self, request_iterator: Any, context: Context
    ) -> None:
        if not self._impls:
            await context.abort(grpc.StatusCode.UNIMPLEMENTED, "No environment registered")
        trial_id = await _trial_id(context, "Environment")
        where = f"Trial [{trial_id}] - environment"
        init = await _init_phase(context, environment_pb2.EnvRunTrialOutput, where)
        if init is None:
            return
        try:
            session, impl, parsers = self._make_session(trial_id, init)
        except CogmentError as exc:
            logger.error("%s", exc)
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(exc))
            return
        key = (trial_id, session.name)
        if key in self._sessions:
            msg = f"Trial [{trial_id}] - environment [{session.name}] already running"
            logger.error(msg)
            await context.abort(grpc.StatusCode.ALREADY_EXISTS, msg)
        self._sessions.add(key)
        metrics = self._metrics
        started = time.monotonic()
        if metrics is not None:
            metrics.environment_trials_started.labels(impl.name).inc()
        try:
            error = await run_session(
                session, impl.impl, context, pump_environment_inputs(session, context, parsers)
            )
        finally:
            self._sessions.discard(key)
            if metrics is not None:
                metrics.environment_trials_ended.labels(impl.name).inc()
                metrics.environment_trial_duration.labels(impl.name).observe(
                    time.monotonic() - started
                )
                metrics.environment_update_count_per_trial.labels(impl.name).observe(
                    max(session.get_tick_id(), 0)
                )
        if error is not None:
            await context.abort(
                grpc.StatusCode.UNKNOWN,
                f"Environment implementation [{impl.name}] raised {error!r}",
            )

    async def Version(
        self, request: common_pb2.VersionRequest, context: Context
    ) -> common_pb2.VersionInfo:
        return version_info()

    async def Status(
        self, request: common_pb2.StatusRequest, context: Context
    ) -> common_pb2.StatusReply:
        return status_reply(request.names, len(self._sessions))


def select_actor_impl(
    impls: dict[str, ActorImpl], trial_id: str, actor_name: str, actor_class: str, impl_name: str
) -> ActorImpl:
    """The implementation to run ``actor_name``: by name (class checked) or the first one
    registered for its class."""
    if impl_name:
        found = impls.get(impl_name)
        if found is not None:
            if not found.accepts(actor_class):
                raise CogmentError(
                    f"Trial [{trial_id}] - actor [{actor_name}]: implementation [{impl_name}] "
                    f"does not run actor class [{actor_class}] (it runs {found.actor_classes})"
                )
            return found
    for candidate in impls.values():
        if actor_class in candidate.actor_classes:
            if impl_name:
                logger.warning(
                    "Trial [%s] - actor [%s]: implementation [%s] not registered, using [%s] "
                    "registered for class [%s]",
                    trial_id,
                    actor_name,
                    impl_name,
                    candidate.name,
                    actor_class,
                )
            return candidate
    if not impl_name:
        for candidate in impls.values():
            if candidate.accepts(actor_class):
                return candidate
    raise CogmentError(
        f"Trial [{trial_id}] - actor [{actor_name}]: no implementation "
        f"{'[' + impl_name + '] ' if impl_name else ''}registered for actor class "
        f"[{actor_class}] (registered: {[(i.name, i.actor_classes) for i in impls.values()]})"
    )


def make_actor_session(
    impls: dict[str, ActorImpl],
    specs: Specs,
    trial_id: str,
    init: common_pb2.ActorInitialInput,
    *,
    send_init_on_start: bool,
) -> tuple[ActorSession[Any, Any, Any], ActorImpl, Callable[[bytes], Any]]:
    """Create the session of an actor from its ``init_input``."""
    where = f"Trial [{trial_id}] - actor [{init.actor_name}]"
    impl = select_actor_impl(impls, trial_id, init.actor_name, init.actor_class, init.impl_name)
    actor_class: ActorClass[Any] = specs.actor_class(init.actor_class, where)
    config = None
    if init.HasField("config"):
        config = parse_config(actor_class.config_type, init.config.content, where, specs.has_specs)
    session = actor_class.session_type(
        trial_id,
        init.actor_name,
        impl.name,
        actor_class,
        init.env_name,
        config,
        send_init_on_start=send_init_on_start,
    )
    parser = make_parser(actor_class.observation_space, specs.has_specs)
    return session, impl, parser


class ServiceActorServicer(agent_pb2_grpc.ServiceActorSPServicer):
    """Serves ``ServiceActorSP``: one actor session per ``RunTrial``."""

    def __init__(self, impls: dict[str, ActorImpl], specs: Specs, metrics: Metrics | None) -> None:
        self._impls = impls
        self._specs = specs
        self._metrics = metrics
        self._sessions: set[tuple[str, str]] = set()

    async def RunTrial(  # type: ignore[override]  # pyright: ignore[reportIncompatibleMethodOverride]
        self, request_iterator: Any, context: Context
    ) -> None:
        if not self._impls:
            await context.abort(grpc.StatusCode.UNIMPLEMENTED, "No actor registered")
        trial_id = await _trial_id(context, "Service actor")
        where = f"Trial [{trial_id}] - actor"
        init = await _init_phase(context, common_pb2.ActorRunTrialOutput, where)
        if init is None:
            return
        try:
            session, impl, parser = make_actor_session(
                self._impls, self._specs, trial_id, init, send_init_on_start=True
            )
        except CogmentError as exc:
            logger.error("%s", exc)
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(exc))
            return
        key = (trial_id, session.name)
        if key in self._sessions:
            msg = f"Trial [{trial_id}] - actor [{session.name}] already running"
            logger.error(msg)
            await context.abort(grpc.StatusCode.ALREADY_EXISTS, msg)
        self._sessions.add(key)
        metrics = self._metrics
        if metrics is not None:
            metrics.actor_started.labels(impl.name).inc()
        try:
            error = await run_session(
                session, impl.impl, context, pump_actor_inputs(session, context, parser)
            )
        finally:
            self._sessions.discard(key)
            if metrics is not None:
                metrics.actor_ended.labels(impl.name).inc()
        if error is not None:
            await context.abort(
                grpc.StatusCode.UNKNOWN, f"Actor implementation [{impl.name}] raised {error!r}"
            )

    async def Version(
        self, request: common_pb2.VersionRequest, context: Context
    ) -> common_pb2.VersionInfo:
        return version_info()

    async def Status(
        self, request: common_pb2.StatusRequest, context: Context
    ) -> common_pb2.StatusReply:
        return status_reply(request.names, len(self._sessions))
