"""Type names resolved through the compiled descriptors (never by searching proto text)."""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from google.protobuf import descriptor_pb2

__all__ = ["MessageInfo", "TypeIndex", "is_runtime_provided", "python_module_name"]

_RUNTIME_PREFIX = "google/protobuf/"
_MAX_LISTED = 25


def python_module_name(proto_file: str) -> str:
    """The Python module protoc generates for ``proto_file``: ``sub/my-file.proto`` ->
    ``sub.my_file_pb2``."""
    stem = proto_file[: -len(".proto")] if proto_file.endswith(".proto") else proto_file
    return stem.replace("-", "_").replace("/", ".") + "_pb2"


def is_runtime_provided(proto_file: str) -> bool:
    """True for protobuf's well-known types, whose modules ship with the protobuf package."""
    return proto_file.startswith(_RUNTIME_PREFIX)


@dataclass(frozen=True)
class MessageInfo:
    """A message type found in the descriptors."""

    full_name: str
    """``pkg.Outer.Inner``."""
    proto_file: str
    """The file defining it (``sub/c.proto``)."""
    qualname: str
    """Its name inside the generated Python module (``Outer.Inner``)."""


class TypeIndex:
    """Every message and enum of a ``FileDescriptorSet``, by fully qualified name."""

    def __init__(self, descriptor_set: descriptor_pb2.FileDescriptorSet) -> None:
        self.messages: dict[str, MessageInfo] = {}
        self.enums: dict[str, str] = {}
        self.files: dict[str, descriptor_pb2.FileDescriptorProto] = {}
        for file in descriptor_set.file:
            self.files[file.name] = file
            prefix = f"{file.package}." if file.package else ""
            for enum in file.enum_type:
                self.enums[prefix + enum.name] = file.name
            for message in file.message_type:
                self._add(message, prefix, "", file.name)

    @classmethod
    def empty(cls) -> TypeIndex:
        """An index of no file (a spec importing no proto)."""
        return cls(descriptor_pb2.FileDescriptorSet())

    def _add(
        self, message: descriptor_pb2.DescriptorProto, prefix: str, outer: str, file: str
    ) -> None:
        qualname = f"{outer}.{message.name}" if outer else message.name
        full_name = prefix + qualname
        self.messages[full_name] = MessageInfo(full_name, file, qualname)
        for enum in message.enum_type:
            self.enums[f"{full_name}.{enum.name}"] = file
        for nested in message.nested_type:
            if nested.options.map_entry:
                continue
            self._add(nested, prefix, qualname, file)

    def user_messages(self) -> list[str]:
        """Names of the messages defined outside protobuf's well-known types, sorted."""
        return sorted(
            name for name, info in self.messages.items() if not is_runtime_provided(info.proto_file)
        )

    def lookup(self, name: str) -> MessageInfo | str:
        """The message ``name`` (an optional leading dot is ignored), or why it is not one."""
        name = name.removeprefix(".")
        found = self.messages.get(name)
        if found is not None:
            return found
        if name in self.enums:
            return f"'{name}' is an enum (in {self.enums[name]}), expected a message"
        known = self.user_messages()
        message = f"no imported proto defines the message '{name}'"
        suggestion = self._suggest(name, known)
        if suggestion:
            message += f"; did you mean '{suggestion}'?"
        if known:
            listed = ", ".join(known[:_MAX_LISTED])
            more = len(known) - _MAX_LISTED
            if more > 0:
                listed += f", ... ({more} more)"
            message += f" (messages: {listed})"
        else:
            message += " (the imported protos define no message)"
        return message

    def _suggest(self, name: str, known: list[str]) -> str | None:
        # Same last component in another package first (a missing or wrong package).
        short = name.rsplit(".", 1)[-1]
        same_short = [k for k in known if k.rsplit(".", 1)[-1] == short]
        if len(same_short) == 1:
            return same_short[0]
        close = difflib.get_close_matches(name, same_short or known, n=1, cutoff=0.6)
        return close[0] if close else None
