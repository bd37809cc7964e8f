"""Published module name ``cogment.utils``: the ``cogment.sdk`` logger, ``make_logger``, the
versions this SDK reports and the machine load it reports to the Directory and ``Status``."""

from cogment._log import TRACE, logger, make_logger
from cogment._servicers._common import _machine_load
from cogment._servicers._runner import INIT_TIMEOUT
from cogment._version import __version__
from cogment._version_info import version_info as list_versions

__all__ = [
    "INIT_TIMEOUT",
    "TRACE",
    "__version__",
    "list_versions",
    "logger",
    "machine_load",
    "make_logger",
]


def machine_load() -> int:
    """The machine load reported in ``Status`` replies: ``100 * loadavg(1 min) / cpu count``,
    clamped to [0, 254] (0 when the load average is not available)."""
    return _machine_load()
