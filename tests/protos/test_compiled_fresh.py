"""The committed ``cogment/api`` must be what compiling ``protos/`` gives today.

Staleness is judged on what matters and survives a grpcio-tools / mypy-protobuf upgrade:
the descriptors (each committed ``*_pb2`` module's serialized ``FileDescriptorProto``
against a fresh ``protoc --descriptor_set_out``), the set of generated files, and the
public names (classes, their members, functions) of the ``.pyi`` stubs and ``_grpc``
modules. The fix for any failure here is ``python tools/compile_protos.py``.
"""

from __future__ import annotations

import ast
import difflib
import functools
import importlib
import importlib.util
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest
from google.protobuf import descriptor_pb2, text_format

REPO_ROOT = Path(__file__).resolve().parents[2]
API_DIR = REPO_ROOT / "cogment" / "api"
FIX = "run `python tools/compile_protos.py` and commit cogment/api"


def _load_compiler() -> ModuleType:
    path = REPO_ROOT / "tools" / "compile_protos.py"
    spec = importlib.util.spec_from_file_location("_compile_protos_under_test", path)
    assert spec is not None and spec.loader is not None, f"cannot load {path}"
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


compiler = _load_compiler()


def normalized(proto: descriptor_pb2.FileDescriptorProto) -> descriptor_pb2.FileDescriptorProto:
    """``proto`` without ``json_name`` (protoc writes it in descriptor sets, not in gencode;
    it is derived from the field name anyway) nor source info."""

    def strip(message: descriptor_pb2.DescriptorProto) -> None:
        for field in message.field:
            field.ClearField("json_name")
        for nested in message.nested_type:
            strip(nested)

    copy = descriptor_pb2.FileDescriptorProto()
    copy.CopyFrom(proto)
    copy.ClearField("source_code_info")
    for message in copy.message_type:
        strip(message)
    return copy


def committed_descriptors() -> dict[str, descriptor_pb2.FileDescriptorProto]:
    """File name -> descriptor, from the committed, imported ``cogment.api.*_pb2`` modules."""
    result = {}
    for path in sorted(API_DIR.glob("*_pb2.py")):
        module = importlib.import_module(f"cogment.api.{path.stem}")
        proto = descriptor_pb2.FileDescriptorProto.FromString(module.DESCRIPTOR.serialized_pb)
        result[proto.name] = normalized(proto)
    return result


def fresh_descriptors(proto_root: Path) -> dict[str, descriptor_pb2.FileDescriptorProto]:
    """File name -> descriptor, compiled now from ``proto_root``."""
    fds = descriptor_pb2.FileDescriptorSet.FromString(compiler.descriptor_set(proto_root))
    return {proto.name: normalized(proto) for proto in fds.file}


def descriptor_problems(
    committed: dict[str, descriptor_pb2.FileDescriptorProto],
    fresh: dict[str, descriptor_pb2.FileDescriptorProto],
) -> list[str]:
    """Readable differences between two sets of file descriptors."""
    problems = []
    for name in sorted(set(committed) | set(fresh)):
        if name not in committed:
            problems.append(f"{name}: compiled from protos/ but not committed in cogment/api")
        elif name not in fresh:
            problems.append(f"{name}: committed in cogment/api but no longer in protos/")
        elif committed[name] != fresh[name]:
            diff = difflib.unified_diff(
                text_format.MessageToString(committed[name]).splitlines(),
                text_format.MessageToString(fresh[name]).splitlines(),
                "committed",
                "fresh",
                lineterm="",
                n=2,
            )
            problems.append(f"{name} differs:\n" + "\n".join(list(diff)[:60]))
    return problems


def public_names(path: Path) -> set[str]:
    """Public classes, their fields/attributes and rpc methods, and module functions of a file."""
    names: set[str] = set()

    def visit(body: list[ast.stmt], prefix: str) -> None:
        for node in body:
            if isinstance(node, ast.ClassDef) and not node.name.startswith("_"):
                names.add(f"{prefix}{node.name}")
                visit(node.body, f"{prefix}{node.name}.")
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                # Module functions and rpc methods; message helper methods (HasField, ...)
                # are the stub generator's business, not the contract's.
                rpc_holder = prefix.endswith(("Servicer.", "SP."))
                if not node.name.startswith("_") and (not prefix or rpc_holder):
                    names.add(f"{prefix}{node.name}()")
            elif (
                isinstance(node, ast.AnnAssign)
                and isinstance(node.target, ast.Name)
                and prefix
                and not node.target.id.startswith("_")
            ):
                names.add(f"{prefix}{node.target.id}")

    visit(ast.parse(path.read_text(encoding="utf-8")).body, "")
    return names


@functools.cache
def fresh_output() -> Path:
    """A full compilation of protos/ into a temporary directory (once per session)."""
    root = Path(tempfile.mkdtemp(prefix="cogment-fresh-api-"))
    return Path(compiler.compile_into(root))


@pytest.fixture(scope="module")
def fresh_dir() -> Iterator[Path]:
    directory = fresh_output()
    yield directory
    shutil.rmtree(directory.parents[1], ignore_errors=True)
    fresh_output.cache_clear()


def test_descriptors_are_fresh() -> None:
    problems = descriptor_problems(committed_descriptors(), fresh_descriptors(compiler.PROTO_ROOT))
    assert not problems, f"cogment/api is stale ({FIX}):\n" + "\n".join(problems)


def test_generated_file_set_is_fresh(fresh_dir: Path) -> None:
    committed = compiler.generated_files(API_DIR)
    assert committed == compiler.generated_files(fresh_dir), FIX
    assert committed == compiler.expected_outputs(), FIX


@pytest.mark.parametrize("suffix", ["_pb2.pyi", "_pb2_grpc.pyi", "_pb2_grpc.py"])
def test_public_names_are_fresh(suffix: str, fresh_dir: Path) -> None:
    for path in sorted(fresh_dir.glob(f"*{suffix}")):
        committed = API_DIR / path.name
        assert committed.is_file(), f"{committed} is missing ({FIX})"
        ours, theirs = public_names(committed), public_names(path)
        assert ours == theirs, (
            f"{path.name} is stale ({FIX}): only committed {sorted(ours - theirs)}, "
            f"only fresh {sorted(theirs - ours)}"
        )


@pytest.mark.parametrize(
    "stem", [Path(n).stem for n in compiler.expected_outputs() if n[-3:] == ".py"]
)
def test_module_imports_and_has_stub(stem: str) -> None:
    module = importlib.import_module(f"cogment.api.{stem}")
    assert Path(module.__file__ or "").resolve() == (API_DIR / f"{stem}.py").resolve()
    assert (API_DIR / f"{stem}.pyi").is_file(), f"cogment/api/{stem}.pyi is missing ({FIX})"


def test_package_marker_is_kept() -> None:
    assert (API_DIR / "__init__.py").is_file(), "cogment/api/__init__.py must stay"


def test_staleness_is_detected(tmp_path: Path) -> None:
    """Renumbering one field in a copy of protos/ must be reported, precisely."""
    root = tmp_path / "protos"
    shutil.copytree(compiler.PROTO_ROOT, root)
    common = root / "cogment" / "api" / "common.proto"
    text = common.read_text(encoding="utf-8")
    assert "uint32 max_steps = 5;" in text
    common.write_text(text.replace("uint32 max_steps = 5;", "uint32 max_steps = 15;"))
    problems = descriptor_problems(committed_descriptors(), fresh_descriptors(root))
    assert len(problems) == 1 and problems[0].startswith("cogment/api/common.proto differs")
    assert "number: 15" in problems[0]
