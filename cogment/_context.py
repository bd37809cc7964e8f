"""``cogment.Context``: registration and serving of components, and access to Cogment services."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable, Generator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Generic, TypeVar, overload

import grpc
import grpc.aio

from cogment._actor import ActorClass, SessionT
from cogment._endpoint_url import DiscoveryContext, ServiceType
from cogment._endpoints import Endpoint, ServedEndpoint
from cogment._environment import EnvironmentSession
from cogment._errors import CogmentError
from cogment._grpc import create_channel
from cogment._log import deprecated, logger
from cogment._metadata import GrpcMetadata
from cogment._servicers._common import (
    ActorImpl,
    EnvironmentImpl,
    HookImpl,
    properties_dict,
)
from cogment._specs import Specs

if TYPE_CHECKING:
    from cogment._controller import Controller
    from cogment._datalog import DatalogSession
    from cogment._datastore import Datastore
    from cogment._model_registry import ModelRegistry
    from cogment._model_registry_v1 import ModelRegistry as ModelRegistryV1
    from cogment._prehook import PrehookSession
    from cogment_services.orchestrator._inprocess import EmbeddedOrchestrator

__all__ = ["Context", "PendingService"]

_DEFAULT_REGISTRY: Any = object()
"""Sentinel: Prometheus' global default registry (resolved lazily, keeps import cheap)."""

DIRECTORY_ENDPOINT_ENV = "COGMENT_DIRECTORY_ENDPOINT"
DIRECTORY_TOKEN_ENV = "COGMENT_DIRECTORY_AUTHENTICATION_TOKEN"


class Context:
    """Sets up and runs the Cogment components of a program: environments, actors, pre-trial
    hooks and datalogs (``register_*`` then ``serve_all_registered``), client actors
    (``join_trial``), and access to the orchestrator (``get_controller``), datastore and model
    registry.

    Must be created inside a running asyncio loop.
    """

    def __init__(
        self,
        user_id: str,
        cog_settings: Any,
        asyncio_loop: asyncio.AbstractEventLoop | None = None,
        prometheus_registry: Any = _DEFAULT_REGISTRY,
        directory_endpoint: Endpoint | None = None,
        directory_auth_token: str | None = None,
        metadata: GrpcMetadata | None = None,
    ) -> None:
        if not isinstance(user_id, str):
            raise CogmentError(f"Context user_id must be a str, got [{type(user_id).__name__}]")
        if asyncio_loop is None:
            try:
                asyncio_loop = asyncio.get_running_loop()
            except RuntimeError:
                raise CogmentError(
                    "cogment.Context must be created inside a running asyncio loop "
                    "(e.g. in a coroutine run with asyncio.run)"
                ) from None
        if directory_endpoint is None:
            url = os.environ.get(DIRECTORY_ENDPOINT_ENV)
            if url:
                directory_endpoint = Endpoint(url)
        elif not isinstance(directory_endpoint, Endpoint):
            raise CogmentError(
                f"Context directory_endpoint must be an Endpoint, got "
                f"[{type(directory_endpoint).__name__}]"
            )
        if directory_auth_token is None:
            directory_auth_token = os.environ.get(DIRECTORY_TOKEN_ENV) or None
        if metadata is None:
            metadata = GrpcMetadata()
        elif not isinstance(metadata, GrpcMetadata):
            raise CogmentError(
                f"Context metadata must be a GrpcMetadata, got [{type(metadata).__name__}]"
            )

        self._user_id = user_id
        self._specs = Specs(cog_settings)
        self._loop = asyncio_loop
        self._prometheus_registry = prometheus_registry
        self._directory_endpoint = directory_endpoint
        self._directory_auth_token = directory_auth_token
        self._metadata = metadata
        self._env_impls: dict[str, EnvironmentImpl] = {}
        self._actor_impls: dict[str, ActorImpl] = {}
        self._prehook_impl: HookImpl | None = None
        self._datalog_impl: HookImpl | None = None
        self._served_port = 0
        self._serving = asyncio.Event()
        self._directory: Any = None
        self._owned_channels: list[grpc.aio.Channel] = []
        self._inprocess: Any = None  # the embedded Orchestrator running, if any

    # -- properties -------------------------------------------------------------------------------

    @property
    def served_port(self) -> int:
        """Port of the server started by ``serve_all_registered`` (0 when not serving)."""
        return self._served_port

    @property
    def asyncio_loop(self) -> asyncio.AbstractEventLoop:
        """The asyncio loop of this context."""
        return self._loop

    @property
    def user_id(self) -> str:
        """The user id given at construction (sent when starting trials)."""
        return self._user_id

    @property
    def cog_settings(self) -> Any:
        """The specs module given at construction (or None)."""
        return self._specs.cog_settings

    @property
    def metadata(self) -> GrpcMetadata:
        """gRPC metadata attached to every call made by this context."""
        return self._metadata

    def has_specs(self) -> bool:
        """True if the context was given specs (``cog_settings``)."""
        return self._specs.has_specs

    def _prometheus(self) -> Any:
        registry = self._prometheus_registry
        if registry is _DEFAULT_REGISTRY:
            from prometheus_client import REGISTRY

            registry = REGISTRY
        return registry

    # -- registration -----------------------------------------------------------------------------

    def register_environment(
        self,
        impl: Callable[[EnvironmentSession[Any, Any, Any]], Awaitable[None]]
        | Callable[[Any], Awaitable[None]],
        impl_name: str = "default",
        properties: Mapping[str, str] | None = None,
    ) -> None:
        """Register the coroutine function running environments of trials under ``impl_name``."""
        _check_impl(impl, "register_environment")
        if not isinstance(impl_name, str) or not impl_name:
            raise CogmentError(f"register_environment: invalid impl_name [{impl_name!r}]")
        if impl_name in self._env_impls:
            logger.warning("Environment implementation [%s] registered again: replaced", impl_name)
        self._env_impls[impl_name] = EnvironmentImpl(
            impl, impl_name, properties_dict(properties, "register_environment")
        )

    @overload
    def register_actor(
        self,
        impl: Callable[[SessionT], Awaitable[None]],
        impl_name: str,
        actor_classes: Sequence[ActorClass[SessionT]],
        properties: Mapping[str, str] | None = None,
    ) -> None: ...

    @overload
    def register_actor(
        self,
        impl: Callable[[Any], Awaitable[None]],
        impl_name: str,
        actor_classes: Sequence[str] = (),
        properties: Mapping[str, str] | None = None,
    ) -> None: ...

    def register_actor(
        self,
        impl: Callable[[Any], Awaitable[None]],
        impl_name: str,
        actor_classes: Sequence[ActorClass[Any]] | Sequence[str] = (),
        properties: Mapping[str, str] | None = None,
    ) -> None:
        """Register the coroutine function running actors of the given classes under
        ``impl_name``. ``actor_classes`` are class names or the generated ``ActorClass`` objects
        (typed: the implementation must take that class's session type)."""
        _check_impl(impl, "register_actor")
        if not isinstance(impl_name, str) or not impl_name:
            raise CogmentError(f"register_actor: invalid impl_name [{impl_name!r}]")
        if isinstance(actor_classes, str):
            raise CogmentError(
                f"register_actor [{impl_name}]: actor_classes must be a list, "
                f"not the string [{actor_classes}]"
            )
        names: list[str] = []
        for item in actor_classes:
            name = item.name if isinstance(item, ActorClass) else item
            if not isinstance(name, str):
                raise CogmentError(
                    f"register_actor [{impl_name}]: invalid actor class [{item!r}] "
                    "(expected a class name or an ActorClass)"
                )
            if self._specs.has_specs:
                self._specs.actor_class(name, f"register_actor [{impl_name}]")
            names.append(name)
        if not names and self._specs.has_specs:
            deprecated(
                "register_actor() without actor_classes is deprecated: "
                "registering the implementation for every actor class of the specs"
            )
            names = [c.name for c in self._specs.cog_settings.actor_classes]
        if impl_name in self._actor_impls:
            logger.warning("Actor implementation [%s] registered again: replaced", impl_name)
        self._actor_impls[impl_name] = ActorImpl(
            impl, impl_name, names, properties_dict(properties, "register_actor")
        )

    def register_pre_trial_hook(
        self,
        impl: Callable[[PrehookSession[Any]], Awaitable[None]] | Callable[[Any], Awaitable[None]],
        properties: Mapping[str, str] | None = None,
    ) -> None:
        """Register the (single) pre-trial hook coroutine function."""
        _check_impl(impl, "register_pre_trial_hook")
        if self._prehook_impl is not None:
            raise CogmentError("Only one pre-trial hook can be registered per context")
        self._prehook_impl = HookImpl(impl, properties_dict(properties, "register_pre_trial_hook"))

    def register_datalog(
        self,
        impl: Callable[[DatalogSession], Awaitable[None]] | Callable[[Any], Awaitable[None]],
        properties: Mapping[str, str] | None = None,
    ) -> None:
        """Register the (single) datalog coroutine function."""
        _check_impl(impl, "register_datalog")
        if self._datalog_impl is not None:
            raise CogmentError("Only one datalog can be registered per context")
        self._datalog_impl = HookImpl(impl, properties_dict(properties, "register_datalog"))

    # -- serving ----------------------------------------------------------------------------------

    async def serve_all_registered(
        self,
        served_endpoint: ServedEndpoint | None = None,
        prometheus_port: int | None = None,
        directory_registration_host: str | None = None,
        *,
        host: str = "[::]",
    ) -> None:
        """Serve every registered component on one gRPC server until cancelled.

        ``served_endpoint.port == 0`` picks a free port (see ``served_port``). TLS is on when
        ``served_endpoint.private_key_certificate_chain_pairs`` is set. ``prometheus_port``
        starts a metrics HTTP server. With a directory, the services are registered in it
        (and deregistered when serving stops). ``host`` is the address to bind (extension).
        """
        from cogment._servicers._serve import serve

        if served_endpoint is None:
            served_endpoint = ServedEndpoint()
        elif isinstance(served_endpoint, (int, str)):
            deprecated("serve_all_registered(port) is deprecated; pass a ServedEndpoint")
            served_endpoint = ServedEndpoint(int(served_endpoint))
        if not (self._env_impls or self._actor_impls or self._prehook_impl or self._datalog_impl):
            raise CogmentError("serve_all_registered: nothing registered to serve")
        if self._served_port:
            raise CogmentError(
                f"serve_all_registered: already serving on port [{self._served_port}]"
            )
        await serve(self, served_endpoint, prometheus_port, directory_registration_host, host)

    def _set_served_port(self, port: int) -> None:
        self._served_port = port
        if port:
            self._serving.set()
        else:
            self._serving.clear()

    async def wait_for_serving(self) -> int:
        """Wait until ``serve_all_registered`` is serving; return ``served_port`` (extension)."""
        await self._serving.wait()
        return self._served_port

    # -- clients ----------------------------------------------------------------------------------

    async def _resolve(
        self, endpoint: Endpoint, discovery: DiscoveryContext | ServiceType
    ) -> Endpoint:
        """The direct (``grpc://``) endpoint for ``endpoint``, through the directory if needed."""
        if endpoint.is_grpc:
            return endpoint
        if not endpoint.is_discovery:
            raise CogmentError(f"Endpoint [{endpoint.url}] cannot be used here")
        directory = self.get_context_directory()
        if directory is None:
            raise CogmentError(
                f"Endpoint [{endpoint.url}] needs a directory, but none is set (give "
                f"`directory_endpoint` to the Context or set {DIRECTORY_ENDPOINT_ENV})"
            )
        if isinstance(discovery, ServiceType):
            discovery = DiscoveryContext.of_type(discovery)
        resolved = await directory.resolve(endpoint.parsed_url, discovery, endpoint.using_ssl())
        return endpoint.copy(resolved.url)

    def get_context_directory(self) -> Any:
        """The directory client of this context (None without a directory endpoint)."""
        if self._directory_endpoint is None:
            return None
        if self._directory is None:
            from cogment import _directory

            self._directory = _directory.Directory.connect(
                self._directory_endpoint, self._directory_auth_token, self._metadata
            )
        return self._directory

    def get_directory(self, endpoint: Endpoint, authentication_token: str | None = None) -> Any:
        """A directory client for ``endpoint``."""
        from cogment import _directory

        return _directory.Directory.connect(endpoint, authentication_token, self._metadata)

    def _channel(self, endpoint: Endpoint) -> grpc.aio.Channel:
        return create_channel(endpoint)

    async def join_trial(
        self,
        trial_id: str,
        endpoint: Endpoint | None = None,
        impl_name: str | None = None,
        actor_name: str | None = None,
        actor_class: str | ActorClass[Any] | None = None,
    ) -> None:
        """Join trial ``trial_id`` as a client actor (``cogment://client`` in the parameters),
        by actor name or by actor class, and run the registered implementation until the end."""
        from cogment._client_actor import join_trial

        if endpoint is None:
            endpoint = Endpoint()
        await join_trial(self, trial_id, endpoint, impl_name, actor_name, actor_class)

    def embedded_orchestrator(self, **settings: Any) -> EmbeddedOrchestrator:
        """An Orchestrator in this process running this Context's components in-process
        (extension): ``async with context.embedded_orchestrator() as orch: ...``.

        Components whose endpoint is ``orch.components_endpoint`` (or this Context's served
        address) run without sockets nor serialization of the streams; ``orch.get_controller()``
        calls it directly; ``join_trial`` (default endpoint) joins in-process. ``settings`` are
        ``cogment_services.OrchestratorConfig`` fields; give ``lifecycle_port`` to also serve
        gRPC (none is opened otherwise).
        """
        from cogment_services.orchestrator._inprocess import EmbeddedOrchestrator

        return EmbeddedOrchestrator(self, **settings)

    def get_controller(self, endpoint: Endpoint | None = None) -> PendingService[Controller]:
        """A ``Controller`` to start, terminate, inquire and watch trials on the orchestrator.

        Await the result (``controller = await context.get_controller(endpoint)``). For a direct
        ``grpc://`` endpoint the result can also be used without ``await``, as with the
        published SDK.
        """
        from cogment._controller import Controller

        if endpoint is None:
            endpoint = Endpoint()

        def make(resolved: Endpoint) -> Controller:
            return Controller(self._channel(resolved), self._user_id, self._metadata)

        return self._pending(endpoint, ServiceType.LIFE_CYCLE, make)

    def get_datastore(self, endpoint: Endpoint | None = None) -> PendingService[Datastore]:
        """A ``Datastore`` client (await the result; see ``get_controller``)."""
        from cogment._datastore import Datastore

        if endpoint is None:
            endpoint = Endpoint()

        def make(resolved: Endpoint) -> Datastore:
            return Datastore(self._channel(resolved), self._specs.cog_settings, self._metadata)

        return self._pending(endpoint, ServiceType.DATASTORE, make)

    async def get_model_registry_v2(self, endpoint: Endpoint | None = None) -> ModelRegistry:
        """A model registry (v2) client."""
        from cogment._model_registry import ModelRegistry

        if endpoint is None:
            endpoint = Endpoint()
        resolved = await self._resolve(endpoint, ServiceType.MODEL_REG)
        channel = self._channel(resolved)
        self._owned_channels.append(channel)
        return ModelRegistry(channel, self._metadata, endpoint=resolved.url)

    async def get_model_registry(self, endpoint: Endpoint | None = None) -> ModelRegistryV1:
        """Deprecated: the v1 model registry client; use ``get_model_registry_v2``."""
        from cogment._model_registry_v1 import ModelRegistry as ModelRegistryV1

        deprecated("Context.get_model_registry() is deprecated; use get_model_registry_v2()")
        if endpoint is None:
            endpoint = Endpoint()
        resolved = await self._resolve(endpoint, ServiceType.MODEL_REG)
        channel = self._channel(resolved)
        self._owned_channels.append(channel)
        return ModelRegistryV1(channel, self._metadata)

    def _pending(
        self,
        endpoint: Endpoint,
        service_type: ServiceType,
        make: Callable[[Endpoint], ServiceT],
    ) -> PendingService[ServiceT]:
        if endpoint.is_grpc:
            return PendingService(make(endpoint), None)

        async def resolve_then_make() -> ServiceT:
            return make(await self._resolve(endpoint, service_type))

        return PendingService(None, resolve_then_make)


ServiceT = TypeVar("ServiceT")


class PendingService(Generic[ServiceT]):
    """What ``get_controller`` and ``get_datastore`` return: await it to get the client.

    For direct ``grpc://`` endpoints the client exists already and its attributes can be used
    directly (compatibility with the published SDK, whose methods were synchronous).
    """

    __slots__ = ("_make", "_service")

    def __init__(
        self,
        service: ServiceT | None,
        make: Callable[[], Awaitable[ServiceT]] | None,
    ) -> None:
        self._service = service
        self._make = make

    def __await__(self) -> Generator[Any, None, ServiceT]:
        return self._get().__await__()

    async def _get(self) -> ServiceT:
        if self._service is None:
            assert self._make is not None
            self._service = await self._make()
        return self._service

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        service = self._service
        if service is None:
            raise CogmentError(
                f"The service is not resolved yet: `await` the result of get_controller() / "
                f"get_datastore() before using [{name}]"
            )
        return getattr(service, name)


def _check_impl(impl: object, what: str) -> None:
    if not callable(impl):
        raise CogmentError(f"{what}: impl must be an async function, got [{impl!r}]")
