"""Static types of the Model Registry client: ``track_latest_model`` infers ``LatestModel[T]``
from ``deserialize_func`` (checked with mypy --strict on a sample)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from mypy import api as mypy_api

pytestmark = pytest.mark.timeout(120)

SAMPLE = textwrap.dedent(
    """
    from typing import assert_type

    from cogment.model_registry_v2 import LatestModel, ModelIterationInfo, ModelRegistry


    class Policy:
        pass


    def load(data: bytes) -> Policy:
        return Policy()


    async def load_async(data: bytes) -> int:
        return len(data)


    async def use(registry: ModelRegistry) -> None:
        raw = await registry.track_latest_model("m")
        assert_type(raw, LatestModel[bytes])
        data, info = await raw.get()
        assert_type(data, bytes)
        assert_type(info, ModelIterationInfo)

        policy = await registry.track_latest_model("p", load)
        assert_type(policy, LatestModel[Policy])
        assert_type((await policy.get())[0], Policy)

        counted = await registry.track_latest_model("c", load_async, initial_wait=2)
        assert_type(counted, LatestModel[int])

        model = await registry.retrieve_model("m", -1)
        assert_type(model, bytes | None)
        await registry.store_model("m", 3)  # type: ignore[arg-type]
        await registry.track_latest_model("m", lambda: None)  # type: ignore[arg-type, misc]
    """
)


def test_latest_model_type_follows_deserialize_func(tmp_path: Path) -> None:
    sample = tmp_path / "sample_model_registry.py"
    sample.write_text(SAMPLE)
    root = Path(__file__).resolve().parents[2]
    stdout, stderr, status = mypy_api.run(
        [
            "--strict",
            "--warn-unused-ignores",
            "--python-version=3.11",
            "--config-file",
            str(root / "pyproject.toml"),
            str(sample),
        ]
    )
    assert status == 0, stdout + stderr
