"""Published module name ``cogment.directory``: the Directory client and service types.

Thin re-export of :mod:`cogment._directory` (kept so that imports of the published SDK work).
"""

from __future__ import annotations

from cogment._directory import AUTHENTICATION_TOKEN_METADATA, Directory, ServiceType

AUTHENTICATION_TOKEN_METADATA_NAME = AUTHENTICATION_TOKEN_METADATA

__all__ = ["AUTHENTICATION_TOKEN_METADATA_NAME", "Directory", "ServiceType"]
