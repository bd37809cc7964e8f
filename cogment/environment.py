"""Published module name ``cogment.environment``. Thin re-export of :mod:`cogment._environment`."""

from cogment._environment import EnvironmentSession

__all__ = ["EnvironmentSession"]
