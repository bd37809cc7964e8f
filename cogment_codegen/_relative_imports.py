"""Make protoc's and mypy-protobuf's imports of the user's own ``*_pb2`` modules package-relative.

protoc writes ``import a_pb2 as a__pb2`` / ``from sub import c_pb2 as ...``: absolute imports that
only work with the output directory itself on ``sys.path``. Inside the generated package they
become ``from . import a_pb2 as a__pb2`` / ``from .sub import c_pb2 as ...``, so the package works
wherever it is imported from (``cog_settings`` or ``myproject.cog_settings``). Imports of other
modules (protobuf's well-known types...) are left alone. Statements are located with ``ast``;
only their lines are rewritten.
"""

from __future__ import annotations

import ast
from collections.abc import Set

__all__ = ["UnsupportedImport", "make_imports_relative"]


class UnsupportedImport(Exception):
    """A generated module imports a user module in a form this rewriter does not know."""


def _relative(source_module: str, target_package: str) -> str:
    depth = source_module.count(".") + 1
    return "." * depth + target_package


def _rewrite(node: ast.stmt, source_module: str, user_modules: Set[str]) -> str | None:
    if isinstance(node, ast.Import):
        targets = [a for a in node.names if a.name in user_modules]
        if not targets:
            return None
        if len(node.names) != 1:
            raise UnsupportedImport(f"several modules in one import: {ast.unparse(node)}")
        alias = node.names[0]
        package, _, name = alias.name.rpartition(".")
        if alias.asname is None and package:
            raise UnsupportedImport(f"dotted import without alias: {ast.unparse(node)}")
        suffix = f" as {alias.asname}" if alias.asname else ""
        return f"from {_relative(source_module, package)} import {name}{suffix}"
    if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module is not None:
        if node.module in user_modules:  # `from a_pb2 import *` (public import)
            names = ", ".join(a.name + (f" as {a.asname}" if a.asname else "") for a in node.names)
            return f"from {_relative(source_module, node.module)} import {names}"
        full = [f"{node.module}.{a.name}" in user_modules for a in node.names]
        if not any(full):
            return None
        if not all(full):
            raise UnsupportedImport(f"mixed import: {ast.unparse(node)}")
        names = ", ".join(a.name + (f" as {a.asname}" if a.asname else "") for a in node.names)
        return f"from {_relative(source_module, node.module)} import {names}"
    return None


def make_imports_relative(source: str, source_module: str, user_modules: Set[str]) -> str:
    """Rewrite the module-level imports of ``user_modules`` in ``source`` (the text of
    ``source_module``, a dotted name relative to the package) as relative imports."""
    tree = ast.parse(source)
    lines = source.splitlines(keepends=True)
    replacements: list[tuple[int, int, str]] = []
    for node in tree.body:
        new = _rewrite(node, source_module, user_modules)
        if new is not None:
            end = node.end_lineno if node.end_lineno is not None else node.lineno
            indent = " " * node.col_offset
            replacements.append((node.lineno - 1, end, f"{indent}{new}\n"))
    for start, end, text in reversed(replacements):
        lines[start:end] = [text]
    result = "".join(lines)
    # Messages record the module they belong to (pickling, repr): use the real one.
    return result.replace(f", '{source_module}', _globals)", ", __name__, _globals)")
