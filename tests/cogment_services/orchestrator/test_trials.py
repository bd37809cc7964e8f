"""Trials run by published-SDK (2.10.1) components on our embedded Orchestrator."""

from __future__ import annotations

from typing import Any

import pytest

from cogment_services.orchestrator import Orchestrator

from .conftest import Driver

pytestmark = pytest.mark.interop

TWO_ACTORS = [{"name": "p1"}, {"name": "p2", "class": "observer"}]


def describe(orch: Orchestrator, result: dict[str, Any]) -> str:
    trial = orch.get_trial(result["trial_id"])
    if trial is None:
        return "garbage collected"
    return f"state {trial.state} tick {trial.tick_id} reason {trial.end_reason}"


def end_reason(orch: Orchestrator, result: dict[str, Any]) -> str | None:
    trial = orch.get_trial(result["trial_id"])
    assert trial is not None
    return trial.end_reason


async def test_max_steps_full_lifecycle(driver: Driver, orchestrator: Orchestrator) -> None:
    r = await driver.call(
        "run_trial",
        orchestrator=orchestrator.endpoint,
        watch=True,
        wait_for=["env", "p1", "p2"],
        params={"max_steps": 5, "actors": TWO_ACTORS},
    )
    assert r["final_state"] == "ENDED"
    assert r["final_tick"] == 6
    assert r["watch"] == ["INITIALIZING", "PENDING", "RUNNING", "TERMINATING", "ENDED"]
    env = r["records"]["env"]
    assert env["actors"] == [["p1", "player"], ["p2", "observer"]]
    assert [t["tick"] for t in env["ticks"]] == [0, 1, 2, 3, 4, 5]
    assert env["ticks"][-1]["type"] == "ENDING"
    assert env["event_types"] == ["ACTIVE", "ENDING", "FINAL"]
    for name in ("p1", "p2"):
        actor = r["records"][name]
        assert [o[0] for o in actor["observations"]] == [0, 1, 2, 3, 4, 5, 6]
        assert actor["observations"][-1][2] == "ENDING"
        assert actor["event_types"] == ["ACTIVE", "ENDING", "FINAL"]
    assert end_reason(orchestrator, r) == "Maximum number of steps reached"


async def test_environment_ends_the_trial(driver: Driver, orchestrator: Orchestrator) -> None:
    r = await driver.call(
        "run_trial",
        orchestrator=orchestrator.endpoint,
        wait_for=["env", "p1"],
        params={"env_config": {"end_at": 3}, "actors": [{"name": "p1"}]},
    )
    assert r["final_state"] == "ENDED"
    p1 = r["records"]["p1"]
    assert p1["observations"][-1] == [3, 3, "ENDING"]
    assert "FINAL" in p1["event_types"]
    assert end_reason(orchestrator, r) == "Environment ended trial"


async def test_soft_terminate(driver: Driver, orchestrator: Orchestrator) -> None:
    r = await driver.call(
        "run_trial",
        orchestrator=orchestrator.endpoint,
        terminate_after=0.3,
        hard=False,
        wait_for=["env", "p1", "p2"],
        params={"actors": TWO_ACTORS},
    )
    assert r["final_state"] == "ENDED"
    assert r["final_tick"] > 0
    assert r["records"]["env"]["event_types"] == ["ACTIVE", "ENDING", "FINAL"]
    assert r["records"]["p1"]["event_types"] == ["ACTIVE", "ENDING", "FINAL"]
    assert end_reason(orchestrator, r) == "End requested"


async def test_hard_terminate(driver: Driver, orchestrator: Orchestrator) -> None:
    r = await driver.call(
        "run_trial",
        orchestrator=orchestrator.endpoint,
        terminate_after=0.3,
        hard=True,
        wait_for=["env", "p1", "p2"],
        params={"actors": TWO_ACTORS},
    )
    assert r["final_state"] == "ENDED"
    # No ENDING or FINAL event reaches anyone: the event loops just stop.
    assert r["records"]["env"]["event_types"] == ["ACTIVE"]
    assert r["records"]["p1"]["event_types"] == ["ACTIVE"]
    assert end_reason(orchestrator, r) == "Externally requested"


async def test_trial_info_and_actor_list(driver: Driver, orchestrator: Orchestrator) -> None:
    r = await driver.call(
        "run_trial",
        orchestrator=orchestrator.endpoint,
        get_info_while_running=True,
        terminate_after=0.0,
        params={"actors": TWO_ACTORS, "properties": {"k": "v"}},
    )
    assert r["running_info"][0][0] == r["trial_id"]
    assert r["actors"] == [["p1", "player"], ["p2", "observer"]]
    trial = orchestrator.get_trial(r["trial_id"])
    assert trial is not None and trial.properties == {"k": "v"}


async def test_requested_trial_id_reuse_gives_empty_id(
    driver: Driver, orchestrator: Orchestrator
) -> None:
    first = await driver.call(
        "run_trial",
        orchestrator=orchestrator.endpoint,
        trial_id="my-trial",
        params={"max_steps": 2, "actors": [{"name": "p1"}]},
    )
    assert first["trial_id"] == "my-trial"
    second = await driver.call(
        "run_trial",
        orchestrator=orchestrator.endpoint,
        trial_id="my-trial",
        params={"max_steps": 2, "actors": [{"name": "p1"}]},
    )
    assert second["trial_id"] == ""


async def test_versions(driver: Driver, orchestrator: Orchestrator) -> None:
    versions = await driver.call("misc", orchestrator=orchestrator.endpoint, what="versions")
    assert list(versions) == ["cogment"]


async def test_client_actors_join_by_name_and_class(
    driver: Driver, orchestrator: Orchestrator
) -> None:
    r = await driver.call(
        "run_trial",
        orchestrator=orchestrator.endpoint,
        join=[{"actor_name": "c1"}, {"actor_class": "observer"}],
        wait_for=["env", "c1", "c2", "s1"],
        params={
            "max_steps": 3,
            "actors": [
                {"name": "c1", "endpoint": "client"},
                {"name": "s1"},
                {"name": "c2", "class": "observer", "endpoint": "client"},
            ],
        },
    )
    assert r["final_state"] == "ENDED", r
    assert "join_errors" not in r
    for name in ("c1", "c2", "s1"):
        assert [o[0] for o in r["records"][name]["observations"]] == [0, 1, 2, 3, 4]
        assert r["records"][name]["event_types"] == ["ACTIVE", "ENDING", "FINAL"]
    assert r["records"]["c2"]["class"] == "observer"


async def test_client_actor_that_never_joins(driver: Driver, orchestrator: Orchestrator) -> None:
    r = await driver.call(
        "run_trial",
        orchestrator=orchestrator.endpoint,
        params={
            "actors": [
                {"name": "p1"},
                {"name": "c1", "endpoint": "client", "initial_connection_timeout": 0.5},
            ],
        },
    )
    assert r["final_state"] == "ENDED"
    assert end_reason(orchestrator, r) == "Failed to initialize all actors"


async def test_optional_actors_unavailable_and_default(
    driver: Driver, orchestrator: Orchestrator
) -> None:
    r = await driver.call(
        "run_trial",
        orchestrator=orchestrator.endpoint,
        wait_for=["env", "p1", "o1", "o2"],
        datalog="self",
        params={
            "max_steps": 3,
            "datalog": "self",
            "actors": [
                {"name": "p1"},
                {
                    "name": "o1",
                    "optional": True,
                    "response_timeout": 0.1,
                    "config": {"behaviour": "silent"},
                },
                {
                    "name": "o2",
                    "optional": True,
                    "response_timeout": 0.1,
                    "default_action": 42,
                    "config": {"behaviour": "silent"},
                },
            ],
        },
    )
    assert r["final_state"] == "ENDED"
    for tick in r["records"]["env"]["ticks"]:
        assert tick["actions"][1] == ["UNAVAILABLE", None]
        assert tick["actions"][2] == ["ACTIVE", 42]
    samples = [s for s in r["records"]["datalog"] if s["state"] != "ENDED"]
    assert samples and all(s["unavailable_actors"] == [1] for s in samples)
    assert all(s["default_actors"] == [2] for s in samples)


async def test_optional_actor_unreachable_is_disengaged(
    driver: Driver, orchestrator: Orchestrator
) -> None:
    r = await driver.call(
        "run_trial",
        orchestrator=orchestrator.endpoint,
        wait_for=["env", "p1"],
        params={
            "max_steps": 2,
            "actors": [
                {"name": "p1"},
                {"name": "gone", "optional": True, "endpoint": "grpc://127.0.0.1:1"},
            ],
        },
    )
    assert r["final_state"] == "ENDED"
    assert all(t["actions"][1] == ["UNAVAILABLE", None] for t in r["records"]["env"]["ticks"])


async def test_rewards_wildcards_and_aggregation(
    driver: Driver, orchestrator: Orchestrator
) -> None:
    r = await driver.call(
        "run_trial",
        orchestrator=orchestrator.endpoint,
        wait_for=["env", "p1", "p2", "p3"],
        params={
            "max_steps": 3,
            "actors": [
                {"name": "p1", "config": {"behaviour": "reward", "value": 1, "target": "*"}},
                {
                    "name": "p2",
                    "config": {
                        "behaviour": "reward",
                        "value": 4,
                        "target": "observer.*",
                        "confidence": 3,
                    },
                },
                {"name": "p3", "class": "observer", "config": {"value": 0}},
            ],
        },
    )
    assert r["final_state"] == "ENDED"
    p1 = r["records"]["p1"]["rewards"]
    p3 = r["records"]["p3"]["rewards"]
    # p1 rewards everyone (itself included); p2 rewards only the observers (p3).
    assert [rw["tick"] for rw in p1] == [0, 1, 2, 3], str(r["records"])
    assert all(rw["receiver"] == "p1" and rw["value"] == pytest.approx(1.0) for rw in p1)
    assert all(rw["sources"] == [["p1", 1.0, 1.0]] for rw in p1)
    # p3: (1 * 1 + 4 * 3) / (1 + 3) = 3.25
    assert [rw["tick"] for rw in p3] == [0, 1, 2, 3]
    assert all(rw["value"] == pytest.approx(3.25) for rw in p3)
    assert all(rw["receiver"] == "p3" for rw in p3)
    assert r["records"]["p2"]["rewards"][0]["sources"] == [["p1", 1.0, 1.0]]


async def test_environment_rewards_reach_every_actor(
    driver: Driver, orchestrator: Orchestrator
) -> None:
    r = await driver.call(
        "run_trial",
        orchestrator=orchestrator.endpoint,
        wait_for=["env", "p1", "p2"],
        params={"max_steps": 2, "env_config": {"mode": "rewards"}, "actors": TWO_ACTORS},
    )
    for name in ("p1", "p2"):
        rewards = r["records"][name]["rewards"]
        assert rewards and all(rw["sources"] == [["env", 10.0, 1.0]] for rw in rewards)


async def test_past_tick_reward_only_reaches_datalog(
    driver: Driver, orchestrator: Orchestrator
) -> None:
    r = await driver.call(
        "run_trial",
        orchestrator=orchestrator.endpoint,
        wait_for=["env", "p1", "p2", "datalog"],
        params={
            "max_steps": 4,
            "datalog": "self",
            "actors": [
                {"name": "p1", "config": {"behaviour": "past_reward", "target": "p2"}},
                {"name": "p2"},
            ],
        },
    )
    assert r["records"]["p2"]["rewards"] == []
    samples = r["records"]["datalog"]
    logged = [t for s in samples for t in s["reward_ticks"]]
    assert logged  # logged with the past tick they were sent for
    assert all(t >= 0 for t in logged)


async def test_messages_between_actors_and_environment(
    driver: Driver, orchestrator: Orchestrator
) -> None:
    r = await driver.call(
        "run_trial",
        orchestrator=orchestrator.endpoint,
        wait_for=["env", "p1", "p2"],
        params={
            "max_steps": 2,
            "env_config": {"mode": "message"},
            "actors": [
                {"name": "p1", "config": {"behaviour": "message", "target": "p2"}},
                {"name": "p2", "config": {"behaviour": "message", "target": "env"}},
            ],
        },
    )
    p1 = r["records"]["p1"]["messages"]
    p2 = r["records"]["p2"]["messages"]
    env = r["records"]["env"]["messages"]
    assert ["p1", "from p1"] in p2
    assert ["env", "env->p1"] in p1
    assert any(m[0] == "p2" and m[1] == "from p2" for m in env)


async def test_datalog_samples(driver: Driver, orchestrator: Orchestrator) -> None:
    r = await driver.call(
        "run_trial",
        orchestrator=orchestrator.endpoint,
        wait_for=["env", "p1", "p2", "datalog"],
        params={"max_steps": 3, "datalog": "self", "actors": TWO_ACTORS},
    )
    assert r["records"]["datalog_params"] == {"env_name": "env", "nb_actors": 2}
    samples = r["records"]["datalog"]
    assert [s["tick"] for s in samples] == [0, 1, 2, 3, 4]
    assert [s["state"] for s in samples] == ["RUNNING"] * 3 + ["TERMINATING", "ENDED"]
    assert samples[0]["action_ticks"] == [0, 0]
    assert samples[-1]["action_ticks"] == [-2, -2]
    assert all(s["obs_tick"] == -1 for s in samples)
    assert "Maximum number of steps reached" in samples[3]["raw_events"]


async def test_datalog_exclude_fields(driver: Driver, orchestrator: Orchestrator) -> None:
    r = await driver.call(
        "run_trial",
        orchestrator=orchestrator.endpoint,
        wait_for=["env", "p1", "p2", "datalog"],
        params={
            "max_steps": 2,
            "datalog": "self",
            "exclude_fields": ["observations", "actions"],
            "actors": TWO_ACTORS,
        },
    )
    samples = r["records"]["datalog"]
    assert samples
    assert all(not s["has_observations"] and s["action_ticks"] == [] for s in samples)


async def test_fifty_concurrent_trials(driver: Driver, orchestrator: Orchestrator) -> None:
    each = [{"trial_id": f"many-{i}"} for i in range(50)]
    results = await driver.call(
        "run_many",
        timeout=120,
        max_wait=90,
        orchestrator=orchestrator.endpoint,
        each=each,
        params={"max_steps": 10, "actors": TWO_ACTORS},
    )
    assert len(results) == 50
    assert sorted(r["trial_id"] for r in results) == sorted(e["trial_id"] for e in each)
    bad = [
        (r["trial_id"], r["final_state"], r["final_tick"], describe(orchestrator, r))
        for r in results
        if r["final_state"] != "ENDED" or r["final_tick"] != 11
    ]
    assert not bad


async def test_reward_older_than_the_buffer_is_an_out_of_sync_sample(
    driver: Driver, orchestrator: Orchestrator
) -> None:
    r = await driver.call(
        "run_trial",
        orchestrator=orchestrator.endpoint,
        wait_for=["env", "p1", "p2", "datalog"],
        params={
            "max_steps": 6,
            "datalog": "self",
            "nb_buffered_ticks": 2,
            "actors": [
                {"name": "p1", "config": {"behaviour": "past_reward", "target": "p2", "value": 3}},
                {"name": "p2"},
            ],
        },
    )
    samples = r["records"]["datalog"]
    in_sync = [s for s in samples if not s["out_of_sync"]]
    out_of_sync = [s for s in samples if s["out_of_sync"]]
    assert [s["tick"] for s in in_sync] == list(range(8))
    # Rewards sent at ticks 3..6 for ticks 0..3: their samples already left the buffer.
    assert [s["tick"] for s in out_of_sync] == [0, 1, 2, 3]
    assert all(s["state"] == "UNKNOWN" and s["nb_rewards"] == 1 for s in out_of_sync)
    assert all(s["raw_events"] == ["Out of sync reward"] for s in out_of_sync)
    assert r["records"]["p2"]["rewards"] == []


async def test_ended_trials_are_garbage_collected(driver: Driver) -> None:
    async with Orchestrator(lifecycle_port=0, host="127.0.0.1", gc_frequency=1) as orch:
        params = {"max_steps": 1, "actors": [{"name": "p1"}]}
        first = await driver.call("run_trial", orchestrator=orch.endpoint, params=params)
        assert orch.get_trial(first["trial_id"]) is not None  # ENDED, still visible
        second = await driver.call("run_trial", orchestrator=orch.endpoint, params=params)
        assert orch.get_trial(first["trial_id"]) is None  # collected by the next StartTrial
        assert orch.get_trial(second["trial_id"]) is not None
        infos = await driver.call("misc", orchestrator=orch.endpoint, what="info_all")
        assert [i[0] for i in infos] == [second["trial_id"]]


async def test_concurrent_trials_with_client_actors(
    driver: Driver, orchestrator: Orchestrator
) -> None:
    each = [{"trial_id": f"clients-{i}"} for i in range(20)]
    results = await driver.call(
        "run_many",
        timeout=120,
        max_wait=90,
        orchestrator=orchestrator.endpoint,
        each=each,
        join=[{"actor_class": "observer"}],
        wait_for=["c1"],
        params={
            "max_steps": 5,
            "actors": [{"name": "p1"}, {"name": "c1", "class": "observer", "endpoint": "client"}],
        },
    )
    assert all(r["final_state"] == "ENDED" and r["final_tick"] == 6 for r in results), results
    assert all("join_errors" not in r for r in results)
    assert all(
        [o[0] for o in r["records"]["c1"]["observations"]] == [0, 1, 2, 3, 4, 5, 6] for r in results
    )
