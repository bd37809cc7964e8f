"""Published module name ``cogment.utils``: the ``cogment.sdk`` logger and ``make_logger``."""

from cogment._log import TRACE, logger, make_logger
from cogment._servicers._runner import INIT_TIMEOUT

__all__ = ["INIT_TIMEOUT", "TRACE", "logger", "make_logger"]
