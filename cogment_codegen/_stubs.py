"""Typed stubs (``*_pb2.pyi``) for the compiled protos, by mypy-protobuf run in-process.

mypy-protobuf is a protoc plugin: it reads a ``CodeGeneratorRequest`` on stdin and writes a
``CodeGeneratorResponse`` on stdout. We build the request from protoc's descriptor set and call
the plugin's entry point with stdin/stdout swapped for in-memory buffers (no subprocess).
"""

from __future__ import annotations

import ast
import io
import sys
import threading
from collections.abc import Sequence

from google.protobuf import descriptor_pb2
from google.protobuf.compiler import plugin_pb2

__all__ = ["StubGenerationError", "add_checker_directives", "generate_stubs"]

_LOCK = threading.Lock()


class StubGenerationError(Exception):
    """mypy-protobuf reported an error."""


class _BinaryStream:
    """Just what the plugin uses of ``sys.stdin`` / ``sys.stdout``: ``.buffer``."""

    def __init__(self, data: bytes = b"") -> None:
        self.buffer = io.BytesIO(data)

    def flush(self) -> None:
        """Nothing to flush (in memory)."""


def generate_stubs(
    descriptor_set: descriptor_pb2.FileDescriptorSet, files: Sequence[str]
) -> dict[str, bytes]:
    """mypy-protobuf's ``.pyi`` for each of ``files`` (proto names), by relative output path."""
    import mypy_protobuf.main as plugin  # type: ignore[import-untyped]

    request = plugin_pb2.CodeGeneratorRequest(
        file_to_generate=list(files),
        parameter="quiet",
        proto_file=list(descriptor_set.file),
    )
    request.compiler_version.major = 0
    stdin = _BinaryStream(request.SerializeToString())
    stdout = _BinaryStream()
    with _LOCK:
        saved = sys.stdin, sys.stdout, sys.argv
        sys.stdin, sys.stdout, sys.argv = stdin, stdout, ["protoc-gen-mypy"]
        try:
            plugin.main()
        finally:
            sys.stdin, sys.stdout, sys.argv = saved
    response = plugin_pb2.CodeGeneratorResponse.FromString(stdout.buffer.getvalue())
    if response.error:
        raise StubGenerationError(response.error)
    return {
        item.name: add_checker_directives(item.content).encode("utf-8") for item in response.file
    }


_PYRIGHT_DIRECTIVE = (
    "# pyright: reportIncompatibleVariableOverride=false, reportPrivateUsage=false, "
    "reportUnsafeMultipleInheritance=false\n"
)
"""mypy-protobuf's stubs redeclare ``DESCRIPTOR`` more precisely than types-protobuf's
``Message`` and subclass protobuf's private enum wrapper: silence those three checks in them."""


def add_checker_directives(stub: str) -> str:
    """Insert the pyright directive after the stub's module docstring (or at the top)."""
    tree = ast.parse(stub)
    lines = stub.splitlines(keepends=True)
    at = 0
    first = tree.body[0] if tree.body else None
    if (
        isinstance(first, ast.Expr)
        and isinstance(first.value, ast.Constant)
        and isinstance(first.value.value, str)
        and first.end_lineno is not None
    ):
        at = first.end_lineno
    lines.insert(at, _PYRIGHT_DIRECTIVE)
    return "".join(lines)
