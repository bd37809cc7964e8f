"""The Model Registry served with (mutual) TLS, used through the SDK client."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from cogment import CogmentError, Endpoint
from cogment._grpc import create_channel
from cogment.model_registry_v2 import ModelRegistry
from cogment_services._server import TlsFiles
from cogment_services.model_registry import ModelRegistryServer

pytestmark = pytest.mark.timeout(60)


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A throw-away CA, a server certificate for 127.0.0.1 and a client certificate."""
    folder = tmp_path_factory.mktemp("model-registry-pki")

    def openssl(*args: str) -> None:
        subprocess.run(["openssl", *args], cwd=folder, check=True, capture_output=True, timeout=30)

    key = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    openssl(
        "req", "-x509", *key, "-keyout", "ca.key", "-out", "ca.pem", "-days", "1", "-subj", "/CN=ca"
    )
    (folder / "server.ext").write_text("subjectAltName=IP:127.0.0.1\n")
    (folder / "client.ext").write_text("extendedKeyUsage=clientAuth\n")
    for name in ("server", "client"):
        openssl(
            "req", *key, "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", f"/CN={name}"
        )
        openssl(
            "x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
            "-CAcreateserial", "-out", f"{name}.pem", "-days", "1", "-extfile", f"{name}.ext",
        )  # fmt: skip
    return folder


async def test_tls(pki: Path, tmp_path: Path) -> None:
    tls = TlsFiles(private_key=str(pki / "server.key"), trust_chain=str(pki / "server.pem"))
    async with ModelRegistryServer(port=0, archive_dir=tmp_path, tls=tls) as server:
        endpoint = Endpoint(server.endpoint)
        endpoint.set_from_files(root_certificates_file=pki / "ca.pem")
        async with create_channel(endpoint) as channel:
            registry = ModelRegistry(channel)
            await registry.store_model("secure", b"data")
            assert await registry.retrieve_model("secure") == b"data"
        async with create_channel(Endpoint(server.endpoint)) as plain:
            with pytest.raises(CogmentError, match="UNAVAILABLE"):
                await ModelRegistry(plain).list_models()


async def test_mutual_tls(pki: Path, tmp_path: Path) -> None:
    tls = TlsFiles(
        private_key=str(pki / "server.key"),
        trust_chain=str(pki / "server.pem"),
        root_cert=str(pki / "ca.pem"),
    )
    async with ModelRegistryServer(port=0, archive_dir=tmp_path, tls=tls) as server:
        endpoint = Endpoint(server.endpoint)
        endpoint.set_from_files(pki / "client.key", pki / "ca.pem", pki / "client.pem")
        async with create_channel(endpoint) as channel:
            registry = ModelRegistry(channel)
            await registry.publish_model("secure", b"data")
            assert [info.name for info in await registry.list_models()] == ["secure"]
        anonymous = Endpoint(server.endpoint)
        anonymous.set_from_files(root_certificates_file=pki / "ca.pem")
        async with create_channel(anonymous) as channel:
            with pytest.raises(CogmentError):
                await ModelRegistry(channel).list_models()
