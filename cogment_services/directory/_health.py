"""Health checks of registered services: the service's own ``Status`` RPC, or a TCP connect.

- Cogment services reached in plain gRPC are asked ``Status{names: ["overall_load"]}`` on their
  own gRPC service (``/cogmentAPI.EnvironmentSP/Status`` for an environment, ...). A reply, or
  ``UNIMPLEMENTED`` (the server is there but has no ``Status``), is healthy; the reply's
  ``overall_load`` (0-255) is the load used by load balancing.
- TLS endpoints (``GRPC_SSL``) are asked the same ``Status`` over TLS when the Directory itself
  runs with TLS (it presents its own certificate, for services requiring mutual TLS); if the
  connection fails (``UNAVAILABLE``: e.g. a certificate not naming the registered host), or the
  Directory has no TLS, they fall back to a TCP connect (healthy, load unknown).
- ``OTHER`` services are checked with a plain TCP connect.
- ``cogment://`` endpoints and permanent entries are never checked (see ``DirectoryEntry.checkable``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass

import grpc
import grpc.aio

from cogment.api import common_pb2, directory_pb2

__all__ = ["HealthResult", "check_endpoint", "status_method"]

_log = logging.getLogger("cogment.services.directory")
_Protocol = directory_pb2.ServiceEndpoint.Protocol

#: gRPC service answering ``Status`` for each directory service type.
_STATUS_SERVICE: dict[int, str] = {
    directory_pb2.TRIAL_LIFE_CYCLE_SERVICE: "cogmentAPI.TrialLifecycleSP",
    directory_pb2.CLIENT_ACTOR_CONNECTION_SERVICE: "cogmentAPI.ClientActorSP",
    directory_pb2.ACTOR_SERVICE: "cogmentAPI.ServiceActorSP",
    directory_pb2.ENVIRONMENT_SERVICE: "cogmentAPI.EnvironmentSP",
    directory_pb2.PRE_HOOK_SERVICE: "cogmentAPI.TrialHooksSP",
    directory_pb2.DATALOG_SERVICE: "cogmentAPI.DatalogSP",
    directory_pb2.DATASTORE_SERVICE: "cogmentAPI.TrialDatastoreSP",
    directory_pb2.MODEL_REGISTRY_SERVICE: "cogmentAPI.ModelRegistrySP",
    directory_pb2.DIRECTORY_SERVICE: "cogmentAPI.DirectorySP",
}


@dataclass(frozen=True)
class HealthResult:
    """Outcome of one check: ``healthy``, the reported ``load`` (``None`` if unknown), why not."""

    healthy: bool
    load: int | None = None
    reason: str = ""
    #: gRPC status of a failed ``Status`` call (None: no call, or it succeeded)
    code: grpc.StatusCode | None = None


def status_method(service_type: int) -> str | None:
    """The ``Status`` method path of a service type (``None`` for ``OTHER``)."""
    service = _STATUS_SERVICE.get(service_type)
    return f"/{service}/Status" if service else None


def _target(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


async def _tcp_probe(host: str, port: int, timeout: float) -> HealthResult:
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
    except (OSError, asyncio.TimeoutError) as error:
        return HealthResult(False, reason=f"TCP connect failed: {error!r}")
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    return HealthResult(True)


def _parse_load(reply: common_pb2.StatusReply) -> int | None:
    text = reply.statuses.get("overall_load")
    if text is None:
        return None
    try:
        return max(0, min(255, int(text.strip())))
    except ValueError:
        return None


async def _status_probe(
    method: str,
    host: str,
    port: int,
    timeout: float,
    credentials: grpc.ChannelCredentials | None = None,
) -> HealthResult:
    target = _target(host, port)
    channel = (
        grpc.aio.secure_channel(target, credentials)
        if credentials is not None
        else grpc.aio.insecure_channel(target)
    )
    async with channel:
        call = channel.unary_unary(
            method,
            request_serializer=common_pb2.StatusRequest.SerializeToString,
            response_deserializer=common_pb2.StatusReply.FromString,
        )
        try:
            reply = await call(common_pb2.StatusRequest(names=["overall_load"]), timeout=timeout)
        except grpc.aio.AioRpcError as error:
            if error.code() == grpc.StatusCode.UNIMPLEMENTED:
                return HealthResult(True)
            return HealthResult(
                False,
                reason=f"{method} failed: {error.code().name} {error.details()}",
                code=error.code(),
            )
    return HealthResult(True, load=_parse_load(reply))


async def check_endpoint(
    protocol: int,
    host: str,
    port: int,
    service_type: int,
    timeout: float,
    tls_credentials: grpc.ChannelCredentials | None = None,
) -> HealthResult:
    """Check one endpoint (never raises; the result says why it is unhealthy).

    ``tls_credentials``: the Directory's own client credentials, used for ``GRPC_SSL`` endpoints.
    """
    method = status_method(service_type)
    try:
        if protocol == _Protocol.GRPC and method is not None:
            return await _status_probe(method, host, port, timeout)
        if protocol == _Protocol.GRPC_SSL and method is not None and tls_credentials is not None:
            result = await _status_probe(method, host, port, timeout, tls_credentials)
            if result.code != grpc.StatusCode.UNAVAILABLE:
                return result  # answered, or there but failing (e.g. hung: deadline exceeded)
            _log.debug("TLS Status of %s:%d failed (%s): TCP check", host, port, result.reason)
        return await _tcp_probe(host, port, timeout)
    except Exception as error:  # a check must never bring the Directory down
        _log.debug("health check of %s:%d raised", host, port, exc_info=True)
        return HealthResult(False, reason=f"check raised {error!r}")
