"""Discovery through a Directory: published-SDK services register, our Orchestrator discovers
them (``cogment://discover``) and registers itself, the published controller finds it."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from cogment_services.orchestrator import Orchestrator

from .conftest import Driver
from .test_trials import end_reason

pytestmark = pytest.mark.interop


@pytest.fixture(scope="module")
def directory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    log = tmp_path_factory.mktemp("directory") / "directory.log"
    process = subprocess.Popen(
        [sys.executable, "-m", "cogment", "services", "directory", "--port=0"],
        stdout=subprocess.PIPE,
        stderr=open(log, "wb"),  # noqa: SIM115
        text=True,
    )
    try:
        assert process.stdout is not None
        deadline = time.monotonic() + 30
        port = 0
        while time.monotonic() < deadline and not port:
            line = process.stdout.readline()
            match = re.search(r"port (\d+)", line)
            if match:
                port = int(match.group(1))
            elif not line and process.poll() is not None:
                break
        assert port, f"directory did not start: {log.read_text()}"
        yield f"grpc://127.0.0.1:{port}"
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


@pytest.fixture(scope="module")
def discovering_driver(
    directory: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Driver]:
    instance = Driver(tmp_path_factory.mktemp("scenario-dir"), {"SCENARIO_DIRECTORY": directory})
    try:
        yield instance
    finally:
        instance.close()


async def test_trial_with_discovered_components(
    directory: str, discovering_driver: Driver, tmp_path: Path
) -> None:
    async with Orchestrator(
        lifecycle_port=0,
        host="127.0.0.1",
        directory_endpoint=directory,
        directory_registration_host="127.0.0.1",
    ) as orch:
        r = await discovering_driver.call(
            "run_trial",
            orchestrator="cogment://discover",
            actor_endpoint="cogment://discover",
            join=[{"actor_name": "c1"}],
            wait_for=["env", "p1", "c1", "datalog"],
            params={
                "max_steps": 3,
                "env": {"endpoint": "discover"},
                "datalog": "discover",
                "actors": [
                    {"name": "p1", "endpoint": "discover"},
                    {"name": "c1", "endpoint": "client"},
                ],
            },
        )
        assert r.get("final_state") == "ENDED", r
        assert end_reason(orch, r) == "Maximum number of steps reached"
        assert [o[0] for o in r["records"]["p1"]["observations"]] == [0, 1, 2, 3, 4]
        assert [o[0] for o in r["records"]["c1"]["observations"]] == [0, 1, 2, 3, 4]
        assert [s["tick"] for s in r["records"]["datalog"]] == [0, 1, 2, 3, 4]


async def test_discovery_finding_nothing_is_refused(
    directory: str, discovering_driver: Driver
) -> None:
    async with Orchestrator(
        lifecycle_port=0,
        host="127.0.0.1",
        directory_endpoint=directory,
        directory_auto_register=False,
    ) as orch:
        r = await discovering_driver.call(
            "run_trial",
            orchestrator=orch.endpoint,
            params={
                "env": {"endpoint": "cogment://discover?missing=1"},
                "actors": [{"name": "p1"}],
            },
        )
        assert "environment.endpoint" in r["start_error"]
        assert "No service found" in r["start_error"]
