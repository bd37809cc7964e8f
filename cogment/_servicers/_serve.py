"""``Context.serve_all_registered``: one gRPC server for every registered component."""

from __future__ import annotations

import asyncio
from typing import Any, Protocol

import grpc
import grpc.aio

from cogment._directory import (
    DirectoryRegistrations,
    ServiceRegistration,
    actor_registrations,
    datalog_registration,
    environment_registration,
    prehook_registration,
)
from cogment._endpoints import ServedEndpoint
from cogment._errors import CogmentError
from cogment._grpc import server_credentials, server_options
from cogment._log import logger
from cogment._servicers._common import Metrics, Registered
from cogment._servicers._trial_servicers import EnvironmentServicer, ServiceActorServicer
from cogment.api import (
    agent_pb2_grpc,
    datalog_pb2_grpc,
    environment_pb2_grpc,
    hooks_pb2_grpc,
)


class ServingContext(Registered, Protocol):
    """The parts of ``Context`` that serving uses."""

    def _prometheus(self) -> Any: ...

    def _set_served_port(self, port: int) -> None: ...

    def get_context_directory(self) -> Any: ...


__all__ = ["serve"]

_STOP_GRACE_SECONDS = 1.0


def _bind(server: grpc.aio.Server, served: ServedEndpoint, host: str) -> int:
    address = f"{host}:{served.port}"
    credentials = server_credentials(served)
    try:
        if credentials is not None:
            port = server.add_secure_port(address, credentials)
        else:
            port = server.add_insecure_port(address)
    except RuntimeError as exc:
        raise CogmentError(f"Cannot serve on [{address}]: {exc}") from exc
    if port == 0:
        raise CogmentError(f"Cannot serve on [{address}] (port in use or address unavailable)")
    return port


def _bound_host(host: str) -> str | None:
    """The address to register for a server bound to ``host``: that address when it is a
    specific one (nothing else reaches the server), None (detect) for all interfaces."""
    if host in ("[::]", "::", "", "0.0.0.0"):
        return None
    return host.strip("[]")


def _start_prometheus(port: int, registry: Any, host: str) -> Any:
    from prometheus_client import start_http_server

    if registry is None:
        raise CogmentError("prometheus_port given but the context has no Prometheus registry")
    address = "0.0.0.0" if host in ("[::]", "::", "", "0.0.0.0") else host.strip("[]")
    try:
        return start_http_server(port, address, registry)
    except OSError as exc:
        raise CogmentError(f"Cannot start the Prometheus server on port [{port}]: {exc}") from exc


async def serve(
    context: ServingContext,
    served: ServedEndpoint,
    prometheus_port: int | None,
    directory_registration_host: str | None,
    host: str,
) -> None:
    """Serve the context's registered components until cancelled."""
    registry = context._prometheus()
    metrics = Metrics.for_registry(registry)
    specs = context._specs
    server = grpc.aio.server(options=server_options())
    services: list[str] = []
    if context._env_impls:
        environment_pb2_grpc.add_EnvironmentSPServicer_to_server(
            EnvironmentServicer(context._env_impls, specs, metrics), server
        )
        services.append("environment")
    if context._actor_impls:
        agent_pb2_grpc.add_ServiceActorSPServicer_to_server(
            ServiceActorServicer(context._actor_impls, specs, metrics), server
        )
        services.append("actor")
    if context._prehook_impl is not None:
        from cogment._servicers._hook_servicers import PrehookServicer

        hooks_pb2_grpc.add_TrialHooksSPServicer_to_server(
            PrehookServicer(context._prehook_impl, specs), server
        )
        services.append("pre-trial hook")
    if context._datalog_impl is not None:
        from cogment._servicers._hook_servicers import DatalogServicer

        datalog_pb2_grpc.add_DatalogSPServicer_to_server(
            DatalogServicer(context._datalog_impl, specs), server
        )
        services.append("datalog")

    port = _bind(server, served, host)
    prometheus_server: Any = None
    registrations: DirectoryRegistrations | None = None
    await server.start()
    context._set_served_port(port)
    try:
        logger.info("Serving %s on port [%d]", ", ".join(services), port)
        if prometheus_port is not None:
            prometheus_server = _start_prometheus(prometheus_port, registry, host)
        directory = context.get_context_directory()
        if directory is not None:
            registrations = DirectoryRegistrations(
                directory,
                _registrations(context),
                port=port,
                ssl=served.using_ssl(),
                host=directory_registration_host or _bound_host(host),
            )
            await registrations.register()
        await server.wait_for_termination()
    finally:
        context._set_served_port(0)
        if prometheus_server is not None:
            _stop_prometheus(prometheus_server)
        # Cleanup must complete even though this task is being cancelled.
        cleanup = asyncio.ensure_future(_cleanup(server, registrations))
        try:
            await asyncio.shield(cleanup)
        except asyncio.CancelledError:
            await cleanup
            raise
        logger.info("Stopped serving on port [%d]", port)


async def _cleanup(server: grpc.aio.Server, registrations: DirectoryRegistrations | None) -> None:
    if registrations is not None:
        try:
            await registrations.deregister()
        except Exception:
            logger.exception("Failed to deregister the services from the directory")
    await server.stop(_STOP_GRACE_SECONDS)


def _registrations(context: ServingContext) -> list[ServiceRegistration]:
    result: list[ServiceRegistration] = []
    for actor in context._actor_impls.values():
        result.extend(actor_registrations(actor.name, actor.actor_classes, actor.properties))
    for env in context._env_impls.values():
        result.append(environment_registration(env.name, env.properties))
    if context._prehook_impl is not None:
        result.append(prehook_registration(context._prehook_impl.properties))
    if context._datalog_impl is not None:
        result.append(datalog_registration(context._datalog_impl.properties))
    return result


def _stop_prometheus(started: Any) -> None:
    # prometheus_client >= 0.20 returns (server, thread)
    if isinstance(started, tuple) and started:
        http_server = started[0]
        http_server.shutdown()
        http_server.server_close()
