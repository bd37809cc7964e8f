"""Registration of the Model Registry to a Directory (``--directory_endpoint``), as a
MODEL_REGISTRY service (see :mod:`cogment_services._registration`).
"""

from __future__ import annotations

import logging

from cogment._endpoint_url import ServiceType
from cogment_services._registration import (
    DirectoryRegistration as _ServiceRegistration,
)
from cogment_services._registration import (
    directory_endpoint,
    parse_properties,
)

__all__ = ["DirectoryRegistration", "directory_endpoint", "parse_properties"]


class DirectoryRegistration(_ServiceRegistration):
    """Registers this service (type MODEL_REGISTRY) at start and deregisters it at stop.

    Does nothing when ``endpoint`` is empty.
    """

    SERVICE_TYPES = (ServiceType.MODEL_REG,)
    LOG = logging.getLogger("cogment.services.model_registry")
