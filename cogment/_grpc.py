"""gRPC plumbing shared by the runtime's clients and servers.

Clients (controller, datastore, model registry, directory, client actors):

- :func:`create_channel` opens a ``grpc.aio`` channel to a ``grpc://`` :class:`~cogment.Endpoint`, with TLS
  from the endpoint's PEM fields when it uses TLS, and the options of :func:`channel_options` (keepalive
  compatible with default gRPC servers, 64 MiB messages).  ``cogment://discover`` endpoints must first be
  resolved by the Directory client (``Context._resolve`` / ``cogment._directory``): this is refused here with
  a clear error.
- :func:`call_metadata` builds the ``metadata=`` of a call: the context's :class:`~cogment.GrpcMetadata`
  plus per-call headers (``trial-id``...), so every call carries the context metadata.
- :func:`rpc_error` turns a failed call into a :class:`~cogment.CogmentError` naming the RPC, the service,
  its URL and what went wrong (unreachable, timeout, ...).

Servers: :func:`server_options` and :func:`server_credentials` (TLS from a :class:`~cogment.ServedEndpoint`).
"""

from __future__ import annotations

import weakref
from collections.abc import Iterable, Sequence
from typing import Any

import grpc
import grpc.aio

from cogment._endpoints import Endpoint, ServedEndpoint
from cogment._errors import CogmentError
from cogment._metadata import GrpcMetadata, GrpcMetadataItem

__all__ = [
    "KEEPALIVE_TIMEOUT_MS",
    "KEEPALIVE_TIME_MS",
    "MAX_MESSAGE_BYTES",
    "call_metadata",
    "channel_credentials",
    "channel_options",
    "channel_url",
    "create_channel",
    "rpc_error",
    "server_credentials",
    "server_options",
]

MAX_MESSAGE_BYTES = 64 * 1024 * 1024
"""Largest message sent or received (gRPC's default receive limit is 4 MiB)."""

KEEPALIVE_TIME_MS = 300_000
"""Client keepalive ping period.  5 minutes = the minimum a default gRPC server accepts without answering
with GOAWAY ``too_many_pings``; it still detects half-open connections on long streams (``watch_trials``)."""

KEEPALIVE_TIMEOUT_MS = 20_000
"""How long a keepalive ping may stay unanswered before the connection is considered dead."""

_SERVER_MIN_PING_INTERVAL_MS = 10_000

_channel_urls: weakref.WeakKeyDictionary[grpc.aio.Channel, str] = weakref.WeakKeyDictionary()


def channel_options() -> list[tuple[str, Any]]:
    """Options of the runtime's client channels."""
    return [
        ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
        ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
        ("grpc.keepalive_time_ms", KEEPALIVE_TIME_MS),
        ("grpc.keepalive_timeout_ms", KEEPALIVE_TIMEOUT_MS),
        ("grpc.keepalive_permit_without_calls", 0),
        ("grpc.http2.max_pings_without_data", 0),
    ]


def server_options() -> list[tuple[str, Any]]:
    """Options for the runtime's (and services') servers: 64 MiB messages, tolerant of client keepalives
    down to one ping every 10 s (clients such as the Orchestrator may ping more often than ours)."""
    return [
        ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
        ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
        ("grpc.http2.min_ping_interval_without_data_ms", _SERVER_MIN_PING_INTERVAL_MS),
        ("grpc.http2.min_time_between_pings_ms", _SERVER_MIN_PING_INTERVAL_MS),
        ("grpc.keepalive_permit_without_calls", 1),
    ]


def _pem(text: str | None) -> bytes | None:
    return text.encode() if text else None


def channel_credentials(endpoint: Endpoint) -> grpc.ChannelCredentials | None:
    """TLS credentials for ``endpoint`` (``None`` when it does not use TLS).

    Root certificates default to the system's; a private key needs its certificate chain (mutual TLS).
    """
    if not endpoint.using_ssl():
        return None
    if bool(endpoint.private_key) != bool(endpoint.certificate_chain):
        raise CogmentError(
            f"Endpoint [{endpoint.url}]: mutual TLS needs both a private key and a certificate chain "
            f"(private key {'set' if endpoint.private_key else 'missing'}, "
            f"certificate chain {'set' if endpoint.certificate_chain else 'missing'})"
        )
    return grpc.ssl_channel_credentials(
        root_certificates=_pem(endpoint.root_certificates),
        private_key=_pem(endpoint.private_key),
        certificate_chain=_pem(endpoint.certificate_chain),
    )


def create_channel(
    endpoint: Endpoint, *, options: Sequence[tuple[str, Any]] | None = None
) -> grpc.aio.Channel:
    """Open an async channel to the ``grpc://`` ``endpoint`` (TLS when it uses TLS).

    The channel connects lazily: an unreachable server is reported by the first call (see :func:`rpc_error`).

    Raises:
        CogmentError: the endpoint is not a ``grpc://`` endpoint (a discovery endpoint must be resolved
            through the Directory first), or its TLS settings are incomplete.
    """
    if not isinstance(endpoint, Endpoint):
        raise CogmentError(f"Expected a cogment.Endpoint, got [{type(endpoint).__name__}]")
    if not endpoint.is_grpc:
        if endpoint.is_discovery:
            raise CogmentError(
                f"Endpoint [{endpoint.url}] must be resolved through the Directory before connecting "
                "(give the Context a directory endpoint or use a grpc://host:port endpoint)"
            )
        raise CogmentError(
            f"Endpoint [{endpoint.url}] cannot be connected to: a grpc://host:port is needed"
        )
    target = endpoint.grpc_target
    chosen = list(options) if options is not None else channel_options()
    credentials = channel_credentials(endpoint)
    if credentials is None:
        channel = grpc.aio.insecure_channel(target, options=chosen)
    else:
        channel = grpc.aio.secure_channel(target, credentials, options=chosen)
    _channel_urls[channel] = endpoint.url
    return channel


def channel_url(channel: object) -> str:
    """The endpoint URL a channel made by :func:`create_channel` connects to (``"<unknown>"`` otherwise)."""
    if isinstance(channel, grpc.aio.Channel):
        return _channel_urls.get(channel, "<unknown>")
    return "<unknown>"


def server_credentials(served: ServedEndpoint) -> grpc.ServerCredentials | None:
    """TLS credentials of a server for ``served`` (``None`` when it does not use TLS).

    Client certificates are required iff ``served.root_certificates`` is set.
    """
    pairs = served.private_key_certificate_chain_pairs
    if pairs is None:
        return None
    if not pairs:
        raise CogmentError(
            "ServedEndpoint: TLS needs at least one (private key, certificate chain) pair"
        )
    encoded = []
    for index, (key, chain) in enumerate(pairs):
        if not key or not chain:
            raise CogmentError(
                f"ServedEndpoint: TLS pair #{index} needs both a PEM private key and a PEM certificate chain"
            )
        encoded.append((key.encode(), chain.encode()))
    roots = _pem(served.root_certificates)
    return grpc.ssl_server_credentials(
        encoded, root_certificates=roots, require_client_auth=roots is not None
    )


def call_metadata(
    metadata: GrpcMetadata | None, extra: Iterable[tuple[str, str]] = ()
) -> tuple[GrpcMetadataItem, ...]:
    """The ``metadata=`` of a call: ``metadata`` (the context's) followed by the ``extra`` headers."""
    base = metadata.to_grpc_metadata() if metadata is not None else ()
    extra_items = tuple(extra)
    if not extra_items:
        return base
    return base + GrpcMetadata(extra_items).to_grpc_metadata()


def rpc_error(
    error: grpc.RpcError,
    *,
    rpc: str,
    service: str,
    url: str,
    timeout: float | None = None,
) -> CogmentError:
    """A :class:`~cogment.CogmentError` explaining the failed call ``rpc`` to ``service`` at ``url``."""
    code: grpc.StatusCode | None = None
    details = ""
    if isinstance(error, (grpc.aio.AioRpcError, grpc.Call)):
        code = error.code()
        details = error.details() or ""
    where = f"{service} at [{url}]"
    if code == grpc.StatusCode.UNAVAILABLE:
        message = f"{where} is unreachable ({rpc}): {details or 'connection failed'}"
    elif code == grpc.StatusCode.DEADLINE_EXCEEDED:
        after = f" after {timeout:g} s" if timeout is not None else ""
        message = f"{rpc} to {where} timed out{after}" + (f": {details}" if details else "")
    elif code == grpc.StatusCode.UNIMPLEMENTED:
        message = f"{where} does not implement {rpc}: is this endpoint really the {service}?"
    elif code in (grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.PERMISSION_DENIED):
        message = f"{rpc} to {where} was refused ({code.name}): {details}"
    elif code == grpc.StatusCode.CANCELLED:
        message = f"{rpc} to {where} was cancelled" + (f": {details}" if details else "")
    elif code is not None:
        message = f"{rpc} failed on {where} ({code.name}): {details}"
    else:
        message = f"{rpc} failed on {where}: {error}"
    return CogmentError(message)
