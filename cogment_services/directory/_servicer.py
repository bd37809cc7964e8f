"""``cogmentAPI.DirectorySP`` implementation on top of the :class:`Registry`."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any

import grpc
import grpc.aio

from cogment._version import __version__
from cogment.api import common_pb2, directory_pb2, directory_pb2_grpc
from cogment_services.directory._health import check_endpoint
from cogment_services.directory._registry import DirectoryEntry, Registry, RegistryError

__all__ = ["AUTHENTICATION_TOKEN_METADATA", "DirectoryOptions", "DirectoryServicer"]

_log = logging.getLogger("cogment.services.directory")

AUTHENTICATION_TOKEN_METADATA = "authentication-token"

#: Entries whose load is within this margin of the lowest load are kept by load balancing.
LOAD_BALANCING_MARGIN = 10
#: ``overall_load`` value meaning "cannot take more work".
UNSERVICEABLE_LOAD = 255


@dataclass(frozen=True)
class DirectoryOptions:
    """Behaviour switches of the Directory (see the CLI flags of the same names)."""

    registration_lag: float = 0.0
    load_balancing: bool = False
    check_on_inquire: bool = False
    force_permanent: bool = False
    health_check_interval: float = 60.0
    health_check_timeout: float = 5.0
    max_health_failures: int = 3


def _token(context: grpc.aio.ServicerContext[Any, Any]) -> str:
    for key, value in context.invocation_metadata() or ():
        if key == AUTHENTICATION_TOKEN_METADATA:
            return value if isinstance(value, str) else value.decode("utf-8", "replace")
    return ""


class DirectoryServicer(directory_pb2_grpc.DirectorySPServicer):
    """Serves Register/Deregister/Inquire/Version/Status; runs the periodic health checks."""

    def __init__(self, registry: Registry, options: DirectoryOptions) -> None:
        self.registry = registry
        self.options = options
        #: client credentials for the health checks of TLS endpoints (set when serving TLS)
        self.tls_credentials: grpc.ChannelCredentials | None = None
        self._lock = asyncio.Lock()

    # ----------------------------------------------------------------------------- register

    async def Register(
        self,
        request_iterator: AsyncIterator[directory_pb2.RegisterRequest],
        context: grpc.aio.ServicerContext[
            directory_pb2.RegisterRequest, directory_pb2.RegisterReply
        ],
    ) -> AsyncIterator[directory_pb2.RegisterReply]:
        token = _token(context)
        async for request in request_iterator:
            yield await self._register_one(request, token)

    async def _register_one(
        self, request: directory_pb2.RegisterRequest, token: str
    ) -> directory_pb2.RegisterReply:
        permanent = request.permanent or self.options.force_permanent
        async with self._lock:
            try:
                entry = self.registry.register(
                    protocol=request.endpoint.protocol,
                    host=request.endpoint.host,
                    port=request.endpoint.port,
                    service_type=request.details.type,
                    properties=dict(request.details.properties),
                    permanent=permanent,
                    token=token,
                )
            except RegistryError as error:
                _log.info("registration refused: %s", error)
                return directory_pb2.RegisterReply(
                    status=directory_pb2.RegisterReply.FAILED, error_msg=str(error)
                )
        _log.info(
            "registered service [%d] %s type [%s] properties %s%s",
            entry.service_id,
            entry.describe(),
            directory_pb2.ServiceType.Name(request.details.type),
            dict(entry.properties),
            " (permanent)" if entry.permanent else "",
        )
        return directory_pb2.RegisterReply(
            status=directory_pb2.RegisterReply.OK,
            service_id=entry.service_id,
            secret=entry.secret,
        )

    # --------------------------------------------------------------------------- deregister

    async def Deregister(
        self,
        request_iterator: AsyncIterator[directory_pb2.DeregisterRequest],
        context: grpc.aio.ServicerContext[
            directory_pb2.DeregisterRequest, directory_pb2.DeregisterReply
        ],
    ) -> AsyncIterator[directory_pb2.DeregisterReply]:
        token = _token(context)
        async for request in request_iterator:
            async with self._lock:
                try:
                    entry = self.registry.deregister(request.service_id, request.secret, token)
                except RegistryError as error:
                    _log.info("deregistration refused: %s", error)
                    yield directory_pb2.DeregisterReply(
                        status=directory_pb2.DeregisterReply.FAILED, error_msg=str(error)
                    )
                    continue
            _log.info("deregistered service [%d] %s", entry.service_id, entry.describe())
            yield directory_pb2.DeregisterReply(status=directory_pb2.DeregisterReply.OK)

    # ------------------------------------------------------------------------------ inquire

    async def Inquire(
        self,
        request: directory_pb2.InquireRequest,
        context: grpc.aio.ServicerContext[directory_pb2.InquireRequest, directory_pb2.InquireReply],
    ) -> AsyncIterator[directory_pb2.InquireReply]:
        token = _token(context)
        inquiry = request.WhichOneof("inquiry")
        if inquiry is None:
            await context.abort(
                grpc.StatusCode.INVALID_ARGUMENT,
                "Inquire needs either a service_id or details (type and properties)",
            )
        loop = asyncio.get_running_loop()
        deadline = loop.time() + max(0.0, self.options.registration_lag)
        while True:
            found = await self.find(request, token)
            remaining = deadline - loop.time()
            if found or remaining <= 0:
                break
            await asyncio.sleep(min(1.0, remaining))
        for entry in found:
            yield directory_pb2.InquireReply(data=entry.to_proto())

    async def find(self, request: directory_pb2.InquireRequest, token: str) -> list[DirectoryEntry]:
        """Visible entries answering ``request``, in the order they are sent."""
        if request.WhichOneof("inquiry") == "service_id":
            candidates = self.registry.find_by_id(request.service_id, token)
        else:
            candidates = self.registry.find(
                request.details.type, dict(request.details.properties), token
            )
        if self.options.check_on_inquire:
            await self.check([entry for entry in candidates if entry.checkable])
        visible = [
            entry
            for entry in candidates
            if not entry.hidden and self.registry.get(entry.service_id) is entry
        ]
        if self.options.load_balancing:
            visible = balance(visible)
        return visible

    # ------------------------------------------------------------------------ health checks

    async def check(self, entries: Sequence[DirectoryEntry]) -> None:
        """Check ``entries`` concurrently and record the results."""
        if not entries:
            return
        results = await asyncio.gather(
            *(
                check_endpoint(
                    entry.protocol,
                    entry.host,
                    entry.port,
                    entry.service_type,
                    self.options.health_check_timeout,
                    self.tls_credentials,
                )
                for entry in entries
            )
        )
        async with self._lock:
            for entry, result in zip(entries, results, strict=True):
                if not result.healthy:
                    _log.debug("health check of [%d] failed: %s", entry.service_id, result.reason)
                self.registry.record_check(
                    entry.service_id, result.healthy, result.load, self.options.max_health_failures
                )

    async def check_all(self) -> None:
        """One round of health checks of every checkable entry."""
        await self.check([entry for entry in self.registry.entries() if entry.checkable])

    async def run_health_checks(self) -> None:
        """Check every ``health_check_interval`` seconds until cancelled."""
        while True:
            await asyncio.sleep(self.options.health_check_interval)
            try:
                await self.check_all()
            except Exception:  # pragma: no cover - a check round must never stop the loop
                _log.exception("health check round failed")

    # ----------------------------------------------------------------------- version/status

    async def Version(
        self,
        request: common_pb2.VersionRequest,
        context: grpc.aio.ServicerContext[common_pb2.VersionRequest, common_pb2.VersionInfo],
    ) -> common_pb2.VersionInfo:
        return common_pb2.VersionInfo(
            versions=[
                common_pb2.VersionInfo.Version(name="cogment_directory", version=__version__),
                common_pb2.VersionInfo.Version(name="grpc", version=grpc.__version__),
            ]
        )

    async def Status(
        self,
        request: common_pb2.StatusRequest,
        context: grpc.aio.ServicerContext[common_pb2.StatusRequest, common_pb2.StatusReply],
    ) -> common_pb2.StatusReply:
        available = {
            "overall_load": "0",
            "nb_entries": str(len(self.registry)),
            "load_balancing": "enabled" if self.options.load_balancing else "disabled",
        }
        names = set(request.names)
        if "*" in names:
            return common_pb2.StatusReply(statuses=available)
        return common_pb2.StatusReply(
            statuses={name: value for name, value in available.items() if name in names}
        )


def balance(entries: Sequence[DirectoryEntry]) -> list[DirectoryEntry]:
    """Load balancing: drop unserviceable entries, keep the least loaded group, shuffled.

    An unknown load (never checked: permanent, ``cogment://``, no ``Status``) counts as 0.
    """
    loads = [(entry, entry.load if entry.load is not None else 0) for entry in entries]
    serviceable = [(entry, load) for entry, load in loads if load < UNSERVICEABLE_LOAD]
    if not serviceable:
        return []
    lowest = min(load for _, load in serviceable)
    kept = [entry for entry, load in serviceable if load <= lowest + LOAD_BALANCING_MARGIN]
    random.shuffle(kept)
    return kept
