"""Plain records the Model Registry keeps for models and their iterations (no gRPC, no I/O)."""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass, field

__all__ = ["IterationRecord", "ModelRecord", "data_hash"]


def data_hash(data: bytes | bytearray | memoryview) -> str:
    """SHA-256 of ``data``, base64 encoded (standard alphabet, with padding), as on the wire."""
    return base64.b64encode(hashlib.sha256(data).digest()).decode("ascii")


@dataclass
class ModelRecord:
    """A model name and its user data (properties)."""

    model_id: str
    user_data: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class IterationRecord:
    """One iteration ("version") of a model; immutable once created."""

    model_id: str
    number: int
    timestamp_ns: int
    archived: bool
    data_hash: str
    data_size: int
    user_data: dict[str, str] = field(default_factory=dict)
