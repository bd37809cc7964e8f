"""Plain records the Model Registry keeps for models and their iterations (no gRPC, no I/O)."""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["IterationRecord", "ModelRecord"]


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
