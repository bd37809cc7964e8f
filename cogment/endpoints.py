"""Published module name ``cogment.endpoints``: endpoints and the endpoint URL constants.
Thin re-export of :mod:`cogment._endpoints` and :mod:`cogment._endpoint_url`."""

from cogment._endpoint_url import (
    ACTOR_CLASS_PROPERTY as ACTOR_CLASS_PROPERTY_NAME,
)
from cogment._endpoint_url import (
    AUTHENTICATION_TOKEN_PROPERTY as AUTHENTICATION_TOKEN_PROPERTY_NAME,
)
from cogment._endpoint_url import (
    BASIC_CONTEXT_DISCOVERY_URL,
    CLIENT_ACTOR_HOST,
    CLIENT_ACTOR_URL,
    COGMENT_SCHEME,
    DISCOVERY_HOST,
    GRPC_SCHEME,
    SERVICE_PATH,
)
from cogment._endpoint_url import (
    IMPLEMENTATION_PROPERTY as IMPLEMENTATION_PROPERTY_NAME,
)
from cogment._endpoint_url import (
    SERVICE_ID_PROPERTY as SERVICE_ID_PROPERTY_NAME,
)
from cogment._endpoints import Endpoint, ServedEndpoint

ACTOR_PATH = "actor"
ENVIRONMENT_PATH = "environment"
DATALOG_PATH = "datalog"
PRE_HOOK_PATH = "prehook"
LIFECYCLE_PATH = "lifecycle"
ACTOR_SERVICE_PATH = "actservice"
DATASTORE_PATH = "datastore"
MODEL_REGISTRY_PATH = "modelregistry"
DIRECTORY_PATH = "directory"

__all__ = [
    "ACTOR_CLASS_PROPERTY_NAME",
    "ACTOR_PATH",
    "ACTOR_SERVICE_PATH",
    "AUTHENTICATION_TOKEN_PROPERTY_NAME",
    "BASIC_CONTEXT_DISCOVERY_URL",
    "CLIENT_ACTOR_HOST",
    "CLIENT_ACTOR_URL",
    "COGMENT_SCHEME",
    "DATALOG_PATH",
    "DATASTORE_PATH",
    "DIRECTORY_PATH",
    "DISCOVERY_HOST",
    "ENVIRONMENT_PATH",
    "GRPC_SCHEME",
    "IMPLEMENTATION_PROPERTY_NAME",
    "LIFECYCLE_PATH",
    "MODEL_REGISTRY_PATH",
    "PRE_HOOK_PATH",
    "SERVICE_ID_PROPERTY_NAME",
    "SERVICE_PATH",
    "Endpoint",
    "ServedEndpoint",
]
