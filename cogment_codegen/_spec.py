"""Read and validate ``cogment.yaml``: YAML with positions, then the pydantic schema.

Every problem is reported as ``<file>:<line>:<column>: <key path>: <message>``.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from cogment_codegen._errors import Location, Problem, SpecError
from cogment_codegen._spec_model import SpecFile
from cogment_codegen._yaml_marks import KeyPath, MarkedDocument, format_path, load_marked_yaml

__all__ = ["LoadedSpec", "describe_value", "load_spec"]


@dataclass(frozen=True)
class LoadedSpec:
    """A schema-valid spec, the positions of its values, and the warnings about legacy keys."""

    path: Path
    """The spec file."""
    display_name: str
    """How errors name the spec file."""
    spec: SpecFile
    document: MarkedDocument
    warnings: tuple[Problem, ...]

    @property
    def directory(self) -> Path:
        """The directory proto file names are relative to."""
        return self.path.parent

    def problem(self, path: KeyPath, message: str, *, key: bool = False) -> Problem:
        """A problem located at ``path`` of this spec."""
        return Problem(self.document.location(path, key=key), format_path(path), message)


_LEGACY_KEYS: dict[KeyPath, str] = {
    ("commands",): "ignored: legacy 'cogment run' commands are not used by Cogment 2.x",
    ("trial_params",): (
        "ignored: in Cogment 2.x default trial parameters live in the orchestrator's "
        "parameters file"
    ),
    ("trial", "pre_hooks"): (
        "ignored: in Cogment 2.x pre-trial hooks are given to the orchestrator (--pre_trial_hooks)"
    ),
}


def load_spec(path: str | Path, display_name: str | None = None) -> LoadedSpec:
    """Read ``path`` and validate it against the spec schema.

    Raises ``SpecError`` listing every problem (syntax, missing or unknown keys, wrong types).
    """
    spec_path = Path(path)
    name = display_name if display_name is not None else str(path)
    try:
        text = spec_path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SpecError(
            [Problem(_start(name), "(file)", f"spec file not found: {spec_path}")]
        ) from None
    except (OSError, UnicodeDecodeError) as err:
        raise SpecError([Problem(_start(name), "(file)", f"cannot read the spec: {err}")]) from None
    document = load_marked_yaml(text, name)
    if document.data is None:
        raise SpecError(
            [
                Problem(
                    _start(name),
                    "(top level)",
                    "expected a mapping with at least the key 'import', got an empty document",
                )
            ]
        )
    try:
        spec = SpecFile.model_validate(document.data)
    except ValidationError as err:
        raise SpecError(_translate(err, document)) from None
    loaded = LoadedSpec(spec_path, name, spec, document, ())
    problems = _duplicate_classes(loaded)
    if problems:
        raise SpecError(problems)
    warnings = tuple(
        loaded.problem(key_path, message, key=True)
        for key_path, message in _LEGACY_KEYS.items()
        if key_path in document.key_locations
    )
    return LoadedSpec(spec_path, name, spec, document, warnings)


def _start(name: str) -> Location:
    return Location(name, 1, 1)


def _duplicate_classes(loaded: LoadedSpec) -> list[Problem]:
    problems: list[Problem] = []
    first: dict[str, int] = {}
    for index, actor_class in enumerate(loaded.spec.actor_classes or []):
        if actor_class.name in first:
            previous = loaded.document.location(("actor_classes", first[actor_class.name], "name"))
            problems.append(
                loaded.problem(
                    ("actor_classes", index, "name"),
                    f"duplicate actor class name '{actor_class.name}' "
                    f"(first defined at line {previous.line})",
                )
            )
        else:
            first[actor_class.name] = index
    return problems


def describe_value(value: object) -> str:
    """How an error message names a YAML value: ``a string ('x')``, ``a list``, ``null``..."""
    if value is None:
        return "null (an empty value)"
    if isinstance(value, bool):
        return f"a boolean ({'true' if value else 'false'})"
    if isinstance(value, int):
        return f"an integer ({value})"
    if isinstance(value, float):
        return f"a number ({value})"
    if isinstance(value, str):
        return f"a string ({value!r})"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return f"a {type(value).__name__} ({value!r})"


_EXPECTED = {
    "string_type": "a string",
    "list_type": "a list",
    "model_type": "a mapping",
    "model_attributes_type": "a mapping",
    "dict_type": "a mapping",
    "int_type": "an integer",
    "bool_type": "a boolean",
}


def _model_at(path: KeyPath) -> type[BaseModel] | None:
    """The schema model of the mapping at ``path`` (None when it is not a model)."""
    model: type[BaseModel] | None = SpecFile
    for part in path:
        if model is None:
            return None
        if isinstance(part, int):
            continue
        found = None
        for name, info in model.model_fields.items():
            if (info.alias or name) == part:
                found = info.annotation
                break
        model = _first_model(found)
    return model


def _first_model(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()):
        found = _first_model(arg)
        if found is not None:
            return found
    return None


def _translate(err: ValidationError, document: MarkedDocument) -> list[Problem]:
    problems: list[Problem] = []
    for item in err.errors(include_url=False):
        loc: KeyPath = tuple(item["loc"])
        kind = item["type"]
        value = item.get("input")
        if kind == "missing":
            parent, key = loc[:-1], loc[-1]
            problems.append(
                Problem(
                    document.location(parent),
                    format_path(parent),
                    f"missing required key '{key}'",
                )
            )
        elif kind == "extra_forbidden":
            parent, key = loc[:-1], str(loc[-1])
            model = _model_at(parent)
            valid = sorted(
                (info.alias or name) for name, info in (model.model_fields if model else {}).items()
            )
            message = f"unknown key '{key}'"
            close = difflib.get_close_matches(key, valid, n=1)
            if close:
                message += f"; did you mean '{close[0]}'?"
            if valid:
                message += f" (valid keys: {', '.join(valid)})"
            problems.append(Problem(document.location(loc, key=True), format_path(loc), message))
        elif kind in _EXPECTED:
            problems.append(
                Problem(
                    document.location(loc),
                    format_path(loc),
                    f"expected {_EXPECTED[kind]}, got {describe_value(value)}",
                )
            )
        elif kind == "string_pattern_mismatch":
            problems.append(
                Problem(
                    document.location(loc),
                    format_path(loc),
                    "expected a protobuf message name such as 'package.Message' or "
                    f"'package.Outer.Inner', got {describe_value(value)}",
                )
            )
        else:
            at_key = kind == "delta_removed"
            problems.append(
                Problem(document.location(loc, key=at_key), format_path(loc), item["msg"])
            )
    problems.sort(key=lambda p: (p.location.line, p.location.column))
    return problems
