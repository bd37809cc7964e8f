"""The embeddable Trial Datastore service: storage + one gRPC server for both of its services."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import grpc.aio

from cogment_services._server import (
    DEFAULT_GRACE_SECONDS,
    EmbeddedService,
    ServiceStartupError,
    TlsFiles,
    bind_server,
    create_server,
    loopback_endpoint,
    stop_server,
)
from cogment_services.trial_datastore._servicers import add_servicers_to_server
from cogment_services.trial_datastore._sqlite_storage import SqliteBackend
from cogment_services.trial_datastore._storage import MemoryBackend, StorageBackend
from cogment_services.trial_datastore._store import TrialStore

__all__ = [
    "DEFAULT_FILE_STORAGE",
    "DEFAULT_MEMORY_STORAGE_MAX_SAMPLES_SIZE",
    "DEFAULT_PORT",
    "TrialDatastore",
]

_log = logging.getLogger("cogment.services.trial_datastore")

#: Default port (``--port`` / ``COGMENT_TRIAL_DATASTORE_PORT``).
DEFAULT_PORT = 9003
#: Default bound of the in-memory storage, in bytes of samples (1 GiB).
DEFAULT_MEMORY_STORAGE_MAX_SAMPLES_SIZE = 1024 * 1024 * 1024
#: Default database of ``--file_storage`` given without a path.
DEFAULT_FILE_STORAGE = ".cogment/trial_datastore.db"


class TrialDatastore(EmbeddedService):
    """The Trial Datastore service (``DatalogSP`` + ``TrialDatastoreSP`` on one port).

    An async context manager::

        async with TrialDatastore(port=0) as datastore:          # in memory
            print(datastore.endpoint)                            # grpc://127.0.0.1:<port>
        async with TrialDatastore(file_storage="trials.db"):     # durable (SQLite)
            ...

    With ``file_storage``, every sample acknowledged is committed to disk and everything
    stored is served again after a restart. In memory, the least recently used trials that
    are no longer being logged are evicted once the samples exceed
    ``memory_storage_max_samples_size`` bytes.
    """

    def __init__(
        self,
        port: int = 0,
        file_storage: str | os.PathLike[str] | None = None,
        *,
        host: str = "127.0.0.1",
        memory_storage_max_samples_size: int = DEFAULT_MEMORY_STORAGE_MAX_SAMPLES_SIZE,
        tls: TlsFiles | None = None,
        grace: float = DEFAULT_GRACE_SECONDS,
    ) -> None:
        if memory_storage_max_samples_size <= 0:
            raise ServiceStartupError(
                "--memory_storage_max_samples_size must be positive, "
                f"got {memory_storage_max_samples_size}"
            )
        self.requested_port = port
        self.host = host
        self.file_storage = Path(file_storage) if file_storage is not None else None
        self.memory_storage_max_samples_size = memory_storage_max_samples_size
        self.tls = tls
        self.grace = grace
        self.store: TrialStore | None = None
        self._server: grpc.aio.Server | None = None
        self._port: int | None = None

    @property
    def port(self) -> int:
        """The bound port (once started)."""
        if self._port is None:
            raise RuntimeError("the Trial Datastore is not started")
        return self._port

    @property
    def endpoint(self) -> str:
        """``grpc://<host>:<port>`` to reach this service (``127.0.0.1`` for a wildcard host)."""
        return loopback_endpoint(self.host, self.port)

    async def start(self) -> None:
        """Open the storage, bind and start the server."""
        backend: StorageBackend
        if self.file_storage is not None:
            backend = SqliteBackend(self.file_storage)
            store = TrialStore(backend, max_samples_size=None)
        else:
            backend = MemoryBackend()
            store = TrialStore(backend, max_samples_size=self.memory_storage_max_samples_size)
        try:
            await store.open()
        except OSError as error:
            raise ServiceStartupError(str(error)) from error
        server = create_server()
        add_servicers_to_server(server, store)
        try:
            port = bind_server(server, self.host, self.requested_port, self.tls)
            await server.start()
        except BaseException:
            await store.close()
            raise
        self.store = store
        self._server = server
        self._port = port
        _log.info(
            "Trial Datastore serving on port %d (%s)",
            port,
            f"file storage [{self.file_storage}]"
            if self.file_storage is not None
            else f"memory storage, at most {self.memory_storage_max_samples_size} bytes",
        )

    async def stop(self) -> None:
        """Stop serving (open streams get ``grace`` seconds) and close the storage."""
        server, self._server = self._server, None
        store, self.store = self.store, None
        try:
            if server is not None:
                await stop_server(server, self.grace)
        finally:
            if store is not None:
                await store.close()

    async def wait_for_termination(self) -> None:
        """Wait until the server stops."""
        if self._server is not None:
            await self._server.wait_for_termination()
