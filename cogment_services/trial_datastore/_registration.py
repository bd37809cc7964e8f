"""Registration of the Trial Datastore to a Directory (``--directory_endpoint``).

The service registers twice on its port: as a DATASTORE (``TrialDatastoreSP``) and as a DATALOG
(``DatalogSP``), non-permanently, and deregisters both when it stops.

Seam: this talks to ``cogmentAPI.DirectorySP`` directly; once the SDK's shared Directory client
(``cogment._directory``) offers registration, :class:`DirectoryRegistration` can delegate to it.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import AsyncIterator

import grpc
import grpc.aio

from cogment._version import __version__
from cogment.api import directory_pb2, directory_pb2_grpc
from cogment_services._server import ServiceStartupError

__all__ = ["DirectoryRegistration", "parse_properties"]

_log = logging.getLogger("cogment.services.trial_datastore")
_TIMEOUT = 30.0
_TYPES = (directory_pb2.DATASTORE_SERVICE, directory_pb2.DATALOG_SERVICE)


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
            probe.connect(("10.255.255.255", 1))  # UDP "connect": no packet is sent
            return str(probe.getsockname()[0])
        except OSError:
            return "127.0.0.1"


class DirectoryRegistration:
    """Registers this service at start and deregisters it at stop (no-op without endpoint)."""

    def __init__(
        self,
        endpoint: str | None,
        token: str | None = None,
        host: str | None = None,
        properties: str = "",
        ssl: bool = False,
    ) -> None:
        self.endpoint = endpoint or ""
        if self.endpoint and (
            not self.endpoint.startswith("grpc://") or len(self.endpoint) <= len("grpc://")
        ):
            raise ServiceStartupError(
                f"--directory_endpoint must be a grpc://host:port URL, not [{self.endpoint}]"
            )
        self._target = self.endpoint[len("grpc://") :].rstrip("/")
        self._metadata = (("authentication-token", token),) if token else ()
        self._host = host
        self._properties = parse_properties(properties)
        self._properties.setdefault("__registration_source", "Cogment-Trial_Datastore")
        self._properties.setdefault("__version", __version__)
        self._ssl = ssl
        self._registered: list[tuple[int, str]] = []

    async def register(self, port: int) -> None:
        """Register ``host:port``; raises :class:`ServiceStartupError` if refused."""
        if not self._target:
            return
        endpoint = directory_pb2.ServiceEndpoint(
            protocol=(
                directory_pb2.ServiceEndpoint.GRPC_SSL
                if self._ssl
                else directory_pb2.ServiceEndpoint.GRPC
            ),
            host=self._host or _own_address(),
            port=port,
        )
        requests = [
            directory_pb2.RegisterRequest(
                endpoint=endpoint,
                details=directory_pb2.ServiceDetails(
                    type=service_type, properties=self._properties
                ),
            )
            for service_type in _TYPES
        ]

        async def stream() -> AsyncIterator[directory_pb2.RegisterRequest]:
            for request in requests:
                yield request

        replies: list[directory_pb2.RegisterReply] = []
        try:
            async with grpc.aio.insecure_channel(self._target) as channel:
                stub = directory_pb2_grpc.DirectorySPStub(channel)
                async for reply in stub.Register(
                    stream(), metadata=self._metadata, timeout=_TIMEOUT
                ):
                    replies.append(reply)
                    if len(replies) == len(requests):
                        break
        except grpc.aio.AioRpcError as error:
            raise ServiceStartupError(
                f"Directory [{self.endpoint}] registration failed: {error.code().name} {error.details()}"
            ) from error
        for reply in replies:
            if reply.status != directory_pb2.RegisterReply.OK:
                raise ServiceStartupError(
                    f"Directory [{self.endpoint}] refused the registration: {reply.error_msg}"
                )
            self._registered.append((reply.service_id, reply.secret))
        if len(replies) != len(requests):
            raise ServiceStartupError(
                f"Directory [{self.endpoint}] did not answer every registration"
            )
        _log.info(
            "registered to Directory [%s] with ids %s",
            self.endpoint,
            [service_id for service_id, _ in self._registered],
        )

    async def deregister(self) -> None:
        """Deregister (failures are logged, not raised)."""
        registered, self._registered = self._registered, []
        if not registered:
            return

        async def stream() -> AsyncIterator[directory_pb2.DeregisterRequest]:
            for service_id, secret in registered:
                yield directory_pb2.DeregisterRequest(service_id=service_id, secret=secret)

        try:
            async with grpc.aio.insecure_channel(self._target) as channel:
                stub = directory_pb2_grpc.DirectorySPStub(channel)
                count = 0
                async for reply in stub.Deregister(stream(), metadata=self._metadata, timeout=5.0):
                    if reply.status != directory_pb2.DeregisterReply.OK:
                        _log.warning("Directory deregistration refused: %s", reply.error_msg)
                    count += 1
                    if count == len(registered):
                        break
        except (grpc.aio.AioRpcError, asyncio.TimeoutError) as error:
            _log.warning("Directory [%s] deregistration failed: %r", self.endpoint, error)
