"""The durable SQLite storage: restart, deletion, and nothing acknowledged lost on ``kill -9``."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import grpc
import grpc.aio
import pytest

from cogment.api import datalog_pb2, datalog_pb2_grpc, trial_datastore_pb2
from cogment_services.trial_datastore import TrialDatastore
from tests.cogment_services.trial_datastore._trials import (
    ENDED,
    TrialSpec,
    datalog_inputs,
    datastore_stub,
    log_trial,
    make_params,
    retrieve_samples,
)

pytestmark = pytest.mark.timeout(90)


async def _trial_ids(channel: grpc.aio.Channel, handle: str = "") -> tuple[list[str], str]:
    reply = await datastore_stub(channel).RetrieveTrials(
        trial_datastore_pb2.RetrieveTrialsRequest(trial_handle=handle), timeout=5
    )
    return [info.trial_id for info in reply.trial_infos], reply.next_trial_handle


async def test_restart_serves_everything_stored(tmp_path: Path) -> None:
    database = tmp_path / "sub" / "trials.db"
    async with (
        TrialDatastore(port=0, file_storage=database) as service,
        grpc.aio.insecure_channel(f"127.0.0.1:{service.port}") as channel,
    ):
        await log_trial(channel, TrialSpec("a", ticks=3, properties={"k": "v"}), user_id="u")
        await log_trial(channel, TrialSpec("b", ticks=2))
        await log_trial(channel, TrialSpec("gone", ticks=1))
        await log_trial(channel, TrialSpec("partial", ticks=9), stop_after=4)
        await datastore_stub(channel).DeleteTrials(
            trial_datastore_pb2.DeleteTrialsRequest(trial_ids=["gone"]), timeout=5
        )
        _, handle = await _trial_ids(channel)
        before = await retrieve_samples(channel, ["a", "b", "partial"])
    assert database.exists()
    async with (
        TrialDatastore(port=0, file_storage=database) as service,
        grpc.aio.insecure_channel(f"127.0.0.1:{service.port}") as channel,
    ):
        ids, _ = await _trial_ids(channel)
        assert ids == ["a", "b", "partial"]
        reply = await datastore_stub(channel).RetrieveTrials(
            trial_datastore_pb2.RetrieveTrialsRequest(trial_ids=["a"]), timeout=5
        )
        info = reply.trial_infos[0]
        assert (info.user_id, info.last_state, info.samples_count) == ("u", ENDED, 4)
        assert info.params == make_params(TrialSpec("a", ticks=3, properties={"k": "v"}))
        after = await asyncio.wait_for(retrieve_samples(channel, ["a", "b", "partial"]), 10)
        assert after == before
        # positions are never reused: a handle from before the restart still pages forward
        await log_trial(channel, TrialSpec("c", ticks=0))
        assert (await _trial_ids(channel, handle))[0] == ["c"]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _start(database: Path, port: int, status: Path) -> subprocess.Popen[bytes]:
    status.write_text("")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "cogment",
            "services",
            "trial_datastore",
            f"--port={port}",
            f"--file_storage={database}",
            f"--status_file={status}",
            "--log_level=warning",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 30
    while "R" not in status.read_text():
        if process.poll() is not None:
            raise AssertionError(
                f"datastore exited: {process.stderr.read().decode() if process.stderr else ''}"
            )
        if time.monotonic() > deadline:
            process.kill()
            raise AssertionError("datastore not ready within 30 s")
        time.sleep(0.05)
    return process


@pytest.fixture
def processes() -> Iterator[list[subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for process in started:
        if process.poll() is None:
            process.kill()
        process.wait(10)


async def test_kill_9_loses_nothing_acknowledged(
    tmp_path: Path, processes: list[subprocess.Popen[bytes]]
) -> None:
    database = tmp_path / "trials.db"
    status = tmp_path / "status"
    port = _free_port()
    processes.append(_start(database, port, status))
    specs = [TrialSpec(f"k{index}", ticks=10_000) for index in range(4)]
    acked: dict[str, int] = {spec.trial_id: 0 for spec in specs}

    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        await log_trial(channel, TrialSpec("complete", ticks=5))

        async def write(spec: TrialSpec) -> None:

            stub = datalog_pb2_grpc.DatalogSPStub(channel)
            inputs = datalog_inputs(spec)

            async def requests() -> AsyncIterator[datalog_pb2.RunTrialDatalogInput]:
                for message in inputs:
                    yield message
                    await asyncio.sleep(0.001)

            try:
                async for _ in stub.RunTrialDatalog(
                    requests(), metadata=(("trial-id", spec.trial_id),)
                ):
                    acked[spec.trial_id] += 1
            except grpc.aio.AioRpcError:
                pass  # the service was killed

        writers = [asyncio.ensure_future(write(spec)) for spec in specs]
        deadline = time.monotonic() + 20
        while min(acked.values()) < 30 and time.monotonic() < deadline:  # noqa: ASYNC110 (polling counters)
            await asyncio.sleep(0.05)
        os.kill(processes[0].pid, signal.SIGKILL)
        processes[0].wait(10)
        snapshot = dict(acked)  # acks received before the kill
        await asyncio.wait_for(asyncio.gather(*writers), 20)
    assert min(snapshot.values()) >= 30, snapshot

    processes.append(_start(database, port, status))
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        reply = await datastore_stub(channel).RetrieveTrials(
            trial_datastore_pb2.RetrieveTrialsRequest(), timeout=5
        )
        counts = {info.trial_id: info.samples_count for info in reply.trial_infos}
        assert counts["complete"] == 6
        for spec in specs:
            acknowledged_samples = acked[spec.trial_id] - 1  # the first ack is for the params
            assert counts[spec.trial_id] >= acknowledged_samples, (spec.trial_id, counts, acked)
            samples = await asyncio.wait_for(retrieve_samples(channel, [spec.trial_id]), 20)
            assert [s.tick_id for s in samples] == list(range(counts[spec.trial_id]))
    processes[-1].send_signal(signal.SIGTERM)
    assert processes[-1].wait(10) == 0


async def test_one_service_per_file_and_bad_files(tmp_path: Path) -> None:
    from cogment_services._server import ServiceStartupError

    database = tmp_path / "trials.db"
    async with TrialDatastore(port=0, file_storage=database):
        with pytest.raises(ServiceStartupError, match="used by another process"):
            await TrialDatastore(port=0, file_storage=database).start()
    async with TrialDatastore(port=0, file_storage=database):
        pass  # the lock is released on stop
    not_a_database = tmp_path / "notes.txt"
    not_a_database.write_text("this is not a database " * 100)
    with pytest.raises(ServiceStartupError, match="cannot open the trial datastore file"):
        await TrialDatastore(port=0, file_storage=not_a_database).start()


async def test_deleting_a_trial_being_logged(tmp_path: Path) -> None:
    async with (
        TrialDatastore(port=0, file_storage=tmp_path / "trials.db") as service,
        grpc.aio.insecure_channel(f"127.0.0.1:{service.port}") as channel,
    ):
        writer = asyncio.ensure_future(
            log_trial(channel, TrialSpec("doomed", ticks=40), delay=0.01)
        )
        await datastore_stub(channel).RetrieveTrials(
            trial_datastore_pb2.RetrieveTrialsRequest(trial_ids=["doomed"], timeout=5000),
            timeout=10,
        )
        await asyncio.sleep(0.1)
        await datastore_stub(channel).DeleteTrials(
            trial_datastore_pb2.DeleteTrialsRequest(trial_ids=["doomed"]), timeout=5
        )
        # the Orchestrator's stream is not disturbed: every message is still acknowledged
        assert await writer == 1 + 41
        assert (await _trial_ids(channel))[0] == []
