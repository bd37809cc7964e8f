"""The published SDK 2.10.1's ``Datastore`` reading our Trial Datastore gives the same results as
our client, except where the published client is known to be wrong (sdk-reference-behaviour §8)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import grpc.aio
import pytest

from cogment._datastore import Datastore
from cogment_services.trial_datastore import TrialDatastore
from tests._support.refsdk import reference_python

from . import _interop_scenario
from ._trials import ActorSpec, TrialSpec, log_trial

pytestmark = [pytest.mark.interop, pytest.mark.timeout(120)]

SCENARIO = Path(_interop_scenario.__file__)
ENV = "the-env"
LAST_ACTOR = "bob"
TRIALS = [
    TrialSpec(
        "red",
        actors=(ActorSpec("alice", "player", "a1"), ActorSpec("bob", "referee", "judge")),
        env_name=ENV,
        ticks=3,
        properties={"team": "red"},
    ),
    TrialSpec(
        "blue",
        actors=(ActorSpec("alice", "player", "a1"), ActorSpec("bob", "referee", "judge")),
        env_name=ENV,
        ticks=2,
        properties={"team": "blue"},
    ),
    TrialSpec(
        "red-2", actors=(ActorSpec("carol", "player", "a2"),), ticks=1, properties={"team": "red"}
    ),
]


async def run_published_sdk(port: int) -> dict[str, Any]:
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
    result: dict[str, Any] = json.loads(stdout.decode().strip().splitlines()[-1])
    return result


def published_view(ours: Any) -> Any:
    """What the published client shows for what ours shows: it names the environment (index -1)
    after the last actor of the trial, and cannot read message payloads (``HasField`` on a
    non-optional field raises ``ValueError``)."""
    if isinstance(ours, dict):
        result = {key: published_view(value) for key, value in ours.items()}
        for key in ("received_messages", "sent_messages"):
            if key in result:
                result[key] = sorted(
                    [_rename(sender), _rename(receiver), "error:ValueError"]
                    for sender, receiver, _ in result[key]
                )
        for key in ("received_rewards", "sent_rewards"):
            if key in result:
                result[key] = sorted(
                    [value, confidence, _rename(sender), _rename(receiver), data]
                    for value, confidence, sender, receiver, data in result[key]
                )
        return result
    if isinstance(ours, list):
        return [published_view(item) for item in ours]
    return ours


def _rename(name: str) -> str:
    return LAST_ACTOR if name == ENV else name


async def test_published_datastore_client_matches_ours() -> None:
    async with TrialDatastore(port=0) as service:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{service.port}") as channel:
            for spec in TRIALS:
                await log_trial(channel, spec, user_id="interop")
        published = await run_published_sdk(service.port)
        client = Datastore(
            grpc.aio.insecure_channel(f"127.0.0.1:{service.port}"),
            _interop_scenario.make_cog_settings(),
        )
        async with client:
            ours = json.loads(json.dumps(await _interop_scenario.scenario(client), sort_keys=True))

    # Sanity: the scenario saw real data, environment rewards and messages included.
    assert [trial["trial_id"] for trial in ours["trials"]] == ["red", "blue", "red-2"]
    assert ours["red"] == ["red", "red-2"] and ours["by_ids"] == ["blue"]
    assert ours["bundles"] == ["red", "blue", "red-2"]
    assert len(ours["samples"]) == 4 + 3 + 2
    bob = ours["samples"][1]["actors"]["bob"]
    assert [ENV, "bob"] in [reward[2:4] for reward in bob["received_rewards"]]
    assert ["alice", "bob", "m1"] in bob["received_messages"]
    assert ours["samples"][1]["actors"]["alice"]["observation"] == "obs-1-0"

    assert sorted(published) == sorted(ours)
    expected = published_view(ours)
    for key in ours:
        assert published[key] == expected[key], key
