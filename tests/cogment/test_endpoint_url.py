"""Unit tests of the endpoint URL parser (cogment._endpoint_url)."""

from __future__ import annotations

import pytest

from cogment._endpoint_url import (
    DiscoveryContext,
    DiscoveryQuery,
    EndpointUrlError,
    ServiceType,
    parse_endpoint_url,
)


@pytest.mark.parametrize(
    ("url", "host", "port", "target"),
    [
        ("grpc://localhost:9000", "localhost", 9000, "localhost:9000"),
        ("  grpc://10.0.0.1:1 ", "10.0.0.1", 1, "10.0.0.1:1"),
        (
            "GRPC://my-host.example.org:65535",
            "my-host.example.org",
            65535,
            "my-host.example.org:65535",
        ),
        ("grpc://[::1]:9000", "::1", 9000, "[::1]:9000"),
        ("grpc://[fe80::1%eth0]:80", "fe80::1%eth0", 80, "[fe80::1%eth0]:80"),
        ("grpc://orchestrator_1:9000", "orchestrator_1", 9000, "orchestrator_1:9000"),
    ],
)
def test_grpc_urls(url: str, host: str, port: int, target: str) -> None:
    parsed = parse_endpoint_url(url)
    assert parsed.is_grpc and not parsed.is_discovery and not parsed.is_client_actor
    assert (parsed.scheme, parsed.host, parsed.port) == ("grpc", host, port)
    assert parsed.grpc_target == target
    assert str(parsed) == f"grpc://{target}"


@pytest.mark.parametrize("url", ["cogment://client", "COGMENT://Client", " cogment://client\n"])
def test_client_actor_url(url: str) -> None:
    parsed = parse_endpoint_url(url)
    assert parsed.is_client_actor and not parsed.is_discovery and not parsed.is_grpc
    assert str(parsed) == "cogment://client"


def test_context_discovery_defaults() -> None:
    parsed = parse_endpoint_url("cogment://discover")
    assert parsed.is_discovery and parsed.is_context_discovery
    assert parsed.path is None and parsed.service_type is None
    assert dict(parsed.properties) == {}
    assert parsed.service_id is None and parsed.authentication_token is None
    for same in ("cogment://discover/", "cogment://discover?", "Cogment://DISCOVER/?"):
        assert parse_endpoint_url(same).is_context_discovery


@pytest.mark.parametrize(
    ("path", "service_type"),
    [
        ("actor", ServiceType.ACTOR),
        ("environment", ServiceType.ENVIRONMENT),
        ("datalog", ServiceType.DATALOG),
        ("prehook", ServiceType.HOOK),
        ("lifecycle", ServiceType.LIFE_CYCLE),
        ("actservice", ServiceType.CLIENT_ACTOR),
        ("datastore", ServiceType.DATASTORE),
        ("modelregistry", ServiceType.MODEL_REG),
        ("directory", ServiceType.DIRECTORY),
        ("Actor", ServiceType.ACTOR),
        ("environment/", ServiceType.ENVIRONMENT),
    ],
)
def test_explicit_paths(path: str, service_type: ServiceType) -> None:
    parsed = parse_endpoint_url(f"cogment://discover/{path}?tag=red&zone=1&flag")
    assert not parsed.is_context_discovery
    assert parsed.service_type is service_type
    assert dict(parsed.properties) == {"tag": "red", "zone": "1", "flag": ""}
    query = parsed.discovery_query(DiscoveryContext.actor("ignored", "ignored"))
    assert query == DiscoveryQuery(service_type, {"tag": "red", "zone": "1", "flag": ""})


def test_service_type_wire_values() -> None:
    assert [int(t) for t in ServiceType] == [1, 2, 3, 4, 5, 6, 7, 8, 9, 100]


def test_service_path_by_id() -> None:
    parsed = parse_endpoint_url("cogment://discover/service?__id=18446744073709551615&x=1")
    assert parsed.path == "service" and parsed.service_type is None
    assert parsed.service_id == 2**64 - 1
    assert dict(parsed.properties) == {"x": "1"}
    query = parsed.discovery_query()
    assert query.service_id == 2**64 - 1 and query.service_type is None
    assert dict(query.properties) == {}


def test_reserved_entries() -> None:
    parsed = parse_endpoint_url(
        "cogment://discover/actor?__actor_class=player&__implementation=smart&__authentication-token=tok"
    )
    assert dict(parsed.properties) == {"__actor_class": "player", "__implementation": "smart"}
    assert parsed.authentication_token == "tok"
    assert parsed.discovery_query().authentication_token == "tok"
    empty_token = parse_endpoint_url("cogment://discover/actor?__authentication-token=")
    assert empty_token.authentication_token is None


def test_context_discovery_actor() -> None:
    parsed = parse_endpoint_url("cogment://discover?tag=red&zone=1")
    completed = parsed.with_context(DiscoveryContext.actor("xxx", "yyy"))
    assert (
        completed.url
        == "cogment://discover/actor?__actor_class=xxx&__implementation=yyy&tag=red&zone=1"
    )
    assert completed.service_type is ServiceType.ACTOR
    assert parsed.discovery_query(DiscoveryContext.actor("xxx", "yyy")) == DiscoveryQuery(
        ServiceType.ACTOR,
        {"__actor_class": "xxx", "__implementation": "yyy", "tag": "red", "zone": "1"},
    )


def test_context_discovery_url_entries_win() -> None:
    parsed = parse_endpoint_url("cogment://discover?__implementation=other")
    query = parsed.discovery_query(DiscoveryContext.environment("env_impl"))
    assert query == DiscoveryQuery(ServiceType.ENVIRONMENT, {"__implementation": "other"})


@pytest.mark.parametrize(
    ("context", "service_type", "properties"),
    [
        (DiscoveryContext.environment("e"), ServiceType.ENVIRONMENT, {"__implementation": "e"}),
        (DiscoveryContext.environment(), ServiceType.ENVIRONMENT, {}),
        (DiscoveryContext.actor("c"), ServiceType.ACTOR, {"__actor_class": "c"}),
        (DiscoveryContext.of_type(ServiceType.LIFE_CYCLE), ServiceType.LIFE_CYCLE, {}),
        (DiscoveryContext.of_type(ServiceType.CLIENT_ACTOR), ServiceType.CLIENT_ACTOR, {}),
        (DiscoveryContext.of_type(ServiceType.DATASTORE), ServiceType.DATASTORE, {}),
        (DiscoveryContext.of_type(ServiceType.MODEL_REG), ServiceType.MODEL_REG, {}),
        (DiscoveryContext.of_type(ServiceType.DATALOG), ServiceType.DATALOG, {}),
        (DiscoveryContext.of_type(ServiceType.HOOK), ServiceType.HOOK, {}),
    ],
)
def test_context_discovery_kinds(
    context: DiscoveryContext, service_type: ServiceType, properties: dict[str, str]
) -> None:
    query = parse_endpoint_url("cogment://discover").discovery_query(context)
    assert query.service_type is service_type
    assert dict(query.properties) == properties


def test_context_other_type_is_rejected() -> None:
    with pytest.raises(ValueError, match="OTHER"):
        DiscoveryContext.of_type(ServiceType.OTHER)


def test_context_discovery_without_context() -> None:
    with pytest.raises(EndpointUrlError, match="needs a context"):
        parse_endpoint_url("cogment://discover?a=1").discovery_query()


def test_with_context_keeps_non_context_urls() -> None:
    for url in ("grpc://h:1", "cogment://client", "cogment://discover/datalog?x"):
        parsed = parse_endpoint_url(url)
        assert parsed.with_context(DiscoveryContext.actor("a", "b")) is parsed


def test_discovery_query_on_grpc_url() -> None:
    with pytest.raises(EndpointUrlError, match="only cogment://discover"):
        parse_endpoint_url("grpc://h:1").discovery_query()
    with pytest.raises(EndpointUrlError, match="no gRPC target"):
        _ = parse_endpoint_url("cogment://client").grpc_target


def test_canonical_string_round_trips() -> None:
    for url in (
        "cogment://discover/actor?__actor_class=a&tag&zone=1",
        "cogment://discover/service?__id=42",
        "cogment://discover/prehook?__authentication-token=abc",
        "cogment://discover",
    ):
        parsed = parse_endpoint_url(url)
        assert str(parsed) == url
        assert parse_endpoint_url(str(parsed)) == parsed


def test_parsed_url_is_frozen() -> None:
    parsed = parse_endpoint_url("cogment://discover/actor?a=1")
    with pytest.raises(AttributeError):
        parsed.host = "x"  # type: ignore[misc]
    with pytest.raises(TypeError):
        parsed.properties["b"] = "2"  # type: ignore[index]


@pytest.mark.parametrize(
    ("url", "position", "fragment"),
    [
        ("", None, "empty URL"),
        ("   ", None, "empty URL"),
        ("localhost:9000", 0, "missing '<scheme>://'"),
        ("http://localhost:9000", 0, "unknown scheme [http]"),
        ("grpc://local host:9000", 12, "spaces are not allowed"),
        ("grpc://localhost", 16, "missing port"),
        ("grpc://:9000", 7, "missing host"),
        ("grpc://localhost:", 17, "invalid port []"),
        ("grpc://localhost:abc", 17, "invalid port [abc]"),
        ("grpc://localhost:0", 17, "out of range"),
        ("grpc://localhost:65536", 17, "out of range"),
        ("grpc://localhost:9000/path", 21, "unexpected '/'"),
        ("grpc://localhost:9000?x=1", 21, "unexpected '?'"),
        ("grpc://user@localhost:9000", 11, "unexpected '@'"),
        ("grpc://::1:9000", 7, "invalid character ':' in host"),
        ("grpc://[::1:9000", 7, "unterminated '['"),
        ("grpc://[::1]9000", 12, "expected ':port'"),
        ("grpc://[zz]:9000", 8, "invalid IPv6 host"),
        ("cogment://localhost", 10, "unknown cogment host [localhost]"),
        ("cogment://", 10, "unknown cogment host []"),
        ("cogment://client/actor", 16, "takes no path and no query"),
        ("cogment://client?x=1", 16, "takes no path and no query"),
        ("cogment://discover/actors", 19, "unknown discovery path [actors]"),
        ("cogment://discover//actor", 19, "unknown discovery path [/actor]"),
        ("cogment://discover/actor?a=b=c", 28, "invalid character '='"),
        ("cogment://discover/actor?a=%20", 27, "invalid character '%'"),
        ("cogment://discover/actor?a=1#frag", 28, "invalid character '#'"),
        ("cogment://discover/actor?a=1&&b", 29, "empty query entry"),
        ("cogment://discover/actor?=1", 25, "query entry without a name"),
        ("cogment://discover/actor?a=1&a=2", 29, "duplicate query entry [a]"),
        ("cogment://discover/actor?__foo=1", 25, "unknown reserved name [__foo]"),
        ("cogment://discover/actor?__id=1", 25, "only valid with the /service path"),
        ("cogment://discover?__id=1", 19, "only valid with the /service path"),
        ("cogment://discover/service", None, "requires a '__id=<service id>'"),
        ("cogment://discover/service?x=1", None, "requires a '__id=<service id>'"),
        ("cogment://discover/service?__id=", 32, "invalid service id []"),
        ("cogment://discover/service?__id=0", 32, "nonzero"),
        ("cogment://discover/service?__id=-3", 32, "invalid service id [-3]"),
        ("cogment://discover/service?__id=18446744073709551616", 32, "nonzero unsigned 64-bit"),
        ("cogment://discover/service?__id=1&__id=2", 34, "duplicate query entry [__id]"),
    ],
)
def test_invalid_urls(url: str, position: int | None, fragment: str) -> None:
    with pytest.raises(EndpointUrlError) as caught:
        parse_endpoint_url(url)
    error = caught.value
    assert isinstance(error, ValueError)
    assert fragment in str(error)
    assert error.position == position
    assert "Invalid endpoint URL [" in str(error)


def test_error_names_the_url() -> None:
    with pytest.raises(EndpointUrlError, match=r"\[cogment://discover/nowhere\] at position 19"):
        parse_endpoint_url("cogment://discover/nowhere")


def test_not_a_string() -> None:
    with pytest.raises(EndpointUrlError, match="expected a string"):
        parse_endpoint_url(42)  # type: ignore[arg-type]
