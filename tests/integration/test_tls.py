"""Every service started from the ``cogment`` command with mutual TLS (``--private_key``,
``--trust_chain``, ``--root_cert``), used through our SDK: the Directory, the Trial Datastore and
the Model Registry registered to it over TLS and discovered by a Context; the Orchestrator
running a trial whose components and datalog are served with TLS. Clients without a client
certificate, with an untrusted one, or in plain gRPC get nothing; neither does a wrong
Directory token."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import grpc
import grpc.aio
import pytest

import cogment
from cogment import CogmentError
from cogment._directory import Directory
from cogment._endpoint_url import ServiceType
from cogment.api import common_pb2
from tests.cogment._runtime_helpers import Action, Observation, PlayerConfig, make_settings
from tests.integration._pki import Pki, needs_openssl
from tests.integration._processes import cogment_service, free_port

pytestmark = [needs_openssl, pytest.mark.timeout(120)]

SETTINGS = make_settings()
TOKEN = "s3cret"
_VERSION_METHODS = {
    "directory": "/cogmentAPI.DirectorySP/Version",
    "trial_datastore": "/cogmentAPI.TrialDatastoreSP/Version",
    "model_registry": "/cogmentAPI.ModelRegistrySP/Version",
    "orchestrator": "/cogmentAPI.TrialLifecycleSP/Version",
}


async def version(target: str, method: str, credentials: grpc.ChannelCredentials | None) -> Any:
    channel = (
        grpc.aio.secure_channel(target, credentials)
        if credentials is not None
        else grpc.aio.insecure_channel(target)
    )
    async with channel:
        call = channel.unary_unary(
            method,
            request_serializer=common_pb2.VersionRequest.SerializeToString,
            response_deserializer=common_pb2.VersionInfo.FromString,
        )
        return await call(common_pb2.VersionRequest(), timeout=5)


@contextlib.asynccontextmanager
async def serving(ctx: cogment.Context, served: cogment.ServedEndpoint) -> AsyncIterator[int]:
    task = asyncio.create_task(
        ctx.serve_all_registered(served, directory_registration_host="127.0.0.1", host="127.0.0.1")
    )
    try:
        for _ in range(1000):
            if ctx.served_port != 0:
                break
            if task.done():
                task.result()
            await asyncio.sleep(0.01)
        else:
            raise TimeoutError("serve_all_registered did not start within 10 s")
        yield ctx.served_port
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def inquire(
    pki: Pki, url: str, service_type: ServiceType, properties: dict[str, str] | None = None
) -> list[tuple[str, bool]]:
    """The Directory's answer for a type, waiting (5 s at most) for a first entry."""
    async with Directory.connect(pki.endpoint(url), TOKEN) as directory:
        for _ in range(100):
            found = await directory.inquire_by_type(service_type, properties)
            if found:
                return found
            await asyncio.sleep(0.05)
    raise AssertionError(f"nothing registered as {service_type} {properties}")


def register(ctx: cogment.Context, done: asyncio.Event) -> None:
    async def environment(session: cogment.EnvironmentSession[Any, Any, Any]) -> None:
        session.start([("*", Observation(name="0"))])
        async for event in session.all_events():
            if event.actions:
                tick = event.actions[0].tick_id
                session.add_reward(1.0, 1.0, ["*"])
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
                session.do_action(Action(content=f"{session.name}".encode()))

    ctx.register_environment(environment, "env-impl")
    ctx.register_actor(player, "player-impl", ["player"])


async def test_every_service_from_the_cli_over_mutual_tls(pki: Pki, tmp_path: Path) -> None:
    ports = {name: free_port() for name in _VERSION_METHODS}
    directory_url = f"grpc://127.0.0.1:{ports['directory']}"
    registered = [
        f"--directory_endpoint={directory_url}",
        f"--directory_authentication_token={TOKEN}",
        "--directory_registration_host=127.0.0.1",
    ]
    tls = pki.cli_flags(mutual=True)
    with (
        cogment_service("directory", f"--port={ports['directory']}", *tls, folder=tmp_path),
        cogment_service(
            "trial_datastore",
            f"--port={ports['trial_datastore']}",
            f"--file_storage={tmp_path / 'trials.db'}",
            *registered,
            *tls,
            folder=tmp_path,
        ),
        cogment_service(
            "model_registry",
            f"--port={ports['model_registry']}",
            f"--archive_dir={tmp_path / 'models'}",
            *registered,
            *tls,
            folder=tmp_path,
        ),
        cogment_service(
            "orchestrator",
            f"--lifecycle_port={ports['orchestrator']}",
            f"--actor_port={ports['orchestrator']}",
            *tls,
            folder=tmp_path,
        ),
    ):
        # 1. Who gets in: only clients with a certificate signed by the CA.
        ca = pki.ca.read_bytes()
        mutual = grpc.ssl_channel_credentials(ca, pki.key.read_bytes(), pki.cert.read_bytes())
        no_cert = grpc.ssl_channel_credentials(ca)
        rogue = grpc.ssl_channel_credentials(
            ca, pki.rogue_key.read_bytes(), pki.rogue_cert.read_bytes()
        )
        for name, method in _VERSION_METHODS.items():
            target = f"127.0.0.1:{ports[name]}"
            reply = await version(target, method, mutual)
            assert reply.versions, name
            for credentials, what in ((no_cert, "no"), (rogue, "an untrusted"), (None, "plain")):
                with pytest.raises(grpc.aio.AioRpcError) as refused:
                    await version(target, method, credentials)
                assert refused.value.code() == grpc.StatusCode.UNAVAILABLE, (name, what)

        # 2. The Datastore and the Model Registry registered themselves over TLS, as GRPC_SSL.
        async with Directory.connect(pki.endpoint(directory_url), TOKEN) as directory:
            for service_type, port in (
                (ServiceType.DATASTORE, ports["trial_datastore"]),
                (ServiceType.DATALOG, ports["trial_datastore"]),
                (ServiceType.MODEL_REG, ports["model_registry"]),
            ):
                found = await directory.inquire_by_type(service_type)
                assert found == [(f"grpc://127.0.0.1:{port}", True)], service_type
        async with Directory.connect(pki.endpoint(directory_url), "wrong") as directory:
            for service_type in (ServiceType.DATASTORE, ServiceType.MODEL_REG):
                assert await directory.inquire_by_type(service_type) == []

        # 3. A Context discovers them through the Directory, serves its components with TLS
        #    (registered too) and runs a trial logged to the discovered Datastore.
        ctx = cogment.Context(
            user_id="tls",
            cog_settings=SETTINGS,
            directory_endpoint=pki.endpoint(directory_url),
            directory_auth_token=TOKEN,
        )
        done = asyncio.Event()
        register(ctx, done)
        discover = pki.endpoint("cogment://discover")
        registry = await ctx.get_model_registry_v2(discover)
        await registry.store_model("tls-model", b"\x00weights" * 1000)
        assert await registry.retrieve_model("tls-model") == b"\x00weights" * 1000
        datastore = await ctx.get_datastore(discover)
        assert await datastore.get_trials() == []
        async with serving(ctx, pki.served_endpoint(mutual=True)):
            # serve_all_registered registers once serving: wait for the entries
            actors = await inquire(
                pki, directory_url, ServiceType.ACTOR, {"__actor_class": "player"}
            )
            environments = await inquire(pki, directory_url, ServiceType.ENVIRONMENT)
            datalogs = await inquire(pki, directory_url, ServiceType.DATALOG)
            assert actors[0][1] and environments[0][1], "registered as GRPC_SSL"
            actor_url = actors[0][0]
            params = cogment.TrialParameters(
                SETTINGS,
                environment_endpoint=environments[0][0],
                environment_implementation="env-impl",
                datalog_endpoint=datalogs[0][0],
                max_steps=10,
                actors=[
                    cogment.ActorParameters(
                        SETTINGS,
                        class_name="player",
                        name=name,
                        endpoint=actor_url,
                        implementation="player-impl",
                        config=PlayerConfig(content=b""),
                    )
                    for name in ("a", "b")
                ],
            )
            controller = await ctx.get_controller(
                pki.endpoint(f"grpc://127.0.0.1:{ports['orchestrator']}")
            )
            trial_id = await controller.start_trial(trial_params=params)
            await asyncio.wait_for(done.wait(), 20)
        infos = []
        for _ in range(100):
            infos = await datastore.get_trials(ids=[trial_id])
            if infos and infos[0].trial_state == cogment.TrialState.ENDED:
                break
            await asyncio.sleep(0.05)
        samples = [sample async for sample in datastore.all_samples(infos)]
        assert [s.tick_id for s in samples] == [0, 1, 2, 3]
        assert samples[0].actors_data["a"].action_serialized is not None

        # 4. A wrong Directory token discovers nothing.
        intruder = cogment.Context(
            user_id="intruder",
            cog_settings=SETTINGS,
            directory_endpoint=pki.endpoint(directory_url),
            directory_auth_token="wrong",
        )
        with pytest.raises(CogmentError):
            await intruder.get_model_registry_v2(pki.endpoint("cogment://discover"))
        with pytest.raises(CogmentError):
            await intruder.get_datastore(pki.endpoint("cogment://discover"))


async def test_orchestrator_with_tls_discovers_through_a_tls_directory(pki: Pki) -> None:
    from cogment_services.directory import Directory as DirectoryService
    from cogment_services.orchestrator import Orchestrator

    tls = pki.server_tls(mutual=True)
    async with DirectoryService(port=0, tls=tls) as directory:
        directory_url = directory.endpoint
        async with Orchestrator(
            lifecycle_port=0,
            host="127.0.0.1",
            tls=tls,
            directory_endpoint=directory_url,
            directory_authentication_token=TOKEN,
            directory_registration_host="127.0.0.1",
        ):
            ctx = cogment.Context(
                user_id="tls",
                cog_settings=SETTINGS,
                directory_endpoint=pki.endpoint(directory_url),
                directory_auth_token=TOKEN,
            )
            done = asyncio.Event()
            register(ctx, done)
            async with serving(ctx, pki.served_endpoint(mutual=True)):
                await inquire(pki, directory_url, ServiceType.ENVIRONMENT)
                params = cogment.TrialParameters(
                    SETTINGS,
                    environment_endpoint="cogment://discover",
                    environment_implementation="env-impl",
                    max_steps=10,
                    actors=[
                        cogment.ActorParameters(
                            SETTINGS,
                            class_name="player",
                            name="a",
                            endpoint="cogment://discover",
                            implementation="player-impl",
                        )
                    ],
                )
                controller = await ctx.get_controller(pki.endpoint("cogment://discover"))
                await controller.start_trial(trial_params=params)
                await asyncio.wait_for(done.wait(), 20)


async def test_directory_health_checks_tls_services_through_their_status(pki: Pki) -> None:
    """A TLS Directory asks TLS services (mutual TLS) their ``Status`` with its own certificate:
    the load is known; a TLS entry with nothing behind it is hidden."""
    from cogment_services.directory import Directory as DirectoryService

    tls = pki.server_tls(mutual=True)
    async with DirectoryService(port=0, tls=tls, health_check_interval=3600) as directory:
        ctx = cogment.Context(
            user_id="tls",
            cog_settings=SETTINGS,
            directory_endpoint=pki.endpoint(directory.endpoint),
            directory_auth_token=TOKEN,
        )
        register(ctx, asyncio.Event())
        async with (
            serving(ctx, pki.served_endpoint(mutual=True)),
            Directory.connect(pki.endpoint(directory.endpoint), TOKEN) as client,
        ):
            await inquire(pki, directory.endpoint, ServiceType.ENVIRONMENT)
            dead_id, _ = await client.register_host(
                ServiceType.DATASTORE, "127.0.0.1", free_port(), ssl=True
            )
            await directory.check_health_now()
            entries = {entry.service_id: entry for entry in directory.registry.entries()}
            assert entries[dead_id].hidden
            served = [entry for key, entry in entries.items() if key != dead_id]
            assert len(served) == 2  # the environment and the actor class
            for entry in served:
                assert not entry.hidden
                assert entry.load is not None, "Status answered over mutual TLS"
