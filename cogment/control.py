"""Published module name ``cogment.control``: the trial controller, trial states and trial details.
Thin re-export of :mod:`cogment._controller`."""

from cogment._controller import Controller, TrialInfo, TrialState
from cogment._errors import CogmentError  # noqa: F401  (importable from here in the published SDK)
from cogment._metadata import GrpcMetadata  # noqa: F401
from cogment._session import ActorInfo

__all__ = ["ActorInfo", "Controller", "TrialInfo", "TrialState"]
