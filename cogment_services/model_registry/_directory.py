"""Registration of the Model Registry to a Directory (``--directory_endpoint``)."""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import AsyncIterator

import grpc
import grpc.aio

from cogment.api import directory_pb2, directory_pb2_grpc
from cogment_services._server import ServiceStartupError

__all__ = ["DirectoryRegistration", "parse_properties"]

_log = logging.getLogger("cogment.services.model_registry")
_TIMEOUT = 30.0


def parse_properties(text: str) -> dict[str, str]:
    """Parse ``"name=value,flag"`` into ``{"name": "value", "flag": ""}``."""
    properties: dict[str, str] = {}
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        name, _, value = item.partition("=")
        if not name.strip():
            raise ServiceStartupError(
                f"--directory_registration_properties: empty name in [{item}]"
            )
        properties[name.strip()] = value.strip()
    return properties


def _own_address() -> str:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("10.255.255.255", 1))  # no packet is sent
            return str(probe.getsockname()[0])
        except OSError:
            return "127.0.0.1"


def _directory_target(endpoint: str) -> str:
    if not endpoint.startswith("grpc://") or len(endpoint) <= len("grpc://"):
        raise ServiceStartupError(
            f"--directory_endpoint must be a grpc://host:port URL, not [{endpoint}]"
        )
    return endpoint[len("grpc://") :].rstrip("/")


class DirectoryRegistration:
    """Registers this service (type MODEL_REGISTRY) at start and deregisters it at stop.

    Does nothing when ``endpoint`` is empty.
    """

    def __init__(
        self,
        endpoint: str | None,
        token: str | None = None,
        host: str | None = None,
        properties: str = "",
        ssl: bool = False,
    ) -> None:
        self._endpoint = endpoint or ""
        self._target = _directory_target(self._endpoint) if self._endpoint else ""
        self._metadata = (("authentication-token", token),) if token else ()
        self._host = host
        self._properties = parse_properties(properties)
        self._ssl = ssl
        self._registered: tuple[int, str] | None = None

    async def register(self, port: int) -> None:
        """Register ``host:port``; raises :class:`ServiceStartupError` if refused."""
        if not self._target:
            return
        request = directory_pb2.RegisterRequest(
            endpoint=directory_pb2.ServiceEndpoint(
                protocol=(
                    directory_pb2.ServiceEndpoint.GRPC_SSL
                    if self._ssl
                    else directory_pb2.ServiceEndpoint.GRPC
                ),
                host=self._host or _own_address(),
                port=port,
            ),
            details=directory_pb2.ServiceDetails(
                type=directory_pb2.MODEL_REGISTRY_SERVICE, properties=self._properties
            ),
        )

        async def requests() -> AsyncIterator[directory_pb2.RegisterRequest]:
            yield request

        try:
            async with grpc.aio.insecure_channel(self._target) as channel:
                stub = directory_pb2_grpc.DirectorySPStub(channel)
                reply: directory_pb2.RegisterReply | None = None
                async for received in stub.Register(
                    requests(), metadata=self._metadata, timeout=_TIMEOUT
                ):
                    reply = received
                    break
        except grpc.aio.AioRpcError as error:
            raise ServiceStartupError(
                f"Directory [{self._endpoint}] registration failed: {error.code().name}"
                f" {error.details()}"
            ) from error
        if reply is None or reply.status != directory_pb2.RegisterReply.OK:
            message = "" if reply is None else reply.error_msg
            raise ServiceStartupError(
                f"Directory [{self._endpoint}] refused the registration: {message or 'no reply'}"
            )
        self._registered = (reply.service_id, reply.secret)
        _log.info("Registered to Directory [%s] with id [%d]", self._endpoint, reply.service_id)

    async def deregister(self) -> None:
        """Deregister (failures are logged, not raised)."""
        registered, self._registered = self._registered, None
        if registered is None:
            return
        service_id, secret = registered

        async def requests() -> AsyncIterator[directory_pb2.DeregisterRequest]:
            yield directory_pb2.DeregisterRequest(service_id=service_id, secret=secret)

        try:
            async with grpc.aio.insecure_channel(self._target) as channel:
                stub = directory_pb2_grpc.DirectorySPStub(channel)
                async for reply in stub.Deregister(
                    requests(), metadata=self._metadata, timeout=5.0
                ):
                    if reply.status != directory_pb2.DeregisterReply.OK:
                        _log.warning("Directory deregistration refused: %s", reply.error_msg)
                    break
        except (grpc.aio.AioRpcError, asyncio.TimeoutError) as error:
            _log.warning("Directory [%s] deregistration failed: %r", self._endpoint, error)
