"""Trial parameters: the default-params file, normalisation and validation.

- :func:`load_params_file` reads the YAML ``trial_params:`` block into a ``cogmentAPI.TrialParams``
  (unknown keys and empty values are errors, ``max_inactivity`` defaults to 30 s when absent).
- :func:`normalize_and_validate` checks a final ``TrialParams`` (after the pre-trial hooks) and
  returns a :class:`ValidatedParams` with every endpoint parsed, or raises :class:`ParamsError`
  naming the offending field (reported as gRPC ``INVALID_ARGUMENT``).

The orchestrator has no spec file: it cannot check that an ``actor_class`` exists, only that it is
given. The actor implementation that receives the class checks it.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from google.protobuf import json_format

from cogment._endpoint_url import (
    DiscoveryContext,
    EndpointUrl,
    EndpointUrlError,
    ServiceType,
    parse_endpoint_url,
)
from cogment.api import common_pb2

__all__ = [
    "DEFAULT_ENV_NAME",
    "DEFAULT_MAX_INACTIVITY",
    "MIN_BUFFERED_TICKS",
    "ActorSpec",
    "ParamsError",
    "ValidatedParams",
    "load_params_file",
    "normalize_and_validate",
    "params_from_mapping",
]

_log = logging.getLogger("cogment.services.orchestrator")

DEFAULT_ENV_NAME = "env"
DEFAULT_MAX_INACTIVITY = 30
MIN_BUFFERED_TICKS = 2
_FORBIDDEN_IMPL_CHARS = set("%?&=;:/+,#@[]")
DATALOG_FIELDS = frozenset(
    {
        "info",
        "observations",
        "actions",
        "rewards",
        "messages",
        "default_actors",
        "unavailable_actors",
    }
)


class ParamsError(ValueError):
    """Invalid trial parameters; the message names the field (``actors[1].name: ...``)."""


def _check_no_empty(node: Any, where: str) -> None:
    if node is None:
        raise ParamsError(f"{where}: empty value")
    if isinstance(node, Mapping):
        for key, value in node.items():
            _check_no_empty(value, f"{where}.{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            _check_no_empty(value, f"{where}[{index}]")


def _stringify_scalars(node: Any) -> Any:
    """YAML scalars → what protobuf's JSON parser accepts (bools stay bools, numbers as text)."""
    if isinstance(node, Mapping):
        return {str(key): _stringify_scalars(value) for key, value in node.items()}
    if isinstance(node, list):
        return [_stringify_scalars(value) for value in node]
    if isinstance(node, bool):
        return node
    if isinstance(node, (int, float)):
        return node
    return str(node)


_BOOL_FIELDS = ("optional",)


def _fix_bools(node: Any) -> Any:
    # protobuf's JSON parser only takes true/false: accept the usual YAML/CLI spellings too.
    if isinstance(node, dict):
        for key, value in node.items():
            if key in _BOOL_FIELDS and isinstance(value, str):
                lowered = value.strip().lower()
                if lowered in ("true", "yes", "on", "1", "y"):
                    node[key] = True
                elif lowered in ("false", "no", "off", "0", "n"):
                    node[key] = False
            else:
                _fix_bools(value)
    elif isinstance(node, list):
        for value in node:
            _fix_bools(value)
    return node


def params_from_mapping(
    mapping: Mapping[str, Any], where: str = "trial_params"
) -> common_pb2.TrialParams:
    """Build ``TrialParams`` from the (YAML-like) ``trial_params`` mapping.

    Keys are proto field names (snake_case or lowerCamel). ``max_inactivity`` defaults to 30 s
    when absent, as for the reference's params file. Raises :class:`ParamsError`.
    """
    if not isinstance(mapping, Mapping):
        raise ParamsError(f"{where}: expected a mapping, got {type(mapping).__name__}")
    _check_no_empty(mapping, where)
    data = _fix_bools(_stringify_scalars(mapping))
    params = common_pb2.TrialParams()
    try:
        json_format.ParseDict(data, params)
    except json_format.ParseError as error:
        raise ParamsError(f"{where}: {error}") from error
    if "max_inactivity" not in mapping and "maxInactivity" not in mapping:
        params.max_inactivity = DEFAULT_MAX_INACTIVITY
    return params


def load_params_file(path: str | Path) -> common_pb2.TrialParams:
    """Read the default trial parameters from the YAML file at ``path`` (``trial_params:`` key).

    A file without ``trial_params`` gives empty params (with ``max_inactivity`` 30).
    Raises :class:`ParamsError` naming the file and the field on any problem.
    """
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as error:
        raise ParamsError(f"params file [{path}]: cannot read: {error}") from error
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise ParamsError(f"params file [{path}]: invalid YAML: {error}") from error
    if document is None:
        document = {}
    if not isinstance(document, Mapping):
        raise ParamsError(f"params file [{path}]: expected a mapping at the top level")
    block = document.get("trial_params", {})
    if block is None:
        raise ParamsError(f"params file [{path}]: trial_params: empty value")
    try:
        return params_from_mapping(block)
    except ParamsError as error:
        raise ParamsError(f"params file [{path}]: {error}") from error


@dataclass(frozen=True)
class ActorSpec:
    """One actor of a validated trial (index = position in ``TrialParams.actors``)."""

    index: int
    params: common_pb2.ActorParams
    endpoint: EndpointUrl | None  # None for a client actor
    is_client: bool


@dataclass(frozen=True)
class ValidatedParams:
    """Final, checked trial parameters with parsed endpoints."""

    params: common_pb2.TrialParams
    env_name: str
    env_endpoint: EndpointUrl
    actors: tuple[ActorSpec, ...]
    datalog_endpoint: EndpointUrl | None
    nb_buffered_ticks: int


def _parse(url: str, where: str, context: DiscoveryContext | None) -> EndpointUrl:
    text = url.strip() or "cogment://discover"
    try:
        parsed = parse_endpoint_url(text)
        if parsed.is_context_discovery and context is not None:
            parsed = parsed.with_context(context)
    except EndpointUrlError as error:
        raise ParamsError(f"{where}: {error}") from error
    return parsed


def _check_impl(value: str, where: str) -> None:
    bad = sorted(set(value) & _FORBIDDEN_IMPL_CHARS)
    if bad:
        raise ParamsError(f"{where}: implementation [{value}] contains forbidden characters {bad}")


def normalize_and_validate(params: common_pb2.TrialParams) -> ValidatedParams:
    """Normalise ``params`` in place (env name, ``nb_buffered_ticks``) and validate them.

    Checks, in order: datalog endpoint, environment endpoint and implementation, then the actors
    (non-empty list; each needs a name and a class; names unique and different from the env's;
    endpoints valid). Raises :class:`ParamsError` naming the first offending field.
    """
    if not params.environment.name:
        params.environment.name = DEFAULT_ENV_NAME
    env_name = params.environment.name
    if params.nb_buffered_ticks < MIN_BUFFERED_TICKS:
        if params.nb_buffered_ticks != 0:
            _log.warning(
                "nb_buffered_ticks [%d] is below the minimum, using %d",
                params.nb_buffered_ticks,
                MIN_BUFFERED_TICKS,
            )
        nb_buffered = MIN_BUFFERED_TICKS
    else:
        nb_buffered = int(params.nb_buffered_ticks)

    datalog_endpoint: EndpointUrl | None = None
    if params.HasField("datalog") and params.datalog.endpoint.strip():
        datalog_endpoint = _parse(
            params.datalog.endpoint,
            "datalog.endpoint",
            DiscoveryContext.of_type(ServiceType.DATALOG),
        )
        if datalog_endpoint.is_client_actor:
            raise ParamsError("datalog.endpoint: cogment://client is only valid for actors")
        for name in params.datalog.exclude_fields:
            if name not in DATALOG_FIELDS:
                _log.warning("datalog.exclude_fields: unknown field [%s] ignored", name)

    env = params.environment
    _check_impl(env.implementation, "environment.implementation")
    env_endpoint = _parse(
        env.endpoint, "environment.endpoint", DiscoveryContext.environment(env.implementation)
    )
    if env_endpoint.is_client_actor or env.endpoint.strip() == "client":
        raise ParamsError("environment.endpoint: cogment://client is only valid for actors")

    if len(params.actors) == 0:
        raise ParamsError("actors: the trial needs at least one actor")
    names: set[str] = set()
    specs: list[ActorSpec] = []
    for index, actor in enumerate(params.actors):
        where = f"actors[{index}]"
        if not actor.name:
            raise ParamsError(f"{where}.name: missing")
        if not actor.actor_class:
            raise ParamsError(f"{where}.actor_class: missing (actor [{actor.name}])")
        if actor.name == env_name:
            raise ParamsError(
                f"{where}.name: [{actor.name}] is the environment's name; choose another"
            )
        if actor.name in names:
            raise ParamsError(f"{where}.name: duplicate actor name [{actor.name}]")
        names.add(actor.name)
        _check_impl(actor.implementation, f"{where}.implementation")
        if actor.initial_connection_timeout < 0:
            raise ParamsError(f"{where}.initial_connection_timeout: negative")
        if actor.response_timeout < 0:
            raise ParamsError(f"{where}.response_timeout: negative")
        raw = actor.endpoint.strip()
        if raw == "client":
            _log.warning("%s.endpoint: legacy [client], use [cogment://client]", where)
            specs.append(ActorSpec(index, actor, None, True))
            continue
        endpoint = _parse(
            actor.endpoint,
            f"{where}.endpoint",
            DiscoveryContext.actor(actor.actor_class, actor.implementation),
        )
        if endpoint.is_client_actor:
            specs.append(ActorSpec(index, actor, None, True))
        else:
            specs.append(ActorSpec(index, actor, endpoint, False))
    return ValidatedParams(
        params=params,
        env_name=env_name,
        env_endpoint=env_endpoint,
        actors=tuple(specs),
        datalog_endpoint=datalog_endpoint,
        nb_buffered_ticks=nb_buffered,
    )
