"""Published module name ``cogment.session``: the session base class, received-event classes and
enums. Thin re-export of :mod:`cogment._session`."""

from cogment._session import (
    ActorInfo,
    ActorStatus,
    EventType,
    RecvAction,
    RecvEvent,
    RecvMessage,
    RecvObservation,
    RecvReward,
    RecvRewardSource,
    Session,
)

__all__ = [
    "ActorInfo",
    "ActorStatus",
    "EventType",
    "RecvAction",
    "RecvEvent",
    "RecvMessage",
    "RecvObservation",
    "RecvReward",
    "RecvRewardSource",
    "Session",
]
