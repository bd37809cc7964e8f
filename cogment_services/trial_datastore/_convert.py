"""Turn the Orchestrator's ``DatalogSample`` into the stored ``StoredTrialSample``.

The stored form is per actor: each actor sample points (by index) into one list of payloads
shared by the sample (observations, actions, reward user data, message payloads), so that an
observation shared by several actors is stored once.

Rules (``orchestrator-spec.md`` §5, §8; reference ``services trial_datastore``), with the
reference's defects fixed:

- observations: ``actors_map[i]`` gives actor ``i``'s observation;
- actions: actor ``i``'s ``Action`` as received; an actor listed in ``unavailable_actors`` has
  no action, one listed in ``default_actors`` gets its ``default_action`` from the trial
  parameters (what the environment saw), and the Orchestrator's placeholders (``tick_id == -2``,
  e.g. everything in the final ``ENDED`` sample) are stored as "no action" instead of an empty
  payload;
- rewards: receivers are resolved like the Orchestrator routes them (exact name, ``*``,
  ``*.*``, ``class.*``, ``class.name``); each source is a received reward of each resolved
  receiver and a sent reward of its sender (when the sender is an actor); the aggregated reward
  of an actor is the confidence-weighted mean of its sources with a positive confidence;
- messages: the receiver is resolved the same way (the environment's name, or an unknown name,
  is index -1); each resolved copy is a received message of its receiver and a sent message of
  its sender;
- unlike the reference, both ends of a reward or message are filled (``sender`` *and*
  ``receiver``), so that a reader can tell who the other party was from either side;
- index -1 always means the environment (or an unknown party), never the last actor.
"""

from __future__ import annotations

from collections.abc import Sequence

from cogment.api import common_pb2, datalog_pb2, trial_datastore_pb2

__all__ = [
    "ENVIRONMENT_INDEX",
    "PLACEHOLDER_TICK_ID",
    "TrialActorIndex",
    "stored_sample_from_datalog",
]

#: Index standing for the environment (or any sender/receiver that is not an actor).
ENVIRONMENT_INDEX = -1

#: ``Action.tick_id`` of the Orchestrator's placeholder for a missing action.
PLACEHOLDER_TICK_ID = -2


class TrialActorIndex:
    """The actors of one trial, for resolving names and wildcards to actor indexes."""

    def __init__(self, params: common_pb2.TrialParams) -> None:
        self.params = params
        self.names = [actor.name for actor in params.actors]
        self.classes = [actor.actor_class for actor in params.actors]
        self._by_name = {name: index for index, name in reversed(list(enumerate(self.names)))}

    def __len__(self) -> int:
        return len(self.names)

    def index_of(self, name: str) -> int:
        """Index of the actor named ``name``; -1 for the environment or an unknown name."""
        return self._by_name.get(name, ENVIRONMENT_INDEX)

    def resolve(self, receiver: str) -> list[int]:
        """Actor indexes addressed by ``receiver`` (empty: the environment or nobody)."""
        index = self._by_name.get(receiver)
        if index is not None:
            return [index]
        if receiver in ("*", "*.*"):
            return list(range(len(self.names)))
        class_name, dot, actor_name = receiver.partition(".")
        if not dot:
            return []
        return [
            index
            for index, (name, actor_class) in enumerate(zip(self.names, self.classes, strict=True))
            if actor_class == class_name and actor_name in ("*", name)
        ]


def aggregate_reward(sources: Sequence[tuple[float, float]]) -> float:
    """Confidence-weighted mean of ``(value, confidence)`` over positive confidences, else 0."""
    total = 0.0
    weights = 0.0
    for value, confidence in sources:
        if confidence > 0:
            total += value * confidence
            weights += confidence
    return total / weights if weights > 0 else 0.0


def stored_sample_from_datalog(
    trial_id: str,
    user_id: str,
    actors: TrialActorIndex,
    sample: datalog_pb2.DatalogSample,
    state: int | None = None,
) -> trial_datastore_pb2.StoredTrialSample:
    """Convert one ``DatalogSample`` of trial ``trial_id`` into a ``StoredTrialSample``.

    ``state`` overrides ``sample.info.state`` (used for out-of-sync samples, whose state is
    UNKNOWN on the wire).
    """
    stored = trial_datastore_pb2.StoredTrialSample(
        user_id=user_id,
        trial_id=trial_id,
        tick_id=sample.info.tick_id,
        timestamp=sample.info.timestamp,
        state=sample.info.state if state is None else state,  # type: ignore[arg-type]
    )
    payloads = stored.payloads
    actor_samples = [stored.actor_samples.add(actor=index) for index in range(len(actors))]

    def add_payload(content: bytes) -> int:
        payloads.append(content)
        return len(payloads) - 1

    # Observations
    if sample.HasField("observations"):
        observation_set = sample.observations
        payload_of_observation: dict[int, int] = {}
        for actor_index, observation_index in enumerate(observation_set.actors_map):
            if actor_index >= len(actor_samples):
                break
            if not 0 <= observation_index < len(observation_set.observations):
                continue
            payload = payload_of_observation.get(observation_index)
            if payload is None:
                payload = add_payload(observation_set.observations[observation_index])
                payload_of_observation[observation_index] = payload
            actor_samples[actor_index].observation = payload

    # Actions
    unavailable = set(sample.unavailable_actors)
    defaulted = set(sample.default_actors)
    for actor_index, action in enumerate(sample.actions):
        if actor_index >= len(actor_samples) or actor_index in unavailable:
            continue
        if actor_index in defaulted:
            actor_params = actors.params.actors[actor_index]
            if actor_params.HasField("default_action"):
                actor_samples[actor_index].action = add_payload(actor_params.default_action.content)
            continue
        if action.tick_id == PLACEHOLDER_TICK_ID:
            continue
        actor_samples[actor_index].action = add_payload(action.content)

    # Rewards
    reward_sources: dict[int, list[tuple[float, float]]] = {}
    for reward in sample.rewards:
        receivers = actors.resolve(reward.receiver_name)
        for source in reward.sources:
            sender = actors.index_of(source.sender_name)
            user_data: int | None = None
            if source.HasField("user_data"):
                user_data = add_payload(source.user_data.SerializeToString())
            for receiver in receivers:
                reward_sources.setdefault(receiver, []).append((source.value, source.confidence))
                received = actor_samples[receiver].received_rewards.add(
                    sender=sender,
                    receiver=receiver,
                    reward=source.value,
                    confidence=source.confidence,
                )
                if user_data is not None:
                    received.user_data = user_data
                if sender != ENVIRONMENT_INDEX:
                    sent = actor_samples[sender].sent_rewards.add(
                        sender=sender,
                        receiver=receiver,
                        reward=source.value,
                        confidence=source.confidence,
                    )
                    if user_data is not None:
                        sent.user_data = user_data
    for receiver, sources in reward_sources.items():
        actor_samples[receiver].reward = aggregate_reward(sources)

    # Messages
    for message in sample.messages:
        sender = actors.index_of(message.sender_name)
        payload_index = add_payload(
            message.payload.SerializeToString() if message.HasField("payload") else b""
        )
        receivers = actors.resolve(message.receiver_name) or [ENVIRONMENT_INDEX]
        for receiver in receivers:
            if receiver != ENVIRONMENT_INDEX:
                actor_samples[receiver].received_messages.add(
                    sender=sender, receiver=receiver, payload=payload_index
                )
            if sender != ENVIRONMENT_INDEX:
                actor_samples[sender].sent_messages.add(
                    sender=sender, receiver=receiver, payload=payload_index
                )
    return stored
