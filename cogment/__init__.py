"""Cogment 2.x Python SDK (typed implementation).

The public API is the published SDK's: programs written for ``cogment`` 2.10 run unchanged, and
the generic session classes give precise types with the generated ``cog_settings`` package.
The published submodule names (``cogment.actor``, ``cogment.control``, ...) are importable, and
reachable as attributes of ``cogment`` (loaded on first access).
"""

import importlib as _importlib
from typing import TYPE_CHECKING as _TYPE_CHECKING
from typing import Any as _Any

from cogment import _grpc_tuning  # noqa: F401  (first: sets gRPC's flags before it is imported)
from cogment._actor import ActorClass, ActorClassList, ActorSession
from cogment._context import Context
from cogment._endpoints import Endpoint, ServedEndpoint
from cogment._environment import EnvironmentSession
from cogment._errors import CogmentError
from cogment._log import make_logger
from cogment._metadata import GrpcMetadata
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

if _TYPE_CHECKING:
    # Loaded on first access (see ``_LAZY_NAMES``): controller, datalog, pre-trial hook and
    # parameters are not needed to serve components, and keep ``import cogment`` cheap.
    from cogment._controller import Controller, TrialInfo, TrialState
    from cogment._datalog import DatalogSession, LogParams, LogSample
    from cogment._parameters import ActorParameters, TrialParameters
    from cogment._prehook import PrehookSession

__all__ = [
    "ActorClass",
    "ActorClassList",
    "ActorInfo",
    "ActorParameters",
    "ActorSession",
    "ActorStatus",
    "CogmentError",
    "Context",
    "Controller",
    "DatalogSession",
    "DatastoreFields",
    "Endpoint",
    "EnvironmentSession",
    "EventType",
    "GrpcMetadata",
    "LogParams",
    "LogSample",
    "Model",
    "PrehookSession",
    "RecvAction",
    "RecvEvent",
    "RecvMessage",
    "RecvObservation",
    "RecvReward",
    "RecvRewardSource",
    "ServedEndpoint",
    "Session",
    "TrialInfo",
    "TrialParameters",
    "TrialState",
    "__version__",
    "make_logger",
]

# Published submodule names, imported on first attribute access (keeps `import cogment` cheap).
_SUBMODULES = frozenset(
    {
        "actor",
        "context",
        "control",
        "datalog",
        "datalog_service",
        "datastore",
        "directory",
        "endpoints",
        "environment",
        "errors",
        "generate",
        "grpc_metadata",
        "model_registry",
        "model_registry_v2",
        "parameters",
        "prehook",
        "session",
        "utils",
        "version",
    }
)
# Names re-exported lazily from modules that are heavier or optional.
_LAZY_NAMES = {
    "ActorParameters": "cogment._parameters",
    "Controller": "cogment._controller",
    "DatalogSession": "cogment._datalog",
    "DatastoreFields": "cogment._datastore",
    "LogParams": "cogment._datalog",
    "LogSample": "cogment._datalog",
    "Model": "cogment._model_registry_v1",
    "PrehookSession": "cogment._prehook",
    "TrialInfo": "cogment._controller",
    "TrialParameters": "cogment._parameters",
    "TrialState": "cogment._controller",
}


def __getattr__(name: str) -> _Any:
    if name in _SUBMODULES:
        return _importlib.import_module(f"cogment.{name}")
    module = _LAZY_NAMES.get(name)
    if module is not None:
        value = getattr(_importlib.import_module(module), name)
        globals()[name] = value  # later lookups skip this hook
        return value
    raise AttributeError(f"module 'cogment' has no attribute '{name}'")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY_NAMES))
