"""Registration of a service to a Directory (``--directory_endpoint``), shared by the services.

:class:`DirectoryRegistration` registers this service's ``host:port`` under one or more service
types when the service starts and deregisters them when it stops, through the runtime's
Directory client (:class:`cogment._directory.DirectoryRegistrations`). Subclasses name the
service types (``SERVICE_TYPES``), the default properties and the logger.

With TLS, the Directory is reached over TLS too, presenting this service's certificate (every
outgoing channel of a TLS service uses TLS).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import ClassVar

from cogment._directory import Directory, DirectoryRegistrations, ServiceRegistration
from cogment._endpoint_url import ServiceType
from cogment._endpoints import Endpoint
from cogment._errors import CogmentError
from cogment_services._server import ServiceStartupError, TlsFiles

__all__ = ["DirectoryRegistration", "directory_endpoint", "parse_properties"]

#: Seconds each Directory call of a (de)registration may take.
_DIRECTORY_TIMEOUT = 5.0


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


def directory_endpoint(url: str, tls: TlsFiles | None) -> Endpoint:
    """The Directory ``url``, over TLS with the service's PEM files when ``tls`` is enabled."""
    endpoint = Endpoint(url)
    if tls is not None and tls.enabled:
        try:
            endpoint.set_from_files(tls.private_key, tls.root_cert, tls.trust_chain)
        except CogmentError as error:
            raise ServiceStartupError(f"--directory_endpoint: {error}") from error
        endpoint.use_ssl = True
    return endpoint


class DirectoryRegistration:
    """Registers this service at start and deregisters it at stop (no-op without endpoint).

    ``endpoint`` must be a ``grpc://host:port`` URL; ``properties`` is the
    ``--directory_registration_properties`` text. ``ssl`` is the protocol registered (the
    service's own TLS); ``tls`` the PEM files used to reach the Directory.
    """

    #: The service types registered, each on the same ``host:port``.
    SERVICE_TYPES: ClassVar[Sequence[ServiceType]] = ()
    #: Properties added to the registered ones unless given.
    DEFAULT_PROPERTIES: ClassVar[Mapping[str, str]] = {}
    #: Logger of the service.
    LOG: ClassVar[logging.Logger] = logging.getLogger("cogment.services")

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
        if self.endpoint and (
            not self.endpoint.startswith("grpc://") or len(self.endpoint) <= len("grpc://")
        ):
            raise ServiceStartupError(
                f"--directory_endpoint must be a grpc://host:port URL, not [{self.endpoint}]"
            )
        self._tls = tls if tls is not None and tls.enabled else None
        self._token = token or None
        self._host = host
        self._properties = parse_properties(properties)
        for name, value in self.DEFAULT_PROPERTIES.items():
            self._properties.setdefault(name, value)
        self._ssl = ssl
        self._directory: Directory | None = None
        self._registrations: DirectoryRegistrations | None = None

    async def register(self, port: int) -> None:
        """Register ``host:port`` under every type; raises :class:`ServiceStartupError` if
        refused (nothing stays registered then).
        """
        if not self.endpoint:
            return
        try:
            directory = Directory.connect(
                directory_endpoint(self.endpoint, self._tls),
                self._token,
                timeout=_DIRECTORY_TIMEOUT,
            )
        except CogmentError as error:
            raise ServiceStartupError(f"--directory_endpoint: {error}") from error
        registrations = DirectoryRegistrations(
            directory,
            [ServiceRegistration(each, self._properties) for each in self.SERVICE_TYPES],
            port=port,
            ssl=self._ssl,
            host=self._host,
        )
        try:
            registered = await registrations.register()
        except CogmentError as error:
            await directory.close()
            raise ServiceStartupError(f"Directory registration failed: {error}") from error
        except BaseException:
            await directory.close()
            raise
        self._directory, self._registrations = directory, registrations
        self.LOG.info(
            "Registered to Directory [%s] on port [%d] with ids %s",
            self.endpoint,
            port,
            [service_id for service_id, _ in registered],
        )

    async def deregister(self) -> None:
        """Deregister what was registered (failures are logged, not raised)."""
        directory, self._directory = self._directory, None
        registrations, self._registrations = self._registrations, None
        if directory is None or registrations is None:
            return
        try:
            await registrations.deregister()
        finally:
            await directory.close()
