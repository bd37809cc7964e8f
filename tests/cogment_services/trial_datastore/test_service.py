"""The Trial Datastore over gRPC: ingest via DatalogSP, retrieve, live streaming, paging, import,
delete, eviction, concurrency (in-memory storage; SQLite in test_sqlite.py)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import grpc
import grpc.aio
import pytest

from cogment.api import common_pb2, datalog_pb2, datalog_pb2_grpc, trial_datastore_pb2
from cogment_services.trial_datastore import TrialDatastore
from tests.cogment_services.trial_datastore._trials import (
    ENDED,
    ActorSpec,
    TrialSpec,
    action,
    datastore_stub,
    log_trial,
    make_params,
    observation,
    retrieve_samples,
)

pytestmark = pytest.mark.timeout(60)

FIELD = trial_datastore_pb2


async def test_datalog_ingest_then_retrieve(channel: grpc.aio.Channel) -> None:
    spec = TrialSpec("trial-a", properties={"team": "red"})
    acks = await log_trial(channel, spec, user_id="someone")
    assert acks == 1 + spec.ticks + 1  # params + every sample acknowledged
    stub = datastore_stub(channel)
    reply = await stub.RetrieveTrials(trial_datastore_pb2.RetrieveTrialsRequest(), timeout=5)
    assert [info.trial_id for info in reply.trial_infos] == ["trial-a"]
    info = reply.trial_infos[0]
    assert info.last_state == ENDED
    assert info.user_id == "someone"
    assert info.samples_count == spec.ticks + 1
    assert info.params == make_params(spec)
    samples = await retrieve_samples(channel, ["trial-a"])
    assert [s.tick_id for s in samples] == [0, 1, 2, 3]
    assert [s.state for s in samples] == [common_pb2.RUNNING] * 3 + [ENDED]
    first = samples[0]
    assert first.user_id == "someone" and first.trial_id == "trial-a"
    assert first.payloads[first.actor_samples[1].observation] == observation(0, 1)
    assert first.payloads[first.actor_samples[0].action] == action(0, 0)


async def test_retrieve_trials_filters(channel: grpc.aio.Channel) -> None:
    for index, team in enumerate(["red", "blue", "red"]):
        await log_trial(
            channel, TrialSpec(f"t{index}", ticks=1, properties={"team": team, "n": str(index)})
        )
    stub = datastore_stub(channel)

    async def ids(**kwargs: Any) -> list[str]:
        reply = await stub.RetrieveTrials(
            trial_datastore_pb2.RetrieveTrialsRequest(**kwargs), timeout=5
        )
        return [info.trial_id for info in reply.trial_infos]

    assert await ids() == ["t0", "t1", "t2"]
    assert await ids(properties={"team": "red"}) == ["t0", "t2"]
    assert await ids(properties={"team": "red", "n": "2"}) == ["t2"]
    assert await ids(properties={"team": "green"}) == []
    assert await ids(trial_ids=["t2", "t1", "nope"]) == ["t1", "t2"]
    assert await ids(trial_ids=["t2"], properties={"team": "blue"}) == []


async def test_paging_handles(channel: grpc.aio.Channel) -> None:
    for index in range(5):
        await log_trial(channel, TrialSpec(f"p{index}", ticks=0))
    stub = datastore_stub(channel)
    seen: list[str] = []
    handle = ""
    pages = 0
    while True:
        reply = await stub.RetrieveTrials(
            trial_datastore_pb2.RetrieveTrialsRequest(trials_count=2, trial_handle=handle),
            timeout=5,
        )
        seen += [info.trial_id for info in reply.trial_infos]
        pages += 1
        if len(reply.trial_infos) < 2:
            break
        handle = reply.next_trial_handle
    assert seen == [f"p{i}" for i in range(5)]
    assert pages == 3
    # deleting an already seen trial does not disturb the next pages
    await stub.DeleteTrials(trial_datastore_pb2.DeleteTrialsRequest(trial_ids=["p0"]), timeout=5)
    reply = await stub.RetrieveTrials(
        trial_datastore_pb2.RetrieveTrialsRequest(trials_count=2, trial_handle=handle), timeout=5
    )
    assert [info.trial_id for info in reply.trial_infos] == ["p4"]
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await stub.RetrieveTrials(
            trial_datastore_pb2.RetrieveTrialsRequest(trial_handle="x"), timeout=5
        )
    assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT


async def test_retrieve_trials_waits_for_new_trials(channel: grpc.aio.Channel) -> None:
    stub = datastore_stub(channel)
    started = time.monotonic()
    waiting = asyncio.ensure_future(
        stub.RetrieveTrials(
            trial_datastore_pb2.RetrieveTrialsRequest(timeout=5000, trials_count=2), timeout=10
        )
    )
    await asyncio.sleep(0.2)
    assert not waiting.done()
    await log_trial(channel, TrialSpec("late-1", ticks=0))
    await asyncio.sleep(0.1)
    assert not waiting.done()
    await log_trial(channel, TrialSpec("late-2", ticks=0))
    reply = await waiting
    assert [info.trial_id for info in reply.trial_infos] == ["late-1", "late-2"]
    assert time.monotonic() - started < 4
    # timeout reached with fewer trials than asked: what was found
    started = time.monotonic()
    reply = await stub.RetrieveTrials(
        trial_datastore_pb2.RetrieveTrialsRequest(
            timeout=300, trials_count=5, trial_handle=reply.next_trial_handle
        ),
        timeout=10,
    )
    assert list(reply.trial_infos) == []
    assert 0.25 < time.monotonic() - started < 3


async def test_retrieve_samples_filters(channel: grpc.aio.Channel) -> None:
    spec = TrialSpec(
        "f",
        actors=(
            ActorSpec("alice", "player", "a1"),
            ActorSpec("bob", "referee", "judge"),
            ActorSpec("carol", "player", "a2"),
        ),
        ticks=2,
    )
    await log_trial(channel, spec)

    async def actors(**filters: list[object]) -> list[list[int]]:
        return [
            [a.actor for a in s.actor_samples]
            for s in await retrieve_samples(channel, ["f"], **filters)
        ]

    assert await actors() == [[0, 1, 2]] * 3
    assert await actors(actor_names=["bob"]) == [[1]] * 3
    assert await actors(actor_classes=["player"]) == [[0, 2]] * 3
    assert await actors(actor_implementations=["a2", "judge"]) == [[1, 2]] * 3
    assert await actors(actor_classes=["player"], actor_implementations=["judge"]) == [[]] * 3
    # fields: only the observation; other fields and unreferenced payloads are emptied
    samples = await retrieve_samples(
        channel, ["f"], selected_sample_fields=[FIELD.STORED_TRIAL_SAMPLE_FIELD_OBSERVATION]
    )
    first = samples[0]
    for actor_sample in first.actor_samples:
        assert actor_sample.HasField("observation")
        assert not actor_sample.HasField("action") and not actor_sample.HasField("reward")
        assert not actor_sample.received_rewards and not actor_sample.sent_messages
    assert sorted(p for p in first.payloads if p) == sorted(observation(0, i) for i in range(3))
    samples = await retrieve_samples(
        channel,
        ["f"],
        actor_names=["bob"],
        selected_sample_fields=[
            FIELD.STORED_TRIAL_SAMPLE_FIELD_REWARD,
            FIELD.STORED_TRIAL_SAMPLE_FIELD_RECEIVED_MESSAGES,
        ],
    )
    bob = samples[1].actor_samples[0]
    assert bob.HasField("reward") and not bob.HasField("observation")
    assert len(bob.received_messages) == 1 and not bob.received_rewards
    assert samples[1].payloads[bob.received_messages[0].payload]


async def test_retrieve_samples_unknown_and_empty(channel: grpc.aio.Channel) -> None:
    await log_trial(channel, TrialSpec("known", ticks=0))
    assert await retrieve_samples(channel, []) == []
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await retrieve_samples(channel, ["known", "unknown"])
    assert error.value.code() == grpc.StatusCode.NOT_FOUND
    assert "unknown" in (error.value.details() or "")


async def test_live_streaming_of_a_running_trial(channel: grpc.aio.Channel) -> None:
    spec = TrialSpec("live", ticks=6)
    writer = asyncio.ensure_future(log_trial(channel, spec, delay=0.05))
    stub = datastore_stub(channel)
    reply = await stub.RetrieveTrials(
        trial_datastore_pb2.RetrieveTrialsRequest(timeout=5000, trials_count=1), timeout=10
    )
    assert reply.trial_infos[0].trial_id == "live"
    received: list[tuple[int, float]] = []
    async for sample_reply in stub.RetrieveSamples(
        trial_datastore_pb2.RetrieveSamplesRequest(trial_ids=["live"]), timeout=20
    ):
        received.append((sample_reply.trial_sample.tick_id, time.monotonic()))
    await writer
    assert [tick for tick, _ in received] == list(range(spec.ticks + 1))
    # samples arrived while the trial ran, not all at the end
    assert received[-1][1] - received[0][1] > 0.15


async def test_live_streaming_ends_when_datalog_stream_breaks(channel: grpc.aio.Channel) -> None:
    spec = TrialSpec("broken", ticks=10)
    await log_trial(channel, spec, stop_after=3)  # the stream closes without ENDED
    samples = await asyncio.wait_for(retrieve_samples(channel, ["broken"]), 5)
    assert [s.tick_id for s in samples] == [0, 1, 2]


async def test_several_trials_live_and_ended(channel: grpc.aio.Channel) -> None:
    await log_trial(channel, TrialSpec("done", ticks=2))
    writer = asyncio.ensure_future(log_trial(channel, TrialSpec("running", ticks=4), delay=0.05))
    stub = datastore_stub(channel)
    await stub.RetrieveTrials(
        trial_datastore_pb2.RetrieveTrialsRequest(trial_ids=["running"], timeout=5000), timeout=10
    )
    samples = await retrieve_samples(channel, ["done", "running"])
    await writer
    done = [s.tick_id for s in samples if s.trial_id == "done"]
    running = [s.tick_id for s in samples if s.trial_id == "running"]
    assert done == [0, 1, 2] and running == [0, 1, 2, 3, 4]
    assert [s.trial_id for s in samples[:3]] == [
        "done"
    ] * 3  # stored trials first, in request order


async def test_add_trial_and_samples_import(channel: grpc.aio.Channel) -> None:
    stub = datastore_stub(channel)
    params = make_params(TrialSpec("imported"))
    await stub.AddTrial(
        trial_datastore_pb2.AddTrialRequest(user_id="importer", trial_params=params),
        metadata=(("trial-id", "imported"),),
        timeout=5,
    )
    samples = [
        trial_datastore_pb2.StoredTrialSample(
            tick_id=tick, state=ENDED if tick == 149 else common_pb2.RUNNING, payloads=[b"x" * tick]
        )
        for tick in range(150)
    ]
    samples[3].trial_id = "imported"

    async def requests() -> AsyncIterator[trial_datastore_pb2.AddSampleRequest]:
        for sample in samples:
            yield trial_datastore_pb2.AddSampleRequest(trial_sample=sample)

    await stub.AddSample(requests(), metadata=(("trial-id", "imported"),), timeout=10)
    reply = await stub.RetrieveTrials(
        trial_datastore_pb2.RetrieveTrialsRequest(trial_ids=["imported"]), timeout=5
    )
    assert reply.trial_infos[0].samples_count == 150
    assert reply.trial_infos[0].user_id == "importer"
    assert reply.trial_infos[0].last_state == ENDED
    stored = await retrieve_samples(channel, ["imported"])
    assert [s.tick_id for s in stored] == list(range(150))
    assert all(s.trial_id == "imported" for s in stored)

    async def wrong() -> AsyncIterator[trial_datastore_pb2.AddSampleRequest]:
        yield trial_datastore_pb2.AddSampleRequest(
            trial_sample=trial_datastore_pb2.StoredTrialSample(trial_id="other")
        )

    for metadata, call_requests, code in [
        ((("trial-id", "imported"),), wrong(), grpc.StatusCode.INVALID_ARGUMENT),
        ((), requests(), grpc.StatusCode.INVALID_ARGUMENT),
        ((("trial-id", "nope"),), requests(), grpc.StatusCode.NOT_FOUND),
    ]:
        with pytest.raises(grpc.aio.AioRpcError) as error:
            await stub.AddSample(call_requests, metadata=metadata, timeout=5)
        assert error.value.code() == code
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await stub.AddTrial(trial_datastore_pb2.AddTrialRequest(trial_params=params), timeout=5)
    assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT


async def test_delete_is_all_or_nothing(channel: grpc.aio.Channel) -> None:
    for name in ("d1", "d2", "d3"):
        await log_trial(channel, TrialSpec(name, ticks=1))
    stub = datastore_stub(channel)
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await stub.DeleteTrials(
            trial_datastore_pb2.DeleteTrialsRequest(trial_ids=["d1", "missing", "d2"]), timeout=5
        )
    assert error.value.code() == grpc.StatusCode.NOT_FOUND
    assert "missing" in (error.value.details() or "")
    reply = await stub.RetrieveTrials(trial_datastore_pb2.RetrieveTrialsRequest(), timeout=5)
    assert [i.trial_id for i in reply.trial_infos] == ["d1", "d2", "d3"]
    await stub.DeleteTrials(
        trial_datastore_pb2.DeleteTrialsRequest(trial_ids=["d1", "d3"]), timeout=5
    )
    reply = await stub.RetrieveTrials(trial_datastore_pb2.RetrieveTrialsRequest(), timeout=5)
    assert [i.trial_id for i in reply.trial_infos] == ["d2"]
    with pytest.raises(grpc.aio.AioRpcError):
        await retrieve_samples(channel, ["d1"])
    # a deleted trial id can be logged again from scratch
    await log_trial(channel, TrialSpec("d1", ticks=0))
    assert [s.tick_id for s in await retrieve_samples(channel, ["d1"])] == [0]


async def test_datalog_protocol_errors(channel: grpc.aio.Channel) -> None:
    stub = datalog_pb2_grpc.DatalogSPStub(channel)

    async def sample_first() -> AsyncIterator[datalog_pb2.RunTrialDatalogInput]:
        yield datalog_pb2.RunTrialDatalogInput(sample=datalog_pb2.DatalogSample())

    with pytest.raises(grpc.aio.AioRpcError) as error:
        async for _ in stub.RunTrialDatalog(
            sample_first(), metadata=(("trial-id", "x"),), timeout=5
        ):
            pass
    assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "trial_params" in (error.value.details() or "")

    async def params_only() -> AsyncIterator[datalog_pb2.RunTrialDatalogInput]:
        yield datalog_pb2.RunTrialDatalogInput(trial_params=make_params(TrialSpec("x")))

    with pytest.raises(grpc.aio.AioRpcError) as error:
        async for _ in stub.RunTrialDatalog(params_only(), timeout=5):
            pass
    assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "trial-id" in (error.value.details() or "")


async def test_version_and_status(channel: grpc.aio.Channel) -> None:
    await log_trial(channel, TrialSpec("s", ticks=0))
    stub = datastore_stub(channel)
    version = await stub.Version(common_pb2.VersionRequest(), timeout=5)
    assert "cogment" in {v.name for v in version.versions}
    status = await stub.Status(common_pb2.StatusRequest(names=["*"]), timeout=5)
    assert status.statuses["overall_load"] == "0" and status.statuses["nb_trials"] == "1"
    status = await datalog_pb2_grpc.DatalogSPStub(channel).Status(
        common_pb2.StatusRequest(names=["overall_load"]), timeout=5
    )
    assert dict(status.statuses) == {"overall_load": "0"}


async def test_lru_eviction_keeps_recent_and_running_trials() -> None:
    async with TrialDatastore(port=0) as service:
        store = service.store
        assert store is not None
        async with grpc.aio.insecure_channel(f"127.0.0.1:{service.port}") as channel:
            stub = datastore_stub(channel)
            await log_trial(channel, TrialSpec("measure", ticks=3))
            trial_size = store.stored_size
            await stub.DeleteTrials(
                trial_datastore_pb2.DeleteTrialsRequest(trial_ids=["measure"]), timeout=5
            )
            assert store.stored_size == 0
            store.max_samples_size = int(3.5 * trial_size)
            running = asyncio.ensure_future(
                log_trial(channel, TrialSpec("running", ticks=3), delay=0.5)
            )
            for name in ("e1", "e2", "e3"):
                await log_trial(channel, TrialSpec(name, ticks=3))
            await retrieve_samples(channel, ["e1"])  # e1 becomes the most recently used
            await log_trial(channel, TrialSpec("e4", ticks=3))
            await log_trial(channel, TrialSpec("e5", ticks=3))
            reply = await stub.RetrieveTrials(
                trial_datastore_pb2.RetrieveTrialsRequest(), timeout=5
            )
            assert sorted(i.trial_id for i in reply.trial_infos) == ["e1", "e4", "e5", "running"]
            assert store.stored_size <= store.max_samples_size
            assert store.evicted_count == 2
            await running
            assert [s.tick_id for s in await retrieve_samples(channel, ["running"])] == [0, 1, 2, 3]


async def test_many_concurrent_writers_and_readers(channel: grpc.aio.Channel) -> None:
    specs = [TrialSpec(f"c{index}", ticks=20) for index in range(12)]
    writers = [asyncio.ensure_future(log_trial(channel, spec, delay=0.002)) for spec in specs]
    stub = datastore_stub(channel)
    await stub.RetrieveTrials(
        trial_datastore_pb2.RetrieveTrialsRequest(timeout=5000, trials_count=len(specs)), timeout=10
    )
    readers = [asyncio.ensure_future(retrieve_samples(channel, [spec.trial_id])) for spec in specs]
    multi = asyncio.ensure_future(retrieve_samples(channel, [spec.trial_id for spec in specs]))
    assert all(acks == 22 for acks in await asyncio.gather(*writers))
    for spec, result in zip(specs, await asyncio.gather(*readers), strict=True):
        assert [s.tick_id for s in result] == list(range(21)), spec.trial_id
    combined = await multi
    assert len(combined) == 21 * len(specs)
    for spec in specs:
        assert [s.tick_id for s in combined if s.trial_id == spec.trial_id] == list(range(21))


async def test_cancelled_live_reader_and_shutdown_do_not_hang() -> None:
    service = TrialDatastore(port=0, grace=0.5)
    await service.start()
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{service.port}") as channel:
            await log_trial(channel, TrialSpec("open", ticks=50), stop_after=2)
            stub = datastore_stub(channel)
            # a live datalog stream that stays open: readers of its trial wait for more samples
            datalog = datalog_pb2_grpc.DatalogSPStub(channel)
            opened = asyncio.Event()

            async def requests() -> AsyncIterator[datalog_pb2.RunTrialDatalogInput]:
                yield datalog_pb2.RunTrialDatalogInput(
                    trial_params=make_params(TrialSpec("hanging"))
                )
                opened.set()
                await asyncio.sleep(3600)

            logging = datalog.RunTrialDatalog(requests(), metadata=(("trial-id", "hanging"),))
            await opened.wait()
            await stub.RetrieveTrials(
                trial_datastore_pb2.RetrieveTrialsRequest(trial_ids=["hanging"], timeout=5000),
                timeout=10,
            )
            reader = stub.RetrieveSamples(
                trial_datastore_pb2.RetrieveSamplesRequest(trial_ids=["hanging"]), timeout=30
            )
            waiting = asyncio.ensure_future(reader.read())
            await asyncio.sleep(0.2)
            assert not waiting.done()
            reader.cancel()
            with pytest.raises(asyncio.CancelledError):
                await waiting
            second = stub.RetrieveSamples(
                trial_datastore_pb2.RetrieveSamplesRequest(trial_ids=["hanging"]), timeout=30
            )
            second_read = asyncio.ensure_future(second.read())
            await asyncio.sleep(0.2)
            started = time.monotonic()
            await service.stop()
            assert time.monotonic() - started < 5
            with pytest.raises(grpc.aio.AioRpcError):
                await second_read
            logging.cancel()
    finally:
        await service.stop()
