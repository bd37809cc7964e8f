"""Where to connect (:class:`Endpoint`) and where to serve (:class:`ServedEndpoint`).

An :class:`Endpoint` URL is validated when it is set (grammar in :mod:`cogment._endpoint_url`):

- ``grpc://host:port``: a direct connection;
- ``cogment://discover[/path][?query]``: ask the Directory (the Directory client, :mod:`cogment._directory`,
  resolves it into a ``grpc://`` endpoint before connecting; :meth:`Endpoint.copy` keeps the TLS settings);
- ``cogment://client``: the client-actor special endpoint (trial parameters only).

TLS: an endpoint uses TLS when ``use_ssl`` is set **or** any of its PEM fields is set (the published SDK only
looked at ``use_ssl``, contrary to its documentation).  Secrets are never shown by ``str``/``repr``.
"""

from __future__ import annotations

import os

from cogment._endpoint_url import (
    BASIC_CONTEXT_DISCOVERY_URL,
    CLIENT_ACTOR_URL,
    EndpointUrl,
    EndpointUrlError,
    parse_endpoint_url,
)
from cogment._errors import CogmentError
from cogment._log import deprecated

__all__ = [
    "BASIC_CONTEXT_DISCOVERY_URL",
    "CLIENT_ACTOR_URL",
    "Endpoint",
    "ServedEndpoint",
]

_StrPath = str | os.PathLike[str]


def _read_pem(path: _StrPath | None, what: str) -> str | None:
    """The text of the PEM file ``path`` (``None`` for no path or an empty file)."""
    if path is None or path == "":
        return None
    try:
        with open(path) as file:  # not pathlib: it costs `import cogment` ~4 ms
            text = file.read()
    except (OSError, UnicodeDecodeError) as exc:
        raise CogmentError(
            f"Cannot read the {what} file [{path}] (working directory [{os.getcwd()}]): {exc}"
        ) from exc
    return text or None


def _mask(value: str | None) -> str:
    return "None" if value is None else "<set>"


class Endpoint:
    """Details of a connection to a remote Cogment service (Orchestrator, Datastore, Directory, ...).

    Attributes:
        url: where to connect (validated on assignment; a bad URL raises :class:`~cogment.CogmentError`).
        use_ssl: use TLS (also implied by any of the PEM fields below).
        private_key: PEM-encoded client private key (mutual TLS), or ``None``.
        root_certificates: PEM-encoded root certificates to verify the server; ``None`` = system defaults.
        certificate_chain: PEM-encoded client certificate chain (mutual TLS), or ``None``.
    """

    __slots__ = ("_parsed", "certificate_chain", "private_key", "root_certificates", "use_ssl")

    def __init__(self, url: str = BASIC_CONTEXT_DISCOVERY_URL, use_ssl: bool = False) -> None:
        """Create an endpoint for ``url`` (default: discover the service through the Directory)."""
        self._parsed: EndpointUrl = self._parse(url)
        self.use_ssl: bool = bool(use_ssl)
        self.private_key: str | None = None
        self.root_certificates: str | None = None
        self.certificate_chain: str | None = None

    @staticmethod
    def _parse(url: str) -> EndpointUrl:
        try:
            return parse_endpoint_url(url)
        except EndpointUrlError as exc:
            raise CogmentError(str(exc)) from exc

    @property
    def url(self) -> str:
        """The URL (surrounding whitespace removed)."""
        return self._parsed.url

    @url.setter
    def url(self, value: str) -> None:
        self._parsed = self._parse(value)

    @property
    def parsed_url(self) -> EndpointUrl:
        """The parsed URL (scheme, host, port, discovery path and query)."""
        return self._parsed

    @property
    def is_grpc(self) -> bool:
        """True for a direct ``grpc://host:port`` endpoint."""
        return self._parsed.is_grpc

    @property
    def is_discovery(self) -> bool:
        """True for a ``cogment://discover...`` endpoint (needs the Directory)."""
        return self._parsed.is_discovery

    @property
    def is_client_actor(self) -> bool:
        """True for ``cogment://client``."""
        return self._parsed.is_client_actor

    @property
    def grpc_target(self) -> str:
        """The gRPC channel target ``host:port``; only for ``grpc://`` endpoints."""
        if not self._parsed.is_grpc:
            raise CogmentError(
                f"Endpoint [{self.url}] is not a grpc:// endpoint: it cannot be connected to directly"
                + (
                    " (it must first be resolved through the Directory)"
                    if self.is_discovery
                    else ""
                )
            )
        return self._parsed.grpc_target

    def using_ssl(self) -> bool:
        """True if connections to this endpoint use TLS."""
        return (
            self.use_ssl
            or self.private_key is not None
            or self.root_certificates is not None
            or self.certificate_chain is not None
        )

    def set_from_files(
        self,
        private_key_file: _StrPath | None = None,
        root_certificates_file: _StrPath | None = None,
        certificate_chain_file: _StrPath | None = None,
    ) -> None:
        """Load the PEM fields from files (``None`` leaves a field unchanged; an empty file clears it).

        Loading a private key turns TLS on.  A file that cannot be read raises :class:`~cogment.CogmentError`
        naming it (nothing is changed then).
        """
        key = _read_pem(private_key_file, "private key")
        roots = _read_pem(root_certificates_file, "root certificates")
        chain = _read_pem(certificate_chain_file, "certificate chain")
        if private_key_file:
            self.private_key = key
            if key is not None:
                self.use_ssl = True
        if root_certificates_file:
            self.root_certificates = roots
        if certificate_chain_file:
            self.certificate_chain = chain

    def copy(self, url: str | None = None) -> Endpoint:
        """A copy of this endpoint (same TLS settings), with ``url`` replaced when given."""
        duplicate = Endpoint.__new__(Endpoint)
        duplicate._parsed = self._parsed if url is None else self._parse(url)
        duplicate.use_ssl = self.use_ssl
        duplicate.private_key = self.private_key
        duplicate.root_certificates = self.root_certificates
        duplicate.certificate_chain = self.certificate_chain
        return duplicate

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Endpoint):
            return NotImplemented
        return (
            self.url == other.url
            and self.use_ssl == other.use_ssl
            and self.private_key == other.private_key
            and self.root_certificates == other.root_certificates
            and self.certificate_chain == other.certificate_chain
        )

    def __str__(self) -> str:
        return (
            f"Endpoint: url = {self.url}, use_ssl = {self.using_ssl()}, "
            f"private_key = {_mask(self.private_key)}, root_certificates = {_mask(self.root_certificates)}, "
            f"certificate_chain = {_mask(self.certificate_chain)}"
        )

    def __repr__(self) -> str:
        return f"Endpoint({self.url!r}, use_ssl={self.using_ssl()!r})"


class ServedEndpoint:
    """Details of the local server other Cogment components (the Orchestrator) connect to.

    Attributes:
        port: TCP port to listen on; 0 lets the system choose a free port.
        private_key_certificate_chain_pairs: list of ``(PEM private key, PEM certificate chain)``; TLS is on
            iff this is not ``None``.
        root_certificates: PEM root certificates used to verify clients; when set (with TLS), clients must
            present a certificate (mutual TLS).
    """

    __slots__ = ("_port", "private_key_certificate_chain_pairs", "root_certificates")

    def __init__(self, port: int = 0) -> None:
        """Serve on ``port`` (0: any free port).  A ``str`` port is accepted but deprecated."""
        self.port = port
        self.private_key_certificate_chain_pairs: list[tuple[str, str]] | None = None
        self.root_certificates: str | None = None

    @property
    def port(self) -> int:
        """The TCP port (0 = any free port)."""
        return self._port

    @port.setter
    def port(self, value: int) -> None:
        if isinstance(value, str):
            deprecated(f"ServedEndpoint port should be an int, not a str [{value!r}]", stacklevel=4)
            try:
                value = int(value.strip())
            except ValueError:
                raise CogmentError(f"Invalid served port [{value}]: not a number") from None
        if isinstance(value, bool) or not isinstance(value, int):
            raise CogmentError(f"Invalid served port [{value!r}]: expected an int")
        if not 0 <= value <= 65535:
            raise CogmentError(
                f"Invalid served port [{value}]: expected 0-65535 (0 = any free port)"
            )
        self._port = value

    def using_ssl(self) -> bool:
        """True if the server uses TLS."""
        return self.private_key_certificate_chain_pairs is not None

    def set_from_files(
        self,
        private_key_file: _StrPath | None = None,
        certificate_chain_file: _StrPath | None = None,
        root_certificates_file: _StrPath | None = None,
    ) -> None:
        """Load one ``(private key, certificate chain)`` pair and/or the client root certificates from files.

        The key and chain files go together: giving only one raises :class:`~cogment.CogmentError`.
        """
        if bool(private_key_file) != bool(certificate_chain_file):
            raise CogmentError(
                "A served endpoint needs both a private key file and a certificate chain file for TLS"
            )
        key = _read_pem(private_key_file, "private key")
        chain = _read_pem(certificate_chain_file, "certificate chain")
        roots = _read_pem(root_certificates_file, "root certificates")
        if private_key_file:
            if key is None or chain is None:
                raise CogmentError(
                    f"Empty private key [{private_key_file}] or certificate chain [{certificate_chain_file}] file"
                )
            self.private_key_certificate_chain_pairs = [(key, chain)]
        if root_certificates_file:
            self.root_certificates = roots

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ServedEndpoint):
            return NotImplemented
        return (
            self.port == other.port
            and self.private_key_certificate_chain_pairs
            == other.private_key_certificate_chain_pairs
            and self.root_certificates == other.root_certificates
        )

    def __str__(self) -> str:
        pairs = self.private_key_certificate_chain_pairs
        return (
            f"ServedEndpoint: port = {self.port}, private_key_certificate_chain_pairs = "
            f"{'None' if pairs is None else f'<{len(pairs)} set>'}, "
            f"root_certificates = {_mask(self.root_certificates)}"
        )

    def __repr__(self) -> str:
        return f"ServedEndpoint(port={self.port!r}, use_ssl={self.using_ssl()!r})"
