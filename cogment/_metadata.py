"""gRPC metadata (headers) sent alongside every call the SDK makes to Cogment services.

A :class:`GrpcMetadata` is given to ``cogment.Context(..., metadata=...)``; the runtime attaches a copy of it
to every client call (controller, datastore, model registry, directory, client actors).  Keys are validated
when added, so a bad header fails at :meth:`GrpcMetadata.add` with a clear :class:`~cogment.CogmentError`
instead of at call time with an opaque gRPC error.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable, Iterator
from typing import TypeVar

from cogment._errors import CogmentError

__all__ = ["GrpcMetadata", "GrpcMetadataItem", "GrpcMetadataValue"]

GrpcMetadataValue = str | bytes
"""A metadata value: ``str`` for text keys, ``bytes`` for keys ending in ``-bin``."""

GrpcMetadataItem = tuple[str, GrpcMetadataValue]
"""One ``(key, value)`` metadata pair, as gRPC takes it."""

_KEY_PATTERN = re.compile(r"[0-9a-z_.\-]+")
_PRINTABLE_ASCII = re.compile(r"[\x20-\x7e]*")
_SECRET_KEYS = frozenset({"authorization", "authentication-token", "cookie", "proxy-authorization"})

_Self = TypeVar("_Self", bound="GrpcMetadata")


class GrpcMetadata:
    """Ordered gRPC metadata (key/value pairs, keys may repeat) sent alongside calls to Cogment endpoints.

    Rules (from the gRPC metadata specification), checked by :meth:`add`:

    - keys are case-insensitive and stored lower-cased; they are made of ``0-9 a-z _ . -``;
    - the ``grpc-`` prefix is reserved by gRPC itself;
    - keys ending in ``-bin`` carry ``bytes`` values, all other keys carry printable ASCII ``str`` values.
    """

    __slots__ = ("_items",)

    def __init__(self, items: Iterable[tuple[str, GrpcMetadataValue]] = ()) -> None:
        """Create metadata, empty by default, or holding ``items`` (each validated as by :meth:`add`)."""
        self._items: list[GrpcMetadataItem] = []
        for key, value in items:
            self.add(key, value)

    def copy(self: _Self) -> _Self:
        """Return an independent copy, to extend without side effects on this instance."""
        duplicate = type(self).__new__(type(self))
        duplicate._items = list(self._items)
        return duplicate

    def add(self: _Self, key: str, value: GrpcMetadataValue) -> _Self:
        """Add one ``key``/``value`` pair (keys may repeat) and return ``self`` (so calls can be chained).

        Raises:
            CogmentError: the key or the value is not valid gRPC metadata.
        """
        if not isinstance(key, str):
            raise CogmentError(f"gRPC metadata key must be a str, not [{type(key).__name__}]")
        key = key.lower()
        if not _KEY_PATTERN.fullmatch(key):
            raise CogmentError(
                f"Invalid gRPC metadata key [{key}]: must be non-empty and only contain 0-9 a-z _ . -"
            )
        if key.startswith("grpc-"):
            raise CogmentError(
                f"Invalid gRPC metadata key [{key}]: the 'grpc-' prefix is reserved by gRPC"
            )
        if key.endswith("-bin"):
            if not isinstance(value, bytes):
                raise CogmentError(
                    f"gRPC metadata key [{key}] ends with '-bin': its value must be bytes, "
                    f"not [{type(value).__name__}]"
                )
        elif isinstance(value, bytes):
            raise CogmentError(
                f"Binary gRPC metadata value for key [{key}]: the key must end with '-bin'"
            )
        elif not isinstance(value, str):
            raise CogmentError(
                f"gRPC metadata value for key [{key}] must be a str, not [{type(value).__name__}]"
            )
        elif not _PRINTABLE_ASCII.fullmatch(value):
            raise CogmentError(
                f"Invalid gRPC metadata value for key [{key}]: text values must be printable ASCII "
                "(use a key ending with '-bin' and a bytes value for anything else)"
            )
        self._items.append((key, value))
        return self

    def add_http_basic_auth(self: _Self, username: str, password: str) -> _Self:
        """Add an HTTP basic authentication ``authorization`` header and return ``self``."""
        token = base64.b64encode(f"{username}:{password}".encode()).decode("ascii")
        return self.add("authorization", f"basic {token}")

    def extended(self: _Self, items: Iterable[tuple[str, GrpcMetadataValue]]) -> _Self:
        """Return a copy of this metadata with ``items`` added (this instance is unchanged)."""
        result = self.copy()
        for key, value in items:
            result.add(key, value)
        return result

    def get_all(self, key: str) -> list[GrpcMetadataValue]:
        """All the values added under ``key`` (case-insensitive), in order."""
        key = key.lower()
        return [value for item_key, value in self._items if item_key == key]

    def to_grpc_metadata(self) -> tuple[GrpcMetadataItem, ...]:
        """Return the metadata ready to be given as ``metadata=`` to a gRPC call."""
        return tuple(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Iterator[GrpcMetadataItem]:
        return iter(self._items)

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and any(item_key == key.lower() for item_key, _ in self._items)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, GrpcMetadata):
            return NotImplemented
        return self._items == other._items

    def __repr__(self) -> str:
        shown = []
        for key, value in self._items:
            shown.append(f"({key!r}, '***')" if key in _SECRET_KEYS else f"({key!r}, {value!r})")
        return f"GrpcMetadata([{', '.join(shown)}])"
