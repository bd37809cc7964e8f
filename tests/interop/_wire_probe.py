"""Fill, describe and (de)serialize ``cogment.api`` messages, identically in two interpreters.

This file is imported by our tests *and* executed as a script by the published SDK's
Python 3.10 interpreter (protobuf 3.20), so it only uses APIs both protobuf
generations share, and nothing from this repository.

* :func:`populate` sets every field of a message to a value derived from the field's
  path (``TrialParams.actors[1].name``), so two independent builds of the same schema
  give the same message, and a field that moved, changed type or was renamed gives a
  different one. Oneofs get member ``variant % len(members)``.
* :func:`canonical` describes a message by field *name* as plain JSON data, with enum
  names, hex bytes and any unknown field, so a structural comparison pinpoints the field.

Script mode reads a JSON list of requests on stdin and prints a JSON list of results::

    {"op": "build", "type": "cogmentAPI.TrialParams", "variant": 0}
        -> {"data": <hex of the deterministic serialization>, "canonical": ...}
    {"op": "parse", "type": "cogmentAPI.TrialParams", "data": <hex>}
        -> {"canonical": ...}
    {"op": "list"} -> {"types": [every message full name], "max_oneof": {name: n}}
"""

from __future__ import annotations

import importlib
import json
import sys
import zlib
from typing import Any

API_MODULES = (
    "common",
    "agent",
    "environment",
    "hooks",
    "orchestrator",
    "datalog",
    "directory",
    "model_registry",
    "trial_datastore",
)
MAX_DEPTH = 8

_SIGNED = {"int32", "sint32", "sfixed32", "int64", "sint64", "sfixed64"}
_WIDE = {"int64", "sint64", "sfixed64", "uint64", "fixed64"}
_FLOATS = {"float", "double"}


def _type_names() -> dict[int, str]:
    from google.protobuf.descriptor import FieldDescriptor

    return {
        value: name[len("TYPE_") :].lower()
        for name, value in vars(FieldDescriptor).items()
        if name.startswith("TYPE_")
    }


_TYPE_NAMES = _type_names()


def api_modules() -> list[Any]:
    """The ``cogment.api.*_pb2`` modules of whichever ``cogment`` package is importable."""
    return [importlib.import_module(f"cogment.api.{name}_pb2") for name in API_MODULES]


def message_classes() -> dict[str, Any]:
    """Every message class of the contract (nested ones too, map entries excluded)."""
    classes: dict[str, Any] = {}

    def add(cls: Any) -> None:
        descriptor = cls.DESCRIPTOR
        if descriptor.GetOptions().map_entry:
            return
        classes[descriptor.full_name] = cls
        for nested in descriptor.nested_types:
            add(getattr(cls, nested.name))

    for module in api_modules():
        for name in module.DESCRIPTOR.message_types_by_name:
            add(getattr(module, name))
    return classes


def is_repeated(field: Any) -> bool:
    """Whether ``field`` is repeated (protobuf >= 6 drops ``label`` for ``is_repeated``)."""
    if hasattr(field, "is_repeated"):
        return bool(field.is_repeated)
    return bool(field.label == field.LABEL_REPEATED)


def is_map(field: Any) -> bool:
    """Whether ``field`` is a ``map<K, V>`` (a repeated synthetic entry message)."""
    return field.message_type is not None and bool(field.message_type.GetOptions().map_entry)


def type_name(field: Any) -> str:
    """``float``, ``sint64``, ... for scalars; ``message`` or ``enum`` otherwise."""
    return _TYPE_NAMES[field.type]


def _seed(path: str) -> int:
    return zlib.crc32(path.encode("utf-8"))


def scalar_value(field: Any, path: str) -> Any:
    """A distinctive, non-default value for a scalar or enum field at ``path``."""
    seed = _seed(path)
    kind = type_name(field)
    if kind == "enum":
        values = [v.number for v in field.enum_type.values if v.number != 0]
        return values[seed % len(values)] if values else 0
    if kind == "bool":
        return True
    if kind == "string":
        return f"{path}#{seed % 997}"
    if kind == "bytes":
        return path.encode("utf-8") + bytes([0, 255, seed % 256])
    if kind in _FLOATS:
        return float(seed % 100_000) + 0.25  # exactly representable as float32
    magnitude = seed % (1 << 30) + 1
    if kind in _WIDE:
        magnitude = magnitude * (1 << 24) + 7
    if kind in _SIGNED and seed & 1:
        return -magnitude
    return magnitude


def populate(message: Any, variant: int = 0, path: str | None = None, depth: int = 0) -> Any:
    """Set every field of ``message`` (recursively); oneofs get member ``variant % size``.

    Returns ``message``. Repeated fields and maps get two entries each.
    """
    descriptor = message.DESCRIPTOR
    path = descriptor.name if path is None else path
    if depth > MAX_DEPTH:
        raise RecursionError(f"{path}: message nesting deeper than {MAX_DEPTH}")
    message.SetInParent()
    for field in descriptor.fields:
        oneof = field.containing_oneof
        if oneof is not None and oneof.fields[variant % len(oneof.fields)] is not field:
            continue
        field_path = f"{path}.{field.name}"
        if is_map(field):
            container = getattr(message, field.name)
            entry = field.message_type
            key_field, value_field = entry.fields_by_name["key"], entry.fields_by_name["value"]
            for index in range(2):
                key = scalar_value(key_field, f"{field_path}[{index}].key")
                if value_field.message_type is not None:
                    populate(container[key], variant, f"{field_path}[{index}]", depth + 1)
                else:
                    container[key] = scalar_value(value_field, f"{field_path}[{index}]")
        elif is_repeated(field):
            container = getattr(message, field.name)
            for index in range(2):
                item_path = f"{field_path}[{index}]"
                if field.message_type is not None:
                    populate(container.add(), variant, item_path, depth + 1)
                else:
                    container.append(scalar_value(field, item_path))
        elif field.message_type is not None:
            populate(getattr(message, field.name), variant, field_path, depth + 1)
        else:
            setattr(message, field.name, scalar_value(field, field_path))
    return message


def unset_fields(message: Any, variant: int = 0, path: str | None = None) -> list[str]:
    """Paths of the fields :func:`populate` should have set but that are absent or empty."""
    descriptor = message.DESCRIPTOR
    path = descriptor.name if path is None else path
    present = {field.name for field, _ in message.ListFields()}
    missing: list[str] = []
    for field in descriptor.fields:
        oneof = field.containing_oneof
        if oneof is not None and oneof.fields[variant % len(oneof.fields)] is not field:
            continue
        field_path = f"{path}.{field.name}"
        if field.name not in present:
            missing.append(field_path)
            continue
        value = getattr(message, field.name)
        if is_map(field):
            if len(value) != 2:
                missing.append(f"{field_path} (map has {len(value)} entries, expected 2)")
            if field.message_type.fields_by_name["value"].message_type is not None:
                for key in value:
                    missing += unset_fields(value[key], variant, f"{field_path}[{key!r}]")
        elif is_repeated(field):
            if len(value) != 2:
                missing.append(f"{field_path} (has {len(value)} items, expected 2)")
            if field.message_type is not None:
                for index, item in enumerate(value):
                    missing += unset_fields(item, variant, f"{field_path}[{index}]")
        elif field.message_type is not None:
            missing += unset_fields(value, variant, field_path)
    return missing


def _unknown_count(message: Any) -> int:
    try:
        from google.protobuf.unknown_fields import UnknownFieldSet
    except ImportError:  # protobuf < 4
        return len(message.UnknownFields())
    return len(UnknownFieldSet(message))


def _scalar_canonical(field: Any, value: Any) -> Any:
    kind = type_name(field)
    if kind == "enum":
        known = field.enum_type.values_by_number.get(value)
        return f"{known.name if known is not None else '?'}={value}"
    if kind == "bytes":
        return "bytes:" + bytes(value).hex()
    if kind in _FLOATS:
        return repr(float(value))
    return value


def canonical(message: Any) -> dict[str, Any]:
    """Plain JSON-able description of ``message``: present fields by name, unknown-field count."""
    result: dict[str, Any] = {}
    for field, value in message.ListFields():
        key = f"{field.name}:{type_name(field)}"
        if is_map(field):
            value_field = field.message_type.fields_by_name["value"]
            items = {}
            for map_key in sorted(value):
                item = value[map_key]
                items[str(map_key)] = (
                    canonical(item)
                    if value_field.message_type is not None
                    else _scalar_canonical(value_field, item)
                )
            result[key] = items
        elif is_repeated(field):
            if field.message_type is not None:
                result[key] = [canonical(item) for item in value]
            else:
                result[key] = [_scalar_canonical(field, item) for item in value]
        elif field.message_type is not None:
            result[key] = canonical(value)
        else:
            result[key] = _scalar_canonical(field, value)
    unknown = _unknown_count(message)
    if unknown:
        result["<unknown fields>"] = unknown
    return result


def max_oneof_size(descriptor: Any, depth: int = 0) -> int:
    """Largest oneof reachable from ``descriptor``: the number of variants covering every member."""
    size = max([len(oneof.fields) for oneof in descriptor.oneofs] + [1])
    if depth < MAX_DEPTH:
        for field in descriptor.fields:
            if field.message_type is not None:
                size = max(size, max_oneof_size(field.message_type, depth + 1))
    return size


def handle(request: dict[str, Any], classes: dict[str, Any]) -> dict[str, Any]:
    """Answer one script-mode request (see the module docstring)."""
    op = request["op"]
    if op == "list":
        return {
            "types": sorted(classes),
            "max_oneof": {n: max_oneof_size(c.DESCRIPTOR) for n, c in classes.items()},
        }
    cls = classes[request["type"]]
    if op == "build":
        message = populate(cls(), request["variant"])
        data = message.SerializeToString(deterministic=True)
        return {"data": data.hex(), "canonical": canonical(message)}
    if op == "parse":
        message = cls()
        message.ParseFromString(bytes.fromhex(request["data"]))
        return {"canonical": canonical(message)}
    raise ValueError(f"unknown op {op!r}")


def main() -> int:
    """Script mode: JSON requests on stdin, JSON results on stdout."""
    classes = message_classes()
    requests = json.load(sys.stdin)
    json.dump([handle(request, classes) for request in requests], sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
