"""The Cogment Trial Datastore service (``cogment services trial_datastore``).

One port serves ``cogmentAPI.DatalogSP`` (the Orchestrator logs trials into it) and
``cogmentAPI.TrialDatastoreSP`` (the SDK's ``Datastore`` reads, imports and deletes trials).
Storage is in memory (bounded, least recently used trials evicted) or, with ``file_storage``,
durable in one SQLite file.

Example::

    from cogment_services.trial_datastore import TrialDatastore

    async with TrialDatastore(port=0, file_storage="trials.db") as datastore:
        print(datastore.endpoint)
"""

from __future__ import annotations

from cogment_services.trial_datastore._service import (
    DEFAULT_FILE_STORAGE,
    DEFAULT_MEMORY_STORAGE_MAX_SAMPLES_SIZE,
    DEFAULT_PORT,
    TrialDatastore,
)
from cogment_services.trial_datastore._sqlite_storage import SqliteBackend
from cogment_services.trial_datastore._storage import MemoryBackend, PersistedTrial, StorageBackend
from cogment_services.trial_datastore._store import TrialRecord, TrialStore, UnknownTrialError

__all__ = [
    "DEFAULT_FILE_STORAGE",
    "DEFAULT_MEMORY_STORAGE_MAX_SAMPLES_SIZE",
    "DEFAULT_PORT",
    "MemoryBackend",
    "PersistedTrial",
    "SqliteBackend",
    "StorageBackend",
    "TrialDatastore",
    "TrialRecord",
    "TrialStore",
    "UnknownTrialError",
]
