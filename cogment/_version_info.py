"""Contents of the ``Version`` RPC reply served by the runtime's servers (actors, environments, hooks,
datalog), and reading a remote ``Version`` reply.

Like the published SDK, the reply lists ``cogment_sdk`` (this package's version) and ``grpc`` (the grpcio
version).
"""

from __future__ import annotations

import grpc

from cogment._version import __version__
from cogment.api import common_pb2

__all__ = ["SDK_VERSION_NAME", "version_info", "versions_dict"]

SDK_VERSION_NAME = "cogment_sdk"
"""Name of the SDK's entry in a ``VersionInfo`` reply."""


def version_info() -> common_pb2.VersionInfo:
    """The ``VersionInfo`` the runtime's servers answer ``Version`` with (a new message each call)."""
    reply = common_pb2.VersionInfo()
    reply.versions.add(name=SDK_VERSION_NAME, version=__version__)
    reply.versions.add(name="grpc", version=grpc.__version__)
    return reply


def versions_dict(info: common_pb2.VersionInfo) -> dict[str, str]:
    """``{component name: version}`` of a ``VersionInfo`` reply (a later duplicate name wins)."""
    return {version.name: version.version for version in info.versions}
