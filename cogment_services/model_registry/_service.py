"""The embeddable Model Registry: :class:`ModelRegistryServer`, an async context manager."""

from __future__ import annotations

import os

import grpc.aio

from cogment.api import model_registry_pb2_grpc
from cogment_services._server import (
    EmbeddedService,
    TlsFiles,
    bind_server,
    create_server,
    loopback_endpoint,
    stop_server,
)
from cogment_services.model_registry._archive import ArchiveStore
from cogment_services.model_registry._metrics import RegistryMetrics
from cogment_services.model_registry._registry import ModelRegistryState
from cogment_services.model_registry._servicer import DEFAULT_CHUNK_SIZE, ModelRegistryServicer

__all__ = ["DEFAULT_ARCHIVE_DIR", "DEFAULT_CACHE_MAX_ITEMS", "DEFAULT_PORT", "ModelRegistryServer"]

DEFAULT_PORT = 9002
DEFAULT_ARCHIVE_DIR = ".cogment/model_registry"
DEFAULT_CACHE_MAX_ITEMS = 100


class ModelRegistryServer(EmbeddedService):
    """A Model Registry serving ``cogmentAPI.ModelRegistrySP`` on ``host:port``.

    Example::

        async with ModelRegistryServer(port=0, archive_dir=tmp_path) as registry:
            context.get_model_registry_v2(cogment.Endpoint(registry.endpoint))

    Args:
        port: TCP port, 0 for a free one (see :attr:`port` once started).
        archive_dir: directory of the stored iterations and model metadata (created if
            needed); ``None`` keeps everything in memory (lost when the server stops).
        cache_max_items: how many published (transient) iterations are kept, all models
            together; the oldest are evicted first.
        sent_version_chunk_size: size in bytes of the chunks of ``RetrieveVersionData``.
        host: interface to bind (``"0.0.0.0"`` for all).
        tls: PEM files to serve with TLS.

    Prometheus metrics are in :attr:`metrics` (``metrics.registry``, a per-server
    ``CollectorRegistry``).
    """

    def __init__(
        self,
        port: int = 0,
        archive_dir: str | os.PathLike[str] | None = DEFAULT_ARCHIVE_DIR,
        *,
        cache_max_items: int = DEFAULT_CACHE_MAX_ITEMS,
        sent_version_chunk_size: int = DEFAULT_CHUNK_SIZE,
        host: str = "127.0.0.1",
        tls: TlsFiles | None = None,
    ) -> None:
        if cache_max_items < 0:
            raise ValueError(f"cache_max_items must be >= 0, not {cache_max_items}")
        if sent_version_chunk_size <= 0:
            raise ValueError(
                f"sent_version_chunk_size must be positive, not {sent_version_chunk_size}"
            )
        self._requested_port = port
        self._host = host
        self._tls = tls
        self.archive_dir = os.fspath(archive_dir) if archive_dir is not None else None
        archive = ArchiveStore(archive_dir) if archive_dir is not None else None
        self.state = ModelRegistryState(archive, cache_max_items)
        self.metrics = RegistryMetrics(self.state)
        self._servicer = ModelRegistryServicer(self.state, sent_version_chunk_size, self.metrics)
        self._server: grpc.aio.Server | None = None
        self._port: int | None = None
        self._started = False

    @property
    def port(self) -> int:
        """The bound port (raises if the server is not started)."""
        if self._port is None:
            raise RuntimeError("ModelRegistryServer is not started")
        return self._port

    @property
    def endpoint(self) -> str:
        """``grpc://<host>:<port>`` to reach this server (127.0.0.1 when bound to all)."""
        return loopback_endpoint(self._host, self.port)

    async def start(self) -> None:
        """Load the archive, bind and start serving."""
        if self._started:
            raise RuntimeError("A ModelRegistryServer starts once: create a new one to restart")
        self._started = True
        try:
            await self.state.load()
            server = create_server()
            model_registry_pb2_grpc.add_ModelRegistrySPServicer_to_server(self._servicer, server)
            self._port = bind_server(server, self._host, self._requested_port, self._tls)
            await server.start()
        except BaseException:
            self.state.release()
            raise
        self._server = server

    async def stop(self, grace: float = 1.0) -> None:
        """Stop serving (open streams are cancelled after ``grace`` seconds)."""
        server, self._server = self._server, None
        if server is not None:
            self.state.close()
            try:
                await stop_server(server, grace)
            finally:
                self.state.release()
