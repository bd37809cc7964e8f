"""Published module name ``cogment.context``. Thin re-export of :mod:`cogment._context`."""

from cogment._context import Context

__all__ = ["Context"]
