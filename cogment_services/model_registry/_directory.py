"""Registration of the Model Registry to a Directory (``--directory_endpoint``), through the
runtime's Directory client (:mod:`cogment._directory`).

With TLS (``tls``), the Directory is reached over TLS too, presenting this service's certificate
(every outgoing channel of a TLS service uses TLS).
"""

from __future__ import annotations

import logging
import socket

from cogment._directory import Directory
from cogment._endpoint_url import ServiceType
from cogment._endpoints import Endpoint
from cogment._errors import CogmentError
from cogment_services._server import ServiceStartupError, TlsFiles

__all__ = ["DirectoryRegistration", "parse_properties"]

_log = logging.getLogger("cogment.services.model_registry")


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


def directory_endpoint(url: str, tls: TlsFiles | None) -> Endpoint:
    """The Directory ``url``, over TLS with the service's PEM files when ``tls`` is given."""
    endpoint = Endpoint(url)
    if tls is not None:
        endpoint.set_from_files(tls.private_key, tls.root_cert, tls.trust_chain)
        endpoint.use_ssl = True
    return endpoint


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
        tls: TlsFiles | None = None,
    ) -> None:
        self._endpoint = endpoint or ""
        self._tls = tls if tls is not None and tls.enabled else None
        self._token = token or None
        self._host = host
        self._properties = parse_properties(properties)
        self._ssl = ssl
        self._registered: tuple[int, str] | None = None

    def _connect(self) -> Directory:
        try:
            return Directory.connect(directory_endpoint(self._endpoint, self._tls), self._token)
        except CogmentError as error:
            raise ServiceStartupError(f"--directory_endpoint: {error}") from error

    async def register(self, port: int) -> None:
        """Register ``host:port``; raises :class:`ServiceStartupError` if refused."""
        if not self._endpoint:
            return
        host = self._host or _own_address()
        try:
            async with self._connect() as directory:
                self._registered = await directory.register_host(
                    ServiceType.MODEL_REG, host, port, ssl=self._ssl, properties=self._properties
                )
        except CogmentError as error:
            raise ServiceStartupError(f"Directory registration failed: {error}") from error
        _log.info(
            "Registered to Directory [%s] as [%s:%d] with id [%d]",
            self._endpoint,
            host,
            port,
            self._registered[0],
        )

    async def deregister(self) -> None:
        """Deregister (failures are logged, not raised)."""
        registered, self._registered = self._registered, None
        if registered is None:
            return
        try:
            async with self._connect() as directory:
                await directory.deregister_service(*registered)
        except (CogmentError, ServiceStartupError) as error:
            _log.warning("Directory deregistration failed: %s", error)
