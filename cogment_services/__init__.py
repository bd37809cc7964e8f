"""Cogment services in Python: Orchestrator, Directory, Trial Datastore, Model Registry.

Each service is an embeddable async context manager plus a CLI ``main(argv) -> int``
(reached as ``cogment services <name> ...``). Names are imported lazily so that importing
``cogment_services`` stays cheap and one service never drags in another.

Example::

    async with cogment_services.Orchestrator(lifecycle_port=0) as orch:
        print(orch.endpoint)  # "grpc://127.0.0.1:<port>"
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

# Before anything imports ``grpc``: the SDK's gRPC settings apply to the services too.
import cogment._grpc_tuning  # noqa: F401

if TYPE_CHECKING:
    from cogment_services.directory import Directory
    from cogment_services.model_registry import ModelRegistryServer
    from cogment_services.orchestrator import Orchestrator, OrchestratorConfig
    from cogment_services.trial_datastore import TrialDatastore

__all__ = [
    "Directory",
    "ModelRegistryServer",
    "Orchestrator",
    "OrchestratorConfig",
    "TrialDatastore",
]

_LAZY = {
    "Directory": "cogment_services.directory",
    "ModelRegistryServer": "cogment_services.model_registry",
    "Orchestrator": "cogment_services.orchestrator",
    "OrchestratorConfig": "cogment_services.orchestrator",
    "TrialDatastore": "cogment_services.trial_datastore",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'cogment_services' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
