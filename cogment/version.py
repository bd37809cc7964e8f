"""Published module name ``cogment.version``: the SDK version."""

from cogment._version import __version__

__all__ = ["__version__"]
