"""Parser for Cogment endpoint URLs (pure: no network, no gRPC).

Grammar (``formats-and-services.md`` §3.3)::

    grpc://HOST:PORT                       direct connection (HOST may be a bracketed IPv6 address)
    cogment://client                       client actor special endpoint (actors only, no path/query)
    cogment://discover[/PATH][?QUERY]      ask the Directory

    PATH  = service | actor | environment | datalog | prehook | lifecycle | actservice
            | datastore | modelregistry | directory
    QUERY = ENTRY ("&" ENTRY)*     ENTRY = NAME ["=" VALUE]     characters: [A-Za-z0-9_.-]

Names starting with ``__`` are reserved: ``__actor_class`` and ``__implementation`` are ordinary
(implicit) directory properties, ``__id`` is the service id of ``/service`` (a nonzero uint64, not a
property) and ``__authentication-token`` is sent to the Directory as the authentication token (not a
property).

Leading/trailing whitespace is trimmed; the scheme, the ``cogment`` host and the path are
case-insensitive. Every error is an :class:`EndpointUrlError` (a :class:`ValueError`) naming the URL, the
position and what was expected.

A *context discovery* (``cogment://discover`` without a path) is completed from the caller's
:class:`DiscoveryContext` (type and implicit properties) with :meth:`EndpointUrl.with_context`.
"""

from __future__ import annotations

import enum
import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Final, Literal

__all__ = [
    "ACTOR_CLASS_PROPERTY",
    "AUTHENTICATION_TOKEN_PROPERTY",
    "BASIC_CONTEXT_DISCOVERY_URL",
    "CLIENT_ACTOR_HOST",
    "CLIENT_ACTOR_URL",
    "COGMENT_SCHEME",
    "DISCOVERY_HOST",
    "DISCOVERY_PATHS",
    "GRPC_SCHEME",
    "IMPLEMENTATION_PROPERTY",
    "SERVICE_ID_PROPERTY",
    "SERVICE_PATH",
    "DiscoveryContext",
    "DiscoveryQuery",
    "EndpointUrl",
    "EndpointUrlError",
    "ServiceType",
    "parse_endpoint_url",
]

GRPC_SCHEME: Final = "grpc"
COGMENT_SCHEME: Final = "cogment"
DISCOVERY_HOST = "discover"
CLIENT_ACTOR_HOST = "client"
BASIC_CONTEXT_DISCOVERY_URL = "cogment://discover"
CLIENT_ACTOR_URL = "cogment://client"

ACTOR_CLASS_PROPERTY = "__actor_class"
IMPLEMENTATION_PROPERTY = "__implementation"
SERVICE_ID_PROPERTY = "__id"
AUTHENTICATION_TOKEN_PROPERTY = "__authentication-token"
_RESERVED_NAMES = (
    ACTOR_CLASS_PROPERTY,
    IMPLEMENTATION_PROPERTY,
    SERVICE_ID_PROPERTY,
    AUTHENTICATION_TOKEN_PROPERTY,
)

SERVICE_PATH = "service"
_UINT64_MAX = 2**64 - 1
_QUERY_CHARS = re.compile(r"[A-Za-z0-9_.\-]*")
_HOST_CHARS = re.compile(r"[A-Za-z0-9_.\-]+")
_IPV6_CHARS = re.compile(r"[0-9A-Fa-f:.]+(%[A-Za-z0-9_.\-]+)?")


class ServiceType(enum.IntEnum):
    """Directory service types; the values are the wire values of ``cogmentAPI.ServiceType``.

    The member names are the published SDK's ``cogment.directory.ServiceType`` names.
    """

    LIFE_CYCLE = 1
    CLIENT_ACTOR = 2
    ACTOR = 3
    ENVIRONMENT = 4
    HOOK = 5
    DATALOG = 6
    DATASTORE = 7
    MODEL_REG = 8
    DIRECTORY = 9
    OTHER = 100


#: Explicit discovery paths and the service type each one asks for (``service`` = by id: ``None``).
DISCOVERY_PATHS: Mapping[str, ServiceType | None] = MappingProxyType(
    {
        SERVICE_PATH: None,
        "actor": ServiceType.ACTOR,
        "environment": ServiceType.ENVIRONMENT,
        "datalog": ServiceType.DATALOG,
        "prehook": ServiceType.HOOK,
        "lifecycle": ServiceType.LIFE_CYCLE,
        "actservice": ServiceType.CLIENT_ACTOR,
        "datastore": ServiceType.DATASTORE,
        "modelregistry": ServiceType.MODEL_REG,
        "directory": ServiceType.DIRECTORY,
    }
)
_PATH_OF_TYPE: Mapping[ServiceType, str] = MappingProxyType(
    {
        service_type: path
        for path, service_type in DISCOVERY_PATHS.items()
        if service_type is not None
    }
)


class EndpointUrlError(ValueError):
    """An endpoint URL that does not follow the grammar (or cannot be used where it was given)."""

    def __init__(self, url: str, message: str, position: int | None = None) -> None:
        self.url = url
        self.position = position
        self.reason = message
        where = f" at position {position}" if position is not None else ""
        super().__init__(f"Invalid endpoint URL [{url}]{where}: {message}")


def _empty_properties() -> Mapping[str, str]:
    return MappingProxyType({})


@dataclass(frozen=True)
class DiscoveryContext:
    """What a context discovery (``cogment://discover[?query]``) is completed with.

    Build it with the class methods, e.g. ``DiscoveryContext.actor("player", "smart")``.
    """

    service_type: ServiceType
    properties: Mapping[str, str] = field(default_factory=_empty_properties, hash=False)

    def __post_init__(self) -> None:
        if self.service_type not in _PATH_OF_TYPE:
            raise ValueError(
                f"No discovery path exists for service type [{self.service_type.name}]"
            )
        object.__setattr__(self, "properties", MappingProxyType(dict(self.properties)))

    @classmethod
    def actor(cls, actor_class: str, implementation: str = "") -> DiscoveryContext:
        """An actor service: ``__actor_class`` and (when not empty) ``__implementation``."""
        properties = {ACTOR_CLASS_PROPERTY: actor_class}
        if implementation:
            properties[IMPLEMENTATION_PROPERTY] = implementation
        return cls(ServiceType.ACTOR, properties)

    @classmethod
    def environment(cls, implementation: str = "") -> DiscoveryContext:
        """An environment service: ``__implementation`` (when not empty)."""
        properties = {IMPLEMENTATION_PROPERTY: implementation} if implementation else {}
        return cls(ServiceType.ENVIRONMENT, properties)

    @classmethod
    def of_type(cls, service_type: ServiceType) -> DiscoveryContext:
        """A context that only gives the service type (controller, datastore, model registry, ...)."""
        return cls(service_type)


@dataclass(frozen=True)
class DiscoveryQuery:
    """What to ask the Directory: by ``service_id``, or by ``service_type`` + ``properties``."""

    service_type: ServiceType | None
    properties: Mapping[str, str] = field(default_factory=_empty_properties, hash=False)
    service_id: int | None = None
    authentication_token: str | None = None


@dataclass(frozen=True)
class EndpointUrl:
    """A parsed endpoint URL. Build it with :func:`parse_endpoint_url`.

    ``host`` is the gRPC host (without brackets for IPv6), or ``client``/``discover`` for ``cogment``.
    ``path`` is the explicit discovery path (``None`` for a context discovery and other forms).
    ``properties`` are the query's directory properties, in URL order (without ``__id`` and
    ``__authentication-token``, which go to ``service_id`` and ``authentication_token``).
    """

    url: str
    scheme: Literal["grpc", "cogment"]
    host: str
    port: int | None = None
    path: str | None = None
    properties: Mapping[str, str] = field(default_factory=_empty_properties, hash=False)
    service_id: int | None = None
    authentication_token: str | None = None

    @property
    def is_grpc(self) -> bool:
        """``grpc://host:port``: a direct connection."""
        return self.scheme == GRPC_SCHEME

    @property
    def is_client_actor(self) -> bool:
        """``cogment://client``."""
        return self.scheme == COGMENT_SCHEME and self.host == CLIENT_ACTOR_HOST

    @property
    def is_discovery(self) -> bool:
        """``cogment://discover...``: needs the Directory."""
        return self.scheme == COGMENT_SCHEME and self.host == DISCOVERY_HOST

    @property
    def is_context_discovery(self) -> bool:
        """``cogment://discover[?query]`` without a path: the caller's context gives the type."""
        return self.is_discovery and self.path is None

    @property
    def service_type(self) -> ServiceType | None:
        """The service type of an explicit discovery path (``None`` for ``/service`` and others)."""
        return DISCOVERY_PATHS.get(self.path) if self.path is not None else None

    @property
    def grpc_target(self) -> str:
        """The gRPC channel target ``host:port`` (IPv6 hosts bracketed); only for ``grpc://``."""
        if not self.is_grpc:
            raise EndpointUrlError(self.url, "not a grpc:// endpoint, it has no gRPC target")
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    def with_context(self, context: DiscoveryContext | None) -> EndpointUrl:
        """Complete a context discovery with ``context``; any other URL is returned unchanged.

        The context's properties come first, then the URL's own query entries (which win on a
        name clash): for an actor ``cogment://discover?tag=red`` becomes
        ``cogment://discover/actor?__actor_class=C&__implementation=I&tag=red``.
        """
        if not self.is_context_discovery:
            return self
        if context is None:
            raise EndpointUrlError(
                self.url,
                "a context discovery needs a context (actor, environment, ...) to know what to "
                "look for; give an explicit path instead, e.g. cogment://discover/actor?...",
            )
        properties = dict(context.properties)
        properties.update(self.properties)
        completed = replace(
            self,
            path=_PATH_OF_TYPE[context.service_type],
            properties=MappingProxyType(properties),
        )
        return replace(completed, url=str(completed))

    def discovery_query(self, context: DiscoveryContext | None = None) -> DiscoveryQuery:
        """The Directory inquiry this discovery URL stands for (context discovery completed)."""
        if not self.is_discovery:
            raise EndpointUrlError(
                self.url, "only cogment://discover endpoints are resolved by the Directory"
            )
        explicit = self.with_context(context)
        if explicit.path == SERVICE_PATH:
            return DiscoveryQuery(
                service_type=None,
                service_id=explicit.service_id,
                authentication_token=explicit.authentication_token,
            )
        return DiscoveryQuery(
            service_type=explicit.service_type,
            properties=explicit.properties,
            authentication_token=explicit.authentication_token,
        )

    def __str__(self) -> str:
        """The canonical form of the URL (lowercase scheme/host/path, reserved entries included)."""
        if self.is_grpc:
            return f"{GRPC_SCHEME}://{self.grpc_target}"
        text = f"{COGMENT_SCHEME}://{self.host}"
        if self.path is not None:
            text += f"/{self.path}"
        entries = [f"{name}={value}" if value else name for name, value in self.properties.items()]
        if self.service_id is not None:
            entries.append(f"{SERVICE_ID_PROPERTY}={self.service_id}")
        if self.authentication_token is not None:
            entries.append(f"{AUTHENTICATION_TOKEN_PROPERTY}={self.authentication_token}")
        if entries:
            text += "?" + "&".join(entries)
        return text


def parse_endpoint_url(url: str) -> EndpointUrl:
    """Parse ``url`` (see the module docstring for the grammar); raise :class:`EndpointUrlError`."""
    if not isinstance(url, str):
        raise EndpointUrlError(repr(url), f"expected a string, got {type(url).__name__}")
    return _parse_str(url)


@functools.lru_cache(maxsize=256)
def _parse_str(url: str) -> EndpointUrl:
    # Cached: every trial start parses the same few endpoints, and an EndpointUrl is immutable
    # (frozen, read-only properties). Errors are raised again each time (not cached).
    text = url.strip()
    if not text:
        raise EndpointUrlError(url, "empty URL, expected grpc://host:port or cogment://...")
    for index, char in enumerate(text):
        if char.isspace():
            raise EndpointUrlError(text, "spaces are not allowed in an endpoint URL", index)

    separator = text.find("://")
    if separator < 0:
        raise EndpointUrlError(
            text, "missing '<scheme>://', expected grpc://host:port or cogment://discover|client", 0
        )
    scheme = text[:separator].lower()
    start = separator + 3
    if scheme == GRPC_SCHEME:
        return _parse_grpc(text, start)
    if scheme == COGMENT_SCHEME:
        return _parse_cogment(text, start)
    raise EndpointUrlError(
        text,
        f"unknown scheme [{text[:separator]}], expected '{GRPC_SCHEME}' or '{COGMENT_SCHEME}'",
        0,
    )


def _parse_grpc(text: str, start: int) -> EndpointUrl:
    rest = text[start:]
    for index, char in enumerate(rest):
        if char in "/?#@":
            raise EndpointUrlError(
                text,
                f"unexpected '{char}': a grpc:// endpoint is only grpc://host:port "
                "(no user, path or query)",
                start + index,
            )
    if rest.startswith("["):
        closing = rest.find("]")
        if closing < 0:
            raise EndpointUrlError(text, "unterminated '[' in IPv6 host, expected ']'", start)
        host = rest[1:closing]
        if not host or _IPV6_CHARS.fullmatch(host) is None:
            raise EndpointUrlError(text, f"invalid IPv6 host [{host}]", start + 1)
        after = rest[closing + 1 :]
        port_position = start + closing + 1
        if not after.startswith(":"):
            raise EndpointUrlError(text, "expected ':port' after the IPv6 host", port_position)
        port_text = after[1:]
        port_position += 1
    else:
        colon = rest.rfind(":")
        if colon < 0:
            raise EndpointUrlError(text, "missing port, expected grpc://host:port", len(text))
        host = rest[:colon]
        if not host:
            raise EndpointUrlError(text, "missing host, expected grpc://host:port", start)
        if _HOST_CHARS.fullmatch(host) is None:
            bad = next(i for i, c in enumerate(host) if _HOST_CHARS.fullmatch(c) is None)
            raise EndpointUrlError(
                text,
                f"invalid character '{host[bad]}' in host (IPv6 addresses go in brackets: [::1])",
                start + bad,
            )
        port_text = rest[colon + 1 :]
        port_position = start + colon + 1
    if not port_text.isdigit() or not port_text.isascii():
        raise EndpointUrlError(
            text, f"invalid port [{port_text}], expected a number", port_position
        )
    port = int(port_text)
    if not 1 <= port <= 65535:
        raise EndpointUrlError(text, f"port {port} out of range, expected 1-65535", port_position)
    return EndpointUrl(url=text, scheme=GRPC_SCHEME, host=host, port=port)


def _parse_cogment(text: str, start: int) -> EndpointUrl:
    rest = text[start:]
    end = len(rest)
    for index, char in enumerate(rest):
        if char in "/?":
            end = index
            break
    host = rest[:end].lower()
    if host == CLIENT_ACTOR_HOST:
        if end < len(rest):
            raise EndpointUrlError(text, "cogment://client takes no path and no query", start + end)
        return EndpointUrl(url=text, scheme=COGMENT_SCHEME, host=CLIENT_ACTOR_HOST)
    if host != DISCOVERY_HOST:
        raise EndpointUrlError(
            text,
            f"unknown cogment host [{rest[:end]}], expected '{DISCOVERY_HOST}' or '{CLIENT_ACTOR_HOST}'",
            start,
        )

    position = start + end
    rest = rest[end:]
    path: str | None = None
    if rest.startswith("/"):
        query_mark = rest.find("?")
        raw_path = rest[1:] if query_mark < 0 else rest[1:query_mark]
        if raw_path.endswith("/"):
            raw_path = raw_path[:-1]
        if raw_path:
            path = raw_path.lower()
            if path not in DISCOVERY_PATHS:
                raise EndpointUrlError(
                    text,
                    f"unknown discovery path [{raw_path}], expected one of: {', '.join(DISCOVERY_PATHS)}",
                    position + 1,
                )
        consumed = len(rest) if query_mark < 0 else query_mark
        position += consumed
        rest = rest[consumed:]

    properties: dict[str, str] = {}
    service_id: int | None = None
    token: str | None = None
    if rest.startswith("?"):
        position += 1
        for entry in rest[1:].split("&") if len(rest) > 1 else []:
            name, value, id_value, token_value = _parse_entry(text, entry, position, path)
            if (
                name in properties
                or (id_value is not None and service_id is not None)
                or (token_value is not None and token is not None)
            ):
                raise EndpointUrlError(text, f"duplicate query entry [{name}]", position)
            if id_value is not None:
                service_id = id_value
            elif token_value is not None:
                token = token_value
            else:
                properties[name] = value
            position += len(entry) + 1
    if path == SERVICE_PATH and service_id is None:
        raise EndpointUrlError(
            text, f"the /service path requires a '{SERVICE_ID_PROPERTY}=<service id>' query entry"
        )
    return EndpointUrl(
        url=text,
        scheme=COGMENT_SCHEME,
        host=DISCOVERY_HOST,
        path=path,
        properties=MappingProxyType(properties),
        service_id=service_id,
        authentication_token=token or None,
    )


def _parse_entry(
    text: str, entry: str, position: int, path: str | None
) -> tuple[str, str, int | None, str | None]:
    """One ``name[=value]`` query entry: (name, value, service id or None, token or None)."""
    name, equal, value = entry.partition("=")
    if not name:
        what = "empty query entry" if not entry else "query entry without a name"
        raise EndpointUrlError(text, f"{what}, expected name[=value]", position)
    for part, offset in ((name, 0), (value, len(name) + 1)):
        if _QUERY_CHARS.fullmatch(part) is None:
            bad = next(i for i, c in enumerate(part) if _QUERY_CHARS.fullmatch(c) is None)
            raise EndpointUrlError(
                text,
                f"invalid character '{part[bad]}' in query entry [{entry}], allowed: A-Z a-z 0-9 _ . -",
                position + offset + bad,
            )
    del equal
    if not name.startswith("__"):
        return name, value, None, None
    if name not in _RESERVED_NAMES:
        raise EndpointUrlError(
            text,
            f"unknown reserved name [{name}] (names starting with '__' are reserved), "
            f"expected one of: {', '.join(_RESERVED_NAMES)}",
            position,
        )
    if name == SERVICE_ID_PROPERTY:
        if path != SERVICE_PATH:
            raise EndpointUrlError(
                text, f"'{SERVICE_ID_PROPERTY}' is only valid with the /service path", position
            )
        if not value.isdigit() or not value.isascii() or not 0 < int(value) <= _UINT64_MAX:
            raise EndpointUrlError(
                text,
                f"invalid service id [{value}], expected a nonzero unsigned 64-bit integer",
                position + len(name) + 1,
            )
        return name, value, int(value), None
    if name == AUTHENTICATION_TOKEN_PROPERTY:
        return name, value, None, value
    return name, value, None, None
