"""Cogment 2.x Python SDK (typed implementation).

The public API is the published SDK's: programs written for ``cogment`` 2.10 run unchanged, and
the generic session classes give precise types with the generated ``cog_settings`` package.
"""

from cogment._actor import ActorClass, ActorClassList, ActorSession
from cogment._context import Context
from cogment._datalog import DatalogSession, LogSample
from cogment._endpoints import Endpoint, ServedEndpoint
from cogment._environment import EnvironmentSession
from cogment._errors import CogmentError
from cogment._log import make_logger
from cogment._metadata import GrpcMetadata
from cogment._parameters import ActorParameters, TrialParameters
from cogment._prehook import PrehookSession
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
from cogment._version import __version__

__all__ = [
    "ActorClass",
    "ActorClassList",
    "ActorInfo",
    "ActorParameters",
    "ActorSession",
    "ActorStatus",
    "CogmentError",
    "Context",
    "DatalogSession",
    "Endpoint",
    "EnvironmentSession",
    "EventType",
    "GrpcMetadata",
    "LogSample",
    "PrehookSession",
    "RecvAction",
    "RecvEvent",
    "RecvMessage",
    "RecvObservation",
    "RecvReward",
    "RecvRewardSource",
    "ServedEndpoint",
    "Session",
    "TrialParameters",
    "__version__",
    "make_logger",
]
