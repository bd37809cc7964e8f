"""Context.get_datastore and Context.get_model_registry_v2 against the embedded services."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

import cogment
from cogment_services.model_registry import ModelRegistryServer
from cogment_services.orchestrator import Orchestrator
from cogment_services.trial_datastore import TrialDatastore
from tests.cogment._runtime_helpers import Action, Observation, make_settings, serving

pytestmark = pytest.mark.timeout(60)

SETTINGS = make_settings()


async def test_model_registry_client(tmp_path: Path) -> None:
    async with ModelRegistryServer(port=0, archive_dir=tmp_path) as server:
        ctx = cogment.Context(user_id="models", cog_settings=SETTINGS)
        registry = await ctx.get_model_registry_v2(cogment.Endpoint(server.endpoint))
        info = await registry.store_model("m", b"weights", {"k": "v"})
        assert info.iteration == 1
        assert await registry.retrieve_model("m") == b"weights"
        with pytest.warns(DeprecationWarning, match="get_model_registry"):
            v1 = await ctx.get_model_registry(cogment.Endpoint(server.endpoint))
        assert type(v1).__module__ == "cogment._model_registry_v1"


async def test_datastore_client_reads_a_logged_trial() -> None:
    done = asyncio.Event()

    async def env(session: cogment.EnvironmentSession[Any, Any, Any]) -> None:
        session.start([("*", Observation(name="o"))])
        async for event in session.all_events():
            if event.type == cogment.EventType.ENDING:
                session.end([("*", Observation(name="end"))])
            elif event.actions:
                session.produce_observations([("*", Observation(name="o"))])
        done.set()

    async def player(session: cogment.ActorSession[Any, Any, Any]) -> None:
        session.start()
        async for event in session.all_events():
            if event.observation is not None and event.type == cogment.EventType.ACTIVE:
                session.do_action(Action(content=b"a"))

    ctx = cogment.Context(user_id="logged", cog_settings=SETTINGS)
    ctx.register_environment(env, "env")
    ctx.register_actor(player, "player", ["player"])
    async with TrialDatastore(port=0) as datastore_server, serving(ctx) as port:
        async with Orchestrator(lifecycle_port=0, host="127.0.0.1") as orch:
            url = f"grpc://127.0.0.1:{port}"
            params = cogment.TrialParameters(
                SETTINGS,
                environment_endpoint=url,
                datalog_endpoint=datastore_server.endpoint,
                max_steps=2,
                actors=[
                    cogment.ActorParameters(SETTINGS, class_name="player", name="p1", endpoint=url)
                ],
            )
            controller = await ctx.get_controller(cogment.Endpoint(orch.endpoint))
            trial_id = await controller.start_trial(trial_params=params)
            await asyncio.wait_for(done.wait(), 20)
        datastore = await ctx.get_datastore(cogment.Endpoint(datastore_server.endpoint))
        trials: list[Any] = []
        for _ in range(100):  # the last samples may still be arriving
            trials = await datastore.get_trials([trial_id])
            if trials and trials[0].trial_state == cogment.TrialState.ENDED:
                break
            await asyncio.sleep(0.05)
        assert [t.user_id for t in trials] == ["logged"]
        samples = [s async for s in datastore.all_samples(trials)]
        assert samples[0].actors_data["p1"].observation == Observation(name="o")
        assert samples[0].actors_data["p1"].action == Action(content=b"a")
