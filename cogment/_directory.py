"""Client of the Cogment Directory: register, deregister, inquire, and resolve ``cogment://discover``.

Resolution (:meth:`Directory.resolve`, :func:`resolve_endpoint`):

- ``grpc://host:port`` and ``cogment://client`` are returned unchanged (no Directory call);
- ``cogment://discover[?query]`` (context discovery) takes its service type and implicit
  properties from the caller's :class:`~cogment._endpoint_url.DiscoveryContext` (an actor gets
  ``__actor_class`` and ``__implementation``, ...); an explicit path
  (``cogment://discover/environment?...``) ignores the context; ``/service?__id=N`` asks by id;
- ``__authentication-token`` in the URL replaces the Directory's token for that inquiry;
- the Directory answers most recent first; the first answer whose TLS-ness matches the caller's
  ``use_ssl`` wins (``use_ssl=None``: the first answer, whatever its TLS-ness).

Choice (different from the published SDK, which kept the unresolved ``cogment://discover`` endpoint
and failed later with an unrelated channel error): when **nothing** is found, or only services
whose TLS-ness does not match, a :class:`DiscoveryError` (a :class:`~cogment.CogmentError`) is
raised at once, naming the URL, the inquired type and properties, and the Directory.

Registration (:class:`DirectoryRegistrations`, used by ``Context.serve_all_registered``): one
entry per (actor implementation x actor class), per environment implementation, per pre-trial hook
and per datalog, each with ``__registration_source="PythonSDK-Implicit"`` and ``__version``;
everything registered is deregistered on exit.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType, TracebackType

import grpc
import grpc.aio

from cogment._client_base import ChannelClient
from cogment._endpoint_url import (
    ACTOR_CLASS_PROPERTY,
    CLIENT_ACTOR_HOST,
    CLIENT_ACTOR_URL,
    IMPLEMENTATION_PROPERTY,
    DiscoveryContext,
    DiscoveryQuery,
    EndpointUrl,
    EndpointUrlError,
    ServiceType,
    parse_endpoint_url,
)
from cogment._endpoints import Endpoint
from cogment._errors import CogmentError
from cogment._grpc import create_channel
from cogment._metadata import GrpcMetadata
from cogment._version import __version__
from cogment.api import common_pb2, directory_pb2, directory_pb2_grpc

__all__ = [
    "AUTHENTICATION_TOKEN_METADATA",
    "DEFAULT_DIRECTORY_TIMEOUT",
    "REGISTRATION_SOURCE",
    "REGISTRATION_SOURCE_PROPERTY",
    "VERSION_PROPERTY",
    "Directory",
    "DirectoryRegistrations",
    "DiscoveryError",
    "ResolvedEndpoint",
    "ServiceInfo",
    "ServiceRegistration",
    "ServiceType",
    "actor_registrations",
    "datalog_registration",
    "detect_registration_host",
    "environment_registration",
    "prehook_registration",
    "resolve_endpoint",
]

logger = logging.getLogger("cogment.sdk")

AUTHENTICATION_TOKEN_METADATA = "authentication-token"
REGISTRATION_SOURCE_PROPERTY = "__registration_source"
VERSION_PROPERTY = "__version"
REGISTRATION_SOURCE = "PythonSDK-Implicit"
#: Seconds any single Directory call may take before it fails (never hang).
DEFAULT_DIRECTORY_TIMEOUT = 30.0

_Protocol = directory_pb2.ServiceEndpoint.Protocol


class DiscoveryError(CogmentError):
    """A ``cogment://discover`` endpoint could not be resolved through the Directory."""


@dataclass(frozen=True)
class ServiceInfo:
    """One service found in the Directory."""

    service_id: int
    url: str
    use_ssl: bool
    service_type: int
    properties: Mapping[str, str] = field(hash=False)
    permanent: bool = False


@dataclass(frozen=True)
class ResolvedEndpoint:
    """Where an endpoint URL leads: a ``grpc://`` URL (or ``cogment://client``) and its TLS-ness."""

    url: str
    use_ssl: bool
    service_id: int | None = None

    @property
    def is_client_actor(self) -> bool:
        """The endpoint is ``cogment://client``."""
        return self.url == CLIENT_ACTOR_URL


def _service_info(data: directory_pb2.FullServiceData) -> ServiceInfo:
    endpoint = data.endpoint
    if endpoint.protocol in (_Protocol.GRPC, _Protocol.GRPC_SSL):
        host = f"[{endpoint.host}]" if ":" in endpoint.host else endpoint.host
        url = f"grpc://{host}:{endpoint.port}"
        ssl = endpoint.protocol == _Protocol.GRPC_SSL
    elif endpoint.protocol == _Protocol.COGMENT and endpoint.host == CLIENT_ACTOR_HOST:
        url, ssl = CLIENT_ACTOR_URL, False
    else:
        raise CogmentError(
            f"Invalid endpoint in a Directory reply for service [{data.service_id}]: "
            f"protocol [{endpoint.protocol}] host [{endpoint.host}] port [{endpoint.port}]"
        )
    return ServiceInfo(
        service_id=data.service_id,
        url=url,
        use_ssl=ssl,
        service_type=data.details.type,
        properties=MappingProxyType(dict(data.details.properties)),
        permanent=data.permanent,
    )


def _describe_query(query: DiscoveryQuery) -> str:
    if query.service_id is not None:
        return f"service id [{query.service_id}]"
    kind = query.service_type.name if query.service_type is not None else "?"
    return f"type [{kind}] and properties {dict(query.properties)}"


def _channel_for(endpoint: Endpoint | str) -> tuple[grpc.aio.Channel, str]:
    """An async channel to a ``grpc://`` Directory endpoint, and its URL (for messages)."""
    if isinstance(endpoint, str):
        try:
            endpoint = Endpoint(endpoint)
        except CogmentError as error:
            raise CogmentError(f"Invalid Directory endpoint: {error}") from error
    if not endpoint.is_grpc:
        raise CogmentError(f"The Directory endpoint must be a grpc:// URL, not [{endpoint.url}]")
    return create_channel(endpoint), endpoint.url


class Directory(ChannelClient):
    """Async client of a Directory service (``cogmentAPI.DirectorySP``).

    Build it from a stub (``Directory(DirectorySPStub(channel), token)``, the published SDK's
    form) or let it own its channel with :meth:`connect` (then close it, or use ``async with``).
    Every call has a timeout (``timeout`` seconds, 30 by default) and raises
    :class:`~cogment.CogmentError` naming the Directory on failure.
    """

    def __init__(
        self,
        stub: directory_pb2_grpc.DirectorySPAsyncStub,
        auth_token: str | None = None,
        metadata: GrpcMetadata | None = None,
        *,
        url: str = "<directory>",
        timeout: float = DEFAULT_DIRECTORY_TIMEOUT,
        channel: grpc.aio.Channel | None = None,
    ) -> None:
        self._stub = stub
        self._auth_token = auth_token or None
        self._metadata = metadata.copy() if metadata is not None else GrpcMetadata()
        self.url = url
        self.timeout = timeout
        self._channel = channel

    @classmethod
    def connect(
        cls,
        endpoint: Endpoint | str,
        auth_token: str | None = None,
        metadata: GrpcMetadata | None = None,
        *,
        timeout: float = DEFAULT_DIRECTORY_TIMEOUT,
    ) -> Directory:
        """A client with its own channel to ``endpoint`` (a ``grpc://`` URL or an ``Endpoint``)."""
        channel, url = _channel_for(endpoint)
        stub = directory_pb2_grpc.DirectorySPStub(channel)
        return cls(stub, auth_token, metadata, url=url, timeout=timeout, channel=channel)

    def __str__(self) -> str:
        token = "<set>" if self._auth_token else "None"
        return f"Directory: url = {self.url}, authentication token = {token}"

    @property
    def auth_token(self) -> str | None:
        """The authentication token sent with every call (``None``: none)."""
        return self._auth_token

    def _call_metadata(self, token: str | None = None) -> tuple[tuple[str, str | bytes], ...]:
        items = [
            (key, value)
            for key, value in self._metadata.to_grpc_metadata()
            if key != AUTHENTICATION_TOKEN_METADATA
        ]
        token = token if token is not None else self._auth_token
        if token:
            items.append((AUTHENTICATION_TOKEN_METADATA, token))
        return tuple(items)

    def _failure(self, what: str, error: grpc.aio.AioRpcError) -> CogmentError:
        return CogmentError(
            f"Directory [{self.url}] {what} failed: {error.code().name} {error.details() or ''}".rstrip()
        )

    # ----------------------------------------------------------------------- registration

    async def register_host(
        self,
        type: ServiceType,
        host: str,
        port: int,
        ssl: bool = False,
        properties: Mapping[str, str] | None = None,
        permanent: bool = False,
    ) -> tuple[int, str]:
        """Register a gRPC service at ``host:port``; return ``(service_id, secret)``."""
        request = directory_pb2.RegisterRequest(
            endpoint=directory_pb2.ServiceEndpoint(
                protocol=_Protocol.GRPC_SSL if ssl else _Protocol.GRPC, host=host, port=port
            ),
            details=directory_pb2.ServiceDetails(
                type=int(type),  # type: ignore[arg-type]
                properties=dict(properties or {}),
            ),
            permanent=permanent,
        )
        return await self.register(request)

    async def register(self, request: directory_pb2.RegisterRequest) -> tuple[int, str]:
        """Send one ``RegisterRequest``; return ``(service_id, secret)``, raise if refused."""
        (reply,) = await self._register_stream([request])
        return reply

    async def _register_stream(
        self, requests: Sequence[directory_pb2.RegisterRequest]
    ) -> list[tuple[int, str]]:
        async def requests_iterator() -> AsyncIterator[directory_pb2.RegisterRequest]:
            for request in requests:
                yield request

        results: list[tuple[int, str]] = []
        try:
            call = self._stub.Register(
                requests_iterator(), metadata=self._call_metadata(), timeout=self.timeout
            )
            async for reply in call:
                request = requests[len(results)] if len(results) < len(requests) else None
                if reply.status != directory_pb2.RegisterReply.OK:
                    where = f"{request.endpoint.host}:{request.endpoint.port}" if request else "?"
                    raise CogmentError(
                        f"Directory [{self.url}] refused the registration of [{where}]: "
                        f"{reply.error_msg or directory_pb2.RegisterReply.Status.Name(reply.status)}"
                    )
                results.append((reply.service_id, reply.secret))
        except grpc.aio.AioRpcError as error:
            raise self._failure("registration", error) from error
        if len(results) != len(requests):
            raise CogmentError(
                f"Directory [{self.url}] answered {len(results)} of {len(requests)} registrations"
            )
        return results

    async def deregister_service(self, service_id: int, secret: str) -> None:
        """Deregister a service; raise :class:`~cogment.CogmentError` if the Directory refuses."""
        request = directory_pb2.DeregisterRequest(service_id=service_id, secret=secret)

        async def requests_iterator() -> AsyncIterator[directory_pb2.DeregisterRequest]:
            yield request

        answered = False
        try:
            call = self._stub.Deregister(
                requests_iterator(), metadata=self._call_metadata(), timeout=self.timeout
            )
            async for reply in call:
                answered = True
                if reply.status != directory_pb2.DeregisterReply.OK:
                    raise CogmentError(
                        f"Directory [{self.url}] refused to deregister service [{service_id}]: "
                        f"{reply.error_msg or directory_pb2.DeregisterReply.Status.Name(reply.status)}"
                    )
        except grpc.aio.AioRpcError as error:
            raise self._failure(f"deregistration of service [{service_id}]", error) from error
        if not answered:
            raise CogmentError(
                f"Directory [{self.url}] did not answer the deregistration of [{service_id}]"
            )
        logger.debug("Deregistered service [%d] from the Directory [%s]", service_id, self.url)

    # -------------------------------------------------------------------------- inquiries

    async def inquire(self, query: DiscoveryQuery) -> list[ServiceInfo]:
        """All the services answering ``query``, most recent first (empty: nothing found)."""
        if query.service_id is not None:
            request = directory_pb2.InquireRequest(service_id=query.service_id)
        elif query.service_type is not None:
            request = directory_pb2.InquireRequest(
                details=directory_pb2.ServiceDetails(
                    type=int(query.service_type),  # type: ignore[arg-type]
                    properties=dict(query.properties),
                )
            )
        else:
            raise CogmentError("A Directory inquiry needs a service id or a service type")
        found: list[ServiceInfo] = []
        try:
            call = self._stub.Inquire(
                request,
                metadata=self._call_metadata(query.authentication_token),
                timeout=self.timeout,
            )
            async for reply in call:
                found.append(_service_info(reply.data))
        except grpc.aio.AioRpcError as error:
            raise self._failure(f"inquiry for {_describe_query(query)}", error) from error
        return found

    async def inquire_by_id(self, service_id: int) -> list[tuple[str, bool]]:
        """``(url, use_ssl)`` of the service with this id (published SDK API)."""
        found = await self.inquire(DiscoveryQuery(service_type=None, service_id=service_id))
        return [(info.url, info.use_ssl) for info in found]

    async def inquire_by_type(
        self, type: ServiceType, properties: Mapping[str, str] | None = None
    ) -> list[tuple[str, bool]]:
        """``(url, use_ssl)`` of the services of this type and properties (published SDK API)."""
        found = await self.inquire(DiscoveryQuery(ServiceType(type), dict(properties or {})))
        return [(info.url, info.use_ssl) for info in found]

    async def status(
        self,
        names: Sequence[str] = ("*",),
        *,
        timeout: float | None = None,
        wait_for_ready: bool = False,
    ) -> dict[str, str]:
        """The Directory's ``Status`` values (``*``: all); ``wait_for_ready`` waits for it to be up."""
        try:
            reply = await self._stub.Status(
                common_pb2.StatusRequest(names=list(names)),
                metadata=self._call_metadata(),
                timeout=self.timeout if timeout is None else timeout,
                wait_for_ready=wait_for_ready,
            )
        except grpc.aio.AioRpcError as error:
            raise self._failure("status", error) from error
        return dict(reply.statuses)

    # -------------------------------------------------------------------------- resolution

    async def resolve(
        self,
        url: str | EndpointUrl,
        context: DiscoveryContext | None = None,
        use_ssl: bool | None = False,
    ) -> ResolvedEndpoint:
        """Resolve an endpoint URL through this Directory (see the module docstring)."""
        return await resolve_endpoint(self, url, context, use_ssl)

    async def get_inquired_endpoint(
        self,
        endpoint: Endpoint,
        type: ServiceType | None = None,
        properties: Mapping[str, str] | None = None,
    ) -> Endpoint:
        """Published SDK API: ``endpoint`` resolved (a copy with the found ``grpc://`` URL).

        ``type``/``properties`` are the context of a context discovery (the URL's query wins).
        """
        context = DiscoveryContext(type, properties or {}) if type is not None else None
        resolved = await self.resolve(endpoint.parsed_url, context, endpoint.using_ssl())
        return endpoint.copy(resolved.url)


async def resolve_endpoint(
    directory: Directory | None,
    url: str | EndpointUrl,
    context: DiscoveryContext | None = None,
    use_ssl: bool | None = False,
) -> ResolvedEndpoint:
    """Resolve ``url`` into a ``grpc://`` URL (or ``cogment://client``) and its TLS-ness.

    ``grpc://`` and ``cogment://client`` URLs are returned as they are (with ``use_ssl`` or
    False). A ``cogment://discover`` URL needs ``directory``; see the module docstring for the
    rules. Raises :class:`DiscoveryError` (bad URL, no Directory, nothing found, TLS mismatch) or
    :class:`~cogment.CogmentError` (the Directory failed).
    """
    try:
        parsed = url if isinstance(url, EndpointUrl) else parse_endpoint_url(url)
    except EndpointUrlError as error:
        raise DiscoveryError(str(error)) from error
    if not parsed.is_discovery:
        return ResolvedEndpoint(parsed.url, bool(use_ssl))
    if directory is None:
        raise DiscoveryError(
            f"Endpoint [{parsed.url}] needs a Directory to be resolved, and none is configured "
            "(give a directory endpoint, e.g. COGMENT_DIRECTORY_ENDPOINT=grpc://host:9005)"
        )
    try:
        query = parsed.discovery_query(context)
    except EndpointUrlError as error:
        raise DiscoveryError(str(error)) from error
    found = await directory.inquire(query)
    where = f"[{parsed.url}] ({_describe_query(query)}) in the Directory [{directory.url}]"
    if not found:
        raise DiscoveryError(f"No service found for {where}")
    for info in found:
        if use_ssl is None or info.use_ssl == use_ssl or info.url == CLIENT_ACTOR_URL:
            logger.debug(
                "Resolved [%s] to [%s] (service id [%d])", parsed.url, info.url, info.service_id
            )
            return ResolvedEndpoint(info.url, info.use_ssl, info.service_id)
    wanted, got = ("TLS", "plain gRPC") if use_ssl else ("plain gRPC", "TLS")
    raise DiscoveryError(
        f"Only {got} services found for {where}, while the endpoint uses {wanted}: "
        + ", ".join(info.url for info in found)
    )


# ------------------------------------------------------------------------------ registration


@dataclass(frozen=True)
class ServiceRegistration:
    """One Directory entry to register for a served service."""

    service_type: ServiceType
    properties: Mapping[str, str] = field(hash=False)


def _implicit(properties: Mapping[str, str] | None, **reserved: str) -> dict[str, str]:
    merged = dict(properties or {})
    merged.update(reserved)
    merged[REGISTRATION_SOURCE_PROPERTY] = REGISTRATION_SOURCE
    merged[VERSION_PROPERTY] = __version__
    return merged


def actor_registrations(
    impl_name: str, actor_classes: Iterable[str], properties: Mapping[str, str] | None = None
) -> list[ServiceRegistration]:
    """One ACTOR entry per actor class of an implementation."""
    return [
        ServiceRegistration(
            ServiceType.ACTOR,
            _implicit(
                properties,
                **{ACTOR_CLASS_PROPERTY: actor_class, IMPLEMENTATION_PROPERTY: impl_name},
            ),
        )
        for actor_class in actor_classes
    ]


def environment_registration(
    impl_name: str, properties: Mapping[str, str] | None = None
) -> ServiceRegistration:
    """The ENVIRONMENT entry of an environment implementation."""
    return ServiceRegistration(
        ServiceType.ENVIRONMENT, _implicit(properties, **{IMPLEMENTATION_PROPERTY: impl_name})
    )


def prehook_registration(properties: Mapping[str, str] | None = None) -> ServiceRegistration:
    """The PRE_HOOK entry of a pre-trial hook."""
    return ServiceRegistration(ServiceType.HOOK, _implicit(properties))


def datalog_registration(properties: Mapping[str, str] | None = None) -> ServiceRegistration:
    """The DATALOG entry of a datalog."""
    return ServiceRegistration(ServiceType.DATALOG, _implicit(properties))


def detect_registration_host() -> str:
    """This machine's IP address as seen by others (the address of the default route).

    "Connects" a UDP socket (no packet is sent) and reads the local address. Falls back to
    ``127.0.0.1`` with a warning when there is no route (then only local clients can connect;
    give ``directory_registration_host`` to choose the address).
    """
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.connect(("192.19.254.254", 65535))
            address = str(probe.getsockname()[0])
    except OSError:
        address = ""
    if not address or address.startswith("127.") or address == "0.0.0.0":
        logger.warning(
            "Could not detect a non-loopback IP address to register in the Directory; "
            "registering 127.0.0.1 (set directory_registration_host to choose the address)"
        )
        return "127.0.0.1"
    return address


class DirectoryRegistrations:
    """Registers served services on entry, deregisters them on exit (async context manager).

    Example (what ``Context.serve_all_registered`` does)::

        registrations = [*actor_registrations("smart", ["player"]), environment_registration("env")]
        async with DirectoryRegistrations(directory, registrations, port=served_port, ssl=False):
            await server.wait_for_termination()

    One ``Register`` call per entry (as the published SDK). If any is refused, those already
    registered are deregistered and :class:`~cogment.CogmentError` is raised.
    """

    def __init__(
        self,
        directory: Directory,
        registrations: Sequence[ServiceRegistration],
        *,
        port: int,
        ssl: bool = False,
        host: str | None = None,
    ) -> None:
        self.directory = directory
        self.registrations = list(registrations)
        self.port = port
        self.ssl = ssl
        self.host = host
        #: ``(service_id, secret)`` of each registered entry, in order.
        self.registered: list[tuple[int, str]] = []

    async def register(self) -> list[tuple[int, str]]:
        """Register every entry; return their ``(service_id, secret)``."""
        if not self.registrations:
            return []
        host = self.host or detect_registration_host()
        requests = [
            directory_pb2.RegisterRequest(
                endpoint=directory_pb2.ServiceEndpoint(
                    protocol=_Protocol.GRPC_SSL if self.ssl else _Protocol.GRPC,
                    host=host,
                    port=self.port,
                ),
                details=directory_pb2.ServiceDetails(
                    type=int(registration.service_type),  # type: ignore[arg-type]
                    properties=dict(registration.properties),
                ),
            )
            for registration in self.registrations
        ]
        for request in requests:
            try:
                self.registered.append(await self.directory.register(request))
            except BaseException:
                await self.deregister()
                raise
        logger.debug(
            "Registered %d services at [%s:%d] in the Directory [%s]",
            len(self.registered),
            host,
            self.port,
            self.directory.url,
        )
        return list(self.registered)

    async def deregister(self) -> None:
        """Deregister everything registered (failures are logged, not raised)."""
        registered, self.registered = self.registered, []
        for service_id, secret in registered:
            try:
                await asyncio.shield(self.directory.deregister_service(service_id, secret))
            except (CogmentError, asyncio.CancelledError) as error:
                logger.warning("Could not deregister service [%d]: %s", service_id, error)

    async def __aenter__(self) -> DirectoryRegistrations:
        await self.register()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.deregister()
