"""Behaviour of the Directory service against the real server on 127.0.0.1 (port 0)."""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import grpc.aio
import pytest

from cogment._directory import Directory as DirectoryClient
from cogment._directory import ServiceInfo
from cogment._endpoint_url import DiscoveryQuery, ServiceType
from cogment._endpoints import Endpoint
from cogment._errors import CogmentError
from cogment.api import common_pb2, directory_pb2, directory_pb2_grpc
from cogment_services._server import ServiceStartupError, TlsFiles
from cogment_services.directory import Directory

from .conftest import StatusServer, dead_port, start_status_server

pytestmark = pytest.mark.timeout(30)

GRPC = directory_pb2.ServiceEndpoint.GRPC


def by_type(service_type: ServiceType, **properties: str) -> DiscoveryQuery:
    return DiscoveryQuery(service_type, properties)


async def ids(client: DirectoryClient, query: DiscoveryQuery) -> list[int]:
    return [info.service_id for info in await client.inquire(query)]


async def test_register_then_inquire_by_type_properties_and_id(client: DirectoryClient) -> None:
    first, secret = await client.register_host(
        ServiceType.ACTOR, "127.0.0.1", 9001, properties={"__actor_class": "player", "team": "red"}
    )
    assert first != 0 and secret
    second, _ = await client.register_host(
        ServiceType.ACTOR, "127.0.0.1", 9002, properties={"__actor_class": "player", "team": "blue"}
    )
    await client.register_host(ServiceType.ENVIRONMENT, "127.0.0.1", 9003)

    assert await ids(client, by_type(ServiceType.ACTOR)) == [second, first]  # newest first
    assert await ids(client, by_type(ServiceType.ACTOR, team="red")) == [first]
    assert await ids(client, by_type(ServiceType.ACTOR, __actor_class="player", team="blue")) == [
        second
    ]
    assert await ids(client, by_type(ServiceType.ACTOR, team="green")) == []
    assert await ids(client, by_type(ServiceType.ACTOR, missing="")) == []
    assert await ids(client, by_type(ServiceType.DATALOG)) == []

    (info,) = await client.inquire(DiscoveryQuery(None, service_id=first))
    assert info == ServiceInfo(
        first,
        "grpc://127.0.0.1:9001",
        False,
        ServiceType.ACTOR,
        {"__actor_class": "player", "team": "red"},
    )
    assert await client.inquire(DiscoveryQuery(None, service_id=first + 1)) == []


async def test_register_stream_answers_every_request(directory: Directory) -> None:
    async with grpc.aio.insecure_channel(directory.endpoint[len("grpc://") :]) as channel:
        stub = directory_pb2_grpc.DirectorySPStub(channel)

        def request(port: int, protocol: int = GRPC) -> directory_pb2.RegisterRequest:
            return directory_pb2.RegisterRequest(
                endpoint=directory_pb2.ServiceEndpoint(protocol=protocol, host="h", port=port),  # type: ignore[arg-type]
                details=directory_pb2.ServiceDetails(type=directory_pb2.DATALOG_SERVICE),
            )

        async def requests() -> AsyncIterator[directory_pb2.RegisterRequest]:
            yield request(1)
            yield request(0)  # invalid port
            yield request(2, directory_pb2.ServiceEndpoint.UNKNOWN)
            yield request(3)

        replies = [reply async for reply in stub.Register(requests(), timeout=5)]
        assert [reply.status for reply in replies] == [
            directory_pb2.RegisterReply.OK,
            directory_pb2.RegisterReply.FAILED,
            directory_pb2.RegisterReply.FAILED,
            directory_pb2.RegisterReply.OK,
        ]
        assert "Invalid port [0]" in replies[1].error_msg
        assert "protocol" in replies[2].error_msg
        assert replies[0].service_id != replies[3].service_id

        with pytest.raises(grpc.aio.AioRpcError) as caught:
            async for _ in stub.Inquire(directory_pb2.InquireRequest(), timeout=5):
                pass
        assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT


async def test_cogment_client_endpoint(client: DirectoryClient) -> None:
    request = directory_pb2.RegisterRequest(
        endpoint=directory_pb2.ServiceEndpoint(
            protocol=directory_pb2.ServiceEndpoint.COGMENT, host="client"
        ),
        details=directory_pb2.ServiceDetails(type=directory_pb2.ACTOR_SERVICE),
    )
    service_id, _ = await client.register(request)
    (info,) = await client.inquire(by_type(ServiceType.ACTOR))
    assert (info.service_id, info.url) == (service_id, "cogment://client")
    request.details.type = directory_pb2.ENVIRONMENT_SERVICE
    with pytest.raises(CogmentError, match="only be registered for actors"):
        await client.register(request)


async def test_deregister(client: DirectoryClient) -> None:
    service_id, secret = await client.register_host(ServiceType.HOOK, "127.0.0.1", 9001)
    with pytest.raises(CogmentError, match="Wrong secret"):
        await client.deregister_service(service_id, secret + "x")
    with pytest.raises(CogmentError, match="No service"):
        await client.deregister_service(service_id + 1, secret)
    await client.deregister_service(service_id, secret)
    assert await ids(client, by_type(ServiceType.HOOK)) == []
    with pytest.raises(CogmentError, match="No service"):
        await client.deregister_service(service_id, secret)


async def test_authentication_token(directory: Directory) -> None:
    async with (
        DirectoryClient.connect(directory.endpoint, "alpha", timeout=5) as alpha,
        DirectoryClient.connect(directory.endpoint, "beta", timeout=5) as beta,
        DirectoryClient.connect(directory.endpoint, timeout=5) as anonymous,
    ):
        alpha_id, alpha_secret = await alpha.register_host(ServiceType.DATASTORE, "h", 1)
        open_id, _ = await anonymous.register_host(ServiceType.DATASTORE, "h", 2)

        assert await ids(alpha, by_type(ServiceType.DATASTORE)) == [alpha_id]
        assert await ids(anonymous, by_type(ServiceType.DATASTORE)) == [open_id]
        assert await ids(beta, by_type(ServiceType.DATASTORE)) == []
        assert await beta.inquire(DiscoveryQuery(None, service_id=alpha_id)) == []
        # a per-inquiry token (the URL's __authentication-token) replaces the client's
        query = DiscoveryQuery(ServiceType.DATASTORE, authentication_token="alpha")
        assert await ids(beta, query) == [alpha_id]

        with pytest.raises(CogmentError, match="No service"):
            await beta.deregister_service(alpha_id, alpha_secret)
        await alpha.deregister_service(alpha_id, alpha_secret)


async def test_permanent_duplicates_update_in_place(client: DirectoryClient) -> None:
    first = await client.register_host(
        ServiceType.MODEL_REG, "h", 7, properties={"v": "1"}, permanent=True
    )
    again = await client.register_host(
        ServiceType.MODEL_REG, "h", 7, properties={"v": "2"}, permanent=True
    )
    assert again == first
    (info,) = await client.inquire(by_type(ServiceType.MODEL_REG))
    assert info.permanent and dict(info.properties) == {"v": "2"}
    other_port = await client.register_host(ServiceType.MODEL_REG, "h", 8, permanent=True)
    assert other_port[0] != first[0]
    # non-permanent duplicates are separate entries
    a, _ = await client.register_host(ServiceType.OTHER, "h", 9)
    b, _ = await client.register_host(ServiceType.OTHER, "h", 9)
    assert a != b
    assert await ids(client, by_type(ServiceType.OTHER)) == [b, a]


async def test_force_permanent() -> None:
    async with (
        Directory(port=0, force_permanent=True) as directory,
        DirectoryClient.connect(directory.endpoint, timeout=5) as client,
    ):
        first = await client.register_host(ServiceType.ACTOR, "h", 1)
        assert await client.register_host(ServiceType.ACTOR, "h", 1) == first
        (info,) = await client.inquire(by_type(ServiceType.ACTOR))
        assert info.permanent


async def test_version_and_status(client: DirectoryClient) -> None:
    await client.register_host(ServiceType.ACTOR, "h", 1)
    assert await client.status() == {
        "overall_load": "0",
        "nb_entries": "1",
        "load_balancing": "disabled",
    }
    assert await client.status(["nb_entries"]) == {"nb_entries": "1"}
    assert await client.status([]) == {}


async def test_health_checks_hide_then_remove(
    directory: Directory, client: DirectoryClient, status_servers: list[StatusServer]
) -> None:
    alive = await start_status_server()
    status_servers.append(alive)
    alive_id, _ = await client.register_host(ServiceType.ENVIRONMENT, "127.0.0.1", alive.port)
    dead_id, _ = await client.register_host(ServiceType.ENVIRONMENT, "127.0.0.1", dead_port())
    kept_id, _ = await client.register_host(
        ServiceType.ENVIRONMENT, "127.0.0.1", dead_port(), permanent=True
    )
    assert set(await ids(client, by_type(ServiceType.ENVIRONMENT))) == {alive_id, dead_id, kept_id}

    await directory.check_health_now()
    assert alive.calls == 1
    assert await ids(client, by_type(ServiceType.ENVIRONMENT)) == [kept_id, alive_id]
    assert await client.inquire(DiscoveryQuery(None, service_id=dead_id)) == []
    assert directory.registry.get(dead_id) is not None  # hidden, not removed yet

    await directory.check_health_now()
    await directory.check_health_now()
    assert directory.registry.get(dead_id) is None  # removed after 3 failures
    assert directory.registry.get(kept_id) is not None  # permanent: never checked
    assert alive.calls == 3


async def test_hidden_service_comes_back(
    directory: Directory, client: DirectoryClient, status_servers: list[StatusServer]
) -> None:
    alive = await start_status_server("cogmentAPI.ServiceActorSP")
    status_servers.append(alive)
    service_id, _ = await client.register_host(ServiceType.ACTOR, "127.0.0.1", alive.port)
    entry = directory.registry.get(service_id)
    assert entry is not None
    entry.failures = 1  # as after one failed check
    assert await ids(client, by_type(ServiceType.ACTOR)) == []
    await directory.check_health_now()
    assert await ids(client, by_type(ServiceType.ACTOR)) == [service_id]


async def test_other_services_get_a_tcp_check(
    directory: Directory, client: DirectoryClient
) -> None:
    connections: list[int] = []

    async def accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections.append(1)
        writer.close()

    server = await asyncio.start_server(accept, "127.0.0.1", 0)
    try:
        port = server.sockets[0].getsockname()[1]
        up, _ = await client.register_host(ServiceType.OTHER, "127.0.0.1", port)
        down, _ = await client.register_host(ServiceType.OTHER, "127.0.0.1", dead_port())
        await directory.check_health_now()
        assert await ids(client, by_type(ServiceType.OTHER)) == [up]
        hidden = directory.registry.get(down)
        assert hidden is not None and hidden.failures == 1
        assert connections
    finally:
        server.close()
        await server.wait_closed()


async def test_check_on_inquire_and_load_balancing(status_servers: list[StatusServer]) -> None:
    low, close, high, full = [await start_status_server(load=load) for load in (50, 58, 90, 255)]
    status_servers.extend([low, close, high, full])
    async with (
        Directory(port=0, check_on_inquire=True, load_balancing=True) as directory,
        DirectoryClient.connect(directory.endpoint, timeout=5) as client,
    ):
        registered = {
            server.load: (
                await client.register_host(ServiceType.ENVIRONMENT, "127.0.0.1", server.port)
            )[0]
            for server in (low, close, high, full)
        }
        for _ in range(5):
            found = set(await ids(client, by_type(ServiceType.ENVIRONMENT)))
            assert found == {registered[50], registered[58]}
        assert low.calls == 5  # checked on every inquiry
        low.load = 255
        close.load = 254
        assert set(await ids(client, by_type(ServiceType.ENVIRONMENT))) == {registered[90]}
        low.load, close.load, high.load = 200, 200, 200
        full.load = 0
        assert await ids(client, by_type(ServiceType.ENVIRONMENT)) == [registered[255]]
        assert (await client.status(["load_balancing"])) == {"load_balancing": "enabled"}


async def test_check_on_inquire_hides_dead_services() -> None:
    async with (
        Directory(port=0, check_on_inquire=True, health_check_timeout=1) as directory,
        DirectoryClient.connect(directory.endpoint, timeout=5) as client,
    ):
        await client.register_host(ServiceType.DATALOG, "127.0.0.1", dead_port())
        assert await ids(client, by_type(ServiceType.DATALOG)) == []


async def test_registration_lag() -> None:
    async with (
        Directory(port=0, registration_lag=3) as directory,
        DirectoryClient.connect(directory.endpoint, timeout=10) as client,
    ):
        loop = asyncio.get_running_loop()

        async def register_later() -> int:
            await asyncio.sleep(0.3)
            return (await client.register_host(ServiceType.HOOK, "h", 1))[0]

        started = loop.time()
        registering = asyncio.create_task(register_later())
        found = await ids(client, by_type(ServiceType.HOOK))
        assert found == [await registering]
        assert loop.time() - started < 2.5


async def test_persistence_across_restart(tmp_path: Path) -> None:
    data = tmp_path / "directory-data.json"
    async with (
        Directory(port=0, persistence_file=data) as directory,
        DirectoryClient.connect(directory.endpoint, "tok", timeout=5) as client,
    ):
        kept, secret = await client.register_host(
            ServiceType.ACTOR, "127.0.0.21", 9001, ssl=True, properties={"a": "1"}
        )
        gone, gone_secret = await client.register_host(ServiceType.ACTOR, "127.0.0.22", 9002)
        await client.deregister_service(gone, gone_secret)
    document = json.loads(data.read_text())
    assert [entry["service_id"] for entry in document["entries"]] == [kept]
    assert os.listdir(tmp_path) == ["directory-data.json"]  # no temporary file left

    async with (
        Directory(port=0, persistence_file=data) as directory,
        DirectoryClient.connect(directory.endpoint, "tok", timeout=5) as client,
    ):
        (info,) = await client.inquire(by_type(ServiceType.ACTOR))
        assert (info.service_id, info.url, info.use_ssl, dict(info.properties)) == (
            kept,
            "grpc://127.0.0.21:9001",
            True,
            {"a": "1"},
        )
        newer, _ = await client.register_host(ServiceType.ACTOR, "127.0.0.23", 9003)
        assert await ids(client, by_type(ServiceType.ACTOR)) == [newer, kept]
        await client.deregister_service(kept, secret)


async def test_corrupted_persistence_file(tmp_path: Path) -> None:
    data = tmp_path / "bad.json"
    data.write_text("{not json")
    with pytest.raises(ServiceStartupError, match=r"cannot read persistence file .*bad\.json"):
        async with Directory(port=0, persistence_file=data):
            pass
    data.write_text(json.dumps({"entries": [{"service_id": 1}]}))
    with pytest.raises(ServiceStartupError, match="invalid entry #0"):
        async with Directory(port=0, persistence_file=data):
            pass


async def test_port_in_use() -> None:
    async with Directory(port=0) as first:
        with pytest.raises(ServiceStartupError, match="cannot bind"):
            async with Directory(port=first.port):
                pass


async def test_raw_status_request(directory: Directory) -> None:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{directory.port}") as channel:
        stub = directory_pb2_grpc.DirectorySPStub(channel)
        version = await stub.Version(common_pb2.VersionRequest(), timeout=5)
        assert {v.name for v in version.versions} == {"cogment_directory", "grpc"}


async def test_grpc_reflection() -> None:
    reflection_db = pytest.importorskip(
        "grpc_reflection.v1alpha.proto_reflection_descriptor_database"
    )

    def list_services(target: str) -> list[str]:
        with grpc.insecure_channel(target) as channel:
            database = reflection_db.ProtoReflectionDescriptorDatabase(channel)
            return sorted(database.get_services())

    async with Directory(port=0, grpc_reflection=True) as directory:
        services = await asyncio.to_thread(list_services, f"127.0.0.1:{directory.port}")
    assert "cogmentAPI.DirectorySP" in services


async def test_mutual_tls(pki: dict[str, str]) -> None:
    tls = TlsFiles(
        private_key=pki["server.key"], root_cert=pki["ca.pem"], trust_chain=pki["server.pem"]
    )
    async with Directory(port=0, tls=tls) as directory:
        endpoint = Endpoint(directory.endpoint)
        endpoint.set_from_files(pki["client.key"], pki["ca.pem"], pki["client.pem"])
        async with DirectoryClient.connect(endpoint, timeout=5) as client:
            service_id, _ = await client.register_host(ServiceType.ACTOR, "127.0.0.1", 1, ssl=True)
            resolved = await client.resolve("cogment://discover/actor", use_ssl=True)
            assert resolved.service_id == service_id and resolved.use_ssl
        # a plain-gRPC client cannot talk to it
        async with DirectoryClient.connect(directory.endpoint, timeout=2) as plain:
            with pytest.raises(CogmentError, match="UNAVAILABLE"):
                await plain.status()
