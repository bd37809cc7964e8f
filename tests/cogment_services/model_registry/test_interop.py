"""The published SDK 2.10.1's Model Registry v2 client against our service gives the same results
as our client."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

import pytest

from cogment import Endpoint, model_registry
from cogment._grpc import create_channel
from cogment.model_registry_v2 import ModelRegistry
from cogment_services.model_registry import ModelRegistryServer
from tests._support.refsdk import reference_python

from . import _interop_scenario

pytestmark = [pytest.mark.interop, pytest.mark.timeout(120)]

SCENARIO = Path(_interop_scenario.__file__)


async def run_published_sdk(port: int) -> dict[str, object]:
    process = await asyncio.create_subprocess_exec(
        str(reference_python()),
        str(SCENARIO),
        str(port),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        stdout, stderr = await asyncio.wait_for(process.communicate(), 90)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert process.returncode == 0, stderr.decode()
    result: dict[str, object] = json.loads(stdout.decode().strip().splitlines()[-1])
    return result


async def test_published_client_matches_ours(tmp_path: Path) -> None:
    async with ModelRegistryServer(port=0, archive_dir=tmp_path / "published") as server:
        published = await run_published_sdk(server.port)

    async with ModelRegistryServer(port=0, archive_dir=tmp_path / "ours") as server:
        channel = create_channel(Endpoint(server.endpoint))
        async with channel:
            ours = await _interop_scenario.scenario(ModelRegistry(channel))
            ours["v1"] = await _interop_scenario.scenario_v1(
                model_registry.ModelRegistry(channel), model_registry.Model
            )
            ours = json.loads(json.dumps(ours, sort_keys=True))

    assert sorted(published) == sorted(ours)
    for key in ours:
        assert published[key] == ours[key], key
    # Sanity: the scenario really exercised the registry.
    assert ours["retrieve_latest"] == "A2"
    assert ours["retrieve_unknown_model"] == "CogmentError"
    assert len(ours["iterations_b"]) == 12
    assert ours["tracked_newer"][0] == "A4"
    assert ours["v1"]["version_-1"][1] == "second"


def test_scenario_file_runs_on_python_310_syntax() -> None:
    # The scenario must stay importable by the oracle's Python 3.10.
    assert sys.version_info >= (3, 10)
    compile(SCENARIO.read_text(), str(SCENARIO), "exec", flags=0, dont_inherit=True)
