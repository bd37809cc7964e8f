"""Run protoc (the one bundled with grpcio-tools, in-process) on the spec's protos.

It yields the compiled descriptors of every file involved (``--include_imports``) and the
``*_pb2.py`` modules protoc writes. protoc reports its errors on the process's stderr file
descriptor, so that descriptor is captured for the duration of the call.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from google.protobuf import descriptor_pb2

from cogment_codegen._descriptors import is_runtime_provided

__all__ = ["CompiledProtos", "ProtocFailure", "run_protoc", "well_known_types_dir"]

_LOCK = threading.Lock()


class ProtocFailure(Exception):
    """protoc rejected the protos; the message is protoc's own output."""


@dataclass(frozen=True)
class CompiledProtos:
    """What protoc produced for a set of protos."""

    descriptor_set: descriptor_pb2.FileDescriptorSet
    """Every file compiled, dependencies first (with source info, for stub comments)."""
    python_modules: dict[str, bytes]
    """protoc's ``*_pb2.py`` outputs by relative path (``sub/c_pb2.py``)."""


def well_known_types_dir() -> Path:
    """The directory holding ``google/protobuf/*.proto`` shipped with grpcio-tools."""
    return Path(str(resources.files("grpc_tools") / "_proto"))


@contextlib.contextmanager
def _captured_stderr_fd() -> Iterator[list[bytes]]:
    """Redirect file descriptor 2 to a temporary file; the list receives what was written."""
    sink: list[bytes] = []
    sys.stderr.flush()
    try:
        saved = os.dup(2)
    except OSError:  # no stderr at all: protoc's messages are lost, its exit code is not
        yield sink
        return
    with tempfile.TemporaryFile() as capture:
        os.dup2(capture.fileno(), 2)
        try:
            yield sink
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            capture.seek(0)
            sink.append(capture.read())


def _invoke(args: list[str]) -> None:
    from grpc_tools import _protoc_compiler

    with _LOCK, _captured_stderr_fd() as stderr:
        code = _protoc_compiler.run_main([arg.encode() for arg in args])
    if code != 0:
        message = b"".join(stderr).decode("utf-8", "replace").strip()
        raise ProtocFailure(message or f"protoc exited with {code}")


def run_protoc(proto_root: Path, protos: Sequence[str]) -> CompiledProtos:
    """Compile ``protos`` (paths relative to ``proto_root``, which is the import root) and the
    user protos they import (not listed, but needed at run time), into ``*_pb2.py`` modules.

    Raises ``ProtocFailure`` with protoc's messages when compilation fails.
    """
    include = [f"--proto_path={proto_root}", f"--proto_path={well_known_types_dir()}"]
    with tempfile.TemporaryDirectory(prefix="cogment-codegen-") as tmp:
        out = Path(tmp)
        descriptor_file = out / "descriptors.binpb"
        python_out = out / "python"
        python_out.mkdir()
        try:
            _invoke(
                [
                    "protoc",
                    *include,
                    f"--python_out={python_out}",
                    f"--descriptor_set_out={descriptor_file}",
                    "--include_imports",
                    "--include_source_info",
                    *(str(proto_root / name) for name in protos),
                ]
            )
            descriptor_set = descriptor_pb2.FileDescriptorSet.FromString(
                descriptor_file.read_bytes()
            )
            imported_only = [
                f.name
                for f in descriptor_set.file
                if f.name not in protos and not is_runtime_provided(f.name)
            ]
            if imported_only:
                _invoke(
                    [
                        "protoc",
                        *include,
                        f"--python_out={python_out}",
                        *(str(proto_root / name) for name in imported_only),
                    ]
                )
        except ProtocFailure as failure:
            raise ProtocFailure(_relativize(str(failure), proto_root)) from None
        modules = {
            path.relative_to(python_out).as_posix(): path.read_bytes()
            for path in sorted(python_out.rglob("*.py"))
        }
    return CompiledProtos(descriptor_set, modules)


def _relativize(message: str, root: Path) -> str:
    """protoc names files by disk path in some messages: show them relative to the spec."""
    prefix = str(root) + os.sep
    return message.replace(prefix, "")
