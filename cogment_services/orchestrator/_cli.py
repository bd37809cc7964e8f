"""``cogment services orchestrator``: run the Orchestrator until SIGTERM/SIGINT.

Flags and their environment variables (the flag wins) follow the reference orchestrator:
``--lifecycle_port`` (COGMENT_LIFECYCLE_PORT, TRIAL_LIFECYCLE_PORT; 9000), ``--actor_port``
(COGMENT_ACTOR_PORT, TRIAL_ACTOR_PORT; 9000; equal ports = one server), ``--params``
(COGMENT_DEFAULT_PARAMS_FILE), ``--pre_trial_hooks`` (COGMENT_PRE_TRIAL_HOOKS, space separated;
the flag takes comma separated lists and may be repeated), ``--directory_endpoint``,
``--directory_authentication_token``, ``--directory_auto_register``,
``--directory_registration_host``, ``--directory_registration_properties`` (``a=1,b=2``),
``--prometheus_port`` (COGMENT_ORCHESTRATOR_PROMETHEUS_PORT, PROMETHEUS_PORT; 0 = off),
``--gc_frequency`` (COGMENT_GC_FREQUENCY; 10), ``--status_file``, ``--log_level``,
``--log_file``, TLS ``--private_key`` / ``--root_cert`` / ``--trust_chain``.

``--actor_web_port`` (grpc-web proxy) is accepted but not supported: a non-zero value is an error.
Exit codes: 0 after a clean stop, 2 for a startup error (bad flag, bad params file, port in use).
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Sequence

from cogment_services._server import (
    ServiceStartupError,
    StatusFile,
    add_common_arguments,
    add_directory_arguments,
    env_default,
    int_env,
    parse_bool,
    run_cli,
    run_until_signal,
    setup_cli_logging,
    tls_from_args,
)

from ._orchestrator import Orchestrator, OrchestratorConfig
from ._params import ParamsError

__all__ = ["build_parser", "main"]

_log = logging.getLogger("cogment.services.orchestrator")


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number [{text}]") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"port out of range [{text}]")
    return value


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``cogment services orchestrator``."""
    parser = argparse.ArgumentParser(
        prog="cogment services orchestrator",
        description="Run the Cogment Orchestrator (trial lifecycle and client actor services).",
    )
    parser.add_argument(
        "--lifecycle_port",
        type=_port,
        default=int_env(9000, "COGMENT_LIFECYCLE_PORT", "TRIAL_LIFECYCLE_PORT"),
        help="port of the trial lifecycle service (0 = a free port)",
    )
    parser.add_argument(
        "--actor_port",
        type=_port,
        default=int_env(9000, "COGMENT_ACTOR_PORT", "TRIAL_ACTOR_PORT"),
        help="port of the client actor service (same as --lifecycle_port = one server)",
    )
    parser.add_argument(
        "--actor_web_port",
        type=_port,
        default=int_env(0, "COGMENT_WEB_PROXY_PORT"),
        help="grpc-web proxy port: not supported, must be 0",
    )
    parser.add_argument(
        "--params",
        default=env_default("COGMENT_DEFAULT_PARAMS_FILE"),
        help="YAML file with the default trial parameters (trial_params key)",
    )
    parser.add_argument(
        "--pre_trial_hooks",
        action="append",
        default=None,
        help="pre-trial hook endpoints, comma separated, may be repeated (env space separated)",
    )
    parser.add_argument(
        "--directory_auto_register",
        nargs="?",
        const=True,
        type=parse_bool,
        default=parse_bool(
            env_default("COGMENT_ORCHESTRATOR_DIRECTORY_AUTO_REGISTER", default="true") or "true"
        ),
    )
    add_directory_arguments(parser, "COGMENT_ORCHESTRATOR_")
    parser.add_argument(
        "--gc_frequency",
        type=int,
        default=int_env(10, "COGMENT_GC_FREQUENCY"),
        help="garbage collection every N StartTrial calls",
    )
    add_common_arguments(parser, prometheus_env=("COGMENT_ORCHESTRATOR_PROMETHEUS_PORT",))
    return parser


def _hooks(values: list[str] | None) -> list[str]:
    if values is None:
        text = env_default("COGMENT_PRE_TRIAL_HOOKS", default="") or ""
        return text.split()
    hooks: list[str] = []
    for value in values:
        hooks.extend(part.strip() for part in value.split(",") if part.strip())
    return hooks


def _properties(text: str | None) -> dict[str, str]:
    properties: dict[str, str] = {}
    for entry in (text or "").split(","):
        entry = entry.strip()
        if not entry:
            continue
        name, _, value = entry.partition("=")
        properties[name.strip()] = value.strip()
    return properties


def config_from_args(args: argparse.Namespace) -> OrchestratorConfig:
    """The :class:`OrchestratorConfig` for parsed CLI arguments."""
    if args.actor_web_port:
        raise ServiceStartupError("--actor_web_port: the grpc-web proxy is not supported")
    return OrchestratorConfig(
        lifecycle_port=args.lifecycle_port,
        actor_port=args.actor_port,
        host="0.0.0.0",
        params=args.params or None,
        pre_trial_hooks=_hooks(args.pre_trial_hooks),
        directory_endpoint=args.directory_endpoint or None,
        directory_authentication_token=args.directory_authentication_token or None,
        directory_auto_register=args.directory_auto_register,
        directory_registration_host=args.directory_registration_host or None,
        directory_registration_properties=_properties(args.directory_registration_properties),
        prometheus_port=args.prometheus_port,
        gc_frequency=args.gc_frequency,
        tls=tls_from_args(args),
        registration_source="Self-Command_Line",
    )


async def _serve(args: argparse.Namespace) -> int:
    status = StatusFile(args.status_file)
    try:
        config = config_from_args(args)
        orchestrator = Orchestrator(config)
    except ParamsError as error:
        raise ServiceStartupError(f"--params: {error}") from error
    await run_until_signal(orchestrator.start, orchestrator.stop, status)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``cogment services orchestrator`` with ``argv`` (the arguments after it)."""
    parser = build_parser()
    try:
        args = parser.parse_args(list(argv) if argv is not None else None)
    except ServiceStartupError as error:  # pragma: no cover - env var errors
        parser.error(str(error))
    try:
        setup_cli_logging(args.log_level, args.log_file)
    except ServiceStartupError as error:
        parser.error(str(error))
    return run_cli(lambda: _serve(args))
