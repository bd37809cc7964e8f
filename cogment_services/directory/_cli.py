"""``cogment services directory``: run the Directory until SIGTERM/SIGINT.

Every flag can also be given by its environment variable (``COGMENT_DIRECTORY_<FLAG>``); the
flag wins. Boolean flags accept a bare ``--flag`` or ``--flag=true|false``.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence

from prometheus_client import CollectorRegistry

from cogment_services._server import (
    PrometheusExporter,
    StatusFile,
    add_common_arguments,
    env_default,
    parse_bool,
    run_cli,
    run_service,
    setup_cli_logging,
    tls_from_args,
)
from cogment_services.directory._service import (
    DEFAULT_PERSISTENCE_FILE,
    DEFAULT_PORT,
    Directory,
)

__all__ = ["build_parser", "main"]

_ENV = "COGMENT_DIRECTORY_"


def _bool_flag(parser: argparse.ArgumentParser, name: str, help_text: str) -> None:
    env = f"{_ENV}{name.upper()}"
    parser.add_argument(
        f"--{name}",
        nargs="?",
        const=True,
        default=parse_bool(env_default(env, default="false") or "false"),
        type=parse_bool,
        help=f"{help_text} (env {env})",
    )


def _number(kind: type[int] | type[float], flag: str, minimum: float) -> object:
    def convert(text: str) -> int | float:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{flag}: not a number [{text}]") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"{flag}: must be >= {minimum}, got [{text}]")
        return value

    return convert


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``cogment services directory``."""
    parser = argparse.ArgumentParser(
        prog="cogment services directory",
        description="Run the Cogment Directory (cogmentAPI.DirectorySP).",
    )
    parser.add_argument(
        "--port",
        type=_number(int, "--port", 0),  # type: ignore[arg-type]
        default=int(env_default(f"{_ENV}PORT", default=str(DEFAULT_PORT)) or DEFAULT_PORT),
        help=f"gRPC port (0 = a free port; env {_ENV}PORT, default {DEFAULT_PORT})",
    )
    parser.add_argument(
        "--registration_lag",
        type=_number(float, "--registration_lag", 0),  # type: ignore[arg-type]
        default=float(env_default(f"{_ENV}REGISTRATION_LAG", default="0") or 0),
        help="seconds an inquiry keeps looking before answering 'nothing found' "
        f"(env {_ENV}REGISTRATION_LAG, default 0)",
    )
    parser.add_argument(
        "--persistence_file",
        default=os.environ.get(f"{_ENV}PERSISTENCE_FILE", DEFAULT_PERSISTENCE_FILE),
        help="JSON file keeping the entries across restarts, '' = no persistence "
        f"(env {_ENV}PERSISTENCE_FILE, default {DEFAULT_PERSISTENCE_FILE})",
    )
    _bool_flag(parser, "load_balancing", "rank services by their reported overall_load")
    _bool_flag(parser, "check_on_inquire", "health-check the candidates of each inquiry")
    _bool_flag(parser, "force_permanent", "register every service as permanent")
    _bool_flag(parser, "grpc_reflection", "serve gRPC reflection (needs grpcio-reflection)")
    parser.add_argument(
        "--health_check_interval",
        type=_number(float, "--health_check_interval", 0.01),  # type: ignore[arg-type]
        default=float(env_default(f"{_ENV}HEALTH_CHECK_INTERVAL", default="60") or 60),
        help=f"seconds between health checks (env {_ENV}HEALTH_CHECK_INTERVAL, default 60)",
    )
    add_common_arguments(parser, prometheus_env=(f"{_ENV}PROMETHEUS_PORT",))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the Directory with ``argv`` (the arguments after ``services directory``)."""
    args = build_parser().parse_args(list(argv) if argv is not None else None)

    async def serve() -> int:
        setup_cli_logging(args.log_level, args.log_file)
        directory = Directory(
            args.port,
            host="0.0.0.0",
            registration_lag=args.registration_lag,
            persistence_file=args.persistence_file or None,
            load_balancing=args.load_balancing,
            check_on_inquire=args.check_on_inquire,
            force_permanent=args.force_permanent,
            grpc_reflection=args.grpc_reflection,
            tls=tls_from_args(args),
            health_check_interval=args.health_check_interval,
        )
        await run_service(
            directory,
            StatusFile(args.status_file),
            exporter=PrometheusExporter(CollectorRegistry(), args.prometheus_port),
            on_started=lambda: print(f"Directory listening on port {directory.port}", flush=True),
        )
        return 0

    return run_cli(serve)
