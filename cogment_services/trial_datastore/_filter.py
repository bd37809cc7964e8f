"""Selecting actors and fields of stored samples (``RetrieveSamplesRequest`` filters).

An actor is kept when it matches every non-empty filter among its name, class and
implementation. Fields not selected are left empty; payloads nobody references any more are
blanked (not removed), so the indexes of the remaining references stay valid.
"""

from __future__ import annotations

from collections.abc import Iterable

from cogment.api import common_pb2, trial_datastore_pb2

__all__ = ["SampleFilter", "wrap_sample_reply"]

_OBSERVATION = trial_datastore_pb2.STORED_TRIAL_SAMPLE_FIELD_OBSERVATION
_ACTION = trial_datastore_pb2.STORED_TRIAL_SAMPLE_FIELD_ACTION
_REWARD = trial_datastore_pb2.STORED_TRIAL_SAMPLE_FIELD_REWARD
_RECEIVED_REWARDS = trial_datastore_pb2.STORED_TRIAL_SAMPLE_FIELD_RECEIVED_REWARDS
_SENT_REWARDS = trial_datastore_pb2.STORED_TRIAL_SAMPLE_FIELD_SENT_REWARDS
_RECEIVED_MESSAGES = trial_datastore_pb2.STORED_TRIAL_SAMPLE_FIELD_RECEIVED_MESSAGES
_SENT_MESSAGES = trial_datastore_pb2.STORED_TRIAL_SAMPLE_FIELD_SENT_MESSAGES
_ALL_FIELDS = frozenset(
    (
        _OBSERVATION,
        _ACTION,
        _REWARD,
        _RECEIVED_REWARDS,
        _SENT_REWARDS,
        _RECEIVED_MESSAGES,
        _SENT_MESSAGES,
    )
)


class SampleFilter:
    """The actor/field selection of one ``RetrieveSamples`` request applied to one trial."""

    def __init__(
        self,
        params: common_pb2.TrialParams,
        actor_names: Iterable[str] = (),
        actor_classes: Iterable[str] = (),
        actor_implementations: Iterable[str] = (),
        fields: Iterable[int] = (),
    ) -> None:
        names = set(actor_names)
        classes = set(actor_classes)
        implementations = set(actor_implementations)
        self.actors = frozenset(
            index
            for index, actor in enumerate(params.actors)
            if (not names or actor.name in names)
            and (not classes or actor.actor_class in classes)
            and (not implementations or actor.implementation in implementations)
        )
        selected = frozenset(fields) & _ALL_FIELDS
        self.fields = selected if selected else _ALL_FIELDS
        self.selects_all = len(self.actors) == len(params.actors) and self.fields == _ALL_FIELDS

    def apply(self, sample: trial_datastore_pb2.StoredTrialSample) -> None:
        """Filter ``sample`` in place."""
        if self.selects_all:
            return
        fields = self.fields
        used: set[int] = set()
        kept: list[trial_datastore_pb2.StoredTrialActorSample] = []
        for actor_sample in sample.actor_samples:
            if actor_sample.actor not in self.actors:
                continue
            out = trial_datastore_pb2.StoredTrialActorSample(actor=actor_sample.actor)
            if _OBSERVATION in fields and actor_sample.HasField("observation"):
                out.observation = actor_sample.observation
                used.add(actor_sample.observation)
            if _ACTION in fields and actor_sample.HasField("action"):
                out.action = actor_sample.action
                used.add(actor_sample.action)
            if _REWARD in fields and actor_sample.HasField("reward"):
                out.reward = actor_sample.reward
            if _RECEIVED_REWARDS in fields:
                out.received_rewards.extend(actor_sample.received_rewards)
                used.update(
                    r.user_data for r in actor_sample.received_rewards if r.HasField("user_data")
                )
            if _SENT_REWARDS in fields:
                out.sent_rewards.extend(actor_sample.sent_rewards)
                used.update(
                    r.user_data for r in actor_sample.sent_rewards if r.HasField("user_data")
                )
            if _RECEIVED_MESSAGES in fields:
                out.received_messages.extend(actor_sample.received_messages)
                used.update(m.payload for m in actor_sample.received_messages)
            if _SENT_MESSAGES in fields:
                out.sent_messages.extend(actor_sample.sent_messages)
                used.update(m.payload for m in actor_sample.sent_messages)
            kept.append(out)
        del sample.actor_samples[:]
        sample.actor_samples.extend(kept)
        for index in range(len(sample.payloads)):
            if index not in used:
                sample.payloads[index] = b""

    def filter_bytes(self, serialized: bytes) -> bytes:
        """Filter a serialized ``StoredTrialSample``, returning the serialized result."""
        if self.selects_all:
            return serialized
        sample = trial_datastore_pb2.StoredTrialSample.FromString(serialized)
        self.apply(sample)
        return sample.SerializeToString()


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def wrap_sample_reply(serialized_sample: bytes) -> bytes:
    """Serialized ``RetrieveSampleReply{trial_sample}`` around an already serialized sample.

    Field 1, wire type 2 (length-delimited): saves a parse/serialize round trip per sample.
    """
    return b"\x0a" + _varint(len(serialized_sample)) + serialized_sample
