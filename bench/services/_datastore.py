"""Datastore workloads: a trial of 10 actors with 1 KiB actions run by our Orchestrator and
logged to our Trial Datastore (ingest), then read back with ``Datastore.all_samples`` (retrieval).

Baselines from the same run: the same trial without datalog (what the Orchestrator and the
components alone sustain), and parsing the same serialized samples from a local file.
"""

from __future__ import annotations

import asyncio
import contextlib
import struct
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import cogment
from cogment._datastore import Datastore
from cogment.api import common_pb2, trial_datastore_pb2

ACTORS = 10
PAYLOAD = 1024
ENV_IMPL = "bench-env"
ACTOR_IMPL = "bench-actor"

# Spaces: any protobuf message works; SerializedMessage carries the 1 KiB payloads.
Observation = common_pb2.SerializedMessage
Action = common_pb2.SerializedMessage
SETTINGS = SimpleNamespace(
    actor_classes=cogment.ActorClassList(cogment.ActorClass("player", None, Action, Observation)),
    trial=SimpleNamespace(config_type=None),
    environment=SimpleNamespace(config_type=None),
)


@dataclass(frozen=True)
class TrialRun:
    """One trial: its id, ticks played (with actions), seconds from its start until it ended
    and, with a datalog, until the Datastore held every sample."""

    trial_id: str
    ticks: int
    seconds: float


class Finished:
    """What the environment reports: which trials ended, after how many ticks."""

    def __init__(self) -> None:
        self.events: dict[str, asyncio.Event] = {}
        self.ticks: dict[str, int] = {}

    def event(self, trial_id: str) -> asyncio.Event:
        return self.events.setdefault(trial_id, asyncio.Event())


def _register(ctx: cogment.Context, ticks: int, ended: Finished) -> None:
    observation = Observation(content=b"o" * PAYLOAD)

    async def environment(session: cogment.EnvironmentSession[Any, Any, Any]) -> None:
        session.start([("*", observation)])
        played = 0
        async for event in session.all_events():
            if event.actions:
                played += 1
                tick = event.actions[0].tick_id
                session.add_reward(1.0, 1.0, ["*"])
                if tick + 1 >= ticks or event.type == cogment.EventType.ENDING:
                    session.end([("*", observation)])
                else:
                    session.produce_observations([("*", observation)])
        ended.ticks[session.get_trial_id()] = played
        ended.event(session.get_trial_id()).set()

    async def actor(session: cogment.ActorSession[Any, Any, Any]) -> None:
        action = Action(content=session.name.encode().ljust(PAYLOAD, b"a"))
        session.start()
        async for event in session.all_events():
            if event.observation is not None and event.type == cogment.EventType.ACTIVE:
                session.do_action(action)

    ctx.register_environment(environment, ENV_IMPL)
    ctx.register_actor(actor, ACTOR_IMPL, ["player"])


@contextlib.asynccontextmanager
async def components(ticks: int) -> AsyncIterator[tuple[cogment.Context, int, Finished]]:
    """A Context serving the environment and the actors on 127.0.0.1 (free port)."""
    ctx = cogment.Context(user_id="bench-services", cog_settings=SETTINGS)
    ended = Finished()
    _register(ctx, ticks, ended)
    task = asyncio.create_task(
        ctx.serve_all_registered(cogment.ServedEndpoint(0), host="127.0.0.1")
    )
    try:
        port = await asyncio.wait_for(ctx.wait_for_serving(), 20)
        yield ctx, port, ended
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def run_trial(
    ctx: cogment.Context,
    port: int,
    ended: Finished,
    orchestrator: str,
    datastore: str | None,
) -> TrialRun:
    """Run one trial; with ``datastore``, wait until the Datastore holds every sample."""
    url = f"grpc://127.0.0.1:{port}"
    params = cogment.TrialParameters(
        SETTINGS,
        environment_endpoint=url,
        environment_implementation=ENV_IMPL,
        datalog_endpoint=datastore,
        max_steps=1_000_000,
        actors=[
            cogment.ActorParameters(
                SETTINGS, class_name="player", name=f"a{i}", endpoint=url, implementation=ACTOR_IMPL
            )
            for i in range(ACTORS)
        ],
    )
    controller = await ctx.get_controller(cogment.Endpoint(orchestrator))
    start = time.perf_counter()
    trial_id = await controller.start_trial(trial_params=params)
    await asyncio.wait_for(ended.event(trial_id).wait(), 300)
    ticks = ended.ticks[trial_id]
    if datastore is not None:
        client = await ctx.get_datastore(cogment.Endpoint(datastore))
        while True:
            infos = await client.get_trials(ids=[trial_id])
            if infos and infos[0].trial_state == cogment.TrialState.ENDED:
                if infos[0].sample_count < ticks:
                    raise RuntimeError(f"{infos[0].sample_count} samples stored of {ticks}")
                break
            await asyncio.sleep(0.005)
    return TrialRun(trial_id, ticks, time.perf_counter() - start)


async def read_samples(datastore: str, trial_id: str) -> tuple[int, float, list[bytes]]:
    """Samples read with every actor's observation and action decoded, the seconds it took,
    and the serialized samples (for the file baseline)."""
    client = Datastore(_channel(datastore), SETTINGS, timeout=60)
    async with client:
        infos = await client.get_trials(ids=[trial_id])
        start = time.perf_counter()
        samples = []
        async for sample in client.all_samples(infos):
            for data in sample.actors_data.values():
                data.observation  # noqa: B018 - decoding is part of the work measured
                data.action  # noqa: B018
            samples.append(sample)
        elapsed = time.perf_counter() - start
    # serialized outside of the measured time
    return len(samples), elapsed, [sample._raw.SerializeToString() for sample in samples]


def _channel(url: str) -> Any:
    import grpc.aio

    return grpc.aio.insecure_channel(url.removeprefix("grpc://"))


def file_read_baseline(raw: list[bytes], folder: Path) -> float:
    """Samples per second parsing the same serialized samples from a local file."""
    path = folder / "samples.bin"
    with path.open("wb") as out:
        for blob in raw:
            out.write(struct.pack("<I", len(blob)))
            out.write(blob)
    start = time.perf_counter()
    count = 0
    with path.open("rb") as source:
        data = source.read()
    offset = 0
    while offset < len(data):
        (size,) = struct.unpack_from("<I", data, offset)
        offset += 4
        sample = trial_datastore_pb2.StoredTrialSample()
        sample.ParseFromString(data[offset : offset + size])
        offset += size
        count += 1
    return count / (time.perf_counter() - start)
