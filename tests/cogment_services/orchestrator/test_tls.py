"""TLS: the Orchestrator serves mutual TLS from PEM files (``--private_key/--root_cert/--trust_chain``)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import grpc
import grpc.aio
import pytest

from cogment.api import common_pb2, orchestrator_pb2_grpc
from cogment_services._server import ServiceStartupError, TlsFiles
from cogment_services.orchestrator import Orchestrator

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="needs openssl")


def _run(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("pki")
    _run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem",
         "-days", "1", "-subj", "/CN=test-ca", cwd=d)  # fmt: skip
    (d / "ext").write_text("subjectAltName=DNS:localhost,IP:127.0.0.1\n", encoding="ascii")
    for name in ("server", "client"):
        _run("req", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{name}.key", "-out",
             f"{name}.csr", "-subj", f"/CN={name}", cwd=d)  # fmt: skip
        _run("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
             "-CAcreateserial", "-out", f"{name}.pem", "-days", "1", "-extfile", "ext", cwd=d)  # fmt: skip
    return d


async def test_mutual_tls(pki: Path) -> None:
    tls = TlsFiles(
        private_key=str(pki / "server.key"),
        root_cert=str(pki / "ca.pem"),
        trust_chain=str(pki / "server.pem"),
    )
    async with Orchestrator(lifecycle_port=0, host="127.0.0.1", tls=tls) as orch:
        target = f"localhost:{orch.lifecycle_port}"
        credentials = grpc.ssl_channel_credentials(
            root_certificates=(pki / "ca.pem").read_bytes(),
            private_key=(pki / "client.key").read_bytes(),
            certificate_chain=(pki / "client.pem").read_bytes(),
        )
        async with grpc.aio.secure_channel(target, credentials) as channel:
            stub = orchestrator_pb2_grpc.TrialLifecycleSPStub(channel)
            version = await stub.Version(common_pb2.VersionRequest(), timeout=10)
            assert [v.name for v in version.versions] == ["cogment"]
        # Without a client certificate the handshake is refused (mutual TLS).
        no_cert = grpc.ssl_channel_credentials(root_certificates=(pki / "ca.pem").read_bytes())
        async with grpc.aio.secure_channel(target, no_cert) as channel:
            stub = orchestrator_pb2_grpc.TrialLifecycleSPStub(channel)
            with pytest.raises(grpc.aio.AioRpcError):
                await stub.Version(common_pb2.VersionRequest(), timeout=10)
        # Plain gRPC is refused too.
        async with grpc.aio.insecure_channel(target) as channel:
            stub = orchestrator_pb2_grpc.TrialLifecycleSPStub(channel)
            with pytest.raises(grpc.aio.AioRpcError):
                await stub.Version(common_pb2.VersionRequest(), timeout=10)


async def test_tls_needs_key_and_chain(pki: Path) -> None:
    with pytest.raises(ServiceStartupError, match="--private_key and --trust_chain"):
        async with Orchestrator(
            lifecycle_port=0, host="127.0.0.1", tls=TlsFiles(root_cert=str(pki / "ca.pem"))
        ):
            pass
    with pytest.raises(ServiceStartupError, match="cannot read"):
        async with Orchestrator(
            lifecycle_port=0,
            host="127.0.0.1",
            tls=TlsFiles(private_key=str(pki / "absent.key"), trust_chain=str(pki / "server.pem")),
        ):
            pass
