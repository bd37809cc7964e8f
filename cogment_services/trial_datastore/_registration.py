"""Registration of the Trial Datastore to a Directory (``--directory_endpoint``).

The service registers twice on its port, through the SDK's Directory client
(:class:`cogment._directory.Directory`): as a DATASTORE (``TrialDatastoreSP``) and as a DATALOG
(``DatalogSP``), non-permanently, and deregisters both when it stops. With TLS (``tls``), the
Directory is reached over TLS too, presenting this service's certificate.
"""

from __future__ import annotations

import logging
import socket

from cogment._directory import Directory
from cogment._endpoint_url import ServiceType
from cogment._endpoints import Endpoint
from cogment._errors import CogmentError
from cogment._version import __version__
from cogment_services._server import ServiceStartupError, TlsFiles

__all__ = ["DirectoryRegistration", "parse_properties"]

_log = logging.getLogger("cogment.services.trial_datastore")
_TYPES = (ServiceType.DATASTORE, ServiceType.DATALOG)


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
        tls: TlsFiles | None = None,
    ) -> None:
        self.endpoint = endpoint or ""
        self._tls = tls if tls is not None and tls.enabled else None
        if self.endpoint and (
            not self.endpoint.startswith("grpc://") or len(self.endpoint) <= len("grpc://")
        ):
            raise ServiceStartupError(
                f"--directory_endpoint must be a grpc://host:port URL, not [{self.endpoint}]"
            )
        self._token = token or None
        self._host = host
        self._properties = parse_properties(properties)
        self._properties.setdefault("__registration_source", "Cogment-Trial_Datastore")
        self._properties.setdefault("__version", __version__)
        self._ssl = ssl
        self._registered: list[tuple[int, str]] = []

    def _directory_endpoint(self) -> Endpoint:
        endpoint = Endpoint(self.endpoint)
        if self._tls is not None:
            tls = self._tls
            endpoint.set_from_files(tls.private_key, tls.root_cert, tls.trust_chain)
            endpoint.use_ssl = True
        return endpoint

    async def register(self, port: int) -> None:
        """Register ``host:port``; raises :class:`ServiceStartupError` if it fails."""
        if not self.endpoint:
            return
        host = self._host or _own_address()
        try:
            async with Directory.connect(self._directory_endpoint(), self._token) as directory:
                for service_type in _TYPES:
                    self._registered.append(
                        await directory.register_host(
                            service_type, host, port, ssl=self._ssl, properties=self._properties
                        )
                    )
        except CogmentError as error:
            await self.deregister()
            raise ServiceStartupError(str(error)) from error
        _log.info(
            "registered %s:%d to Directory [%s] with ids %s",
            host,
            port,
            self.endpoint,
            [service_id for service_id, _ in self._registered],
        )

    async def deregister(self) -> None:
        """Deregister what was registered (failures are logged, not raised)."""
        registered, self._registered = self._registered, []
        if not registered:
            return
        async with Directory.connect(
            self._directory_endpoint(), self._token, timeout=5.0
        ) as directory:
            for service_id, secret in registered:
                try:
                    await directory.deregister_service(service_id, secret)
                except CogmentError as error:
                    _log.warning("%s", error)
