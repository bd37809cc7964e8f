"""SDK Directory client and ``cogment://discover`` resolution, against the real Directory."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator

import pytest

import cogment.directory
from cogment._directory import (
    Directory,
    DirectoryRegistrations,
    DiscoveryError,
    ResolvedEndpoint,
    ServiceType,
    actor_registrations,
    datalog_registration,
    detect_registration_host,
    environment_registration,
    prehook_registration,
    resolve_endpoint,
)
from cogment._endpoint_url import DiscoveryContext, DiscoveryQuery
from cogment._endpoints import Endpoint
from cogment._errors import CogmentError
from cogment._version import __version__
from cogment_services.directory import Directory as DirectoryServer

pytestmark = pytest.mark.timeout(30)


@pytest.fixture
async def server() -> AsyncIterator[DirectoryServer]:
    async with DirectoryServer(port=0, health_check_interval=3600) as running:
        yield running


@pytest.fixture
async def client(server: DirectoryServer) -> AsyncIterator[Directory]:
    async with Directory.connect(server.endpoint, timeout=5) as connected:
        yield connected


def test_published_module_names() -> None:
    assert cogment.directory.Directory is Directory
    assert cogment.directory.ServiceType.ACTOR.value == 3
    assert cogment.directory.ServiceType.HOOK.value == 5
    assert cogment.directory.AUTHENTICATION_TOKEN_METADATA_NAME == "authentication-token"


async def test_non_discovery_urls_need_no_directory() -> None:
    assert await resolve_endpoint(None, "grpc://h:1") == ResolvedEndpoint("grpc://h:1", False)
    assert await resolve_endpoint(None, "grpc://h:1", use_ssl=True) == ResolvedEndpoint(
        "grpc://h:1", True
    )
    resolved = await resolve_endpoint(None, "cogment://client")
    assert resolved.is_client_actor
    with pytest.raises(DiscoveryError, match=r"needs a Directory .*COGMENT_DIRECTORY_ENDPOINT"):
        await resolve_endpoint(None, "cogment://discover/actor")
    with pytest.raises(DiscoveryError, match="unknown discovery path"):
        await resolve_endpoint(None, "cogment://discover/nowhere")


async def test_context_discovery(client: Directory) -> None:
    smart, _ = await client.register_host(
        ServiceType.ACTOR,
        "127.0.0.1",
        9001,
        properties={"__actor_class": "player", "__implementation": "smart"},
    )
    await client.register_host(
        ServiceType.ACTOR,
        "127.0.0.1",
        9002,
        properties={"__actor_class": "player", "__implementation": "dumb"},
    )
    await client.register_host(
        ServiceType.ENVIRONMENT,
        "127.0.0.1",
        9003,
        properties={"__implementation": "env", "zone": "1"},
    )
    await client.register_host(ServiceType.LIFE_CYCLE, "127.0.0.1", 9000)

    resolved = await client.resolve("cogment://discover", DiscoveryContext.actor("player", "smart"))
    assert resolved == ResolvedEndpoint("grpc://127.0.0.1:9001", False, smart)
    resolved = await client.resolve("cogment://discover", DiscoveryContext.actor("player"))
    assert resolved.url == "grpc://127.0.0.1:9002"  # most recent of the class
    resolved = await client.resolve(
        "cogment://discover?zone=1", DiscoveryContext.environment("env")
    )
    assert resolved.url == "grpc://127.0.0.1:9003"
    with pytest.raises(
        DiscoveryError, match=r"No service found for \[cogment://discover\?zone=2\]"
    ):
        await client.resolve("cogment://discover?zone=2", DiscoveryContext.environment("env"))
    lifecycle = DiscoveryContext.of_type(ServiceType.LIFE_CYCLE)
    assert (await client.resolve("cogment://discover", lifecycle)).url == "grpc://127.0.0.1:9000"
    with pytest.raises(DiscoveryError, match="needs a context"):
        await client.resolve("cogment://discover")


async def test_explicit_discovery(client: Directory) -> None:
    hook, _ = await client.register_host(ServiceType.HOOK, "127.0.0.1", 9005, properties={"x": "1"})
    context = DiscoveryContext.actor("ignored", "ignored")
    assert (await client.resolve("cogment://discover/prehook", context)).service_id == hook
    assert (await client.resolve("cogment://discover/prehook?x=1")).service_id == hook
    by_id = await client.resolve(f"cogment://discover/service?__id={hook}")
    assert by_id == ResolvedEndpoint("grpc://127.0.0.1:9005", False, hook)
    with pytest.raises(DiscoveryError, match=rf"service id \[{hook + 1}\]"):
        await client.resolve(f"cogment://discover/service?__id={hook + 1}")
    with pytest.raises(DiscoveryError, match=r"type \[HOOK\] and properties \{'x': '2'\}"):
        await client.resolve("cogment://discover/prehook?x=2")


async def test_token_in_url(server: DirectoryServer) -> None:
    async with (
        Directory.connect(server.endpoint, "secret-token", timeout=5) as owner,
        Directory.connect(server.endpoint, timeout=5) as anonymous,
    ):
        service_id, _ = await owner.register_host(ServiceType.DATALOG, "127.0.0.1", 9006)
        assert (await owner.resolve("cogment://discover/datalog")).service_id == service_id
        with pytest.raises(DiscoveryError):
            await anonymous.resolve("cogment://discover/datalog")
        url = "cogment://discover/datalog?__authentication-token=secret-token"
        assert (await anonymous.resolve(url)).service_id == service_id


async def test_ssl_matching(client: Directory) -> None:
    await client.register_host(ServiceType.DATASTORE, "127.0.0.1", 1)
    await client.register_host(ServiceType.DATASTORE, "127.0.0.1", 2, ssl=True)  # newest
    url = "cogment://discover/datastore"
    assert await client.resolve(url, use_ssl=False) == ResolvedEndpoint(
        "grpc://127.0.0.1:1",
        False,
        (await client.inquire(DiscoveryQuery(ServiceType.DATASTORE)))[1].service_id,
    )
    assert (await client.resolve(url, use_ssl=True)).url == "grpc://127.0.0.1:2"
    assert (await client.resolve(url, use_ssl=None)).url == "grpc://127.0.0.1:2"

    await client.register_host(ServiceType.MODEL_REG, "127.0.0.1", 3, ssl=True)
    with pytest.raises(DiscoveryError, match=r"Only TLS services found .*grpc://127.0.0.1:3"):
        await client.resolve("cogment://discover/modelregistry")
    await client.register_host(ServiceType.DIRECTORY, "127.0.0.1", 4)
    with pytest.raises(DiscoveryError, match="Only plain gRPC services found"):
        await client.resolve("cogment://discover/directory", use_ssl=True)


async def test_get_inquired_endpoint_keeps_tls_settings(client: Directory) -> None:
    await client.register_host(ServiceType.LIFE_CYCLE, "127.0.0.1", 9000, ssl=True)
    endpoint = Endpoint("cogment://discover", use_ssl=True)
    endpoint.root_certificates = "ROOTS"
    resolved = await client.get_inquired_endpoint(endpoint, ServiceType.LIFE_CYCLE)
    assert resolved.url == "grpc://127.0.0.1:9000"
    assert resolved.root_certificates == "ROOTS" and resolved.using_ssl()
    assert endpoint.url == "cogment://discover"  # the original is untouched


async def test_registrations(client: Directory) -> None:
    registrations = [
        *actor_registrations("smart", ["player", "referee"], {"team": "red"}),
        environment_registration("env", {"zone": "1"}),
        prehook_registration(),
        datalog_registration({"d": "x"}),
    ]
    async with DirectoryRegistrations(client, registrations, port=9100, host="127.0.0.1") as done:
        assert len(done.registered) == 5
        found = await client.inquire(DiscoveryQuery(ServiceType.ACTOR))
        assert sorted(info.properties["__actor_class"] for info in found) == ["player", "referee"]
        for info in found:
            assert dict(info.properties) == {
                "__actor_class": info.properties["__actor_class"],
                "__implementation": "smart",
                "__registration_source": "PythonSDK-Implicit",
                "__version": __version__,
                "team": "red",
            }
            assert info.url == "grpc://127.0.0.1:9100" and not info.permanent
        context = DiscoveryContext.actor("referee", "smart")
        assert (await client.resolve("cogment://discover", context)).url == "grpc://127.0.0.1:9100"
        env = await client.resolve("cogment://discover", DiscoveryContext.environment("env"))
        assert env.url == "grpc://127.0.0.1:9100"
        assert (await client.resolve("cogment://discover/prehook")).url == "grpc://127.0.0.1:9100"
        assert (
            await client.resolve("cogment://discover/datalog?d=x")
        ).url == "grpc://127.0.0.1:9100"
    for service_type in (
        ServiceType.ACTOR,
        ServiceType.ENVIRONMENT,
        ServiceType.HOOK,
        ServiceType.DATALOG,
    ):
        assert await client.inquire(DiscoveryQuery(service_type)) == []


async def test_refused_registration_leaves_nothing(client: Directory) -> None:
    registrations = [environment_registration("env")]
    with pytest.raises(CogmentError, match=r"refused the registration .*Invalid port \[0\]"):
        async with DirectoryRegistrations(client, registrations, port=0, host="127.0.0.1"):
            pass
    assert await client.inquire(DiscoveryQuery(ServiceType.ENVIRONMENT)) == []


async def test_unreachable_directory_fails_clearly() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    async with Directory.connect(f"grpc://127.0.0.1:{port}", timeout=2) as client:
        with pytest.raises(
            CogmentError,
            match=rf"Directory \[grpc://127.0.0.1:{port}\] inquiry .* failed: UNAVAILABLE",
        ):
            await client.resolve("cogment://discover/actor")


def test_detect_registration_host() -> None:
    host = detect_registration_host()
    assert host and socket.inet_aton(host)


def test_directory_endpoint_must_be_grpc() -> None:
    with pytest.raises(CogmentError, match="must be a grpc:// URL"):
        Directory.connect("cogment://discover/directory")
    with pytest.raises(CogmentError, match="Invalid Directory endpoint"):
        Directory.connect("grpc://nohost")
