"""Full loop: our Orchestrator runs a trial (environment and actors from the published SDK 2.10.1)
and logs it to our Trial Datastore; our SDK ``Datastore`` reads it back."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import grpc.aio
import pytest

from cogment._controller import TrialState
from cogment._datastore import Datastore
from cogment_services.orchestrator import Orchestrator
from cogment_services.trial_datastore import TrialDatastore
from tests.cogment_services.orchestrator.conftest import Driver

pytestmark = [pytest.mark.interop, pytest.mark.timeout(120)]


@pytest.fixture(scope="module")
def driver(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Driver]:
    instance = Driver(tmp_path_factory.mktemp("scenario"))
    try:
        yield instance
    finally:
        instance.close()


@pytest.fixture
async def orchestrator() -> AsyncIterator[Orchestrator]:
    async with Orchestrator(lifecycle_port=0, host="127.0.0.1") as orch:
        yield orch


async def test_orchestrator_logs_a_trial_into_the_datastore(
    driver: Driver, orchestrator: Orchestrator
) -> None:
    async with TrialDatastore(port=0) as service:
        result = await driver.call(
            "run_trial",
            orchestrator=orchestrator.endpoint,
            wait_for=["env", "p1", "p2"],
            params={
                "max_steps": 3,
                "datalog": service.endpoint,
                "properties": {"run": "full-loop"},
                "env_config": {"mode": "rewards"},
                "actors": [
                    {"name": "p1", "config": {"behaviour": "reward", "value": 2, "target": "*"}},
                    {
                        "name": "p2",
                        "class": "observer",
                        "config": {"behaviour": "message", "value": 5, "target": "p1"},
                    },
                ],
            },
        )
        assert result["final_state"] == "ENDED"
        trial_id = result["trial_id"]
        datastore = Datastore(
            grpc.aio.insecure_channel(f"127.0.0.1:{service.port}"), None, timeout=10
        )
        async with datastore:
            infos = await datastore.get_trials(properties={"run": "full-loop"})
            assert [info.trial_id for info in infos] == [trial_id]
            info = infos[0]
            assert info.trial_state == TrialState.ENDED and info.sample_count == 5
            assert [actor.name for actor in info.parameters.actors] == ["p1", "p2"]
            samples = [sample async for sample in datastore.all_samples(infos)]

    assert [s.tick_id for s in samples] == [0, 1, 2, 3, 4]
    assert [s.trial_state for s in samples] == [TrialState.RUNNING] * 3 + [
        TrialState.TERMINATING,
        TrialState.ENDED,
    ]
    first = samples[0].actors_data
    assert first["p1"].action_serialized == b"\x08\x02"  # scen.Action(value=2)
    assert first["p2"].action_serialized == b"\x08\x05"  # scen.Action(value=5)
    assert first["p1"].observation_serialized is not None
    assert all(data.action_serialized is None for data in samples[-1].actors_data.values())
    # p1 rewards "*" (2.0) and the environment rewards "*" (10.0): p2 receives both
    p2_rewards = [
        sorted((r.sender, r.receiver, r.value) for r in s.actors_data["p2"].all_received_rewards())
        for s in samples
    ]
    assert [("env", "p2", 10.0), ("p1", "p2", 2.0)] in p2_rewards
    tick = p2_rewards.index([("env", "p2", 10.0), ("p1", "p2", 2.0)])
    assert samples[tick].actors_data["p2"].reward == pytest.approx(6.0)
    sent = sorted(r.receiver for r in samples[tick].actors_data["p1"].all_sent_rewards())
    assert sent == ["p1", "p2"]
    # p2 messages p1
    received = [
        (m.sender, m.receiver) for s in samples for m in s.actors_data["p1"].all_received_messages()
    ]
    assert ("p2", "p1") in received
