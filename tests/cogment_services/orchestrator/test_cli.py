"""``cogment services orchestrator`` as a process: status FIFO, params file, hooks, SIGTERM."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from cogment_services.orchestrator import Orchestrator
from cogment_services.orchestrator._cli import build_parser, config_from_args

from .conftest import Driver
from .test_hooks_and_params import write_params

READY = re.compile(r"lifecycle port \[(\d+)\], actor port \[(\d+)\]")


def start_cli(*args: str, log: Path) -> subprocess.Popen[bytes]:
    env = dict(os.environ)
    for name in list(env):
        if name.startswith(("COGMENT_", "TRIAL_")):
            del env[name]
    return subprocess.Popen(
        [sys.executable, "-m", "cogment_services.orchestrator", *args],
        stdout=subprocess.DEVNULL,
        stderr=open(log, "wb"),
        env=env,
    )


def read_fifo(fd: int, count: int, timeout: float = 20.0) -> str:
    data = b""
    deadline = time.monotonic() + timeout
    while len(data) < count and time.monotonic() < deadline:
        try:
            chunk = os.read(fd, count - len(data))
        except BlockingIOError:
            chunk = b""
        if chunk:
            data += chunk
        else:
            time.sleep(0.05)
    return data.decode()


def wait_port(log: Path, timeout: float = 20.0) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        match = READY.search(log.read_text(errors="replace"))
        if match:
            return int(match.group(1))
        time.sleep(0.05)
    raise AssertionError(f"orchestrator did not start:\n{log.read_text()}")


@pytest.mark.interop
async def test_cli_runs_trials_with_status_fifo_and_stops_on_sigterm(
    driver: Driver, tmp_path: Path
) -> None:
    fifo = tmp_path / "status"
    os.mkfifo(fifo)
    fd = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    params = write_params(tmp_path / "params.yaml", driver.endpoint)
    log = tmp_path / "orchestrator.log"
    process = start_cli(
        "--lifecycle_port=0",
        "--actor_port=0",
        f"--params={params}",
        f"--pre_trial_hooks={driver.endpoint}",
        f"--status_file={fifo}",
        log=log,
    )
    try:
        assert await asyncio.to_thread(read_fifo, fd, 2) == "IR"
        port = wait_port(log)
        endpoint = f"grpc://127.0.0.1:{port}"
        r = await driver.call(
            "run_trial", orchestrator=endpoint, trial_config={"tag": "cli"}, wait_for=["env"]
        )
        assert r["final_state"] == "ENDED"
        assert r["final_tick"] == 4
        # An open WatchTrials stream and a running trial must not block SIGTERM.
        watch = asyncio.ensure_future(
            driver.call("misc", orchestrator=endpoint, what="watch_until_end")
        )
        endless = await driver.call(
            "run_trial",
            orchestrator=endpoint,
            max_wait=0.5,
            params={"actors": [{"name": "p1"}]},
        )
        assert endless["final_state"] is None  # still running
        started = time.monotonic()
        process.send_signal(signal.SIGTERM)
        returncode = await asyncio.to_thread(process.wait, 10)
        assert returncode == 0
        assert time.monotonic() - started < 5
        assert await asyncio.to_thread(read_fifo, fd, 1) == "T"
        watched = await asyncio.wait_for(watch, 10)
        assert "RUNNING" in watched["states"]
        text = log.read_text()
        assert "Orchestrator shutting down" in text or "Orchestrator stopped" in text
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(5)
        os.close(fd)


def test_cli_bad_params_file_exits_with_2(tmp_path: Path) -> None:
    params = tmp_path / "bad.yaml"
    params.write_text("trial_params:\n  unknown_key: 1\n", encoding="utf-8")
    log = tmp_path / "log"
    process = start_cli("--lifecycle_port=0", f"--params={params}", log=log)
    assert process.wait(30) == 2
    assert "unknown_key" in log.read_text()


def test_cli_port_in_use_exits_with_2(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("0.0.0.0", 0))
        busy.listen()
        port = busy.getsockname()[1]
        log = tmp_path / "log"
        process = start_cli(f"--lifecycle_port={port}", f"--actor_port={port}", log=log)
        assert process.wait(30) == 2
    assert "cannot bind" in log.read_text()


def test_cli_flags_and_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COGMENT_PRE_TRIAL_HOOKS", "grpc://a:1 grpc://b:2")
    monkeypatch.setenv("COGMENT_LIFECYCLE_PORT", "9100")
    args = build_parser().parse_args(
        ["--actor_port=9101", "--directory_registration_properties=a=1,b=2"]
    )
    config = config_from_args(args)
    assert config.lifecycle_port == 9100
    assert config.actor_port == 9101
    assert list(config.pre_trial_hooks) == ["grpc://a:1", "grpc://b:2"]
    assert dict(config.directory_registration_properties) == {"a": "1", "b": "2"}
    args = build_parser().parse_args(
        ["--pre_trial_hooks=grpc://x:1,grpc://y:2", "--pre_trial_hooks=grpc://z:3"]
    )
    assert list(config_from_args(args).pre_trial_hooks) == [
        "grpc://x:1",
        "grpc://y:2",
        "grpc://z:3",
    ]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.interop
async def test_prometheus_metrics(driver: Driver) -> None:
    port = _free_port()
    async with Orchestrator(lifecycle_port=0, host="127.0.0.1", prometheus_port=port) as orch:
        r = await driver.call(
            "run_trial",
            orchestrator=orch.endpoint,
            params={"max_steps": 4, "actors": [{"name": "p1"}]},
        )
        assert r["final_state"] == "ENDED"
        text = await asyncio.to_thread(
            lambda: urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read()
        )
    metrics = text.decode()
    assert "orchestrator_trials_started_total 1.0" in metrics
    assert "orchestrator_trials_ended_total 1.0" in metrics
    assert "orchestrator_ticks_total 6.0" in metrics
    assert "orchestrator_tick_duration_seconds_count 5.0" in metrics


async def test_two_orchestrators_in_one_process_have_separate_metrics() -> None:
    async with (
        Orchestrator(lifecycle_port=0, host="127.0.0.1") as first,
        Orchestrator(lifecycle_port=0, host="127.0.0.1") as second,
    ):
        assert first.lifecycle_port != second.lifecycle_port
        assert first.metrics.registry is not second.metrics.registry


def test_cogment_dispatcher_runs_the_orchestrator_and_sigint_stops_it(tmp_path: Path) -> None:
    status = tmp_path / "status"
    log = tmp_path / "log"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COGMENT_", "TRIAL_"))}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "cogment",
            "services",
            "orchestrator",
            "--lifecycle_port=0",
            "--actor_port=0",
            f"--status_file={status}",
        ],
        stdout=subprocess.DEVNULL,
        stderr=open(log, "wb"),  # noqa: SIM115
        env=env,
    )
    try:
        wait_port(log)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and status.read_text() != "IR":
            time.sleep(0.05)
        assert status.read_text() == "IR"
        process.send_signal(signal.SIGINT)
        assert process.wait(10) == 0
        assert status.read_text() == "IRT"
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(5)
