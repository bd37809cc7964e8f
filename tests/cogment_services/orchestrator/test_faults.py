"""Faulty components and invalid input: each trial ends with its reason; the server keeps serving."""

from __future__ import annotations

import asyncio

import pytest

from cogment_services.orchestrator import Orchestrator

from .conftest import Driver
from .test_trials import TWO_ACTORS, end_reason

pytestmark = pytest.mark.interop


async def assert_still_serving(driver: Driver, orch: Orchestrator) -> None:
    r = await driver.call(
        "run_trial",
        orchestrator=orch.endpoint,
        params={"max_steps": 2, "actors": TWO_ACTORS},
    )
    assert r["final_state"] == "ENDED"
    assert r["final_tick"] == 3


async def test_actor_that_never_answers(driver: Driver, orchestrator: Orchestrator) -> None:
    r = await driver.call(
        "run_trial",
        orchestrator=orchestrator.endpoint,
        params={
            "actors": [
                {"name": "p1"},
                {"name": "mute", "response_timeout": 0.3, "config": {"behaviour": "silent"}},
            ]
        },
    )
    assert r["final_state"] == "ENDED"
    assert end_reason(orchestrator, r) == (
        "Action processing requirement failure [Required actors [mute] unavailable at tick [0]]"
    )
    await assert_still_serving(driver, orchestrator)


async def test_actor_that_crashes_mid_trial(driver: Driver, orchestrator: Orchestrator) -> None:
    r = await driver.call(
        "run_trial",
        orchestrator=orchestrator.endpoint,
        params={"actors": [{"name": "p1"}, {"name": "bad", "config": {"behaviour": "crash_at_2"}}]},
    )
    assert r["final_state"] == "ENDED"
    reason = end_reason(orchestrator, r)
    assert reason is not None and "Required actors [bad] unavailable at tick [2]" in reason
    await assert_still_serving(driver, orchestrator)


async def test_environment_that_raises(driver: Driver, orchestrator: Orchestrator) -> None:
    r = await driver.call(
        "run_trial",
        orchestrator=orchestrator.endpoint,
        wait_for=["p1"],
        params={"env_config": {"mode": "raise_at_2"}, "actors": [{"name": "p1"}]},
    )
    assert r["final_state"] == "ENDED"
    reason = end_reason(orchestrator, r)
    assert reason is not None and reason.startswith("Environment stream failure")
    await assert_still_serving(driver, orchestrator)


async def test_environment_unreachable(driver: Driver, orchestrator: Orchestrator) -> None:
    r = await driver.call(
        "run_trial",
        orchestrator=orchestrator.endpoint,
        params={"env": {"endpoint": "grpc://127.0.0.1:1"}, "actors": [{"name": "p1"}]},
    )
    assert r["final_state"] == "ENDED"
    reason = end_reason(orchestrator, r)
    assert reason is not None and reason.startswith("Failed to initialize environment [")
    await assert_still_serving(driver, orchestrator)


async def test_required_actor_unreachable(driver: Driver, orchestrator: Orchestrator) -> None:
    r = await driver.call(
        "run_trial",
        orchestrator=orchestrator.endpoint,
        params={"actors": [{"name": "p1"}, {"name": "gone", "endpoint": "grpc://127.0.0.1:1"}]},
    )
    assert r["final_state"] == "ENDED"
    assert end_reason(orchestrator, r) == "Failed to initialize all actors"


async def test_datalog_that_fails_does_not_end_the_trial(
    driver: Driver, orchestrator: Orchestrator
) -> None:
    r = await driver.call(
        "run_trial",
        orchestrator=orchestrator.endpoint,
        wait_for=["env", "p1", "p2"],
        params={
            "max_steps": 5,
            "datalog": "self",
            "properties": {"datalog": "fail"},
            "actors": TWO_ACTORS,
        },
    )
    assert r["final_state"] == "ENDED"
    assert r["final_tick"] == 6
    assert end_reason(orchestrator, r) == "Maximum number of steps reached"


async def test_datalog_unreachable_does_not_end_the_trial(
    driver: Driver, orchestrator: Orchestrator
) -> None:
    r = await driver.call(
        "run_trial",
        orchestrator=orchestrator.endpoint,
        params={"max_steps": 3, "datalog": "grpc://127.0.0.1:1", "actors": TWO_ACTORS},
    )
    assert r["final_state"] == "ENDED"
    assert r["final_tick"] == 4


async def test_stale_trial_is_ended(driver: Driver, orchestrator: Orchestrator) -> None:
    r = await driver.call(
        "run_trial",
        orchestrator=orchestrator.endpoint,
        params={
            "max_inactivity": 1,
            "env_config": {"mode": "hang"},
            "actors": [{"name": "p1"}],
        },
    )
    assert r["final_state"] == "ENDED"
    assert end_reason(orchestrator, r) == "The trial was inactive for too long"


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"actors": []}, "actors: the trial needs at least one actor"),
        (
            {"actors": [{"name": "p1"}, {"name": "p1"}]},
            "actors[1].name: duplicate actor name [p1]",
        ),
        ({"actors": [{"name": "env"}]}, "actors[0].name: [env] is the environment's name"),
        ({"actors": [{"name": "p1", "endpoint": "http://x:1"}]}, "actors[0].endpoint"),
        (
            {"env": {"endpoint": "cogment://client"}, "actors": [{"name": "p1"}]},
            "environment.endpoint",
        ),
        ({"env": {"endpoint": "cogment://discover"}, "actors": [{"name": "p1"}]}, "no directory"),
        ({"env": {"endpoint": ""}, "actors": [{"name": "p1"}]}, "environment.endpoint"),
    ],
)
async def test_invalid_params_are_refused(
    driver: Driver, orchestrator: Orchestrator, params: dict[str, object], expected: str
) -> None:
    r = await driver.call("run_trial", orchestrator=orchestrator.endpoint, params=params)
    assert "start_error" in r, r
    assert expected in r["start_error"]
    assert "INVALID_ARGUMENT" in r["start_error"]
    # The refused trial is visible as ENDED, with the reason.
    failed = [t for t in orchestrator.trials.values() if t.end_reason and expected in t.end_reason]
    assert failed and all(t.state == 5 for t in failed)


async def test_invalid_params_keep_the_server_serving(
    driver: Driver, orchestrator: Orchestrator
) -> None:
    r = await driver.call("run_trial", orchestrator=orchestrator.endpoint, params={"actors": []})
    assert "INVALID_ARGUMENT" in r["start_error"]
    await assert_still_serving(driver, orchestrator)


async def test_environment_that_never_initializes(driver: Driver) -> None:
    async with Orchestrator(
        lifecycle_port=0, host="127.0.0.1", environment_init_timeout=0.5
    ) as orch:
        r = await driver.call(
            "run_trial",
            orchestrator=orch.endpoint,
            params={"env_config": {"mode": "no_start"}, "actors": [{"name": "p1"}]},
        )
        assert r["final_state"] == "ENDED"
        assert end_reason(orch, r) == (
            "Failed to initialize environment [no init reply within 0.5s]"
        )


async def test_hard_terminate_while_waiting_for_a_client_actor(
    driver: Driver, orchestrator: Orchestrator
) -> None:
    r = await driver.call(
        "run_trial",
        orchestrator=orchestrator.endpoint,
        terminate_after=0.3,
        hard=True,
        params={"actors": [{"name": "p1"}, {"name": "c1", "endpoint": "client"}]},
    )
    assert r["final_state"] == "ENDED"
    assert end_reason(orchestrator, r) == "Externally requested"
    trial = orchestrator.get_trial(r["trial_id"])
    assert trial is not None
    for _ in range(100):  # the trial task finishes: nothing left waiting for the client actor
        if trial.closed:
            break
        await asyncio.sleep(0.05)
    assert trial.closed
