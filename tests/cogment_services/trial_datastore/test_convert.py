"""DatalogSample -> StoredTrialSample conversion."""

from __future__ import annotations

import pytest

from cogment.api import datalog_pb2, trial_datastore_pb2
from cogment_services.trial_datastore._convert import (
    TrialActorIndex,
    aggregate_reward,
    stored_sample_from_datalog,
)
from tests.cogment_services.trial_datastore._trials import (
    ActorSpec,
    TrialSpec,
    action,
    make_params,
    make_sample,
    observation,
    packed,
)

SPEC = TrialSpec(
    "t1",
    actors=(
        ActorSpec("alice", "player"),
        ActorSpec("bob", "referee", "judge"),
        ActorSpec("carol", "player", "other", default_action=b"default-carol"),
    ),
)


def convert(
    sample: datalog_pb2.DatalogSample, spec: TrialSpec = SPEC
) -> trial_datastore_pb2.StoredTrialSample:
    return stored_sample_from_datalog(
        spec.trial_id, "user", TrialActorIndex(make_params(spec)), sample
    )


def test_observations_actions_and_header() -> None:
    stored = convert(make_sample(SPEC, 1))
    assert (stored.trial_id, stored.user_id, stored.tick_id, stored.timestamp) == (
        "t1",
        "user",
        1,
        1_000_000_001,
    )
    assert [a.actor for a in stored.actor_samples] == [0, 1, 2]
    for index, actor_sample in enumerate(stored.actor_samples):
        assert stored.payloads[actor_sample.observation] == observation(1, index)
        assert stored.payloads[actor_sample.action] == action(1, index)


def test_shared_observation_is_stored_once() -> None:
    sample = make_sample(SPEC, 0)
    del sample.observations.observations[:]
    del sample.observations.actors_map[:]
    sample.observations.observations.append(b"shared")
    sample.observations.actors_map.extend([0, 0, 0])
    stored = convert(sample)
    assert {a.observation for a in stored.actor_samples} == {stored.actor_samples[0].observation}
    assert list(stored.payloads).count(b"shared") == 1


def test_rewards_wildcard_environment_and_aggregation() -> None:
    stored = convert(make_sample(SPEC, 2))
    alice, bob, carol = stored.actor_samples
    # "*" from alice (2.0, conf 1) reaches every actor, alice included
    for actor_sample in (alice, bob, carol):
        assert any(r.sender == 0 and r.reward == 2.0 for r in actor_sample.received_rewards)
    # the environment's reward to bob has sender -1, never the last actor
    env_rewards = [r for r in bob.received_rewards if r.sender == -1]
    assert [(r.reward, r.confidence, r.receiver) for r in env_rewards] == [(10.0, 2.0, 1)]
    # bob's aggregate: (2*1 + 10*2) / 3
    assert bob.reward == pytest.approx(22.0 / 3.0)
    assert alice.reward == pytest.approx(2.0)
    # alice sent one reward per resolved receiver, the environment sent none as an actor
    assert sorted(r.receiver for r in alice.sent_rewards) == [0, 1, 2]
    assert all(r.sender == 0 for r in alice.sent_rewards)
    # user data is the packed Any
    user_data = stored.payloads[alice.received_rewards[0].user_data]
    assert user_data == packed("u2").SerializeToString()
    assert not env_rewards[0].HasField("user_data")


def test_class_wildcards() -> None:
    sample = datalog_pb2.DatalogSample()
    sample.info.tick_id = 0
    sample.rewards.add(receiver_name="player.*").sources.add(
        sender_name="env", value=1, confidence=1
    )
    sample.rewards.add(receiver_name="referee.bob").sources.add(
        sender_name="env", value=2, confidence=1
    )
    sample.rewards.add(receiver_name="referee.alice").sources.add(
        sender_name="env", value=3, confidence=1
    )
    sample.rewards.add(receiver_name="nobody").sources.add(sender_name="env", value=4, confidence=1)
    stored = convert(sample)
    received = {a.actor: sorted(r.reward for r in a.received_rewards) for a in stored.actor_samples}
    assert received == {0: [1.0], 1: [2.0], 2: [1.0]}


def test_messages_both_ends_and_environment() -> None:
    stored = convert(make_sample(SPEC, 1))
    alice, bob, _ = stored.actor_samples
    assert [(m.sender, m.receiver) for m in bob.received_messages] == [(0, 1)]
    assert stored.payloads[bob.received_messages[0].payload] == packed("m1").SerializeToString()
    assert sorted((m.sender, m.receiver) for m in alice.sent_messages) == [(0, -1), (0, 1)]
    assert not alice.received_messages


def test_message_from_environment_and_broadcast() -> None:
    sample = datalog_pb2.DatalogSample()
    sample.messages.add(sender_name="env", receiver_name="*", payload=packed("hello"))
    stored = convert(sample)
    for actor_sample in stored.actor_samples:
        assert [(m.sender, m.receiver) for m in actor_sample.received_messages] == [
            (-1, actor_sample.actor)
        ]
        assert not actor_sample.sent_messages


def test_final_sample_placeholders_are_no_action() -> None:
    stored = convert(make_sample(SPEC, SPEC.ticks))
    assert all(not a.HasField("action") for a in stored.actor_samples)


def test_unavailable_and_default_actors() -> None:
    sample = make_sample(SPEC, 1)
    sample.actions[1].tick_id = -2
    sample.actions[1].content = b""
    sample.actions[2].tick_id = -2
    sample.actions[2].content = b""
    sample.unavailable_actors.append(1)
    sample.default_actors.append(2)
    stored = convert(sample)
    assert not stored.actor_samples[1].HasField("action")
    assert stored.payloads[stored.actor_samples[2].action] == b"default-carol"
    assert stored.payloads[stored.actor_samples[0].action] == action(1, 0)


def test_aggregate_reward_ignores_non_positive_confidence() -> None:
    assert aggregate_reward([(1, 1), (3, 3), (100, 0)]) == 2.5
    assert aggregate_reward([(5, 0)]) == 0.0
    assert aggregate_reward([]) == 0.0
