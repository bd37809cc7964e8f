"""Pre-trial hooks and datalogs served by our runtime, called by the embedded Orchestrator."""

from __future__ import annotations

import asyncio
import warnings
from typing import Any

import pytest

import cogment
from cogment_services.orchestrator import Orchestrator
from tests.cogment._runtime_helpers import Action, Observation, TrialConfig, make_settings, serving

pytestmark = pytest.mark.timeout(60)

SETTINGS = make_settings()


def register_trial_components(ctx: cogment.Context, done: asyncio.Event) -> None:
    async def environment(session: cogment.EnvironmentSession[Any, Any, Any]) -> None:
        session.start([("*", Observation(name="start"))])
        async for event in session.all_events():
            if event.actions:
                session.add_reward(2.0, 1.0, ["*"])
                if event.type == cogment.EventType.ENDING:
                    session.end([("*", Observation(name="end"))])
                else:
                    session.produce_observations([("*", Observation(name="obs"))])
        done.set()

    async def player(session: cogment.ActorSession[Any, Any, Any]) -> None:
        session.start()
        async for event in session.all_events():
            if event.observation is not None and event.type == cogment.EventType.ACTIVE:
                session.do_action(Action(content=b"act"))

    ctx.register_environment(environment, "env-impl")
    ctx.register_actor(player, "player-impl", ["player"])


async def test_pre_trial_hook_sets_parameters_and_datalog_gets_samples() -> None:
    ctx = cogment.Context(user_id="hooks", cog_settings=SETTINGS)
    env_done = asyncio.Event()
    register_trial_components(ctx, env_done)
    hook_calls: list[tuple[str, str, Any]] = []
    samples: list[cogment.LogSample] = []
    datalog_info: list[tuple[str, str, int]] = []
    datalog_done = asyncio.Event()

    async def hook(session: cogment.PrehookSession[Any]) -> None:
        params = session.trial_parameters
        hook_calls.append((session.get_trial_id(), session.get_user_id(), params.config))
        url = f"grpc://127.0.0.1:{ctx.served_port}"
        params.environment_endpoint = url
        params.environment_implementation = "env-impl"
        params.environment_name = "env"
        params.max_steps = 2
        params.datalog_endpoint = url
        params.actors = [
            cogment.ActorParameters(
                SETTINGS, class_name="player", name=name, endpoint=url, implementation="player-impl"
            )
            for name in ("a", "b")
        ]

    async def datalog(session: cogment.DatalogSession) -> None:
        datalog_info.append(
            (session.trial_id, session.user_id, len(session.trial_parameters.actors))
        )
        session.start()
        async for sample in session.all_samples():
            samples.append(sample)
        datalog_done.set()

    ctx.register_pre_trial_hook(hook)
    ctx.register_datalog(datalog)
    async with (
        serving(ctx) as port,
        Orchestrator(
            lifecycle_port=0, host="127.0.0.1", pre_trial_hooks=[f"grpc://127.0.0.1:{port}"]
        ) as orch,
    ):
        controller = await ctx.get_controller(cogment.Endpoint(orch.endpoint))
        trial_id = await controller.start_trial(trial_config=TrialConfig(content=b"cfg"))
        await asyncio.wait_for(env_done.wait(), 20)
        await asyncio.wait_for(datalog_done.wait(), 20)
    assert hook_calls == [(trial_id, "hooks", TrialConfig(content=b"cfg"))]
    assert datalog_info == [(trial_id, "hooks", 2)]
    assert samples, "no datalog sample"
    assert list(samples[0].all_actor_names()) == ["a", "b"]
    first = samples[0]
    assert first.get_observation("a") is not None
    obs = first.get_observation(1)
    assert obs is not None and obs.observation == Observation(name="start")
    action = first.get_action("b")
    assert action is not None and action.action == Action(content=b"act")
    assert action.status == cogment.ActorStatus.ACTIVE
    rewards = [(r.receiver_name, r.value) for s in samples for r in s.all_rewards()]
    assert rewards == [("*", 2.0)] * 3  # as sent (wildcard), one per action set
    assert samples[-1].state.name == "ENDED"
    copy = cogment.LogSample(samples[0]._parameters)
    copy.deserialize(first.serialize())
    assert copy.tick_id == first.tick_id and copy.get_serialization_type() == 2
    with pytest.raises(cogment.CogmentError):
        first.get_action("nobody")


async def test_pre_trial_hook_deprecated_attributes_keep_other_fields() -> None:
    ctx = cogment.Context(user_id="legacy", cog_settings=SETTINGS)
    env_done = asyncio.Event()
    register_trial_components(ctx, env_done)
    seen: list[Any] = []

    async def legacy_hook(session: Any) -> None:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            seen.append((session.trial_max_steps, [a["name"] for a in session.actors]))
        assert any(issubclass(w.category, DeprecationWarning) for w in caught)
        url = f"grpc://127.0.0.1:{ctx.served_port}"
        session.trial_max_steps = 1
        session.environment_endpoint = url
        session.environment_implementation = "env-impl"
        for actor in session.actors:
            actor["endpoint"] = url
            actor["implementation"] = "player-impl"

    ctx.register_pre_trial_hook(legacy_hook)
    default_params = {
        "properties": {"kept": "yes"},
        "environment": {"name": "env"},
        "max_steps": 50,
        "actors": [
            {
                "name": "a",
                "actor_class": "player",
                "endpoint": "grpc://nowhere:1",
                "response_timeout": 7.0,
            }
        ],
    }
    async with (
        serving(ctx) as port,
        Orchestrator(
            lifecycle_port=0,
            host="127.0.0.1",
            params=default_params,
            pre_trial_hooks=[f"grpc://127.0.0.1:{port}"],
        ) as orch,
    ):
        controller = await ctx.get_controller(cogment.Endpoint(orch.endpoint))
        trial_id = await controller.start_trial()
        await asyncio.wait_for(env_done.wait(), 20)
        info = await controller.get_trial_info([trial_id])
        trial = orch.get_trial(trial_id)
    assert seen == [(50, ["a"])]
    assert info[0].properties is not None and dict(info[0].properties) == {"kept": "yes"}
    assert trial is not None and trial.params is not None
    assert trial.params.max_steps == 1
    (actor,) = trial.params.actors
    assert (actor.endpoint, actor.implementation) == (f"grpc://127.0.0.1:{port}", "player-impl")
    assert actor.response_timeout == 7.0  # fields the attribute API does not cover are kept


async def test_raising_hook_and_datalog_are_logged_and_end_their_calls(caplog: Any) -> None:
    ctx = cogment.Context(user_id="hooks", cog_settings=SETTINGS)
    env_done = asyncio.Event()
    register_trial_components(ctx, env_done)
    calls: list[str] = []

    async def hook(session: cogment.PrehookSession[Any]) -> None:
        calls.append("hook")
        if session.trial_parameters.config is not None:
            raise ValueError("hook refuses")
        url = f"grpc://127.0.0.1:{ctx.served_port}"
        params = session.trial_parameters
        params.environment_endpoint = url
        params.environment_implementation = "env-impl"
        params.max_steps = 1
        params.datalog_endpoint = url
        params.actors = [
            cogment.ActorParameters(
                SETTINGS, class_name="player", name="a", endpoint=url, implementation="player-impl"
            )
        ]

    async def datalog(session: cogment.DatalogSession) -> None:
        calls.append("datalog")
        raise KeyError("datalog breaks")

    ctx.register_pre_trial_hook(hook)
    ctx.register_datalog(datalog)
    async with (
        serving(ctx) as port,
        Orchestrator(
            lifecycle_port=0, host="127.0.0.1", pre_trial_hooks=[f"grpc://127.0.0.1:{port}"]
        ) as orch,
    ):
        controller = await ctx.get_controller(cogment.Endpoint(orch.endpoint))
        with pytest.raises(cogment.CogmentError, match="hook refuses"):
            await controller.start_trial(trial_config=TrialConfig(content=b"x"))
        await controller.start_trial()  # the datalog fails, the trial still runs
        await asyncio.wait_for(env_done.wait(), 20)
    assert calls[:2] == ["hook", "hook"] and "datalog" in calls
    logged = [r.exc_text or "" for r in caplog.records]
    assert any("ValueError: hook refuses" in t for t in logged)
    assert any("KeyError: 'datalog breaks'" in t for t in logged)
