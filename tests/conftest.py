"""Suite-wide set-up: ``cogment`` is imported before anything imports ``grpc``.

``import cogment`` sets gRPC's flags (``cogment._grpc_tuning``) only if ``grpc`` is not loaded
yet, and the test modules import ``grpc`` before ``cogment`` (import sorting), so without this
the suite would not run on the transport users get.
"""

import cogment  # noqa: F401
