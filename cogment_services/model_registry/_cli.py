"""``cogment services model_registry``: the Model Registry command line.

Flags (environment variable in parentheses):

- ``--port`` (``COGMENT_MODEL_REGISTRY_PORT``, default 9002)
- ``--archive_dir`` (``COGMENT_MODEL_REGISTRY_ARCHIVE_DIR``, default ``.cogment/model_registry``)
- ``--cache_max_items`` (``COGMENT_MODEL_REGISTRY_VERSION_CACHE_MAX_ITEMS``, default 100)
- ``--sent_version_chunk_size`` (``COGMENT_MODEL_REGISTRY_SENT_MODEL_VERSION_DATA_CHUNK_SIZE``,
  default 2 MiB)
- ``--directory_endpoint``, ``--directory_authentication_token``,
  ``--directory_registration_host``, ``--directory_registration_properties``: register this
  service (type MODEL_REGISTRY) to a Directory
- the common service flags: ``--log_level``, ``--log_file``, ``--status_file``, TLS
  (``--private_key``, ``--root_cert``, ``--trust_chain``), ``--prometheus_port``.
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Sequence

from cogment_services._server import (
    PrometheusExporter,
    ServiceStartupError,
    StatusFile,
    add_common_arguments,
    add_directory_arguments,
    env_default,
    int_env,
    run_service,
    service_main,
    tls_from_args,
)
from cogment_services.model_registry._directory import DirectoryRegistration
from cogment_services.model_registry._service import (
    DEFAULT_ARCHIVE_DIR,
    DEFAULT_CACHE_MAX_ITEMS,
    DEFAULT_PORT,
    ModelRegistryServer,
)
from cogment_services.model_registry._servicer import DEFAULT_CHUNK_SIZE

__all__ = ["build_parser", "main"]

_log = logging.getLogger("cogment.services.model_registry")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``cogment services model_registry``."""
    parser = argparse.ArgumentParser(
        prog="cogment services model_registry",
        description="Cogment Model Registry: stores and publishes model iterations.",
    )
    parser.add_argument(
        "--port",
        type=int,
        default=int_env(DEFAULT_PORT, "COGMENT_MODEL_REGISTRY_PORT"),
        help="gRPC port (env COGMENT_MODEL_REGISTRY_PORT, default %(default)s, 0 = any free port)",
    )
    parser.add_argument(
        "--archive_dir",
        default=env_default("COGMENT_MODEL_REGISTRY_ARCHIVE_DIR", default=DEFAULT_ARCHIVE_DIR),
        help="directory of the stored iterations (env COGMENT_MODEL_REGISTRY_ARCHIVE_DIR,"
        " default %(default)s)",
    )
    parser.add_argument(
        "--cache_max_items",
        type=int,
        default=int_env(DEFAULT_CACHE_MAX_ITEMS, "COGMENT_MODEL_REGISTRY_VERSION_CACHE_MAX_ITEMS"),
        help="published (transient) iterations kept in memory (default %(default)s)",
    )
    parser.add_argument(
        "--sent_version_chunk_size",
        type=int,
        default=int_env(
            DEFAULT_CHUNK_SIZE, "COGMENT_MODEL_REGISTRY_SENT_MODEL_VERSION_DATA_CHUNK_SIZE"
        ),
        help="size in bytes of the data chunks sent to clients (default %(default)s)",
    )
    add_directory_arguments(parser, "COGMENT_MODEL_REGISTRY_")
    add_common_arguments(parser, prometheus_env=("COGMENT_MODEL_REGISTRY_PROMETHEUS_PORT",))
    return parser


def _check(args: argparse.Namespace) -> None:
    if args.cache_max_items < 0:
        raise ServiceStartupError(f"--cache_max_items must be >= 0, not {args.cache_max_items}")
    if args.sent_version_chunk_size <= 0:
        raise ServiceStartupError(
            f"--sent_version_chunk_size must be positive, not {args.sent_version_chunk_size}"
        )
    if not 0 <= args.port <= 65535:
        raise ServiceStartupError(f"--port must be in 0..65535, not {args.port}")


async def _serve(args: argparse.Namespace) -> int:
    tls = tls_from_args(args)
    server = ModelRegistryServer(
        port=args.port,
        archive_dir=args.archive_dir,
        cache_max_items=args.cache_max_items,
        sent_version_chunk_size=args.sent_version_chunk_size,
        host="0.0.0.0",
        tls=tls,
    )
    registration = DirectoryRegistration(
        args.directory_endpoint,
        args.directory_authentication_token,
        args.directory_registration_host,
        args.directory_registration_properties,
        ssl=tls.enabled,
        tls=tls,
    )
    exporter = PrometheusExporter(server.metrics.registry, args.prometheus_port)

    def started() -> None:
        _log.info(
            "Model Registry serving on port %d (archive [%s], cache %d items)",
            server.port,
            args.archive_dir,
            args.cache_max_items,
        )

    await run_service(
        server,
        StatusFile(args.status_file),
        exporter=exporter,
        registration=registration,
        on_started=started,
        startup_errors=(OSError, ValueError),
        name="Model Registry",
    )
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the Model Registry until SIGTERM/SIGINT; returns the process exit code."""
    return service_main(build_parser(), argv, _serve, _check)


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
