"""The Cogment Model Registry service: models and their iterations, stored or published.

- :class:`ModelRegistryServer`: embeddable async context manager serving
  ``cogmentAPI.ModelRegistrySP``.
- ``cogment services model_registry`` (:func:`cogment_services.model_registry._cli.main`), or
  ``python -m cogment_services.model_registry``: the command line service.
"""

from cogment_services.model_registry._service import (
    DEFAULT_ARCHIVE_DIR,
    DEFAULT_CACHE_MAX_ITEMS,
    DEFAULT_PORT,
    ModelRegistryServer,
)
from cogment_services.model_registry._servicer import DEFAULT_CHUNK_SIZE

__all__ = [
    "DEFAULT_ARCHIVE_DIR",
    "DEFAULT_CACHE_MAX_ITEMS",
    "DEFAULT_CHUNK_SIZE",
    "DEFAULT_PORT",
    "ModelRegistryServer",
]
