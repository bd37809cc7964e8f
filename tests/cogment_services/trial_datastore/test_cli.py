"""``cogment services trial_datastore``: flags, status file, signals, Directory registration."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import grpc.aio
import pytest

import cogment
from cogment._directory import Directory as DirectoryClient
from cogment._endpoint_url import DiscoveryQuery, ServiceType
from cogment_services.directory import Directory
from cogment_services.trial_datastore._cli import build_parser
from cogment_services.trial_datastore._service import (
    DEFAULT_FILE_STORAGE,
    DEFAULT_MEMORY_STORAGE_MAX_SAMPLES_SIZE,
)
from tests.cogment_services.trial_datastore._trials import TrialSpec, log_trial

pytestmark = pytest.mark.timeout(90)


def _metrics(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
        return str(response.read().decode())


COMMAND = [sys.executable, "-m", "cogment", "services", "trial_datastore"]


def test_defaults_and_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("COGMENT_"):
            monkeypatch.delenv(name)
    args = build_parser().parse_args([])
    assert args.port == 9003
    assert args.memory_storage_max_samples_size == DEFAULT_MEMORY_STORAGE_MAX_SAMPLES_SIZE
    assert args.file_storage is None and args.directory_endpoint is None
    assert build_parser().parse_args(["--file_storage"]).file_storage == DEFAULT_FILE_STORAGE
    assert build_parser().parse_args(["--file_storage=x.db"]).file_storage == "x.db"
    monkeypatch.setenv("COGMENT_TRIAL_DATASTORE_PORT", "9100")
    monkeypatch.setenv("COGMENT_TRIAL_DATASTORE_MEMORY_STORAGE_MAX_SAMPLE_SIZE", "1234")
    monkeypatch.setenv("COGMENT_TRIAL_DATASTORE_FILE_STORAGE_PATH", "env.db")
    args = build_parser().parse_args([])
    assert (args.port, args.memory_storage_max_samples_size, args.file_storage) == (
        9100,
        1234,
        "env.db",
    )
    assert build_parser().parse_args(["--port=5"]).port == 5


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--memory_storage_max_samples_size=0"], "must be positive"),
        (["--port=0", "--directory_endpoint=cogment://discover"], "grpc://"),
        (
            ["--port=0", "--private_key=/nonexistent.pem", "--trust_chain=/nonexistent.pem"],
            "cannot read",
        ),
        (["--port=nope"], "invalid int"),
    ],
)
def test_startup_errors(flags: list[str], message: str, tmp_path: Path) -> None:
    done = subprocess.run(COMMAND + flags, capture_output=True, text=True, timeout=30, cwd=tmp_path)
    assert done.returncode == 2
    assert message in done.stderr


async def test_serves_registers_and_terminates(tmp_path: Path) -> None:
    status = tmp_path / "status"
    status.write_text("")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        metrics_port = probe.getsockname()[1]
    async with Directory(port=0) as directory:
        process = subprocess.Popen(  # noqa: ASYNC220 (waited for in a thread)
            [
                *COMMAND,
                "--port=0",
                "--file_storage",
                f"--status_file={status}",
                f"--directory_endpoint={directory.endpoint}",
                "--directory_registration_host=127.0.0.1",
                "--directory_registration_properties=zone=test",
                "--log_level=warning",
                f"--prometheus_port={metrics_port}",
            ],
            cwd=tmp_path,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        try:
            deadline = time.monotonic() + 30
            while status.read_text() != "IR":
                assert process.poll() is None, (
                    process.stderr.read().decode() if process.stderr else ""
                )
                assert time.monotonic() < deadline, "not ready within 30 s"
                await asyncio.sleep(0.05)
            assert (tmp_path / DEFAULT_FILE_STORAGE).exists()
            # discovered through the Directory by the SDK, both as datastore and as datalog
            context = cogment.Context(
                user_id="cli-test",
                cog_settings=None,
                directory_endpoint=cogment.Endpoint(directory.endpoint),
            )
            datastore = await context.get_datastore(
                cogment.Endpoint("cogment://discover?zone=test")
            )
            async with datastore:
                assert await datastore.get_trials() == []
                port = int(datastore.url.rsplit(":", 1)[1])
                async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
                    await log_trial(channel, TrialSpec("via-cli", ticks=1))
                assert [info.trial_id for info in await datastore.get_trials()] == ["via-cli"]
            metrics = await asyncio.to_thread(_metrics, metrics_port)
            assert "trial_datastore_trials 1.0" in metrics
            assert "trial_datastore_samples_stored_total 2.0" in metrics
            async with DirectoryClient.connect(directory.endpoint) as client:
                found = await client.inquire(DiscoveryQuery(ServiceType.DATALOG, {"zone": "test"}))
                assert [info.url for info in found] == [f"grpc://127.0.0.1:{port}"]
            process.send_signal(signal.SIGTERM)
            assert await asyncio.to_thread(process.wait, 15) == 0
            assert status.read_text() == "IRT"
            async with DirectoryClient.connect(directory.endpoint) as client:
                assert (
                    await client.inquire(DiscoveryQuery(ServiceType.DATALOG, {"zone": "test"}))
                    == []
                )
        finally:
            if process.poll() is None:
                process.kill()
                process.wait(10)
