"""Registration of the Trial Datastore to a Directory (``--directory_endpoint``).

The service registers twice on its port (see :mod:`cogment_services._registration`): as a
DATASTORE (``TrialDatastoreSP``) and as a DATALOG (``DatalogSP``), non-permanently, and
deregisters both when it stops.
"""

from __future__ import annotations

import logging

from cogment._endpoint_url import ServiceType
from cogment._version import __version__
from cogment_services._registration import (
    DirectoryRegistration as _ServiceRegistration,
)
from cogment_services._registration import parse_properties

__all__ = ["DirectoryRegistration", "parse_properties"]


class DirectoryRegistration(_ServiceRegistration):
    """Registers this service (types DATASTORE and DATALOG) at start and deregisters it at stop.

    Does nothing when ``endpoint`` is empty.
    """

    SERVICE_TYPES = (ServiceType.DATASTORE, ServiceType.DATALOG)
    DEFAULT_PROPERTIES = {
        "__registration_source": "Cogment-Trial_Datastore",
        "__version": __version__,
    }
    LOG = logging.getLogger("cogment.services.trial_datastore")
