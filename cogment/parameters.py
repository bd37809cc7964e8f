"""Published module name ``cogment.parameters``: trial and actor parameters.
Thin re-export of :mod:`cogment._parameters`."""

from cogment._errors import CogmentError  # noqa: F401  (importable from here in the published SDK)
from cogment._parameters import ActorParameters, ActorsList, TrialParameters

_ActorsList = ActorsList
"""The published SDK's name of the actors container."""

__all__ = ["ActorParameters", "ActorsList", "TrialParameters"]
