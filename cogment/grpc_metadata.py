"""Published module name ``cogment.grpc_metadata``: gRPC metadata sent with every call.
Thin re-export of :mod:`cogment._metadata`."""

from cogment._errors import CogmentError  # noqa: F401  (importable from here in the published SDK)
from cogment._metadata import GrpcMetadata, GrpcMetadataValue

__all__ = ["GrpcMetadata", "GrpcMetadataValue"]
