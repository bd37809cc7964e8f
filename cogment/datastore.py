"""Datastore client (the published SDK's ``cogment.datastore`` module)."""

from cogment._datastore import (
    Datastore,
    DatastoreActorData,
    DatastoreFields,
    DatastoreMessage,
    DatastoreReward,
    DatastoreSample,
    DatastoreTrialInfo,
)

__all__ = [
    "Datastore",
    "DatastoreActorData",
    "DatastoreFields",
    "DatastoreMessage",
    "DatastoreReward",
    "DatastoreSample",
    "DatastoreTrialInfo",
]
