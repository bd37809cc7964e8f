"""The Directory's store: entries, matching, ordering, health state and persistence (no gRPC).

Rules (``formats-and-services.md`` §3.4):

- a service id is a random nonzero uint64 (unused at the time); a secret is generated per entry and
  is needed to deregister;
- the authentication token given at registration is stored with the entry; inquiries and
  deregistrations must present the same token (an empty token equals no token);
- an inquiry matches on the service type and on every inquired property (name and value);
  results come most recently registered first;
- a *permanent* registration that duplicates an existing permanent entry (same token, service type
  and endpoint) updates it in place (properties), keeping its id and secret;
- health: an entry is hidden from inquiries after a failed check, and removed after
  ``max_failures`` consecutive failed checks; a successful check shows it again.

Persistence is a JSON file written atomically (temporary file + ``os.replace``) after each change.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import secrets
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cogment.api import directory_pb2

__all__ = [
    "DirectoryEntry",
    "PersistenceError",
    "Registry",
    "RegistryError",
]

_log = logging.getLogger("cogment.services.directory")

_UINT64_MAX = 2**64 - 1
_FORMAT_VERSION = 1
_Protocol = directory_pb2.ServiceEndpoint.Protocol
_KNOWN_TYPES = frozenset(directory_pb2.ServiceType.values()) - {directory_pb2.UNKNOWN_SERVICE}


class RegistryError(Exception):
    """A registration or deregistration that cannot be done (the message says why)."""


class PersistenceError(Exception):
    """The persistence file cannot be read or written."""


@dataclass
class DirectoryEntry:
    """One registered service."""

    service_id: int
    secret: str
    token: str
    protocol: int
    host: str
    port: int
    service_type: int
    properties: dict[str, str]
    permanent: bool
    sequence: int
    failures: int = field(default=0, compare=False)
    load: int | None = field(default=None, compare=False)

    @property
    def hidden(self) -> bool:
        """Hidden from inquiries since its last health check failed."""
        return self.failures > 0

    @property
    def checkable(self) -> bool:
        """Health-checked: not permanent and not a ``cogment://`` endpoint."""
        return not self.permanent and self.protocol != _Protocol.COGMENT

    def matches(self, service_type: int, properties: Mapping[str, str]) -> bool:
        """Same service type and every inquired property present with the same value."""
        if self.service_type != service_type:
            return False
        return all(self.properties.get(name) == value for name, value in properties.items())

    def describe(self) -> str:
        """``grpc://host:port`` (or ``cogment://host``) for logs."""
        if self.protocol == _Protocol.COGMENT:
            return f"cogment://{self.host}"
        scheme = "grpc+ssl" if self.protocol == _Protocol.GRPC_SSL else "grpc"
        return f"{scheme}://{self.host}:{self.port}"

    def to_proto(self) -> directory_pb2.FullServiceData:
        """The entry as sent in an ``InquireReply`` (never the secret nor the token)."""
        return directory_pb2.FullServiceData(
            endpoint=directory_pb2.ServiceEndpoint(
                protocol=self.protocol,  # type: ignore[arg-type]
                host=self.host,
                port=self.port,
            ),
            service_id=self.service_id,
            details=directory_pb2.ServiceDetails(
                type=self.service_type,  # type: ignore[arg-type]
                properties=self.properties,
            ),
            permanent=self.permanent,
        )

    def to_json(self) -> dict[str, Any]:
        """Persisted fields (health state is not persisted)."""
        return {
            "service_id": self.service_id,
            "secret": self.secret,
            "token": self.token,
            "protocol": _Protocol.Name(self.protocol),  # type: ignore[arg-type]
            "host": self.host,
            "port": self.port,
            "type": directory_pb2.ServiceType.Name(self.service_type),  # type: ignore[arg-type]
            "properties": dict(self.properties),
            "permanent": self.permanent,
            "sequence": self.sequence,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> DirectoryEntry:
        """Inverse of :meth:`to_json`; raises ``KeyError``/``ValueError``/``TypeError`` if malformed."""
        properties = data["properties"]
        if not isinstance(properties, dict) or not all(
            isinstance(key, str) and isinstance(value, str) for key, value in properties.items()
        ):
            raise ValueError(f"properties must map strings to strings, got {properties!r}")
        entry = cls(
            service_id=int(data["service_id"]),
            secret=str(data["secret"]),
            token=str(data["token"]),
            protocol=_Protocol.Value(str(data["protocol"])),
            host=str(data["host"]),
            port=int(data["port"]),
            service_type=directory_pb2.ServiceType.Value(str(data["type"])),
            properties=dict(properties),
            permanent=bool(data["permanent"]),
            sequence=int(data["sequence"]),
        )
        if not 0 < entry.service_id <= _UINT64_MAX:
            raise ValueError(f"invalid service id {entry.service_id}")
        return entry


def validate_endpoint(protocol: int, host: str, port: int, service_type: int) -> None:
    """Raise :class:`RegistryError` if the endpoint/type of a registration is unusable."""
    if service_type not in _KNOWN_TYPES:
        raise RegistryError(f"Invalid service type [{service_type}]")
    if protocol in (_Protocol.GRPC, _Protocol.GRPC_SSL):
        if not host:
            raise RegistryError("Empty host for a gRPC endpoint")
        if not 0 < port <= 65535:
            raise RegistryError(f"Invalid port [{port}] for a gRPC endpoint (expected 1-65535)")
    elif protocol == _Protocol.COGMENT:
        if host != "client":
            raise RegistryError(f"Invalid cogment endpoint host [{host}] (only 'client' is valid)")
        if service_type != directory_pb2.ACTOR_SERVICE:
            raise RegistryError("A cogment://client endpoint can only be registered for actors")
    else:
        raise RegistryError(
            f"Invalid endpoint protocol [{protocol}] (expected GRPC, GRPC_SSL or COGMENT)"
        )


class Registry:
    """All the Directory entries, with an optional JSON persistence file."""

    def __init__(self, persistence_file: str | os.PathLike[str] | None = None) -> None:
        self._entries: dict[int, DirectoryEntry] = {}
        self._sequence = 0
        self._path = Path(persistence_file) if persistence_file else None

    # ------------------------------------------------------------------------------ queries

    def __len__(self) -> int:
        return len(self._entries)

    def entries(self) -> list[DirectoryEntry]:
        """All entries, most recent first (hidden ones included)."""
        return sorted(self._entries.values(), key=lambda entry: entry.sequence, reverse=True)

    def get(self, service_id: int) -> DirectoryEntry | None:
        """The entry with this id, if any."""
        return self._entries.get(service_id)

    def find_by_id(self, service_id: int, token: str) -> list[DirectoryEntry]:
        """The entry with this id and token (0 or 1 entries, hidden ones included)."""
        entry = self._entries.get(service_id)
        if entry is None or entry.token != token:
            return []
        return [entry]

    def find(
        self, service_type: int, properties: Mapping[str, str], token: str
    ) -> list[DirectoryEntry]:
        """Entries with this token matching type and properties, most recent first (hidden ones included)."""
        return [
            entry
            for entry in self.entries()
            if entry.token == token and entry.matches(service_type, properties)
        ]

    # ---------------------------------------------------------------------------- mutations

    def register(
        self,
        *,
        protocol: int,
        host: str,
        port: int,
        service_type: int,
        properties: Mapping[str, str],
        permanent: bool,
        token: str,
    ) -> DirectoryEntry:
        """Add an entry (or update the permanent duplicate); raise :class:`RegistryError`."""
        validate_endpoint(protocol, host, port, service_type)
        if protocol == _Protocol.COGMENT:
            port = 0
        self._sequence += 1
        if permanent:
            for entry in self._entries.values():
                if (
                    entry.permanent
                    and entry.token == token
                    and entry.service_type == service_type
                    and (entry.protocol, entry.host, entry.port) == (protocol, host, port)
                ):
                    entry.properties = dict(properties)
                    entry.sequence = self._sequence
                    entry.failures = 0
                    self._save()
                    return entry
        service_id = self._new_service_id()
        entry = DirectoryEntry(
            service_id=service_id,
            secret=secrets.token_hex(8),
            token=token,
            protocol=protocol,
            host=host,
            port=port,
            service_type=service_type,
            properties=dict(properties),
            permanent=permanent,
            sequence=self._sequence,
        )
        self._entries[service_id] = entry
        self._save()
        return entry

    def deregister(self, service_id: int, secret: str, token: str) -> DirectoryEntry:
        """Remove an entry; raise :class:`RegistryError` if id/token/secret do not match."""
        entry = self._entries.get(service_id)
        if entry is None or entry.token != token:
            raise RegistryError(
                f"No service [{service_id}] registered with this authentication token"
            )
        if not secrets.compare_digest(entry.secret, secret):
            raise RegistryError(f"Wrong secret for service [{service_id}]")
        del self._entries[service_id]
        self._save()
        return entry

    def record_check(
        self, service_id: int, healthy: bool, load: int | None, max_failures: int
    ) -> bool:
        """Record a health check result; return True if the entry was removed."""
        entry = self._entries.get(service_id)
        if entry is None:
            return False
        if healthy:
            if entry.failures:
                _log.info("service [%d] %s is healthy again", service_id, entry.describe())
            entry.failures = 0
            entry.load = load
            return False
        entry.failures += 1
        if entry.failures >= max_failures:
            _log.info(
                "removing service [%d] %s after %d failed health checks",
                service_id,
                entry.describe(),
                entry.failures,
            )
            del self._entries[service_id]
            self._save()
            return True
        _log.info("hiding service [%d] %s: health check failed", service_id, entry.describe())
        return False

    def _new_service_id(self) -> int:
        while True:
            candidate = secrets.randbits(64)
            if candidate != 0 and candidate not in self._entries:
                return candidate

    # -------------------------------------------------------------------------- persistence

    def load(self) -> int:
        """Load the persistence file if it exists; return the number of entries loaded."""
        if self._path is None or not self._path.exists():
            return 0
        try:
            document = json.loads(self._path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
            raise PersistenceError(
                f"cannot read persistence file [{self._path}]: {error}"
            ) from error
        if not isinstance(document, dict) or not isinstance(document.get("entries"), list):
            raise PersistenceError(
                f"persistence file [{self._path}] is not a Directory data file "
                "(expected a JSON object with an 'entries' list)"
            )
        loaded: list[DirectoryEntry] = []
        for index, item in enumerate(document["entries"]):
            try:
                loaded.append(DirectoryEntry.from_json(item))
            except (KeyError, ValueError, TypeError) as error:
                raise PersistenceError(
                    f"persistence file [{self._path}]: invalid entry #{index}: {error!r}"
                ) from error
        self._entries = {entry.service_id: entry for entry in loaded}
        self._sequence = max((entry.sequence for entry in loaded), default=0)
        return len(loaded)

    def _save(self) -> None:
        if self._path is None:
            return
        document = {
            "format": "cogment-directory",
            "version": _FORMAT_VERSION,
            "entries": [entry.to_json() for entry in self.entries()],
        }
        try:
            write_atomically(self._path, json.dumps(document, indent=1, sort_keys=True))
        except PersistenceError as error:
            _log.error("%s (the Directory keeps running from memory)", error)


def write_atomically(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` atomically (a reader sees the old or the new file, never half)."""
    directory = path.parent if str(path.parent) else Path(".")
    try:
        descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=directory)
        try:
            with os.fdopen(descriptor, "w", encoding="utf-8") as stream:
                stream.write(text)
                stream.flush()
                os.fsync(stream.fileno())
            os.replace(temporary, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
            raise
    except OSError as error:
        raise PersistenceError(f"cannot write persistence file [{path}]: {error}") from error
