"""The ``cogment.yaml`` schema as pydantic models (generation time only).

Strict: every mapping rejects unknown keys and every value must have the documented YAML type.
Legacy keys that Cogment 2.x ignores are accepted (the generator warns about them); keys whose
feature was removed are rejected with an explanation.
"""

from __future__ import annotations

import keyword
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic_core import PydanticCustomError

__all__ = [
    "ActionSection",
    "ActorClassSection",
    "ConfigSection",
    "ImportSection",
    "ObservationSection",
    "SpecFile",
    "TrialSection",
]

_TYPE_NAME_PATTERN = r"^\.?[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$"
TypeName = Annotated[str, Field(pattern=_TYPE_NAME_PATTERN)]
"""A protobuf message name: ``package.Message``, ``package.Outer.Inner`` or ``Message``."""

RESERVED_ACTOR_CLASS_NAMES = frozenset({"get", "get_class_by_index"})
"""Names that would hide a method of ``ActorClassList`` (attribute access by class name)."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, populate_by_name=True)


class ImportSection(_Section):
    """``import:``: the proto files to compile and resolve type names in."""

    proto: list[str]
    python: list[Any] | None = None
    javascript: list[Any] | None = None

    @field_validator("proto")
    @classmethod
    def _proto_files(cls, value: list[str]) -> list[str]:
        seen: set[str] = set()
        for name in value:
            if not name.endswith(".proto"):
                raise PydanticCustomError(
                    "proto_name", "'{name}' is not a .proto file name", {"name": name}
                )
            if name in seen:
                raise PydanticCustomError(
                    "proto_twice", "'{name}' is listed more than once", {"name": name}
                )
            seen.add(name)
        return value

    @field_validator("python")
    @classmethod
    def _no_python(cls, value: list[Any] | None) -> list[Any] | None:
        if value:
            raise PydanticCustomError(
                "python_imports",
                "importing Python modules from the spec is not supported in Cogment 2.x; "
                "remove 'import.python' (or leave it empty)",
            )
        return value


class ConfigSection(_Section):
    """``environment:``: the environment config message."""

    config_type: TypeName | None = None


class TrialSection(ConfigSection):
    """``trial:``: the trial config message (``pre_hooks`` is a legacy 1.x key, ignored)."""

    pre_hooks: Any = None


class ActionSection(_Section):
    """``actor_classes[*].action``."""

    space: TypeName


class ObservationSection(_Section):
    """``actor_classes[*].observation`` (delta observations were removed in Cogment 2.0)."""

    space: TypeName
    delta: Any = None
    delta_apply_fn: Any = None

    @field_validator("delta", "delta_apply_fn")
    @classmethod
    def _no_delta(cls, value: Any) -> Any:
        raise PydanticCustomError(
            "delta_removed",
            "delta observations are no longer supported in Cogment 2.x; remove this key",
        )


class ActorClassSection(_Section):
    """An item of ``actor_classes``."""

    name: str
    action: ActionSection
    observation: ObservationSection
    config_type: TypeName | None = None

    @field_validator("name")
    @classmethod
    def _python_name(cls, value: str) -> str:
        if not value.isidentifier() or keyword.iskeyword(value) or value.startswith("_"):
            raise PydanticCustomError(
                "actor_class_name",
                "actor class name '{name}' must be a Python identifier that does not start "
                "with '_' and is not a keyword (it is used as an attribute name)",
                {"name": value},
            )
        if value in RESERVED_ACTOR_CLASS_NAMES:
            raise PydanticCustomError(
                "actor_class_reserved",
                "actor class name '{name}' is reserved (it would hide ActorClassList.{name})",
                {"name": value},
            )
        return value


class SpecFile(_Section):
    """The whole ``cogment.yaml``."""

    import_: ImportSection = Field(alias="import")
    trial: TrialSection | None = None
    environment: ConfigSection | None = None
    actor_classes: list[ActorClassSection] | None = None
    commands: Any = None
    trial_params: Any = None
