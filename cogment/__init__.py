"""Cogment 2.x Python SDK (typed implementation)."""

from cogment._version import __version__

__all__ = ["__version__"]
