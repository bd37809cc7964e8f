"""cogment._grpc: channels (insecure and mutual TLS), call metadata, RPC error messages, Version reply."""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import grpc
import grpc.aio
import pytest

from cogment._endpoints import Endpoint, ServedEndpoint
from cogment._errors import CogmentError
from cogment._grpc import (
    call_metadata,
    channel_options,
    channel_url,
    create_channel,
    rpc_error,
    server_credentials,
    server_options,
)
from cogment._metadata import GrpcMetadata
from cogment._version_info import version_info, versions_dict
from cogment.api import common_pb2, orchestrator_pb2, orchestrator_pb2_grpc

pytestmark = pytest.mark.timeout(60)


class _VersionServicer(orchestrator_pb2_grpc.TrialLifecycleSPServicer):
    """Test server: answers Version (with the runtime's reply) and records the metadata received."""

    def __init__(self) -> None:
        self.received: list[tuple[tuple[str, Any], ...]] = []

    async def Version(self, request: Any, context: Any) -> common_pb2.VersionInfo:
        self.received.append(
            tuple((item.key, item.value) for item in context.invocation_metadata())
        )
        return version_info()

    async def GetTrialInfo(self, request: Any, context: Any) -> orchestrator_pb2.TrialInfoReply:
        await asyncio.sleep(5)  # slower than the client's deadline
        return orchestrator_pb2.TrialInfoReply()


async def _start_server(
    servicer: _VersionServicer, served: ServedEndpoint
) -> tuple[grpc.aio.Server, int]:
    server = grpc.aio.server(options=server_options())
    orchestrator_pb2_grpc.add_TrialLifecycleSPServicer_to_server(servicer, server)
    credentials = server_credentials(served)
    address = "127.0.0.1:0"
    port = (
        server.add_secure_port(address, credentials)
        if credentials
        else server.add_insecure_port(address)
    )
    await server.start()
    return server, port


@pytest.fixture
async def insecure_server() -> AsyncIterator[tuple[_VersionServicer, int]]:
    servicer = _VersionServicer()  # type: ignore[abstract]  # unused RPCs: UNIMPLEMENTED
    server, port = await _start_server(servicer, ServedEndpoint(0))
    yield servicer, port
    await server.stop(None)


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=30)


def make_test_pki(folder: Path) -> dict[str, str]:
    """A test CA, a server certificate for 127.0.0.1/localhost and a client certificate (EC keys), as
    PEM files in ``folder``: returns their paths by name (``ca.pem``, ``server.key``, ``client.pem``...)."""
    key_options = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    _openssl("req", "-x509", *key_options, "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
             "-subj", "/CN=cogment-test-ca", cwd=folder)  # fmt: skip
    (folder / "server.ext").write_text("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
    (folder / "client.ext").write_text("extendedKeyUsage=clientAuth\n")
    for name in ("server", "client"):
        _openssl("req", *key_options, "-keyout", f"{name}.key", "-out", f"{name}.csr",
                 "-subj", f"/CN={name}", cwd=folder)  # fmt: skip
        _openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
                 "-CAcreateserial", "-out", f"{name}.pem", "-days", "2", "-extfile", f"{name}.ext",
                 cwd=folder)  # fmt: skip
    return {
        name: str(folder / name)
        for name in ("ca.pem", "server.key", "server.pem", "client.key", "client.pem")
    }


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    return make_test_pki(tmp_path_factory.mktemp("pki"))


async def test_insecure_channel_carries_metadata_and_version(
    insecure_server: tuple[_VersionServicer, int],
) -> None:
    servicer, port = insecure_server
    endpoint = Endpoint(f"grpc://127.0.0.1:{port}")
    channel = create_channel(endpoint)
    assert channel_url(channel) == endpoint.url
    try:
        stub = orchestrator_pb2_grpc.TrialLifecycleSPStub(channel)
        metadata = GrpcMetadata().add("x-user", "me").add("token-bin", b"\x00\x01")
        reply = await stub.Version(
            common_pb2.VersionRequest(),
            metadata=call_metadata(metadata, [("trial-id", "t1")]),
            timeout=10,
        )
    finally:
        await channel.close(None)
    versions = versions_dict(reply)
    assert versions["cogment_sdk"] == __import__("cogment").__version__
    assert versions["grpc"] == grpc.__version__
    (received,) = servicer.received
    assert ("x-user", "me") in received
    assert ("token-bin", b"\x00\x01") in received
    assert ("trial-id", "t1") in received


async def test_mutual_tls_channel(pki: dict[str, str]) -> None:
    served = ServedEndpoint(0)
    served.set_from_files(pki["server.key"], pki["server.pem"], pki["ca.pem"])
    servicer = _VersionServicer()  # type: ignore[abstract]  # unused RPCs: UNIMPLEMENTED
    server, port = await _start_server(servicer, served)
    try:
        endpoint = Endpoint(f"grpc://127.0.0.1:{port}")
        endpoint.set_from_files(pki["client.key"], pki["ca.pem"], pki["client.pem"])
        channel = create_channel(endpoint)
        try:
            reply = await orchestrator_pb2_grpc.TrialLifecycleSPStub(channel).Version(
                common_pb2.VersionRequest(), timeout=10
            )
            assert "cogment_sdk" in versions_dict(reply)
        finally:
            await channel.close(None)

        # Without a client certificate the server (which requires one) refuses the connection.
        anonymous = Endpoint(f"grpc://127.0.0.1:{port}")
        anonymous.set_from_files(root_certificates_file=pki["ca.pem"])
        channel = create_channel(anonymous)
        try:
            with pytest.raises(grpc.aio.AioRpcError) as caught:
                await orchestrator_pb2_grpc.TrialLifecycleSPStub(channel).Version(
                    common_pb2.VersionRequest(), timeout=10
                )
            assert caught.value.code() == grpc.StatusCode.UNAVAILABLE
        finally:
            await channel.close(None)
    finally:
        await server.stop(None)


async def test_unreachable_server_gives_clear_error() -> None:
    channel = create_channel(Endpoint("grpc://127.0.0.1:1"))
    try:
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await orchestrator_pb2_grpc.TrialLifecycleSPStub(channel).Version(
                common_pb2.VersionRequest(), timeout=10
            )
    finally:
        await channel.close(None)
    error = rpc_error(caught.value, rpc="Version", service="Orchestrator", url="grpc://127.0.0.1:1")
    assert isinstance(error, CogmentError)
    assert "Orchestrator at [grpc://127.0.0.1:1] is unreachable (Version)" in str(error)


async def test_timeout_gives_clear_error(insecure_server: tuple[_VersionServicer, int]) -> None:
    _, port = insecure_server
    channel = create_channel(Endpoint(f"grpc://127.0.0.1:{port}"))
    try:
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await orchestrator_pb2_grpc.TrialLifecycleSPStub(channel).GetTrialInfo(
                orchestrator_pb2.TrialInfoRequest(), timeout=0.2
            )
    finally:
        await channel.close(None)
    error = rpc_error(
        caught.value, rpc="GetTrialInfo", service="Orchestrator", url="u", timeout=0.2
    )
    assert str(error).startswith("GetTrialInfo to Orchestrator at [u] timed out after 0.2 s")


def test_discovery_endpoint_must_be_resolved_first() -> None:
    with pytest.raises(CogmentError, match="resolved through the Directory"):
        create_channel(Endpoint("cogment://discover/lifecycle"))
    with pytest.raises(CogmentError, match="grpc://host:port is needed"):
        create_channel(Endpoint("cogment://client"))


def test_incomplete_tls_settings_are_rejected() -> None:
    endpoint = Endpoint("grpc://127.0.0.1:5")
    endpoint.private_key = "KEY"
    with pytest.raises(CogmentError, match="certificate chain missing"):
        create_channel(endpoint)
    served = ServedEndpoint()
    served.private_key_certificate_chain_pairs = [("KEY", "")]
    with pytest.raises(CogmentError, match="pair #0"):
        server_credentials(served)
    served.private_key_certificate_chain_pairs = []
    with pytest.raises(CogmentError, match="at least one"):
        server_credentials(served)
    assert server_credentials(ServedEndpoint()) is None


def test_call_metadata_and_options() -> None:
    metadata = GrpcMetadata().add("a", "1")
    assert call_metadata(None) == ()
    assert call_metadata(metadata) == (("a", "1"),)
    assert call_metadata(metadata, [("trial-id", "x"), ("trial-id", "y")]) == (
        ("a", "1"),
        ("trial-id", "x"),
        ("trial-id", "y"),
    )
    options = dict(channel_options())
    assert options["grpc.max_receive_message_length"] == 64 * 1024 * 1024
    assert (
        options["grpc.keepalive_time_ms"] >= 300_000
    )  # no GOAWAY too_many_pings from default servers
