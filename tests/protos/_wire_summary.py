"""Summarize compiled descriptors in the shape of ``shared/reference/wire-api.json`` and diff them.

The summary has four sections, keyed by fully qualified name:

* ``files``: ``{"cogment/api/x.proto": {"imports": [...], "package": "cogmentAPI"}}``
* ``enums``: ``{"cogmentAPI.E": {"VALUE": number}}`` (nested enums included)
* ``messages``: ``{"cogmentAPI.M": {"field": {"label", "number", "oneof", "type"}}}`` where
  ``label`` is ``singular``, ``optional`` (proto3 ``optional``), ``repeated`` or ``map``;
  ``type`` is a scalar name, a message/enum full name, or ``map<K,V>``; ``oneof`` names a
  real oneof (never the synthetic one of a proto3 ``optional``).
* ``services``: ``{"cogmentAPI.S": {"Rpc": "[stream ]In -> [stream ]Out"}}``
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from types import ModuleType
from typing import Any

from google.protobuf import descriptor_pb2

REPO_ROOT = Path(__file__).resolve().parents[2]
REFERENCE_ENV = "COGMENT_WIRE_REFERENCE"
DEFAULT_REFERENCE = REPO_ROOT.parent / "shared" / "reference" / "wire-api.json"

_FieldProto = descriptor_pb2.FieldDescriptorProto
_TYPE_NAMES = {number: name[len("TYPE_") :].lower() for name, number in _FieldProto.Type.items()}


def reference_path() -> Path:
    """Where the reference summary is: ``$COGMENT_WIRE_REFERENCE`` or ``<repo>/../shared/...``."""
    override = os.environ.get(REFERENCE_ENV)
    return Path(override) if override else DEFAULT_REFERENCE


def file_protos(modules: Iterable[ModuleType]) -> list[descriptor_pb2.FileDescriptorProto]:
    """The ``FileDescriptorProto`` of each ``*_pb2`` module's ``DESCRIPTOR``."""
    protos = []
    for module in modules:
        proto = descriptor_pb2.FileDescriptorProto()
        module.DESCRIPTOR.CopyToProto(proto)
        protos.append(proto)
    return protos


def _type_of(field: descriptor_pb2.FieldDescriptorProto) -> str:
    if field.type_name:
        return field.type_name.lstrip(".")
    return _TYPE_NAMES[field.type]


def _summarize_message(
    scope: str,
    message: descriptor_pb2.DescriptorProto,
    messages: dict[str, Any],
    enums: dict[str, Any],
) -> None:
    name = f"{scope}.{message.name}"
    map_entries = {f"{name}.{n.name}": n for n in message.nested_type if n.options.map_entry}
    fields: dict[str, Any] = {}
    for field in message.field:
        entry = map_entries.get(field.type_name.lstrip("."))
        if entry is not None and field.label == _FieldProto.LABEL_REPEATED:
            key, value = entry.field
            fields[field.name] = {
                "label": "map",
                "number": field.number,
                "oneof": None,
                "type": f"map<{_type_of(key)},{_type_of(value)}>",
            }
            continue
        if field.label == _FieldProto.LABEL_REPEATED:
            label = "repeated"
        elif field.proto3_optional:
            label = "optional"
        else:
            label = "singular"
        in_real_oneof = field.HasField("oneof_index") and not field.proto3_optional
        fields[field.name] = {
            "label": label,
            "number": field.number,
            "oneof": message.oneof_decl[field.oneof_index].name if in_real_oneof else None,
            "type": _type_of(field),
        }
    messages[name] = fields
    for enum in message.enum_type:
        enums[f"{name}.{enum.name}"] = {value.name: value.number for value in enum.value}
    for nested in message.nested_type:
        if not nested.options.map_entry:
            _summarize_message(name, nested, messages, enums)


def summarize(protos: Iterable[descriptor_pb2.FileDescriptorProto]) -> dict[str, Any]:
    """Summary of ``protos`` in the ``wire-api.json`` shape (see the module docstring)."""
    summary: dict[str, Any] = {"enums": {}, "files": {}, "messages": {}, "services": {}}
    for proto in protos:
        package = proto.package
        summary["files"][proto.name] = {"imports": list(proto.dependency), "package": package}
        for enum in proto.enum_type:
            summary["enums"][f"{package}.{enum.name}"] = {v.name: v.number for v in enum.value}
        for message in proto.message_type:
            _summarize_message(package, message, summary["messages"], summary["enums"])
        for service in proto.service:
            summary["services"][f"{package}.{service.name}"] = {
                method.name: (
                    f"{'stream ' if method.client_streaming else ''}{method.input_type.lstrip('.')}"
                    f" -> {'stream ' if method.server_streaming else ''}"
                    f"{method.output_type.lstrip('.')}"
                )
                for method in service.method
            }
    return summary


def _describe(value: Any) -> str:
    return value if isinstance(value, str) else repr(value)


def diff(reference: dict[str, Any], ours: dict[str, Any]) -> list[str]:
    """Every difference between two summaries, one precise line each (empty when identical)."""
    problems: list[str] = []
    for section in sorted(set(reference) | set(ours)):
        ref_items: dict[str, Any] = reference.get(section, {})
        our_items: dict[str, Any] = ours.get(section, {})
        for name in sorted(set(ref_items) | set(our_items)):
            if name not in our_items:
                problems.append(f"{section}: {name} is missing from ours")
                continue
            if name not in ref_items:
                problems.append(f"{section}: {name} is not in the reference (added by us)")
                continue
            ref_entry, our_entry = ref_items[name], our_items[name]
            if section == "files":
                for key in ("package", "imports"):
                    if ref_entry.get(key) != our_entry.get(key):
                        problems.append(
                            f"files: {name} {key}: reference {ref_entry.get(key)!r}, "
                            f"ours {our_entry.get(key)!r}"
                        )
                continue
            for member in sorted(set(ref_entry) | set(our_entry)):
                where = f"{section}: {name}.{member}"
                if member not in our_entry:
                    problems.append(
                        f"{where} is missing from ours (reference: {ref_entry[member]})"
                    )
                elif member not in ref_entry:
                    problems.append(f"{where} is not in the reference (ours: {our_entry[member]})")
                elif section == "messages":
                    for attribute in ("number", "type", "label", "oneof"):
                        expected = ref_entry[member].get(attribute)
                        actual = our_entry[member].get(attribute)
                        if expected != actual:
                            problems.append(
                                f"{where}: {attribute} differs: reference {_describe(expected)}, "
                                f"ours {_describe(actual)}"
                            )
                elif ref_entry[member] != our_entry[member]:
                    problems.append(
                        f"{where}: reference {_describe(ref_entry[member])}, "
                        f"ours {_describe(our_entry[member])}"
                    )
    return problems
