"""Published module name ``cogment.prehook``. Thin re-export of :mod:`cogment._prehook`."""

from cogment._prehook import PrehookSession

__all__ = ["PrehookSession"]
