"""Endpoint / ServedEndpoint: URL validation, TLS fields, files, deprecated string ports."""

from __future__ import annotations

from pathlib import Path

import pytest

from cogment._endpoints import CLIENT_ACTOR_URL, Endpoint, ServedEndpoint
from cogment._errors import CogmentError


def test_default_endpoint_is_context_discovery() -> None:
    endpoint = Endpoint()
    assert endpoint.url == "cogment://discover"
    assert endpoint.is_discovery and not endpoint.is_grpc and not endpoint.is_client_actor
    assert not endpoint.using_ssl()
    assert endpoint.private_key is None
    assert endpoint.root_certificates is None
    assert endpoint.certificate_chain is None


def test_grpc_endpoint_target() -> None:
    endpoint = Endpoint("  grpc://127.0.0.1:9000 ")
    assert endpoint.url == "grpc://127.0.0.1:9000"
    assert endpoint.is_grpc
    assert endpoint.grpc_target == "127.0.0.1:9000"
    assert Endpoint("grpc://[::1]:9000").grpc_target == "[::1]:9000"


def test_client_and_discovery_urls() -> None:
    assert Endpoint(CLIENT_ACTOR_URL).is_client_actor
    discover = Endpoint("cogment://discover/actor?__actor_class=player&tag=red")
    assert discover.is_discovery
    assert dict(discover.parsed_url.properties) == {"__actor_class": "player", "tag": "red"}
    with pytest.raises(CogmentError, match="resolved through the Directory"):
        _ = discover.grpc_target


@pytest.mark.parametrize(
    "url",
    [
        "localhost:9000",
        "http://localhost:9000",
        "grpc://localhost",
        "cogment://nowhere",
        "cogment://client/x",
    ],
)
def test_bad_urls_raise_cogment_error_naming_the_url(url: str) -> None:
    with pytest.raises(CogmentError, match="Invalid endpoint URL"):
        Endpoint(url)
    endpoint = Endpoint("grpc://localhost:1")
    with pytest.raises(CogmentError):
        endpoint.url = url
    assert endpoint.url == "grpc://localhost:1"


def test_tls_is_on_when_asked_or_when_a_pem_is_set() -> None:
    assert Endpoint("grpc://h:1", use_ssl=True).using_ssl()
    endpoint = Endpoint("grpc://h:1")
    endpoint.root_certificates = "PEM"
    assert endpoint.using_ssl()


def test_set_from_files(tmp_path: Path) -> None:
    key = tmp_path / "key.pem"
    key.write_text("KEY")
    roots = tmp_path / "roots.pem"
    roots.write_text("ROOTS")
    empty = tmp_path / "empty.pem"
    empty.write_text("")
    endpoint = Endpoint("grpc://h:1")
    endpoint.set_from_files(
        private_key_file=key, root_certificates_file=str(roots), certificate_chain_file=empty
    )
    assert endpoint.use_ssl
    assert endpoint.private_key == "KEY"
    assert endpoint.root_certificates == "ROOTS"
    assert endpoint.certificate_chain is None
    assert "KEY" not in str(endpoint) and "ROOTS" not in str(endpoint)


def test_set_from_files_missing_file_names_it(tmp_path: Path) -> None:
    endpoint = Endpoint("grpc://h:1")
    missing = tmp_path / "nope.pem"
    with pytest.raises(CogmentError, match=r"nope\.pem"):
        endpoint.set_from_files(root_certificates_file=missing)
    assert endpoint.root_certificates is None


def test_copy_keeps_tls_and_can_replace_the_url() -> None:
    endpoint = Endpoint("cogment://discover", use_ssl=True)
    endpoint.root_certificates = "R"
    resolved = endpoint.copy("grpc://10.0.0.1:9000")
    assert resolved.url == "grpc://10.0.0.1:9000"
    assert resolved.root_certificates == "R" and resolved.use_ssl
    assert endpoint.url == "cogment://discover"
    assert endpoint.copy() == endpoint


def test_served_endpoint_defaults_and_tls() -> None:
    served = ServedEndpoint()
    assert served.port == 0
    assert not served.using_ssl()
    served.private_key_certificate_chain_pairs = [("KEY", "CHAIN")]
    assert served.using_ssl()
    assert "KEY" not in str(served)


def test_served_endpoint_string_port_is_deprecated() -> None:
    with pytest.warns(DeprecationWarning, match="int"):
        served = ServedEndpoint("9001")  # type: ignore[arg-type]
    assert served.port == 9001


@pytest.mark.parametrize("port", [-1, 65536, 1.5, True])
def test_served_endpoint_rejects_bad_ports(port: object) -> None:
    with pytest.raises(CogmentError, match="served port"):
        ServedEndpoint(port)  # type: ignore[arg-type]


def test_served_endpoint_set_from_files(tmp_path: Path) -> None:
    (tmp_path / "k").write_text("K")
    (tmp_path / "c").write_text("C")
    (tmp_path / "r").write_text("R")
    served = ServedEndpoint(0)
    served.set_from_files(tmp_path / "k", tmp_path / "c", tmp_path / "r")
    assert served.private_key_certificate_chain_pairs == [("K", "C")]
    assert served.root_certificates == "R"
    with pytest.raises(CogmentError, match="both"):
        served.set_from_files(private_key_file=tmp_path / "k")
