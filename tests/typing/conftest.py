"""Fixtures of the typing tests: the generated package of ``spec/cogment.yaml``."""

from __future__ import annotations

from pathlib import Path

import pytest

from cogment_codegen import generate

HERE = Path(__file__).parent


@pytest.fixture(scope="session")
def typing_settings(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory holding the generated ``cog_settings`` of the typing spec."""
    root = tmp_path_factory.mktemp("typing-settings")
    generate(HERE / "spec" / "cogment.yaml", root)
    return root
