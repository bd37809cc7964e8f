"""Golden files of the generator: what ``tests/golden/<case>/expected/`` holds and how it is made.

Each case is a spec (``tests/golden/<case>/cogment.yaml`` with its protos, or a ``spec_path`` file
naming a spec relative to the repository root). Both layouts are recorded:

- ``expected/package/...``: the ``cog_settings`` package (``--output <dir>``);
- ``expected/module/...``: the published single-module layout (``--output cog_settings.py``).

The modules rendered from our templates are stored byte for byte. protoc's ``*_pb2.py`` and
mypy-protobuf's ``*_pb2.pyi`` depend on the grpcio-tools and mypy-protobuf versions, so they are
stored as ``<file>.summary`` instead: the parts this generator is responsible for (the imports it
rewrites, the module name, the pyright directive) plus the compiled descriptor in text format
(``_pb2.py``) or the names the stub defines (``.pyi``). A tool upgrade does not break the goldens;
a change of what we compile or how we rewrite it does.

Regenerate with ``python -m tests.cogment_codegen.regenerate_golden [case ...]``.
"""

from __future__ import annotations

import ast
import shutil
from pathlib import Path

from google.protobuf import descriptor_pb2, text_format

from cogment_codegen import generate_files

ROOT = Path(__file__).resolve().parents[2]
CASES_DIR = ROOT / "tests" / "golden"
_SUMMARIZED = ("_pb2.py", "_pb2.pyi")


def case_names() -> list[str]:
    """Every golden case (a directory with a spec or a ``spec_path`` file)."""
    return sorted(
        p.name
        for p in CASES_DIR.iterdir()
        if p.is_dir() and ((p / "cogment.yaml").is_file() or (p / "spec_path").is_file())
    )


def spec_of(case: str) -> Path:
    """The spec file of ``case``."""
    pointer = CASES_DIR / case / "spec_path"
    if pointer.is_file():
        return ROOT / pointer.read_text().strip()
    return CASES_DIR / case / "cogment.yaml"


def _imports(tree: ast.Module) -> list[str]:
    lines = []
    for node in tree.body:
        if isinstance(node, ast.Import | ast.ImportFrom):
            text = ast.unparse(node)
            if "_pb2" in text:
                lines.append(text)
    return lines


def _call_args(tree: ast.Module, function: str) -> list[ast.expr]:
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == function
        ):
            return list(node.args)
    raise AssertionError(f"no call to {function}()")


def _summarize_module(source: str) -> str:
    tree = ast.parse(source)
    serialized = _call_args(tree, "AddSerializedFile")[0]
    assert isinstance(serialized, ast.Constant) and isinstance(serialized.value, bytes)
    descriptor = descriptor_pb2.FileDescriptorProto.FromString(serialized.value)
    module_name = ast.unparse(_call_args(tree, "BuildTopDescriptorsAndMessages")[1])
    lines = ["imports:", *(f"  {line}" for line in _imports(tree))]
    lines += [f"module name: {module_name}", "descriptor:"]
    lines += [f"  {line}" for line in text_format.MessageToString(descriptor).splitlines()]
    return "\n".join(lines) + "\n"


def _members(node: ast.ClassDef, prefix: str) -> list[str]:
    lines: list[str] = []
    fields: list[str] = []
    for item in node.body:
        if isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name):
            name = item.target.id
            if (
                not name.startswith("_")
                and not name.endswith("_FIELD_NUMBER")
                and name != "DESCRIPTOR"
            ):
                fields.append(name)
        elif isinstance(item, ast.FunctionDef) and any(
            ast.unparse(d).endswith("property") for d in item.decorator_list
        ):
            fields.append(item.name)
        elif isinstance(item, ast.ClassDef) and not item.name.startswith("_"):
            lines += _members(item, f"{prefix}{node.name}.")
    return [f"  class {prefix}{node.name}: {' '.join(fields)}".rstrip(), *lines]


def _summarize_stub(source: str) -> str:
    tree = ast.parse(source)
    directives = [line for line in source.splitlines() if line.startswith("# pyright:")]
    lines = ["imports:", *(f"  {line}" for line in _imports(tree)), "directives:"]
    lines += [f"  {line}" for line in directives]
    lines.append("definitions:")
    for node in tree.body:
        if isinstance(node, ast.ClassDef) and not node.name.startswith("_"):
            lines += _members(node, "")
        elif (
            isinstance(node, ast.AnnAssign)
            and isinstance(node.target, ast.Name)
            and not node.target.id.startswith(("_", "Global___"))
            and node.target.id != "DESCRIPTOR"
        ):
            lines.append(f"  {node.target.id}")
    return "\n".join(lines) + "\n"


def golden_files(case: str) -> dict[str, bytes]:
    """What ``expected/`` must hold for ``case``, by relative path."""
    spec = spec_of(case)
    result: dict[str, bytes] = {}
    for layout in ("package", "module"):
        generated = generate_files(spec, layout=layout)
        for path, content in generated.files.items():
            if path.endswith(_SUMMARIZED):
                text = content.decode("utf-8")
                summary = (
                    _summarize_stub(text) if path.endswith(".pyi") else _summarize_module(text)
                )
                result[f"{layout}/{path}.summary"] = summary.encode("utf-8")
            else:
                result[f"{layout}/{path}"] = content
    return result


def expected_files(case: str) -> dict[str, bytes]:
    """What ``expected/`` holds now."""
    expected = CASES_DIR / case / "expected"
    if not expected.is_dir():
        return {}
    return {
        p.relative_to(expected).as_posix(): p.read_bytes()
        for p in sorted(expected.rglob("*"))
        if p.is_file() and "__pycache__" not in p.parts
    }


def write_golden(case: str) -> list[str]:
    """Rewrite ``expected/`` of ``case``; return the paths that changed."""
    new = golden_files(case)
    old = expected_files(case)
    expected = CASES_DIR / case / "expected"
    shutil.rmtree(expected, ignore_errors=True)
    for path, content in new.items():
        target = expected / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)
    return sorted(p for p in set(new) | set(old) if new.get(p) != old.get(p))
