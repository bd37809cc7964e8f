"""Client actors: ``Context.join_trial`` (the SDK is the client of ``ClientActorSP.RunTrial``)."""

from __future__ import annotations

import asyncio
from typing import Any, Protocol

import grpc
import grpc.aio

from cogment._actor import ActorClass
from cogment._endpoint_url import DiscoveryContext, ServiceType
from cogment._endpoints import Endpoint
from cogment._errors import CogmentError
from cogment._grpc import call_metadata
from cogment._log import deprecated, logger
from cogment._metadata import GrpcMetadata
from cogment._servicers._common import InitProtocolError, Registered, read_init
from cogment._servicers._runner import INIT_TIMEOUT, pump_actor_inputs, run_session
from cogment._servicers._trial_servicers import make_actor_session
from cogment.api import common_pb2, orchestrator_pb2_grpc


class JoiningContext(Registered, Protocol):
    """The parts of ``Context`` that joining a trial uses."""

    @property
    def metadata(self) -> GrpcMetadata: ...

    async def _resolve(
        self, endpoint: Endpoint, discovery: DiscoveryContext | ServiceType
    ) -> Endpoint: ...

    def _channel(self, endpoint: Endpoint) -> grpc.aio.Channel: ...


__all__ = ["join_trial"]

_CLOSE_TIMEOUT = 5.0


async def join_trial(
    context: JoiningContext,
    trial_id: str,
    endpoint: Endpoint,
    impl_name: str | None,
    actor_name: str | None,
    actor_class: str | ActorClass[Any] | None,
) -> None:
    """Join ``trial_id`` as a client actor and run the chosen implementation to the end."""
    impls = context._actor_impls
    if not impls:
        raise CogmentError("join_trial: no actor implementation registered (register_actor)")
    if isinstance(actor_class, ActorClass):
        actor_class = actor_class.name
    if impl_name is not None:
        deprecated("join_trial(impl_name=) is deprecated; use actor_name= or actor_class=")
        if actor_name is None and actor_class is None:
            found = impls.get(impl_name)
            if found is None:
                raise CogmentError(f"join_trial: unknown implementation [{impl_name}]")
            if not found.actor_classes:
                raise CogmentError(
                    f"join_trial: implementation [{impl_name}] has no actor class to join with"
                )
            actor_class = found.actor_classes[0]
    if actor_name is None and actor_class is None:
        raise CogmentError("join_trial: give the actor_name or the actor_class to join as")
    if actor_name is not None and actor_class is not None:
        logger.debug("join_trial: both actor_name and actor_class given: the name is used")
        actor_class = None
    if not isinstance(trial_id, str) or not trial_id:
        raise CogmentError(f"join_trial: invalid trial_id [{trial_id!r}]")

    attachment = getattr(context, "_inprocess", None)
    if attachment is not None and attachment.accepts(endpoint.url):
        from cogment._inprocess import join_trial_inprocess

        await join_trial_inprocess(
            context, attachment, trial_id, impl_name, actor_name, actor_class
        )
        return
    resolved = await context._resolve(endpoint, ServiceType.CLIENT_ACTOR)
    where = f"Trial [{trial_id}] - client actor [{actor_name or actor_class}]"
    metadata = call_metadata(context.metadata, [("trial-id", trial_id)])
    channel = context._channel(resolved)
    try:
        stub = orchestrator_pb2_grpc.ClientActorSPStub(channel)
        call: Any = stub.RunTrial(metadata=metadata)  # type: ignore[call-arg]  # pyright: ignore[reportCallIssue]
        try:
            await _run(context, call, trial_id, actor_name, actor_class, impl_name, where)
        finally:
            call.cancel()
    finally:
        await channel.close(None)


async def _run(
    context: JoiningContext,
    call: Any,
    trial_id: str,
    actor_name: str | None,
    actor_class: str | None,
    impl_name: str | None,
    where: str,
) -> None:
    if actor_name is not None:
        slot = common_pb2.ActorInitialOutput(actor_name=actor_name)
    else:
        slot = common_pb2.ActorInitialOutput(actor_class=actor_class or "")
    try:
        await call.write(common_pb2.ActorRunTrialOutput(state=common_pb2.NORMAL, init_output=slot))
        init = await asyncio.wait_for(
            read_init(call, common_pb2.ActorRunTrialOutput, where), INIT_TIMEOUT
        )
    except asyncio.TimeoutError:
        raise CogmentError(f"{where}: no init data from the orchestrator") from None
    except InitProtocolError as exc:
        raise CogmentError(str(exc)) from None
    except grpc.aio.AioRpcError as exc:
        raise CogmentError(
            f"{where}: cannot join the trial: {exc.code().name} {exc.details()}"
        ) from exc
    if init is None:
        logger.warning("%s: the trial ended before the actor joined", where)
        return
    if actor_name is not None and init.actor_name != actor_name:
        raise CogmentError(f"{where}: the orchestrator assigned actor [{init.actor_name}]")
    if actor_class is not None and init.actor_class != actor_class:
        raise CogmentError(f"{where}: the orchestrator assigned actor class [{init.actor_class}]")
    if impl_name and not init.impl_name:
        init.impl_name = impl_name
    session, impl, parser = make_actor_session(
        context._actor_impls, context._specs, trial_id, init, send_init_on_start=False
    )
    # Joined in-process (cogment._inprocess.ComponentStream): actions go as objects.
    session._carry_objects = bool(getattr(call, "carries_objects", False))
    await run_session(session, impl.impl, call, pump_actor_inputs(session, call, parser))
    try:
        await call.done_writing()
        await asyncio.wait_for(call.code(), _CLOSE_TIMEOUT)
    except (asyncio.TimeoutError, grpc.aio.AioRpcError, grpc.aio.UsageError, RuntimeError):
        pass
