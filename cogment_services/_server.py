"""Shared bootstrap for the Cogment services (Orchestrator, Directory, Datastore, Model Registry).

What every service needs and nothing more:

- :func:`create_server` / :func:`bind_server`: a ``grpc.aio`` server bound to ``host:port``
  (port 0 = a free port; the bound port is returned), optionally with TLS from PEM files
  (:class:`TlsFiles`; mutual TLS when root certificates are given).
- :class:`StatusFile`: the ``--status_file`` protocol (``I`` at init, ``R`` when ready,
  ``T`` on termination, appended without newline; works with a FIFO).
- :class:`PrometheusExporter`: ``/metrics`` on ``--prometheus_port`` from a per-service
  :class:`prometheus_client.CollectorRegistry` (never the global one).
- :func:`setup_cli_logging`: ``--log_level`` (trace/debug/info/warning/error/off), ``--log_file``.
- :func:`add_common_arguments` + :func:`env_default` + :func:`int_env`: the shared CLI flags with
  their env vars; :func:`add_directory_arguments`: the ``--directory_*`` registration flags.
- :func:`run_until_signal` / :func:`run_cli`: run a service until SIGTERM/SIGINT, then stop it
  gracefully within a bounded grace period (open streams never block the shutdown).
- :class:`EmbeddedService` + :func:`loopback_endpoint`: the embeddable service shape (an async
  context manager: start on entry, stop on exit) and its ``grpc://`` endpoint.
- :func:`run_service`: the usual service run (start, Prometheus exporter, Directory
  registration; the reverse at stop); :func:`service_main`: parse, check, set up logging, run.

Library code here installs no logging handler; only :func:`setup_cli_logging` does, for CLIs.
"""

from __future__ import annotations

import abc
import argparse
import asyncio
import contextlib
import logging
import os
import signal
import sys
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Protocol, TextIO

import grpc
import grpc.aio
from prometheus_client import CollectorRegistry, start_http_server
from typing_extensions import Self

__all__ = [
    "DEFAULT_GRACE_SECONDS",
    "SERVER_OPTIONS",
    "TRACE",
    "EmbeddedService",
    "PrometheusExporter",
    "ServiceStartupError",
    "StatusFile",
    "TlsFiles",
    "add_common_arguments",
    "add_directory_arguments",
    "bind_server",
    "create_server",
    "env_default",
    "int_env",
    "loopback_endpoint",
    "parse_bool",
    "run_cli",
    "run_service",
    "run_until_signal",
    "service_main",
    "setup_cli_logging",
    "stop_server",
    "tls_from_args",
]

_log = logging.getLogger("cogment.services")

#: Seconds in-flight RPCs get to finish on shutdown before they are cancelled.
DEFAULT_GRACE_SECONDS = 2.0

#: Numeric level of the ``trace`` log level (below DEBUG).
TRACE = 5
logging.addLevelName(TRACE, "TRACE")


class ServiceStartupError(Exception):
    """A service could not start (bad flag, unreadable file, port in use...)."""


# --------------------------------------------------------------------------------------- TLS


@dataclass(frozen=True)
class TlsFiles:
    """PEM files for TLS, as given by ``--private_key``, ``--root_cert`` and ``--trust_chain``.

    ``trust_chain`` is this service's certificate chain, ``private_key`` its key and
    ``root_cert`` the root certificates used to verify peers (mutual TLS when set).
    """

    private_key: str | None = None
    root_cert: str | None = None
    trust_chain: str | None = None

    @property
    def enabled(self) -> bool:
        """True when any of the files is given."""
        return bool(self.private_key or self.root_cert or self.trust_chain)

    def _read(self, flag: str, path: str | None) -> bytes | None:
        if not path:
            return None
        try:
            return Path(path).read_bytes()
        except OSError as error:
            raise ServiceStartupError(f"--{flag}: cannot read [{path}]: {error}") from error

    def server_credentials(self) -> grpc.ServerCredentials:
        """Server credentials; mutual TLS (client certificates required) when a root is given."""
        key = self._read("private_key", self.private_key)
        chain = self._read("trust_chain", self.trust_chain)
        root = self._read("root_cert", self.root_cert)
        if key is None or chain is None:
            raise ServiceStartupError(
                "TLS needs both --private_key and --trust_chain (the server certificate chain)"
            )
        return grpc.ssl_server_credentials(
            [(key, chain)], root_certificates=root, require_client_auth=root is not None
        )

    def channel_credentials(self) -> grpc.ChannelCredentials:
        """Client credentials built from the same files (for outgoing connections)."""
        return grpc.ssl_channel_credentials(
            root_certificates=self._read("root_cert", self.root_cert),
            private_key=self._read("private_key", self.private_key),
            certificate_chain=self._read("trust_chain", self.trust_chain),
        )


# ------------------------------------------------------------------------------------ server

#: Options applied to every server (the 4 MiB default message limits of the reference, unless
#: ``max_message_bytes`` is given).
SERVER_OPTIONS: Sequence[tuple[str, int]] = (("grpc.so_reuseport", 0),)


def create_server(max_message_bytes: int | None = None) -> grpc.aio.Server:
    """A new ``grpc.aio`` server (not started, not bound); ``max_message_bytes`` raises gRPC's
    4 MiB limit on the messages it receives and sends."""
    options = list(SERVER_OPTIONS)
    if max_message_bytes is not None:
        options += [
            ("grpc.max_receive_message_length", max_message_bytes),
            ("grpc.max_send_message_length", max_message_bytes),
        ]
    return grpc.aio.server(options=options)


def bind_server(server: grpc.aio.Server, host: str, port: int, tls: TlsFiles | None = None) -> int:
    """Bind ``server`` to ``host:port`` (0 = free port), TLS if ``tls`` is enabled.

    Returns the bound port; raises :class:`ServiceStartupError` if the port cannot be bound.
    """
    address = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    try:
        if tls is not None and tls.enabled:
            bound = server.add_secure_port(address, tls.server_credentials())
        else:
            bound = server.add_insecure_port(address)
    except RuntimeError as error:
        raise ServiceStartupError(f"cannot bind [{address}]: {error}") from error
    if bound == 0:
        raise ServiceStartupError(f"cannot bind [{address}] (port in use?)")
    return bound


async def stop_server(server: grpc.aio.Server, grace: float = DEFAULT_GRACE_SECONDS) -> None:
    """Stop ``server``: refuse new RPCs, give in-flight ones ``grace`` seconds, then cancel them.

    Never hangs on open streams: grpc cancels what is left after the grace period, and this
    call itself is bounded by ``grace`` + 5 s.
    """
    try:
        await asyncio.wait_for(server.stop(grace), timeout=grace + 5.0)
    except asyncio.TimeoutError:  # pragma: no cover - defensive
        _log.warning("gRPC server did not stop within %.1fs", grace + 5.0)


def loopback_endpoint(host: str, port: int) -> str:
    """``grpc://<host>:<port>`` to reach a server bound to ``host`` (``127.0.0.1`` for a wildcard
    host; IPv6 hosts in brackets).
    """
    if host in ("0.0.0.0", "::", ""):
        host = "127.0.0.1"
    if ":" in host:
        host = f"[{host}]"
    return f"grpc://{host}:{port}"


class EmbeddedService(abc.ABC):
    """Base of the services embeddable in a program: ``async with Service(...) as service:``
    starts it on entry and stops it on exit. Subclasses implement :meth:`start` and :meth:`stop`.
    """

    @abc.abstractmethod
    async def start(self) -> None:
        """Start serving."""

    @abc.abstractmethod
    async def stop(self) -> None:
        """Stop serving."""

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.stop()


# ------------------------------------------------------------------------------- status file


class StatusFile:
    """The ``--status_file`` protocol: append ``I``, ``R`` then ``T`` (no newline).

    The file may be a FIFO read by a supervising process; writes happen in a worker thread
    so that opening a FIFO with no reader yet never blocks the event loop.
    """

    INITIALIZING = "I"
    READY = "R"
    TERMINATING = "T"

    def __init__(self, path: str | os.PathLike[str] | None) -> None:
        self._path = os.fspath(path) if path else None
        self._file: TextIO | None = None

    def _write_sync(self, status: str) -> None:
        assert self._path is not None
        if self._file is None:
            self._file = open(self._path, "a", encoding="ascii")  # noqa: SIM115 (kept open: FIFO)
        self._file.write(status)
        self._file.flush()

    async def write(self, status: str) -> None:
        """Append ``status``; a failure is logged, never raised."""
        if self._path is None:
            return
        try:
            await asyncio.wait_for(asyncio.to_thread(self._write_sync, status), timeout=10)
        except (OSError, asyncio.TimeoutError) as error:
            _log.warning("cannot write [%s] to status file [%s]: %r", status, self._path, error)

    def close(self) -> None:
        """Close the file (after ``T``)."""
        if self._file is not None:
            with contextlib.suppress(OSError):
                self._file.close()
            self._file = None


# -------------------------------------------------------------------------------- prometheus


class PrometheusExporter:
    """Serves ``/metrics`` for one :class:`CollectorRegistry` on ``port`` (0 = disabled)."""

    def __init__(self, registry: CollectorRegistry, port: int, host: str = "0.0.0.0") -> None:
        self.registry = registry
        self._requested_port = port
        self._host = host
        self._server: object | None = None
        self.port: int | None = None

    def start(self) -> None:
        """Start the HTTP exporter thread if a port was given."""
        if self._requested_port <= 0 or self._server is not None:
            return
        try:
            server, _thread = start_http_server(
                self._requested_port, addr=self._host, registry=self.registry
            )
        except OSError as error:
            raise ServiceStartupError(
                f"--prometheus_port: cannot serve on [{self._requested_port}]: {error}"
            ) from error
        self._server = server
        self.port = int(server.server_port)

    def stop(self) -> None:
        """Stop the exporter (idempotent)."""
        server = self._server
        self._server = None
        if server is not None:
            server.shutdown()  # type: ignore[attr-defined]
            server.server_close()  # type: ignore[attr-defined]


# ----------------------------------------------------------------------------------- logging

_LEVELS = {
    "trace": TRACE,
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warning": logging.WARNING,
    "warn": logging.WARNING,
    "error": logging.ERROR,
    "off": logging.CRITICAL + 10,
}


def setup_cli_logging(level: str = "info", log_file: str | None = None) -> None:
    """Configure the root logger for a service CLI (never call from library code)."""
    name = (level or "info").strip().lower()
    if name not in _LEVELS:
        raise ServiceStartupError(
            f"--log_level: unknown level [{level}] (trace, debug, info, warning, error, off)"
        )
    handler: logging.Handler
    if log_file:
        try:
            handler = logging.FileHandler(log_file, encoding="utf-8")
        except OSError as error:
            raise ServiceStartupError(f"--log_file: cannot open [{log_file}]: {error}") from error
    else:
        handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s [%(levelname)s] %(name)s: %(message)s"))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(_LEVELS[name])


# ---------------------------------------------------------------------------------------- CLI


def env_default(*names: str, default: str | None = None) -> str | None:
    """The first set environment variable among ``names``, else ``default``."""
    for name in names:
        value = os.environ.get(name)
        if value is not None and value != "":
            return value
    return default


def int_env(default: int, *names: str) -> int:
    """The first set environment variable among ``names`` as an integer, else ``default``."""
    value = env_default(*names)
    if value is None:
        return default
    try:
        return int(value)
    except ValueError:
        raise ServiceStartupError(
            f"environment variable {names[0]}: not an integer [{value}]"
        ) from None


def parse_bool(value: str | bool) -> bool:
    """Parse a boolean flag value (true/false, 1/0, yes/no, on/off)."""
    if isinstance(value, bool):
        return value
    text = value.strip().lower()
    if text in ("1", "true", "yes", "on", "y", "t"):
        return True
    if text in ("0", "false", "no", "off", "n", "f", ""):
        return False
    raise argparse.ArgumentTypeError(f"not a boolean: [{value}]")


def add_common_arguments(
    parser: argparse.ArgumentParser, prometheus_env: Sequence[str] = ()
) -> None:
    """Add the flags shared by every service (logging, status file, TLS, Prometheus)."""
    parser.add_argument(
        "--log_level",
        default=env_default("COGMENT_LOG_LEVEL", default="info"),
        help="trace|debug|info|warning|error|off (env COGMENT_LOG_LEVEL)",
    )
    parser.add_argument(
        "--log_file", default=env_default("COGMENT_LOG_FILE"), help="env COGMENT_LOG_FILE"
    )
    parser.add_argument(
        "--log_format", default=env_default("COGMENT_LOG_FORMAT"), help="accepted, ignored"
    )
    parser.add_argument(
        "--status_file",
        default=env_default("COGMENT_STATUS_FILE"),
        help="file (or FIFO) receiving I, R, T (env COGMENT_STATUS_FILE)",
    )
    parser.add_argument(
        "--private_key",
        default=env_default("COGMENT_PRIVATE_KEY_FILE"),
        help="PEM private key (env COGMENT_PRIVATE_KEY_FILE)",
    )
    parser.add_argument(
        "--root_cert",
        default=env_default("COGMENT_ROOT_CERT_FILE"),
        help="PEM root certificates (env COGMENT_ROOT_CERT_FILE)",
    )
    parser.add_argument(
        "--trust_chain",
        default=env_default("COGMENT_TRUST_CHAIN_FILE"),
        help="PEM certificate chain (env COGMENT_TRUST_CHAIN_FILE)",
    )
    parser.add_argument(
        "--prometheus_port",
        type=int,
        default=int(env_default(*prometheus_env, "PROMETHEUS_PORT", default="0") or 0),
        help="port of the Prometheus /metrics exporter, 0 = off",
    )


def add_directory_arguments(
    parser: argparse.ArgumentParser, env_prefix: str, *, prefixed_directory_env: bool = False
) -> None:
    """Add ``--directory_endpoint``, ``--directory_authentication_token``,
    ``--directory_registration_host`` and ``--directory_registration_properties``.

    Their env vars are ``COGMENT_DIRECTORY_ENDPOINT``, ``COGMENT_DIRECTORY_AUTHENTICATION_TOKEN``
    (preceded by ``<env_prefix>DIRECTORY_ENDPOINT`` / ``..._AUTHENTICATION_TOKEN`` when
    ``prefixed_directory_env``), ``<env_prefix>DIRECTORY_REGISTRATION_HOST`` and
    ``<env_prefix>DIRECTORY_REGISTRATION_PROPERTIES``.
    """
    own = env_prefix if prefixed_directory_env else None
    endpoint_env = [f"{own}DIRECTORY_ENDPOINT"] if own else []
    token_env = [f"{own}DIRECTORY_AUTHENTICATION_TOKEN"] if own else []
    parser.add_argument(
        "--directory_endpoint",
        default=env_default(*endpoint_env, "COGMENT_DIRECTORY_ENDPOINT"),
        help="grpc:// endpoint of a Directory to register to (env COGMENT_DIRECTORY_ENDPOINT)",
    )
    parser.add_argument(
        "--directory_authentication_token",
        default=env_default(*token_env, "COGMENT_DIRECTORY_AUTHENTICATION_TOKEN"),
        help="token sent to the Directory (env COGMENT_DIRECTORY_AUTHENTICATION_TOKEN)",
    )
    parser.add_argument(
        "--directory_registration_host",
        default=env_default(f"{env_prefix}DIRECTORY_REGISTRATION_HOST"),
        help="host registered to the Directory (default: this machine's address)",
    )
    parser.add_argument(
        "--directory_registration_properties",
        default=env_default(f"{env_prefix}DIRECTORY_REGISTRATION_PROPERTIES", default=""),
        help='properties registered to the Directory, "name=value,other=value"',
    )


def tls_from_args(args: argparse.Namespace) -> TlsFiles:
    """The :class:`TlsFiles` from parsed common arguments."""
    return TlsFiles(
        private_key=args.private_key or None,
        root_cert=args.root_cert or None,
        trust_chain=args.trust_chain or None,
    )


async def run_until_signal(
    start: Callable[[], Awaitable[None]],
    stop: Callable[[], Awaitable[None]],
    status_file: StatusFile | None = None,
    stopped: asyncio.Event | None = None,
) -> None:
    """Run a service: status ``I``, ``await start()``, status ``R``, wait for SIGTERM/SIGINT
    (or ``stopped`` being set), status ``T``, ``await stop()``.
    """
    status = status_file or StatusFile(None)
    stop_event = stopped or asyncio.Event()
    loop = asyncio.get_running_loop()
    installed: list[signal.Signals] = []
    for signum in (signal.SIGTERM, signal.SIGINT):
        try:
            loop.add_signal_handler(signum, stop_event.set)
            installed.append(signum)
        except (NotImplementedError, RuntimeError, ValueError):  # pragma: no cover
            pass
    try:
        await status.write(StatusFile.INITIALIZING)
        await start()
        await status.write(StatusFile.READY)
        await stop_event.wait()
        _log.info("termination requested")
        await status.write(StatusFile.TERMINATING)
    finally:
        try:
            await stop()
        finally:
            for signum in installed:
                loop.remove_signal_handler(signum)
            status.close()


def run_cli(main: Callable[[], Coroutine[Any, Any, int]]) -> int:
    """Run an async service ``main`` with :func:`asyncio.run`; map startup errors to exit 2."""
    try:
        return asyncio.run(main())
    except ServiceStartupError as error:
        _log.error("%s", error)
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # pragma: no cover - signal handlers normally catch it
        return 130


class Service(Protocol):
    """What :func:`run_service` runs: an embeddable service with a bound ``port`` once started."""

    @property
    def port(self) -> int: ...

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


class Registration(Protocol):
    """A Directory registration (``cogment_services._registration.DirectoryRegistration``)."""

    async def register(self, port: int) -> None: ...

    async def deregister(self) -> None: ...


async def run_service(
    service: Service,
    status_file: StatusFile,
    *,
    exporter: PrometheusExporter | None = None,
    registration: Registration | None = None,
    on_started: Callable[[], None] | None = None,
    startup_errors: tuple[type[Exception], ...] = (),
    name: str = "service",
) -> None:
    """Run ``service`` until SIGTERM/SIGINT (:func:`run_until_signal`).

    Start: ``service.start()`` (``startup_errors`` it raises become
    :class:`ServiceStartupError` "``name`` cannot start: ..."), the exporter, ``on_started()``,
    the Directory registration of ``service.port``. Stop: deregistration, exporter,
    ``service.stop()`` (each even if the previous failed).
    """

    async def start() -> None:
        try:
            await service.start()
        except startup_errors as error:
            raise ServiceStartupError(f"{name} cannot start: {error}") from error
        if exporter is not None:
            exporter.start()
        if on_started is not None:
            on_started()
        if registration is not None:
            await registration.register(service.port)

    async def stop() -> None:
        try:
            if registration is not None:
                await registration.deregister()
        finally:
            try:
                if exporter is not None:
                    exporter.stop()
            finally:
                await service.stop()

    await run_until_signal(start, stop, status_file)


def service_main(
    parser: argparse.ArgumentParser,
    argv: Sequence[str] | None,
    serve: Callable[[argparse.Namespace], Coroutine[Any, Any, int]],
    check: Callable[[argparse.Namespace], None] | None = None,
) -> int:
    """Parse ``argv``, ``check`` the arguments, set up logging and :func:`run_cli` ``serve``.

    Returns the exit code: 2 for a bad flag or a startup error, 0 for ``--help``.
    """
    try:
        args = parser.parse_args(list(argv) if argv is not None else None)
        if check is not None:
            check(args)
        setup_cli_logging(args.log_level, args.log_file)
    except ServiceStartupError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except SystemExit as exit_:
        return exit_.code if isinstance(exit_.code, int) else 2
    return run_cli(lambda: serve(args))
