"""serve_all_registered: TLS from PEM strings (with client authentication), Prometheus server."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import urllib.request
from pathlib import Path
from typing import Any

import grpc
import pytest
from prometheus_client import CollectorRegistry

import cogment
from cogment.api import common_pb2, environment_pb2_grpc
from tests.cogment._runtime_helpers import make_settings

pytestmark = pytest.mark.timeout(60)


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=30)


@pytest.fixture(scope="module")
def pem(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """PEM texts of a test CA, a server certificate (127.0.0.1) and a client certificate."""
    folder = tmp_path_factory.mktemp("pki")
    key = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    _openssl("req", "-x509", *key, "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
             "-subj", "/CN=test-ca", cwd=folder)  # fmt: skip
    (folder / "server.ext").write_text("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
    (folder / "client.ext").write_text("extendedKeyUsage=clientAuth\n")
    for name in ("server", "client"):
        _openssl("req", *key, "-keyout", f"{name}.key", "-out", f"{name}.csr",
                 "-subj", f"/CN={name}", cwd=folder)  # fmt: skip
        _openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
                 "-CAcreateserial", "-out", f"{name}.pem", "-days", "2", "-extfile", f"{name}.ext",
                 cwd=folder)  # fmt: skip
    return {
        name: (folder / name).read_text()
        for name in ("ca.pem", "server.key", "server.pem", "client.key", "client.pem")
    }


async def _env(session: Any) -> None:
    pass


async def _serve(ctx: cogment.Context, served: cogment.ServedEndpoint, **kwargs: Any) -> Any:
    task = asyncio.create_task(ctx.serve_all_registered(served, host="127.0.0.1", **kwargs))
    await asyncio.wait_for(ctx.wait_for_serving(), 5)
    return task


async def _stop(task: Any) -> None:
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_tls_with_client_authentication(pem: dict[str, str]) -> None:
    ctx = cogment.Context(user_id="tls", cog_settings=make_settings())
    ctx.register_environment(_env, "env")
    served = cogment.ServedEndpoint(0)
    served.private_key_certificate_chain_pairs = [(pem["server.key"], pem["server.pem"])]
    served.root_certificates = pem["ca.pem"]
    task = await _serve(ctx, served)
    target = f"127.0.0.1:{ctx.served_port}"
    try:
        good = grpc.ssl_channel_credentials(
            pem["ca.pem"].encode(), pem["client.key"].encode(), pem["client.pem"].encode()
        )
        async with grpc.aio.secure_channel(target, good) as channel:
            reply = await environment_pb2_grpc.EnvironmentSPStub(channel).Version(
                common_pb2.VersionRequest(), timeout=5
            )
            assert reply.versions[0].name == "cogment_sdk"
        no_client_cert = grpc.ssl_channel_credentials(pem["ca.pem"].encode())
        async with grpc.aio.secure_channel(target, no_client_cert) as channel:
            with pytest.raises(grpc.aio.AioRpcError):
                await environment_pb2_grpc.EnvironmentSPStub(channel).Version(
                    common_pb2.VersionRequest(), timeout=5
                )
        async with grpc.aio.insecure_channel(target) as channel:
            with pytest.raises(grpc.aio.AioRpcError):
                await environment_pb2_grpc.EnvironmentSPStub(channel).Version(
                    common_pb2.VersionRequest(), timeout=5
                )
    finally:
        await _stop(task)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_prometheus_server_uses_the_context_registry() -> None:
    registry = CollectorRegistry()
    ctx = cogment.Context(
        user_id="prom", cog_settings=make_settings(), prometheus_registry=registry
    )
    ctx.register_environment(_env, "env")
    ctx.register_actor(_env, "actor", ["player"])
    port = _free_port()
    task = await _serve(ctx, cogment.ServedEndpoint(0), prometheus_port=port)
    try:
        text = await asyncio.to_thread(
            lambda: (
                urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5)
                .read()
                .decode()
            )
        )
    finally:
        await _stop(task)
    assert "environment_trials_started" in text and "actor_started" in text
    # the server is stopped with the context's serving
    with pytest.raises(OSError):
        await asyncio.to_thread(
            lambda: urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2)
        )
