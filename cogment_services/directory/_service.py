"""The embeddable Directory service: ``async with Directory(port=0) as directory: ...``."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os

import grpc.aio

from cogment.api import directory_pb2, directory_pb2_grpc
from cogment_services._server import (
    EmbeddedService,
    ServiceStartupError,
    TlsFiles,
    bind_server,
    create_server,
    loopback_endpoint,
    stop_server,
)
from cogment_services.directory._registry import PersistenceError, Registry
from cogment_services.directory._servicer import DirectoryOptions, DirectoryServicer

__all__ = ["DEFAULT_PERSISTENCE_FILE", "DEFAULT_PORT", "Directory"]

_log = logging.getLogger("cogment.services.directory")

DEFAULT_PORT = 9005
DEFAULT_PERSISTENCE_FILE = ".cogment-directory-data"


def _enable_reflection(server: grpc.aio.Server) -> None:
    try:
        from grpc_reflection.v1alpha import reflection
    except ImportError as error:
        raise ServiceStartupError(
            "--grpc_reflection needs the grpcio-reflection package (pip install grpcio-reflection)"
        ) from error
    names = (
        directory_pb2.DESCRIPTOR.services_by_name["DirectorySP"].full_name,
        reflection.SERVICE_NAME,
    )
    reflection.enable_server_reflection(names, server)


class Directory(EmbeddedService):
    """A Directory (``cogmentAPI.DirectorySP``) server, as an async context manager.

    Example::

        async with Directory(port=0) as directory:
            print(directory.endpoint)   # grpc://127.0.0.1:<free port>

    Args:
        port: TCP port (0 = a free port, see :attr:`port` once started).
        host: interface to bind (``"0.0.0.0"`` for all interfaces).
        registration_lag: seconds an inquiry keeps looking (once a second) before answering
            "nothing found".
        persistence_file: JSON file keeping the entries across restarts (``None``/``""``: none).
        load_balancing: rank candidates by their reported ``overall_load``.
        check_on_inquire: health-check the candidates of each inquiry before answering.
        force_permanent: register every service as permanent.
        grpc_reflection: serve gRPC server reflection (needs ``grpcio-reflection``).
        tls: server TLS from PEM files.
        health_check_interval: seconds between two rounds of health checks (60 by default).
        health_check_timeout: seconds one health check may take.
        max_health_failures: consecutive failed checks after which an entry is removed.
    """

    def __init__(
        self,
        port: int = 0,
        *,
        host: str = "127.0.0.1",
        registration_lag: float = 0.0,
        persistence_file: str | os.PathLike[str] | None = None,
        load_balancing: bool = False,
        check_on_inquire: bool = False,
        force_permanent: bool = False,
        grpc_reflection: bool = False,
        tls: TlsFiles | None = None,
        health_check_interval: float = 60.0,
        health_check_timeout: float = 5.0,
        max_health_failures: int = 3,
    ) -> None:
        if health_check_interval <= 0:
            raise ValueError(f"health_check_interval must be > 0, got {health_check_interval}")
        if max_health_failures < 1:
            raise ValueError(f"max_health_failures must be >= 1, got {max_health_failures}")
        if registration_lag < 0:
            raise ValueError(f"registration_lag must be >= 0, got {registration_lag}")
        self.host = host
        self.requested_port = port
        self.port = 0
        self.grpc_reflection = grpc_reflection
        self.tls = tls
        self.options = DirectoryOptions(
            registration_lag=registration_lag,
            load_balancing=load_balancing,
            check_on_inquire=check_on_inquire,
            force_permanent=force_permanent,
            health_check_interval=health_check_interval,
            health_check_timeout=health_check_timeout,
            max_health_failures=max_health_failures,
        )
        self.registry = Registry(persistence_file or None)
        self.servicer = DirectoryServicer(self.registry, self.options)
        self._server: grpc.aio.Server | None = None
        self._health_task: asyncio.Task[None] | None = None

    @property
    def endpoint(self) -> str:
        """``grpc://<host>:<port>`` of the running server (loopback when bound to all interfaces)."""
        return loopback_endpoint(self.host, self.port)

    async def start(self) -> None:
        """Load the persisted entries, bind and start serving, start the health checks."""
        if self._server is not None:
            raise RuntimeError("Directory already started")
        try:
            loaded = self.registry.load()
        except PersistenceError as error:
            raise ServiceStartupError(str(error)) from error
        if loaded:
            _log.info("loaded %d entries from the persistence file", loaded)
        server = create_server()
        directory_pb2_grpc.add_DirectorySPServicer_to_server(self.servicer, server)
        if self.grpc_reflection:
            _enable_reflection(server)
        self.port = bind_server(server, self.host, self.requested_port, self.tls)
        if self.tls is not None and self.tls.enabled:
            self.servicer.tls_credentials = self.tls.channel_credentials()
        await server.start()
        self._server = server
        self._health_task = asyncio.create_task(
            self.servicer.run_health_checks(), name="directory-health-checks"
        )
        _log.info("Directory listening on port %d", self.port)

    async def stop(self, grace: float = 1.0) -> None:
        """Stop the health checks and the server (idempotent)."""
        task, self._health_task = self._health_task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        server, self._server = self._server, None
        if server is not None:
            await stop_server(server, grace)

    async def check_health_now(self) -> None:
        """Run one round of health checks immediately (tests, tools)."""
        await self.servicer.check_all()
