"""The ``cogment_services`` package: curated, lazily imported public names."""

from __future__ import annotations

import subprocess
import sys

import pytest

import cogment_services


def test_every_public_name_resolves() -> None:
    for name in cogment_services.__all__:
        assert getattr(cogment_services, name).__name__ == name


def test_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        _ = cogment_services.Nope


def test_import_is_lazy() -> None:
    code = "import sys, cogment_services; print(any('orchestrator' in m for m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "False", out.stderr
