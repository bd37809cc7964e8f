"""Published module name ``cogment.datalog_service``: the datalog sample classes.

Thin re-export (the published SDK defined ``LogSample`` and ``LogParams`` here); the datalog
session is in :mod:`cogment.datalog`.
"""

from cogment._datalog import LogParams, LogSample

__all__ = ["LogParams", "LogSample"]
