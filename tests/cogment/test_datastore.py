"""The SDK ``Datastore`` client against the real Trial Datastore service."""

from __future__ import annotations

import asyncio
import contextlib
import types
from collections.abc import AsyncIterator

import grpc.aio
import pytest
from google.protobuf import wrappers_pb2

import cogment
from cogment._controller import TrialState
from cogment._datastore import Datastore, DatastoreFields, DatastoreSample
from cogment_services.trial_datastore import TrialDatastore
from tests.cogment_services.trial_datastore._trials import ActorSpec, TrialSpec, log_trial, packed

pytestmark = pytest.mark.timeout(60)

COG_SETTINGS = types.SimpleNamespace(
    actor_classes=cogment.ActorClassList(
        cogment.ActorClass("player", None, wrappers_pb2.StringValue, wrappers_pb2.StringValue),
        cogment.ActorClass("referee", None, wrappers_pb2.StringValue, wrappers_pb2.StringValue),
    )
)
SPEC = TrialSpec(
    "sdk",
    actors=(ActorSpec("alice", "player", "a1"), ActorSpec("bob", "referee", "judge")),
    env_name="the-env",
    ticks=3,
    properties={"team": "red"},
)


@pytest.fixture
async def service() -> AsyncIterator[TrialDatastore]:
    async with TrialDatastore(port=0) as started:
        yield started


@pytest.fixture
async def channel(service: TrialDatastore) -> AsyncIterator[grpc.aio.Channel]:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{service.port}") as opened:
        yield opened


@pytest.fixture
async def datastore(service: TrialDatastore) -> AsyncIterator[Datastore]:
    client = Datastore(
        grpc.aio.insecure_channel(f"127.0.0.1:{service.port}"),
        COG_SETTINGS,
        cogment.GrpcMetadata().add("x-test", "1"),
        timeout=10,
        url=service.endpoint,
    )
    async with client:
        yield client


async def test_get_trials(channel: grpc.aio.Channel, datastore: Datastore) -> None:
    await log_trial(channel, SPEC, user_id="me")
    await log_trial(channel, TrialSpec("other", ticks=1, properties={"team": "blue"}))
    infos = await datastore.get_trials()
    assert [info.trial_id for info in infos] == ["sdk", "other"]
    info = infos[0]
    assert (info.user_id, info.trial_state, info.sample_count) == ("me", TrialState.ENDED, 4)
    assert info.parameters.properties == {"team": "red"}
    assert [actor.name for actor in info.parameters.actors] == ["alice", "bob"]
    assert info.has_specs()
    assert [i.trial_id for i in await datastore.get_trials(properties={"team": "blue"})] == [
        "other"
    ]
    assert [i.trial_id for i in await datastore.get_trials(ids=["other", "x"])] == ["other"]
    assert await datastore.get_trials(ids=["x"]) == []


async def test_all_trials_bundles_and_wait(channel: grpc.aio.Channel, datastore: Datastore) -> None:
    for index in range(5):
        await log_trial(channel, TrialSpec(f"b{index}", ticks=0))
    assert [i.trial_id async for i in datastore.all_trials(bundle_size=2)] == [
        f"b{i}" for i in range(5)
    ]
    assert [i.trial_id async for i in datastore.all_trials(ids=["b3", "b1"])] == ["b1", "b3"]

    async def late() -> None:
        await asyncio.sleep(0.3)
        await log_trial(channel, TrialSpec("late", ticks=0))

    writer = asyncio.ensure_future(late())
    found = [i.trial_id async for i in datastore.all_trials(bundle_size=6, wait_for_trials=1)]
    await writer
    assert found == [f"b{i}" for i in range(5)] + ["late"]


async def test_all_samples_typed_data(channel: grpc.aio.Channel, datastore: Datastore) -> None:
    await log_trial(channel, SPEC)
    infos = await datastore.get_trials(ids=["sdk"])
    samples = [sample async for sample in datastore.all_samples(infos)]
    assert [s.tick_id for s in samples] == [0, 1, 2, 3]
    assert [s.trial_state for s in samples] == [TrialState.RUNNING] * 3 + [TrialState.ENDED]
    sample: DatastoreSample = samples[1]
    assert sample.trial_id == "sdk" and sample.timestamp == 1_000_000_001 and sample.has_specs()
    alice, bob = sample.actors_data["alice"], sample.actors_data["bob"]
    assert alice.observation == wrappers_pb2.StringValue(value="obs-1-0")
    assert bob.action == wrappers_pb2.StringValue(value="act-1-1")
    assert (
        alice.observation_serialized
        == wrappers_pb2.StringValue(value="obs-1-0").SerializeToString()
    )
    assert bob.reward == pytest.approx((1 * 1 + 10 * 2) / 3)
    received = sorted(
        (r.sender, r.receiver, r.value, r.confidence) for r in bob.all_received_rewards()
    )
    assert received == [("alice", "bob", 1.0, 1.0), ("the-env", "bob", 10.0, 2.0)]
    user_data = next(r for r in bob.all_received_rewards() if r.sender == "alice").user_data
    assert user_data == packed("u1")
    assert next(r for r in bob.all_received_rewards() if r.sender == "the-env").user_data is None
    assert sorted(r.receiver for r in alice.all_sent_rewards()) == ["alice", "bob"]
    messages = list(bob.all_received_messages())
    assert [(m.sender, m.receiver) for m in messages] == [("alice", "bob")]
    content = wrappers_pb2.StringValue()
    assert messages[0].payload is not None and messages[0].payload.Unpack(content)
    assert content.value == "m1"
    assert sorted(m.receiver for m in alice.all_sent_messages()) == ["bob", "the-env"]
    final = samples[-1].actors_data["alice"]
    assert final.action is None and final.action_serialized is None
    assert final.observation == wrappers_pb2.StringValue(value="obs-3-0")
    assert "DatastoreSample" in str(sample) and "alice" in str(alice)


async def test_all_samples_filters(channel: grpc.aio.Channel, datastore: Datastore) -> None:
    await log_trial(channel, SPEC)
    infos = await datastore.get_trials()
    by_class = [s async for s in datastore.all_samples(infos, actor_classes=["referee"])]
    assert all(list(s.actors_data) == ["bob"] for s in by_class)
    by_impl = [s async for s in datastore.all_samples(infos, actor_implementations=["a1"])]
    assert all(list(s.actors_data) == ["alice"] for s in by_impl)
    by_name = [s async for s in datastore.all_samples(infos, actor_names=["alice", "bob"])]
    assert all(sorted(s.actors_data) == ["alice", "bob"] for s in by_name)
    only_actions = [s async for s in datastore.all_samples(infos, fields=[DatastoreFields.ACTION])]
    alice = only_actions[0].actors_data["alice"]
    assert alice.action == wrappers_pb2.StringValue(value="act-0-0")
    assert alice.observation is None and alice.reward == 0.0
    assert list(alice.all_sent_messages()) == []


async def test_live_samples_and_delete(channel: grpc.aio.Channel, datastore: Datastore) -> None:
    writer = asyncio.ensure_future(log_trial(channel, TrialSpec("live", ticks=5), delay=0.05))
    infos = []
    async with contextlib.aclosing(datastore.all_trials(wait_for_trials=5)) as trials:
        async for info in trials:
            infos.append(info)
            break
    assert [i.trial_id for i in infos] == ["live"]
    assert infos[0].trial_state != TrialState.ENDED
    ticks = [s.tick_id async for s in datastore.all_samples(infos)]
    await writer
    assert ticks == [0, 1, 2, 3, 4, 5]
    with pytest.raises(cogment.CogmentError, match="nope"):
        await datastore.delete_trials(["live", "nope"])
    assert len(await datastore.get_trials()) == 1
    await datastore.delete_trials(["live"])
    assert await datastore.get_trials() == []
    with pytest.raises(cogment.CogmentError, match="at least one"):
        await datastore.delete_trials([])


async def test_errors_without_specs_and_unreachable(
    channel: grpc.aio.Channel, service: TrialDatastore
) -> None:
    await log_trial(channel, SPEC)
    no_specs = Datastore(grpc.aio.insecure_channel(f"127.0.0.1:{service.port}"), None)
    async with no_specs:
        assert not no_specs.has_specs()
        infos = await no_specs.get_trials()
        samples = [s async for s in no_specs.all_samples(infos)]
        sample = samples[0]
        data = sample.actors_data["alice"]
        assert data.observation_serialized is not None
        with pytest.raises(cogment.CogmentError, match="without specs"):
            _ = data.observation
        with pytest.raises(cogment.CogmentError, match="at least one"):
            async for _ in no_specs.all_samples([]):
                pass
    unreachable = Datastore(
        grpc.aio.insecure_channel("127.0.0.1:1"), None, timeout=2, url="grpc://127.0.0.1:1"
    )
    async with unreachable:
        with pytest.raises(cogment.CogmentError, match=r"unreachable|timed out"):
            await unreachable.get_trials()


async def test_awaitable_and_compat_module(service: TrialDatastore) -> None:
    import cogment.datastore as compat

    assert compat.Datastore is Datastore and compat.DatastoreFields is DatastoreFields
    assert [f.value for f in DatastoreFields] == list(range(8))
    client = Datastore(grpc.aio.insecure_channel(f"127.0.0.1:{service.port}"), None)
    async with client:
        assert await client is client
