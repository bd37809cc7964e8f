"""Rewriting protoc's and mypy-protobuf's absolute imports of user modules as relative ones."""

from __future__ import annotations

import pytest

from cogment_codegen._relative_imports import UnsupportedImport, make_imports_relative

USER = {"a_pb2", "sub.c_pb2", "sub.deeper.d_pb2"}


@pytest.mark.parametrize(
    ("module", "line", "expected"),
    [
        ("b_pb2", "import a_pb2 as a__pb2", "from . import a_pb2 as a__pb2"),
        ("b_pb2", "import a_pb2", "from . import a_pb2"),
        ("b_pb2", "from sub import c_pb2 as _c_pb2", "from .sub import c_pb2 as _c_pb2"),
        ("b_pb2", "import sub.c_pb2 as c", "from .sub import c_pb2 as c"),
        ("sub.c_pb2", "import a_pb2 as a__pb2", "from .. import a_pb2 as a__pb2"),
        (
            "sub.deeper.d_pb2",
            "from sub import c_pb2 as x",
            "from ...sub import c_pb2 as x",
        ),
        ("b_pb2", "from a_pb2 import *", "from .a_pb2 import *"),
        # Not user modules: untouched.
        (
            "b_pb2",
            "from google.protobuf import timestamp_pb2 as ts",
            "from google.protobuf import timestamp_pb2 as ts",
        ),
        ("b_pb2", "import builtins as _builtins", "import builtins as _builtins"),
    ],
)
def test_rewrite(module: str, line: str, expected: str) -> None:
    source = f'"""doc"""\n{line}\nx = 1\n'
    assert make_imports_relative(source, module, USER) == f'"""doc"""\n{expected}\nx = 1\n'


def test_indented_and_nested_imports_are_kept_in_place() -> None:
    source = "if True:\n    import a_pb2\n\ndef f() -> None:\n    import a_pb2\n"
    # Only module-level statements are rewritten (protoc emits nothing else).
    assert make_imports_relative(source, "b_pb2", USER) == source


def test_module_name_becomes_dunder_name() -> None:
    source = "_builder.BuildTopDescriptorsAndMessages(DESCRIPTOR, 'sub.c_pb2', _globals)\n"
    assert make_imports_relative(source, "sub.c_pb2", USER) == (
        "_builder.BuildTopDescriptorsAndMessages(DESCRIPTOR, __name__, _globals)\n"
    )


@pytest.mark.parametrize(
    "line", ["import sub.c_pb2", "import a_pb2, os", "from sub import c_pb2, other_pb2"]
)
def test_unsupported_forms_fail_loudly(line: str) -> None:
    with pytest.raises(UnsupportedImport):
        make_imports_relative(line + "\n", "b_pb2", USER)
