"""Published module name ``cogment.datalog``. Thin re-export of :mod:`cogment._datalog`."""

from cogment._datalog import DatalogSession, LogParams, LogSample

__all__ = ["DatalogSession", "LogParams", "LogSample"]
