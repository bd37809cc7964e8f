"""``cogment client directory register|deregister|inquire|wait_for_ready``.

Common flags (before or after the subcommand): ``--directory_endpoint`` (env
``COGMENT_DIRECTORY_ENDPOINT``, default ``grpc://localhost:9005``),
``--directory_authentication_token`` (env ``COGMENT_DIRECTORY_AUTHENTICATION_TOKEN``) and
``--timeout`` (``30s`` by default; ``500ms``, ``2m``, ``1m30s`` or a number of seconds).

Output: ``register`` prints ``Service ID [<id>] \\tSecret [<secret>]``; ``inquire`` prints one JSON
object per service found (most recent first); errors go to stderr with exit status 1 (2 for bad
usage).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import sys
from collections.abc import Sequence

import grpc
import grpc.aio

from cogment._directory import Directory, ServiceInfo, detect_registration_host
from cogment._endpoint_url import DiscoveryQuery, ServiceType
from cogment._errors import CogmentError
from cogment._version import __version__
from cogment.api import directory_pb2
from cogment_services._server import env_default, parse_bool

__all__ = ["main", "parse_duration", "parse_properties"]

DEFAULT_DIRECTORY_ENDPOINT = "grpc://localhost:9005"
REGISTRATION_SOURCE = "Cogment-Command_Line"

#: ``--type`` names and their service types.
SERVICE_TYPES: dict[str, ServiceType] = {
    "actor": ServiceType.ACTOR,
    "environment": ServiceType.ENVIRONMENT,
    "prehook": ServiceType.HOOK,
    "datalog": ServiceType.DATALOG,
    "lifecycle": ServiceType.LIFE_CYCLE,
    "actservice": ServiceType.CLIENT_ACTOR,
    "datastore": ServiceType.DATASTORE,
    "modelregistry": ServiceType.MODEL_REG,
    "directory": ServiceType.DIRECTORY,
    "other": ServiceType.OTHER,
}
_TYPE_NAMES = {service_type: name for name, service_type in SERVICE_TYPES.items()}
_DURATION_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ms|s|m|h)")
_DURATION_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_duration(text: str) -> float:
    """Seconds in a duration: ``30s``, ``500ms``, ``1m30s``, ``2h`` or a plain number of seconds."""
    value = text.strip()
    try:
        seconds = float(value)
    except ValueError:
        position, seconds = 0, 0.0
        for match in _DURATION_PART.finditer(value):
            if match.start() != position:
                break
            seconds += float(match.group(1)) * _DURATION_UNITS[match.group(2)]
            position = match.end()
        if position != len(value) or not value:
            raise argparse.ArgumentTypeError(
                f"invalid duration [{text}] (expected e.g. 30s, 500ms, 1m30s or seconds)"
            ) from None
    if seconds <= 0:
        raise argparse.ArgumentTypeError(f"the duration must be positive, got [{text}]")
    return seconds


def parse_properties(text: str) -> dict[str, str]:
    """``a=1,b`` -> ``{"a": "1", "b": ""}`` (names must not be empty nor repeated)."""
    properties: dict[str, str] = {}
    if not text.strip():
        return properties
    for item in text.split(","):
        name, _, value = item.partition("=")
        name = name.strip()
        if not name:
            raise argparse.ArgumentTypeError(f"invalid property [{item}] in [{text}]: empty name")
        if name in properties:
            raise argparse.ArgumentTypeError(f"property [{name}] given twice in [{text}]")
        properties[name] = value.strip()
    return properties


def _service_type(text: str) -> ServiceType:
    try:
        return SERVICE_TYPES[text.strip().lower()]
    except KeyError:
        raise argparse.ArgumentTypeError(
            f"unknown service type [{text}] (expected one of: {', '.join(SERVICE_TYPES)})"
        ) from None


def _uint64(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if not 0 < value < 2**64:
        raise argparse.ArgumentTypeError(f"invalid service id [{text}] (a nonzero uint64)")
    return value


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"invalid port [{text}] (0-65535)")
    return value


def _add_common(parser: argparse.ArgumentParser, top_level: bool) -> None:
    def default(value: object) -> object:
        return value if top_level else argparse.SUPPRESS

    parser.add_argument(
        "--directory_endpoint",
        default=default(
            env_default("COGMENT_DIRECTORY_ENDPOINT", default=DEFAULT_DIRECTORY_ENDPOINT)
        ),
        help=f"grpc:// URL of the Directory (env COGMENT_DIRECTORY_ENDPOINT, default {DEFAULT_DIRECTORY_ENDPOINT})",
    )
    parser.add_argument(
        "--directory_authentication_token",
        default=default(env_default("COGMENT_DIRECTORY_AUTHENTICATION_TOKEN", default="")),
        help="authentication token (env COGMENT_DIRECTORY_AUTHENTICATION_TOKEN)",
    )
    parser.add_argument(
        "--timeout",
        type=parse_duration,
        default=default(30.0),
        help="how long to wait for the Directory (default 30s)",
    )


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``cogment client directory``."""
    parser = argparse.ArgumentParser(
        prog="cogment client directory", description="Talk to a Cogment Directory."
    )
    _add_common(parser, top_level=True)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    register = commands.add_parser("register", help="register a service")
    _add_common(register, top_level=False)
    register.add_argument("--protocol", choices=("grpc", "cogment"), default="grpc")
    register.add_argument(
        "--host", default="", help="host of the service (default: this machine's IP address)"
    )
    register.add_argument("--port", type=_port, default=0, help="port of the service (grpc)")
    register.add_argument("--ssl_required", nargs="?", const=True, default=False, type=parse_bool)
    register.add_argument(
        "--type",
        type=_service_type,
        required=True,
        help=f"one of: {', '.join(SERVICE_TYPES)}",
    )
    register.add_argument("--permanent", nargs="?", const=True, default=False, type=parse_bool)
    register.add_argument(
        "--properties", type=parse_properties, default={}, help='e.g. --properties="a=1,b"'
    )

    deregister = commands.add_parser("deregister", help="deregister a service")
    _add_common(deregister, top_level=False)
    deregister.add_argument("--service_id", type=_uint64, required=True)
    deregister.add_argument("--secret", required=True)

    inquire = commands.add_parser("inquire", help="find services (JSON lines)")
    _add_common(inquire, top_level=False)
    inquire.add_argument("--service_id", type=_uint64, default=None)
    inquire.add_argument("--type", type=_service_type, default=None)
    inquire.add_argument("--properties", type=parse_properties, default={})

    ready = commands.add_parser("wait_for_ready", help="wait until the Directory answers")
    _add_common(ready, top_level=False)
    return parser


def _info_json(info: ServiceInfo) -> str:
    service_type = (
        _TYPE_NAMES.get(ServiceType(info.service_type), str(info.service_type))
        if info.service_type in ServiceType._value2member_map_
        else str(info.service_type)
    )
    return json.dumps(
        {
            "service_id": info.service_id,
            "endpoint": info.url,
            "ssl": info.use_ssl,
            "type": service_type,
            "properties": dict(info.properties),
            "permanent": info.permanent,
        },
        sort_keys=False,
    )


async def _register(directory: Directory, args: argparse.Namespace) -> int:
    properties = dict(args.properties)
    properties["__registration_source"] = REGISTRATION_SOURCE
    properties["__version"] = __version__
    if args.protocol == "cogment":
        protocol = directory_pb2.ServiceEndpoint.COGMENT
        host, port = args.host or "client", 0
    else:
        if args.port == 0:
            print("error: register --protocol=grpc needs --port", file=sys.stderr)
            return 2
        protocol = (
            directory_pb2.ServiceEndpoint.GRPC_SSL
            if args.ssl_required
            else directory_pb2.ServiceEndpoint.GRPC
        )
        host, port = args.host or detect_registration_host(), args.port
    request = directory_pb2.RegisterRequest(
        endpoint=directory_pb2.ServiceEndpoint(protocol=protocol, host=host, port=port),
        details=directory_pb2.ServiceDetails(
            type=int(args.type),  # type: ignore[arg-type]
            properties=properties,
        ),
        permanent=args.permanent,
    )
    service_id, secret = await directory.register(request)
    print(f"Service ID [{service_id}] \tSecret [{secret}]")
    return 0


async def _inquire(directory: Directory, args: argparse.Namespace) -> int:
    if (args.service_id is None) == (args.type is None):
        print("error: inquire needs either --service_id or --type", file=sys.stderr)
        return 2
    if args.service_id is not None:
        query = DiscoveryQuery(service_type=None, service_id=args.service_id)
    else:
        query = DiscoveryQuery(service_type=args.type, properties=args.properties)
    found = await directory.inquire(query)
    for info in found:
        print(_info_json(info))
    if not found:
        print("No service found", file=sys.stderr)
    return 0


async def _wait_for_ready(directory: Directory, timeout: float) -> int:
    try:
        await directory.status(timeout=timeout, wait_for_ready=True)
    except CogmentError as error:
        print(f"error: Directory not ready after {timeout:g}s: {error}", file=sys.stderr)
        return 1
    print(f"Directory [{directory.url}] is ready")
    return 0


async def _run(args: argparse.Namespace) -> int:
    directory = Directory.connect(
        args.directory_endpoint,
        args.directory_authentication_token or None,
        timeout=args.timeout,
    )
    async with directory:
        if args.command == "register":
            return await _register(directory, args)
        if args.command == "deregister":
            await directory.deregister_service(args.service_id, args.secret)
            print(f"Service ID [{args.service_id}] deregistered")
            return 0
        if args.command == "inquire":
            return await _inquire(directory, args)
        return await _wait_for_ready(directory, args.timeout)


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``cogment client directory`` with ``argv`` (the arguments after ``client directory``)."""
    args = build_parser().parse_args(list(argv) if argv is not None else None)
    try:
        return asyncio.run(_run(args))
    except CogmentError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except grpc.aio.AioRpcError as error:  # pragma: no cover - the client maps these
        print(f"error: {error.code().name} {error.details()}", file=sys.stderr)
        return 1
