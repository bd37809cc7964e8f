"""The Cogment Orchestrator in Python (wire-compatible with Cogment 2.x components).

Embedded::

    async with Orchestrator(lifecycle_port=0, params="params.yaml") as orch:
        ...  # orch.endpoint / orch.actor_endpoint / orch.lifecycle_port

CLI: ``cogment services orchestrator --lifecycle_port=9000 --params=params.yaml`` (see ``_cli``).
"""

from ._links import ComponentLink, Connector, EndpointResolver
from ._orchestrator import Orchestrator, OrchestratorConfig, StartTrialError
from ._params import ParamsError, load_params_file
from ._trial import Trial

__all__ = [
    "ComponentLink",
    "Connector",
    "EndpointResolver",
    "Orchestrator",
    "OrchestratorConfig",
    "ParamsError",
    "StartTrialError",
    "Trial",
    "load_params_file",
]
