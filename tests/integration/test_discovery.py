"""Discovery end to end with our SDK and our services, all embedded: a Directory; a Trial
Datastore and a Model Registry registered to it; an Orchestrator registering itself and
resolving ``cogment://discover`` endpoints through it; a Context serving the environment and the
actors (registered by ``serve_all_registered``) and reaching everything by discovery only."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import pytest

import cogment
from cogment._directory import Directory
from cogment._endpoint_url import ServiceType
from cogment._model_registry import ModelRegistry
from cogment_services.directory import Directory as DirectoryService
from cogment_services.model_registry import ModelRegistryServer
from cogment_services.model_registry._directory import (
    DirectoryRegistration as ModelRegistryRegistration,
)
from cogment_services.orchestrator import Orchestrator
from cogment_services.trial_datastore import TrialDatastore
from cogment_services.trial_datastore._registration import (
    DirectoryRegistration as DatastoreRegistration,
)
from tests.cogment._runtime_helpers import Action, Observation, PlayerConfig, make_settings

pytestmark = pytest.mark.timeout(60)

SETTINGS = make_settings()
TOKEN = "team-token"


@contextlib.asynccontextmanager
async def serving(ctx: cogment.Context) -> AsyncIterator[int]:
    # no directory_registration_host: bound to 127.0.0.1, that is the address registered
    task = asyncio.create_task(
        ctx.serve_all_registered(cogment.ServedEndpoint(0), host="127.0.0.1")
    )
    try:
        yield await asyncio.wait_for(ctx.wait_for_serving(), 10)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def register(ctx: cogment.Context, done: asyncio.Event, seen: list[str]) -> None:
    async def environment(session: cogment.EnvironmentSession[Any, Any, Any]) -> None:
        session.start([("*", Observation(name="0"))])
        async for event in session.all_events():
            if event.actions:
                tick = event.actions[0].tick_id
                seen.extend(a.action.content.decode() for a in event.actions if a.action)
                observations = [("*", Observation(name=str(tick + 1)))]
                if tick >= 2:
                    session.end(observations)
                else:
                    session.produce_observations(observations)
        done.set()

    async def player(session: cogment.ActorSession[Any, Any, Any]) -> None:
        session.start()
        async for event in session.all_events():
            if event.observation is not None and event.type == cogment.EventType.ACTIVE:
                session.do_action(Action(content=f"{session.name}@{session.impl_name}".encode()))

    ctx.register_environment(environment, "env-impl", properties={"zone": "eu"})
    ctx.register_actor(player, "smart", ["player"])
    ctx.register_actor(player, "dumb", ["player"])


async def test_everything_by_discovery() -> None:
    async with contextlib.AsyncExitStack() as stack:
        directory = await stack.enter_async_context(
            DirectoryService(port=0, health_check_interval=3600)
        )
        datastore_service = await stack.enter_async_context(TrialDatastore(port=0))
        registry_service = await stack.enter_async_context(ModelRegistryServer(port=0))
        for registration, port in (
            (DatastoreRegistration(directory.endpoint, TOKEN, "127.0.0.1"), datastore_service.port),
            (ModelRegistryRegistration(directory.endpoint, TOKEN, "127.0.0.1"), registry_service.port),
        ):  # fmt: skip
            await registration.register(port)
            stack.push_async_callback(registration.deregister)
        await stack.enter_async_context(
            Orchestrator(
                lifecycle_port=0,
                host="127.0.0.1",
                directory_endpoint=directory.endpoint,
                directory_authentication_token=TOKEN,
                directory_registration_host="127.0.0.1",
            )
        )
        ctx = cogment.Context(
            user_id="discovery",
            cog_settings=SETTINGS,
            directory_endpoint=cogment.Endpoint(directory.endpoint),
            directory_auth_token=TOKEN,
        )
        done, seen = asyncio.Event(), list[str]()
        register(ctx, done, seen)
        port = await stack.enter_async_context(serving(ctx))

        # serve_all_registered bound 127.0.0.1 and registered that address, one entry per
        # implementation x actor class, with the documented properties
        async with Directory.connect(directory.endpoint, TOKEN) as client:
            for _ in range(100):  # the registrations follow the start of serving
                actors = await client.inquire_by_type(
                    ServiceType.ACTOR, {"__actor_class": "player"}
                )
                if len(actors) == 2:
                    break
                await asyncio.sleep(0.05)
            assert actors == [(f"grpc://127.0.0.1:{port}", False)] * 2
            assert await client.inquire_by_type(ServiceType.ENVIRONMENT, {"zone": "eu"}) == [
                (f"grpc://127.0.0.1:{port}", False)
            ]
        params = cogment.TrialParameters(
            SETTINGS,
            environment_endpoint="cogment://discover",
            environment_implementation="env-impl",
            datalog_endpoint="cogment://discover",
            max_steps=10,
            actors=[
                cogment.ActorParameters(
                    SETTINGS,
                    class_name="player",
                    name=name,
                    endpoint="cogment://discover",
                    implementation=impl,
                    config=PlayerConfig(content=b""),
                )
                for name, impl in (("a", "smart"), ("b", "dumb"))
            ],
        )
        controller = await ctx.get_controller(cogment.Endpoint("cogment://discover"))
        trial_id = await controller.start_trial(trial_params=params)
        await asyncio.wait_for(done.wait(), 20)
        assert seen[:2] == ["a@smart", "b@dumb"]

        datastore = await ctx.get_datastore(cogment.Endpoint("cogment://discover"))
        for _ in range(200):
            infos = await datastore.get_trials(ids=[trial_id])
            if infos and infos[0].trial_state == cogment.TrialState.ENDED:
                break
            await asyncio.sleep(0.02)
        samples = [sample async for sample in datastore.all_samples(infos)]
        assert [sample.tick_id for sample in samples] == [0, 1, 2, 3]

        registry: ModelRegistry = await ctx.get_model_registry_v2(
            cogment.Endpoint("cogment://discover")
        )
        await registry.store_model("found", b"by discovery")
        assert await registry.retrieve_model("found") == b"by discovery"

        # the same discovery with another token finds nothing
        stranger = cogment.Context(
            user_id="stranger",
            cog_settings=SETTINGS,
            directory_endpoint=cogment.Endpoint(directory.endpoint),
            directory_auth_token="other",
        )
        with pytest.raises(cogment.CogmentError):
            await stranger.get_datastore(cogment.Endpoint("cogment://discover"))
