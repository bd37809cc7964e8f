"""Fixtures of the in-process tests: the conformance spec's ``cog_settings`` made by our
generator (imported under its own module names, restored afterwards)."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest

from tests.conformance._harness import generate_ours

_MODULES = ("cog_settings", "conformance_pb2")


@pytest.fixture(scope="session")
def spec(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimpleNamespace]:
    """``spec.settings`` (cog_settings) and ``spec.pb2`` (the conformance messages)."""
    folder: Path = generate_ours(tmp_path_factory.mktemp("inprocess-spec"))
    saved = {name: sys.modules.pop(name) for name in _MODULES if name in sys.modules}
    sys.path.insert(0, str(folder))
    try:
        settings = importlib.import_module("cog_settings")
        pb2 = importlib.import_module("conformance_pb2")
    finally:
        sys.path.remove(str(folder))
        for name in _MODULES:
            sys.modules.pop(name, None)
        sys.modules.update(saved)
    yield SimpleNamespace(settings=settings, pb2=pb2)
