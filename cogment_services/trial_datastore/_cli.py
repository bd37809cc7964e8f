"""``cogment services trial_datastore``: the Trial Datastore command line.

Flags (environment variable in parentheses):

- ``--port`` (``COGMENT_TRIAL_DATASTORE_PORT``, default 9003; 0 = any free port)
- ``--memory_storage_max_samples_size`` (``COGMENT_TRIAL_DATASTORE_MEMORY_STORAGE_MAX_SAMPLE_SIZE``,
  default 1 GiB): bound of the in-memory storage, least recently used trials are evicted above it
- ``--file_storage[=path]`` (``COGMENT_TRIAL_DATASTORE_FILE_STORAGE_PATH``): durable SQLite storage
  instead of memory; the bare flag means ``.cogment/trial_datastore.db``
- ``--directory_endpoint``, ``--directory_authentication_token``,
  ``--directory_registration_host``, ``--directory_registration_properties``: register this
  service (types DATASTORE and DATALOG) to a Directory
- ``--grpc_reflection``: accepted for compatibility, not served
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
    parse_bool,
    run_service,
    service_main,
    tls_from_args,
)
from cogment_services.trial_datastore._metrics import metrics_registry
from cogment_services.trial_datastore._registration import DirectoryRegistration
from cogment_services.trial_datastore._service import (
    DEFAULT_FILE_STORAGE,
    DEFAULT_MEMORY_STORAGE_MAX_SAMPLES_SIZE,
    DEFAULT_PORT,
    TrialDatastore,
)

__all__ = ["build_parser", "main"]

_log = logging.getLogger("cogment.services.trial_datastore")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``cogment services trial_datastore``."""
    parser = argparse.ArgumentParser(
        prog="cogment services trial_datastore",
        description="Cogment Trial Datastore: records trials logged by the Orchestrator "
        "(DatalogSP) and serves them (TrialDatastoreSP) on one port.",
    )
    parser.add_argument(
        "--port",
        type=int,
        default=int_env(DEFAULT_PORT, "COGMENT_TRIAL_DATASTORE_PORT"),
        help="gRPC port (env COGMENT_TRIAL_DATASTORE_PORT, default %(default)s, 0 = any free port)",
    )
    parser.add_argument(
        "--memory_storage_max_samples_size",
        type=int,
        default=int_env(
            DEFAULT_MEMORY_STORAGE_MAX_SAMPLES_SIZE,
            "COGMENT_TRIAL_DATASTORE_MEMORY_STORAGE_MAX_SAMPLE_SIZE",
            "COGMENT_TRIAL_DATASTORE_MEMORY_STORAGE_MAX_SAMPLES_SIZE",
        ),
        help="bytes of samples the memory storage holds before evicting the least recently used "
        "trials (default %(default)s)",
    )
    parser.add_argument(
        "--file_storage",
        nargs="?",
        const=DEFAULT_FILE_STORAGE,
        default=env_default("COGMENT_TRIAL_DATASTORE_FILE_STORAGE_PATH"),
        metavar="PATH",
        help="store trials durably in this SQLite file instead of memory "
        f"(env COGMENT_TRIAL_DATASTORE_FILE_STORAGE_PATH; bare flag: {DEFAULT_FILE_STORAGE})",
    )
    parser.add_argument(
        "--grpc_reflection",
        nargs="?",
        const="true",
        default=env_default("COGMENT_TRIAL_DATASTORE_GRPC_REFLECTION", default="false"),
        type=parse_bool,
        help="accepted for compatibility; gRPC reflection is not served",
    )
    add_directory_arguments(parser, "COGMENT_TRIAL_DATASTORE_", prefixed_directory_env=True)
    add_common_arguments(parser, prometheus_env=("COGMENT_TRIAL_DATASTORE_PROMETHEUS_PORT",))
    return parser


async def _serve(args: argparse.Namespace) -> int:
    if args.memory_storage_max_samples_size <= 0:
        raise ServiceStartupError(
            "--memory_storage_max_samples_size must be positive, "
            f"not {args.memory_storage_max_samples_size}"
        )
    if args.grpc_reflection:
        _log.warning("--grpc_reflection: gRPC reflection is not served by this implementation")
    tls = tls_from_args(args)
    service = TrialDatastore(
        port=args.port,
        file_storage=args.file_storage or None,
        host="0.0.0.0",
        memory_storage_max_samples_size=args.memory_storage_max_samples_size,
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
    exporter = PrometheusExporter(metrics_registry(lambda: service.store), args.prometheus_port)
    await run_service(
        service, StatusFile(args.status_file), exporter=exporter, registration=registration
    )
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the Trial Datastore until SIGTERM/SIGINT; returns the process exit code."""
    return service_main(build_parser(), argv, _serve)


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
