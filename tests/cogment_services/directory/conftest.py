"""Fixtures of the Directory tests: a running Directory, a client, and small Status servers."""

from __future__ import annotations

import asyncio
import socket
import subprocess
from collections.abc import AsyncIterator
from dataclasses import dataclass

import grpc
import grpc.aio
import pytest

from cogment._directory import Directory as DirectoryClient
from cogment.api import common_pb2
from cogment_services.directory import Directory


@dataclass
class StatusServer:
    """A gRPC server answering ``/cogmentAPI.<service>/Status`` with a settable ``overall_load``."""

    server: grpc.aio.Server
    port: int
    load: int = 0
    calls: int = 0

    async def stop(self) -> None:
        await self.server.stop(None)


async def start_status_server(
    service: str = "cogmentAPI.EnvironmentSP", load: int = 0
) -> StatusServer:
    server = grpc.aio.server()
    holder: list[StatusServer] = []

    async def status(
        request: common_pb2.StatusRequest, context: grpc.aio.ServicerContext[object, object]
    ) -> common_pb2.StatusReply:
        holder[0].calls += 1
        return common_pb2.StatusReply(statuses={"overall_load": str(holder[0].load)})

    handler = grpc.method_handlers_generic_handler(
        service,
        {
            "Status": grpc.unary_unary_rpc_method_handler(
                status,
                request_deserializer=common_pb2.StatusRequest.FromString,
                response_serializer=common_pb2.StatusReply.SerializeToString,
            )
        },
    )
    server.add_generic_rpc_handlers((handler,))
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    holder.append(StatusServer(server, port, load))
    return holder[0]


def dead_port() -> int:
    """A port nothing listens on (bound then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
async def directory() -> AsyncIterator[Directory]:
    async with Directory(port=0, health_check_interval=3600, health_check_timeout=1.0) as running:
        yield running


@pytest.fixture
async def client(directory: Directory) -> AsyncIterator[DirectoryClient]:
    async with DirectoryClient.connect(directory.endpoint, timeout=5.0) as connected:
        yield connected


@pytest.fixture
async def status_servers() -> AsyncIterator[list[StatusServer]]:
    servers: list[StatusServer] = []
    yield servers
    await asyncio.gather(*(server.stop() for server in servers))


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """A test CA with a server certificate (127.0.0.1) and a client certificate, EC keys."""
    folder = tmp_path_factory.mktemp("directory-pki")

    def openssl(*args: str) -> None:
        subprocess.run(["openssl", *args], cwd=folder, check=True, capture_output=True, timeout=30)

    new_key = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    openssl("req", "-x509", *new_key, "-keyout", "ca.key", "-out", "ca.pem", "-days", "1",
            "-subj", "/CN=directory-test-ca")  # fmt: skip
    (folder / "server.ext").write_text("subjectAltName=IP:127.0.0.1\n")
    (folder / "client.ext").write_text("extendedKeyUsage=clientAuth\n")
    for name in ("server", "client"):
        openssl("req", *new_key, "-keyout", f"{name}.key", "-out", f"{name}.csr",
                "-subj", f"/CN={name}")  # fmt: skip
        openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
                "-CAcreateserial", "-out", f"{name}.pem", "-days", "1",
                "-extfile", f"{name}.ext")  # fmt: skip
    return {
        name: str(folder / name)
        for name in ("ca.pem", "server.key", "server.pem", "client.key", "client.pem")
    }
