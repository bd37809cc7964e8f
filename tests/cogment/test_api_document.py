"""Every class, method, attribute, constructor parameter, enum member and module-level name of the
API document (``python-sdk-api.txt``) exists in our ``cogment`` package, with the documented kind
(plain / ``async def`` / async generator / property) and the documented parameter names and defaults.

The table below was written by going through the document section by section; each row names the
section it comes from. Behavioural checks of the documented semantics live next to each module's
tests; this file adds the few that no other test covers (logging level, environment variables,
``environment_serialized``, deprecated forms).
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import importlib
import inspect
import logging
import os
import subprocess
import sys
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

# -- how a documented item is checked ------------------------------------------------------------

REQUIRED = object()
"""The parameter has no default in the document."""


@dataclass(frozen=True)
class Equivalent:
    """A documented default that is a fresh mutable instance (``[]``, ``{}``, ``Endpoint()``, the
    Prometheus registry): ours may use that value or an immutable stand-in (``()``, ``None``, a
    sentinel) with the same meaning; ``accepted`` lists the stand-ins."""

    documented: str
    accepted: tuple[Callable[[Any], bool], ...]


def _is_none(value: Any) -> bool:
    return value is None


def _is_empty(value: Any) -> bool:
    return value is not None and not isinstance(value, str) and len(value) == 0


def _is_registry_default(value: Any) -> bool:
    from cogment import _context

    return value is _context._DEFAULT_REGISTRY


EMPTY_LIST = Equivalent("[]", (_is_empty, _is_none))
EMPTY_DICT = Equivalent("{}", (_is_empty, _is_none))
DEFAULT_ENDPOINT = Equivalent("Endpoint()", (_is_none,))
DEFAULT_SERVED_ENDPOINT = Equivalent("ServedEndpoint()", (_is_none,))
DEFAULT_REGISTRY = Equivalent("prometheus_client.core.REGISTRY", (_is_registry_default,))

SYNC = "sync"
ASYNC = "async"
AWAITABLE = "awaitable"  # documented `async`; calling it returns something to await
ASYNC_GEN = "async generator"
GEN = "generator"  # documented "Generator method" (sync iteration)
ATTR = "attribute"
PROP = "property"
WRITABLE_PROP = "writable property"


@dataclass(frozen=True)
class Item:
    """One documented item: ``where`` is ``module:Qualified.name``; ``params`` the documented
    parameters after ``self`` (name -> default, REQUIRED, or an Equivalent); ``kwargs`` the
    attributes a documented ``**kwargs`` accepts."""

    where: str
    kind: str
    section: str
    params: dict[str, Any] | None = None
    kwargs: tuple[str, ...] = ()
    enum_members: tuple[str, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)


# -- the table -------------------------------------------------------------------------------------
# Sections of the document, in order. Classes the document names `cogment.X` are checked as
# top-level names; the others where the published package defines them (its submodules, which
# programs import: `cogment.control`, `cogment.session`, ...).

_TRIAL_PARAMETER_ATTRS = (
    "config",
    "config_serialized",
    "properties",
    "max_steps",
    "max_inactivity",
    "nb_buffered_ticks",
    "datalog_endpoint",
    "datalog_exclude_fields",
    "environment_config",
    "environment_serialized",
    "environment_name",
    "environment_endpoint",
    "environment_implementation",
    "actors",
)
_ACTOR_PARAMETER_ATTRS = (
    "config",
    "config_serialized",
    "name",
    "endpoint",
    "implementation",
    "initial_connection_timeout",
    "response_timeout",
    "optional",
    "default_action",
    "default_action_serialized",
)


def _table() -> list[Item]:
    items: list[Item] = []

    def cls(where: str, section: str, init: dict[str, Any] | None = None, **kw: Any) -> None:
        items.append(Item(where, "class", section, init, **kw))

    def add(where: str, kind: str, section: str, params: dict[str, Any] | None = None) -> None:
        items.append(Item(where, kind, section, params))

    # "Top-level import": the module and the generator entry point.
    add("cogment:__version__", ATTR, "Top-level import")
    add("cogment.generate:main", SYNC, "Compiling the spec file into cog_settings.py")

    # class cogment.Context
    s = "class cogment.Context"
    cls(
        "cogment:Context",
        s,
        {
            "user_id": REQUIRED,
            "cog_settings": REQUIRED,
            "asyncio_loop": None,
            "prometheus_registry": DEFAULT_REGISTRY,
            "directory_endpoint": None,
            "directory_auth_token": None,
        },
    )
    add("cogment:Context.served_port", PROP, s)
    add("cogment:Context.asyncio_loop", PROP, s)
    add("cogment:Context.has_specs", SYNC, s, {})
    add(
        "cogment:Context.serve_all_registered",
        ASYNC,
        s,
        {
            "served_endpoint": DEFAULT_SERVED_ENDPOINT,
            "prometheus_port": None,
            "directory_registration_host": None,
        },
    )
    add("cogment:Context.get_controller", AWAITABLE, s, {"endpoint": DEFAULT_ENDPOINT})
    add("cogment:Context.get_datastore", AWAITABLE, s, {"endpoint": DEFAULT_ENDPOINT})
    add("cogment:Context.get_model_registry_v2", ASYNC, s, {"endpoint": DEFAULT_ENDPOINT})
    add(
        "cogment:Context.join_trial",
        ASYNC,
        s,
        {
            "trial_id": REQUIRED,
            "endpoint": DEFAULT_ENDPOINT,
            "impl_name": None,
            "actor_name": None,
            "actor_class": None,
        },
    )
    # The document has `impl_name` required; the published code defaults it to "default".
    add(
        "cogment:Context.register_environment",
        SYNC,
        s,
        {"impl": REQUIRED, "impl_name": "default", "properties": EMPTY_DICT},
    )
    add(
        "cogment:Context.register_actor",
        SYNC,
        s,
        {
            "impl": REQUIRED,
            "impl_name": REQUIRED,
            "actor_classes": EMPTY_LIST,
            "properties": EMPTY_DICT,
        },
    )
    add(
        "cogment:Context.register_pre_trial_hook",
        SYNC,
        s,
        {"impl": REQUIRED, "properties": EMPTY_DICT},
    )
    add("cogment:Context.register_datalog", SYNC, s, {"impl": REQUIRED, "properties": EMPTY_DICT})

    # class Controller
    s = "class Controller"
    cls("cogment.control:Controller", s)
    add("cogment.control:Controller.has_specs", SYNC, s, {})
    add(
        "cogment.control:Controller.start_trial",
        ASYNC,
        s,
        {"trial_config": None, "trial_id_requested": None, "trial_params": None},
    )
    add(
        "cogment.control:Controller.terminate_trial",
        ASYNC,
        s,
        {"trial_ids": REQUIRED, "hard": False},
    )
    add("cogment.control:Controller.get_trial_info", ASYNC, s, {"trial_ids": REQUIRED})
    add(
        "cogment.control:Controller.watch_trials",
        ASYNC_GEN,
        s,
        {"trial_state_filters": EMPTY_LIST, "full_info": False},
    )
    add("cogment.control:Controller.get_actors", ASYNC, s, {"trial_id": REQUIRED})
    add("cogment.control:Controller.get_remote_versions", ASYNC, s, {})

    # class Datastore
    s = "class Datastore"
    cls("cogment.datastore:Datastore", s)
    add("cogment.datastore:Datastore.has_specs", SYNC, s, {})
    add(
        "cogment.datastore:Datastore.get_trials",
        ASYNC,
        s,
        {"ids": EMPTY_LIST, "properties": EMPTY_DICT},
    )
    add(
        "cogment.datastore:Datastore.all_trials",
        ASYNC_GEN,
        s,
        {"bundle_size": 1, "wait_for_trials": 0, "properties": EMPTY_DICT, "ids": EMPTY_LIST},
    )
    add("cogment.datastore:Datastore.delete_trials", ASYNC, s, {"ids": REQUIRED})
    add(
        "cogment.datastore:Datastore.all_samples",
        ASYNC_GEN,
        s,
        {
            "trial_infos": REQUIRED,
            "actor_names": EMPTY_LIST,
            "actor_classes": EMPTY_LIST,
            "actor_implementations": EMPTY_LIST,
            "fields": EMPTY_LIST,
        },
    )

    # class ModelRegistry (v2)
    s = "class ModelRegistry"
    mr = "cogment.model_registry_v2:ModelRegistry"
    cls(mr, s)
    add(f"{mr}.has_specs", SYNC, s, {})
    for method in ("store_model", "publish_model"):
        add(
            f"{mr}.{method}",
            ASYNC,
            s,
            {"name": REQUIRED, "model": REQUIRED, "iteration_properties": None},
        )
    add(f"{mr}.retrieve_model", ASYNC, s, {"name": REQUIRED, "iteration": -1})
    add(f"{mr}.remove_model", ASYNC, s, {"name": REQUIRED})
    add(f"{mr}.list_models", ASYNC, s, {})
    add(f"{mr}.list_iterations", ASYNC, s, {"model_name": REQUIRED})
    add(f"{mr}.get_iteration_info", ASYNC, s, {"name": REQUIRED, "iteration": REQUIRED})
    add(f"{mr}.update_model_info", ASYNC, s, {"name": REQUIRED, "properties": REQUIRED})
    add(f"{mr}.get_model_info", ASYNC, s, {"name": REQUIRED})
    add(f"{mr}.iteration_updates", ASYNC_GEN, s, {"model_name": REQUIRED})
    add(
        f"{mr}.track_latest_model",
        ASYNC,
        s,
        {"name": REQUIRED, "deserialize_func": None, "initial_wait": 0},
    )

    # class Session
    s = "class Session"
    cls("cogment.session:Session", s)
    add("cogment.session:Session.get_trial_id", SYNC, s, {})
    add("cogment.session:Session.get_tick_id", SYNC, s, {})
    add("cogment.session:Session.is_trial_over", SYNC, s, {})
    add("cogment.session:Session.sending_done", SYNC, s, {})
    add(
        "cogment.session:Session.add_reward",
        SYNC,
        s,
        {
            "value": REQUIRED,
            "confidence": REQUIRED,
            "to": REQUIRED,
            "tick_id": -1,
            "user_data": None,
        },
    )

    # class EnvironmentSession(Session)
    s = "class EnvironmentSession(Session)"
    env = "cogment.environment:EnvironmentSession"
    cls(env, s, extra={"base": "cogment.session:Session"})
    for attr in ("impl_name", "config", "name"):
        add(f"{env}.{attr}", ATTR, s)
    add(f"{env}.start", SYNC, s, {"observations": None, "auto_done_sending": True})
    add(f"{env}.all_events", ASYNC_GEN, s, {})
    add(f"{env}.produce_observations", SYNC, s, {"observations": REQUIRED})
    # Documented without a default; ours defaults to None (an end without final observations).
    add(f"{env}.end", SYNC, s, {"final_observations": None})
    add(f"{env}.get_active_actors", SYNC, s, {})
    add(f"{env}.send_message", SYNC, s, {"payload": REQUIRED, "to": REQUIRED})

    # class ActorSession(Session)
    s = "class ActorSession(Session)"
    act = "cogment.actor:ActorSession"
    cls(act, s, extra={"base": "cogment.session:Session"})
    for attr in ("actor_class", "impl_name", "config", "name", "env_name"):
        add(f"{act}.{attr}", ATTR, s)
    add(f"{act}.start", SYNC, s, {"auto_done_sending": True})
    add(f"{act}.all_events", ASYNC_GEN, s, {})
    add(f"{act}.do_action", SYNC, s, {"action": REQUIRED})
    add(f"{act}.send_message", SYNC, s, {"payload": REQUIRED, "to": REQUIRED})

    # class PrehookSession
    s = "class PrehookSession"
    cls("cogment.prehook:PrehookSession", s)
    add("cogment.prehook:PrehookSession.trial_parameters", ATTR, s)
    add("cogment.prehook:PrehookSession.get_trial_id", SYNC, s, {})
    add("cogment.prehook:PrehookSession.get_user_id", SYNC, s, {})

    # class DatalogSession
    s = "class DatalogSession"
    cls("cogment.datalog:DatalogSession", s)
    for attr in ("trial_id", "user_id", "trial_parameters"):
        add(f"cogment.datalog:DatalogSession.{attr}", ATTR, s)
    add("cogment.datalog:DatalogSession.start", SYNC, s, {})
    add("cogment.datalog:DatalogSession.all_samples", ASYNC_GEN, s, {})

    # class cogment.Endpoint
    s = "class cogment.Endpoint"
    cls("cogment:Endpoint", s, {"url": "cogment://discover"})
    for attr in ("url", "private_key", "root_certificates", "certificate_chain"):
        add(f"cogment:Endpoint.{attr}", ATTR, s)

    # class cogment.ServedEndpoint
    s = "class cogment.ServedEndpoint"
    cls("cogment:ServedEndpoint", s, {"port": 0})
    for attr in ("port", "private_key_certificate_chain_pairs", "root_certificates"):
        add(f"cogment:ServedEndpoint.{attr}", ATTR, s)

    # class cogment.TrialState(enum.Enum)
    cls(
        "cogment:TrialState",
        "class cogment.TrialState(enum.Enum)",
        enum_members=("UNKNOWN", "INITIALIZING", "PENDING", "RUNNING", "TERMINATING", "ENDED"),
    )

    # class TrialInfo
    s = "class TrialInfo"
    cls("cogment.control:TrialInfo", s)
    for attr in ("trial_id", "properties", "state", "env_name", "tick_id", "duration"):
        add(f"cogment.control:TrialInfo.{attr}", ATTR, s)

    # class ActorInfo
    s = "class ActorInfo"
    cls("cogment.session:ActorInfo", s)
    add("cogment.session:ActorInfo.actor_name", ATTR, s)
    add("cogment.session:ActorInfo.actor_class_name", ATTR, s)

    # class RecvEvent
    s = "class RecvEvent"
    cls("cogment.session:RecvEvent", s)
    for attr in ("type", "observation", "actions", "rewards", "messages"):
        add(f"cogment.session:RecvEvent.{attr}", ATTR, s)

    # class cogment.EventType(enum.Enum)
    cls(
        "cogment:EventType",
        "class cogment.EventType(enum.Enum)",
        enum_members=("NONE", "ACTIVE", "ENDING", "FINAL"),
    )

    # class RecvObservation
    s = "class RecvObservation"
    cls("cogment.session:RecvObservation", s)
    for attr in ("tick_id", "timestamp", "observation"):
        add(f"cogment.session:RecvObservation.{attr}", ATTR, s)

    # class cogment.ActorStatus(enum.Enum)
    cls(
        "cogment:ActorStatus",
        "class cogment.ActorStatus(enum.Enum)",
        enum_members=("UNKNOWN", "ACTIVE", "UNAVAILABLE", "DEFAULT"),
    )

    # class RecvAction
    s = "class RecvAction"
    cls("cogment.session:RecvAction", s)
    for attr in ("tick_id", "actor_index", "status", "timestamp", "action"):
        add(f"cogment.session:RecvAction.{attr}", ATTR, s)

    # class RecvMessage
    s = "class RecvMessage"
    cls("cogment.session:RecvMessage", s)
    for attr in ("tick_id", "receiver_name", "sender_name", "payload"):
        add(f"cogment.session:RecvMessage.{attr}", ATTR, s)

    # class RecvReward
    s = "class RecvReward"
    cls("cogment.session:RecvReward", s)
    for attr in ("tick_id", "receiver_name", "value"):
        add(f"cogment.session:RecvReward.{attr}", ATTR, s)
    add("cogment.session:RecvReward.get_nb_sources", SYNC, s, {})
    add("cogment.session:RecvReward.all_sources", GEN, s, {})

    # class RecvRewardSource
    s = "class RecvRewardSource"
    cls("cogment.session:RecvRewardSource", s)
    for attr in ("value", "confidence", "sender_name", "user_data"):
        add(f"cogment.session:RecvRewardSource.{attr}", ATTR, s)

    # class cogment.TrialParameters
    s = "class cogment.TrialParameters"
    cls(
        "cogment:TrialParameters",
        s,
        {"cog_settings": REQUIRED},
        kwargs=_TRIAL_PARAMETER_ATTRS,
    )
    for attr in _TRIAL_PARAMETER_ATTRS:
        add(f"cogment:TrialParameters.{attr}", WRITABLE_PROP, s)
    add("cogment:TrialParameters.has_specs", SYNC, s, {})
    add("cogment:TrialParameters.get_serialization_type", SYNC, s, {})
    add("cogment:TrialParameters.serialize", SYNC, s, {})
    add("cogment:TrialParameters.deserialize", SYNC, s, {"raw_string": REQUIRED, "type": None})

    # class cogment.ActorParameters
    s = "class cogment.ActorParameters"
    cls(
        "cogment:ActorParameters",
        s,
        {"cog_settings": REQUIRED, "class_name": None},
        kwargs=_ACTOR_PARAMETER_ATTRS,
    )
    for attr in _ACTOR_PARAMETER_ATTRS:
        add(f"cogment:ActorParameters.{attr}", WRITABLE_PROP, s)
    add("cogment:ActorParameters.class_name", PROP, s)  # "cannot be changed"
    add("cogment:ActorParameters.has_specs", SYNC, s, {})

    # class cogment.LogSample
    s = "class cogment.LogSample"
    cls("cogment:LogSample", s, {"params": REQUIRED})
    for attr in ("out_of_sync", "tick_id", "state", "timestamp", "events"):
        add(f"cogment:LogSample.{attr}", ATTR, s)
    add("cogment:LogSample.get_serialization_type", SYNC, s, {})
    add("cogment:LogSample.serialize", SYNC, s, {})
    add("cogment:LogSample.deserialize", SYNC, s, {"raw_string": REQUIRED})
    add("cogment:LogSample.all_actor_names", GEN, s, {})
    add("cogment:LogSample.get_action", SYNC, s, {"actor": REQUIRED})
    add("cogment:LogSample.get_observation", SYNC, s, {"actor": REQUIRED})
    add("cogment:LogSample.all_rewards", GEN, s, {})
    add("cogment:LogSample.all_messages", GEN, s, {})

    # class ModelInfo
    s = "class ModelInfo"
    cls("cogment.model_registry_v2:ModelInfo", s)
    for attr in ("name", "properties"):
        add(f"cogment.model_registry_v2:ModelInfo.{attr}", ATTR, s)

    # class ModelIterationInfo
    s = "class ModelIterationInfo"
    cls("cogment.model_registry_v2:ModelIterationInfo", s)
    for attr in ("model_name", "iteration", "timestamp", "hash", "size", "stored", "properties"):
        add(f"cogment.model_registry_v2:ModelIterationInfo.{attr}", ATTR, s)

    # class LatestModel
    s = "class LatestModel"
    lm = "cogment.model_registry_v2:LatestModel"
    cls(lm, s)
    add(f"{lm}.name", ATTR, s)
    add(f"{lm}.get", ASYNC, s, {})
    add(f"{lm}.is_deserialized", SYNC, s, {})
    add(f"{lm}.is_available", SYNC, s, {})
    add(f"{lm}.wait_for_available", ASYNC, s, {})
    add(f"{lm}.wait_for_newer", ASYNC, s, {"iteration": REQUIRED})

    # class cogment.DatastoreFields(enum.Enum)
    cls(
        "cogment:DatastoreFields",
        "class cogment.DatastoreFields(enum.Enum)",
        enum_members=(
            "UNKNOWN",
            "OBSERVATION",
            "ACTION",
            "REWARD",
            "RECEIVED_REWARDS",
            "SENT_REWARDS",
            "RECEIVED_MESSAGES",
            "SENT_MESSAGES",
        ),
    )

    # class DatastoreTrialInfo
    s = "class DatastoreTrialInfo"
    dti = "cogment.datastore:DatastoreTrialInfo"
    cls(dti, s)
    for attr in ("trial_id", "user_id", "trial_state", "sample_count", "parameters"):
        add(f"{dti}.{attr}", ATTR, s)
    add(f"{dti}.has_specs", SYNC, s, {})

    # class DatastoreSample
    s = "class DatastoreSample"
    ds = "cogment.datastore:DatastoreSample"
    cls(ds, s)
    for attr in ("trial_id", "trial_state", "tick_id", "timestamp", "actors_data"):
        add(f"{ds}.{attr}", ATTR, s)
    add(f"{ds}.has_specs", SYNC, s, {})

    # class DatastoreActorData
    s = "class DatastoreActorData"
    dad = "cogment.datastore:DatastoreActorData"
    cls(dad, s)
    for attr in (
        "name",
        "observation",
        "observation_serialized",
        "action",
        "action_serialized",
        "reward",
    ):
        add(f"{dad}.{attr}", ATTR, s)
    add(f"{dad}.has_specs", SYNC, s, {})
    for method in (
        "all_received_rewards",
        "all_sent_rewards",
        "all_received_messages",
        "all_sent_messages",
    ):
        add(f"{dad}.{method}", GEN, s, {})

    # class DatastoreReward
    s = "class DatastoreReward"
    cls("cogment.datastore:DatastoreReward", s)
    for attr in ("value", "confidence", "sender", "receiver", "user_data"):
        add(f"cogment.datastore:DatastoreReward.{attr}", ATTR, s)

    # class DatastoreMessage
    s = "class DatastoreMessage"
    cls("cogment.datastore:DatastoreMessage", s)
    for attr in ("sender", "receiver", "payload"):
        add(f"cogment.datastore:DatastoreMessage.{attr}", ATTR, s)

    return items


TABLE = _table()


# -- the checks ------------------------------------------------------------------------------------


def _resolve(where: str) -> tuple[Any, Any, str]:
    """(owner, raw attribute as stored in the class dict or module, name) for ``module:a.b``."""
    module_name, _, qualified = where.partition(":")
    owner: Any = importlib.import_module(module_name)
    parts = qualified.split(".")
    for part in parts[:-1]:
        owner = getattr(owner, part)
    name = parts[-1]
    if inspect.isclass(owner):
        for klass in owner.__mro__:
            if name in vars(klass):
                return owner, vars(klass)[name], name
            annotations = vars(klass).get("__annotations__", {})
            if name in annotations:
                return owner, _ANNOTATED, name
        raise AttributeError(f"{owner.__qualname__} has no attribute [{name}]")
    return owner, getattr(owner, name), name


_ANNOTATED = object()
"""An attribute declared at class level (annotation) and set on instances."""


def _returns_async_iterator(function: Any) -> bool:
    annotation = inspect.signature(function).return_annotation
    text = annotation if isinstance(annotation, str) else getattr(annotation, "__name__", "")
    return str(text).startswith(("AsyncGenerator", "AsyncIterator"))


def _returns_awaitable(function: Any) -> bool:
    annotation = inspect.signature(function).return_annotation
    text = str(annotation)
    return text.startswith(("PendingService", "Awaitable"))


def _check_kind(item: Item, raw: Any) -> None:
    function = raw.__func__ if isinstance(raw, (staticmethod, classmethod)) else raw
    if item.kind == ASYNC:
        assert inspect.iscoroutinefunction(function), "documented `async def`"
    elif item.kind == AWAITABLE:
        assert inspect.iscoroutinefunction(function) or _returns_awaitable(function), (
            "documented async: must be `async def` or return an awaitable"
        )
    elif item.kind == ASYNC_GEN:
        assert inspect.isasyncgenfunction(function) or _returns_async_iterator(function), (
            "documented as an async generator"
        )
    elif item.kind in (SYNC, GEN):
        assert callable(function), "documented as a method"
        assert not inspect.iscoroutinefunction(function), "documented as a plain (sync) method"
        assert not inspect.isasyncgenfunction(function), "documented as a plain (sync) method"
    elif item.kind == PROP:
        assert isinstance(raw, property), "documented as a property"
    elif item.kind == WRITABLE_PROP:
        assert isinstance(raw, property) and raw.fset is not None, "documented as settable"
    elif item.kind == ATTR:
        assert raw is _ANNOTATED or not callable(raw) or isinstance(raw, property), (
            "documented as a data attribute"
        )


def _check_default(name: str, documented: Any, actual: Any) -> None:
    if documented is REQUIRED:
        assert actual is inspect.Parameter.empty, f"[{name}] is required in the document"
    elif isinstance(documented, Equivalent):
        assert actual is not inspect.Parameter.empty, f"[{name}] must have a default"
        assert any(accept(actual) for accept in documented.accepted), (
            f"[{name}] default {actual!r} does not stand for {documented.documented}"
        )
    else:
        assert actual == documented and type(actual) is type(documented), (
            f"[{name}] default is {actual!r}, documented {documented!r}"
        )


def _check_params(item: Item, function: Any) -> None:
    assert item.params is not None
    parameters = list(inspect.signature(function).parameters.values())
    if parameters and parameters[0].name == "self":
        parameters = parameters[1:]
    positional = [
        p
        for p in parameters
        if p.kind in (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    ]
    documented = list(item.params.items())
    names = [p.name for p in positional[: len(documented)]]
    assert names == [name for name, _ in documented], (
        f"positional parameters {names}, documented {[n for n, _ in documented]}"
    )
    for (name, default), parameter in zip(documented, positional, strict=False):
        _check_default(name, default, parameter.default)
    # Our extensions must not break documented calls: optional or keyword-only with a default.
    for parameter in parameters:
        if parameter.name in item.params or parameter.kind in (
            inspect.Parameter.VAR_POSITIONAL,
            inspect.Parameter.VAR_KEYWORD,
        ):
            continue
        assert parameter.default is not inspect.Parameter.empty, (
            f"undocumented parameter [{parameter.name}] must have a default"
        )
    by_name = {p.name: p for p in parameters}
    var_keyword = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters)
    for attr in item.kwargs:
        assert var_keyword or (
            attr in by_name and by_name[attr].kind is not inspect.Parameter.POSITIONAL_ONLY
        ), f"**kwargs: attribute [{attr}] not accepted as a keyword"


@pytest.mark.parametrize("item", TABLE, ids=[item.where for item in TABLE])
def test_documented_item(item: Item) -> None:
    _, raw, _ = _resolve(item.where)
    if item.kind == "class":
        assert inspect.isclass(raw), f"{item.where} is not a class"
        if item.enum_members:
            assert issubclass(raw, enum.Enum)
            assert set(item.enum_members) <= set(raw.__members__), (
                f"missing members {set(item.enum_members) - set(raw.__members__)}"
            )
        if "base" in item.extra:
            _, base, _ = _resolve(item.extra["base"])
            assert issubclass(raw, base)
        if item.params is not None:
            _check_params(item, raw.__init__)
        return
    _check_kind(item, raw)
    if item.params is not None:
        function = raw.__func__ if isinstance(raw, (staticmethod, classmethod)) else raw
        _check_params(item, function)


def test_table_covers_every_section_of_the_document() -> None:
    """Every ``class ...`` heading of the document has rows (the table is kept in step with it)."""
    import os
    from pathlib import Path

    default = Path(__file__).resolve().parents[3] / "shared" / "reference" / "python-sdk-api.txt"
    document = Path(os.environ.get("COGMENT_API_DOCUMENT", default))
    if not document.exists():
        pytest.fail(
            f"the API document is not at {document}: put shared/ beside the repository "
            "or set COGMENT_API_DOCUMENT"
        )
    headings = {
        line.strip() for line in document.read_text().splitlines() if line.startswith("class ")
    }
    covered = {item.section for item in TABLE}
    assert headings <= covered, sorted(headings - covered)
    assert len(TABLE) >= 230


def test_top_level_names_of_the_document() -> None:
    """The classes the document calls ``cogment.X`` are top-level names."""
    import cogment

    for name in (
        "Context",
        "Endpoint",
        "ServedEndpoint",
        "TrialState",
        "EventType",
        "ActorStatus",
        "TrialParameters",
        "ActorParameters",
        "LogSample",
        "DatastoreFields",
    ):
        assert name in cogment.__all__
        assert getattr(cogment, name) is not None


# -- behaviour the document states and no other test covers ------------------------------------


def test_enum_values_are_the_wire_values() -> None:
    import cogment
    from cogment.api import common_pb2

    assert [m.value for m in cogment.EventType] == [0, 1, 2, 3]
    assert [m.value for m in cogment.ActorStatus] == [0, 1, 2, 3]
    for state in cogment.TrialState:
        assert common_pb2.TrialState.Value(state.name) == state.value
    assert [m.value for m in cogment.DatastoreFields] == list(range(8))


@pytest.mark.parametrize(
    ("text", "level"),
    [
        ("off", logging.CRITICAL),
        ("error", logging.ERROR),
        ("warning", logging.WARNING),
        ("info", logging.INFO),
        ("debug", logging.DEBUG),
        ("trace", 5),
    ],
)
def test_cogment_log_level_environment_variable(text: str, level: int) -> None:
    """ "Logging": the ``cogment.sdk`` logger takes its level from COGMENT_LOG_LEVEL (default
    INFO) and has no handler."""
    code = (
        "import logging, cogment; log = logging.getLogger('cogment.sdk');"
        "print(log.level, len(log.handlers))"
    )
    env = {**os.environ, "COGMENT_LOG_LEVEL": text}
    out = subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout.split()
    assert out == [str(level), "0"]


def test_default_log_level_is_info() -> None:
    env = {k: v for k, v in os.environ.items() if k != "COGMENT_LOG_LEVEL"}
    code = "import logging, cogment; print(logging.getLogger('cogment.sdk').level)"
    out = subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout.strip()
    assert out == str(logging.INFO)


async def test_context_directory_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Context: COGMENT_DIRECTORY_ENDPOINT / COGMENT_DIRECTORY_AUTHENTICATION_TOKEN are used when
    the arguments are not given."""
    import cogment

    monkeypatch.setenv("COGMENT_DIRECTORY_ENDPOINT", "grpc://127.0.0.1:9005")
    monkeypatch.setenv("COGMENT_DIRECTORY_AUTHENTICATION_TOKEN", "secret-token")
    context = cogment.Context(user_id="u", cog_settings=None, prometheus_registry=None)
    assert context._directory_endpoint is not None
    assert context._directory_endpoint.url == "grpc://127.0.0.1:9005"
    assert context._directory_auth_token == "secret-token"
    assert not context.has_specs()
    assert context.served_port == 0


def test_trial_parameters_environment_serialized_is_the_config_bytes() -> None:
    """The document names it ``environment_serialized`` (the published code
    ``environment_config_serialized``): both work and are the same data."""
    import cogment

    params = cogment.TrialParameters(None, environment_serialized=b"\x08\x01")
    assert params.environment_config_serialized == b"\x08\x01"
    params.environment_serialized = b"\x08\x02"
    assert params.environment_config_serialized == b"\x08\x02"
    params.environment_serialized = None
    assert params.environment_config_serialized is None


def test_parameters_set_to_none_reset_to_default() -> None:
    import cogment

    params = cogment.TrialParameters(None, max_steps=1000, environment_name="level")
    assert (params.max_steps, params.environment_name) == (1000, "level")
    params.max_steps = None
    assert params.max_steps == 0
    actor = cogment.ActorParameters(None, class_name="some_class", name="act_name")
    assert (actor.class_name, actor.name) == ("some_class", "act_name")
    with pytest.raises(Exception, match=r"(?i)class"):
        actor.class_name = "other"


def test_log_sample_accepts_log_params_with_a_deprecation_warning() -> None:
    """``LogSample(params)``: the document says a ``LogParams``; it is deprecated (use the
    TrialParameters) but still works."""
    import cogment

    params = cogment.TrialParameters(None, max_steps=3)
    params.actors = [cogment.ActorParameters(None, class_name="c", name="a")]
    with pytest.warns(DeprecationWarning, match="LogParams"):
        log_params = cogment.LogParams(None)
    log_params.deserialize(params.serialize())
    with pytest.warns(DeprecationWarning):
        sample = cogment.LogSample(log_params)
    assert list(sample.all_actor_names()) == ["a"]
    assert sample.get_serialization_type() > 1


def test_served_endpoint_str_port_is_deprecated() -> None:
    import cogment

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        served = cogment.ServedEndpoint("9001")  # type: ignore[arg-type]
    assert served.port == 9001
    assert any(issubclass(w.category, DeprecationWarning) for w in caught)


def test_endpoint_uses_tls_when_the_private_key_is_set() -> None:
    """The document: "To use TLS for the connection, this [private_key] must be set"."""
    import cogment

    endpoint = cogment.Endpoint("grpc://127.0.0.1:9000")
    assert not endpoint.using_ssl()
    endpoint.private_key = "-----BEGIN PRIVATE KEY-----\n..."
    assert endpoint.using_ssl()
    assert endpoint.url == "grpc://127.0.0.1:9000"
    assert cogment.Endpoint().url == "cogment://discover"


# -- get_controller / get_datastore / get_model_registry_v2: awaited and published-program style --


@pytest.mark.timeout(60)
async def test_service_getters_work_awaited_and_plain(tmp_path: Any) -> None:
    """The document has them ``async``; the published code returned the client directly for
    ``grpc://`` endpoints, so programs call them with or without ``await``: both work."""
    import cogment
    from cogment_services.model_registry import ModelRegistryServer
    from cogment_services.orchestrator import Orchestrator
    from cogment_services.trial_datastore import TrialDatastore

    ctx = cogment.Context(user_id="getters", cog_settings=None, prometheus_registry=None)
    async with (
        Orchestrator(lifecycle_port=0, host="127.0.0.1") as orch,
        TrialDatastore(port=0) as datastore_server,
        ModelRegistryServer(port=0, archive_dir=tmp_path) as registry_server,
    ):
        orchestrator = cogment.Endpoint(orch.endpoint)
        awaited_controller = await ctx.get_controller(orchestrator)
        plain_controller = ctx.get_controller(orchestrator)
        for controller in (awaited_controller, plain_controller):
            assert await controller.get_trial_info([]) == []
            assert controller.has_specs()
        assert type(awaited_controller).__name__ == "Controller"
        assert await plain_controller is not None  # awaiting the plain result later also works

        datastore = cogment.Endpoint(datastore_server.endpoint)
        for store in (await ctx.get_datastore(datastore), ctx.get_datastore(datastore)):
            assert await store.get_trials([]) == []

        registry = await ctx.get_model_registry_v2(cogment.Endpoint(registry_server.endpoint))
        assert registry.has_specs()
        assert await registry.list_models() == []


async def test_plain_getter_with_a_discovery_endpoint_explains_itself() -> None:
    """A ``cogment://discover`` endpoint needs the Directory: the plain (not awaited) result
    cannot be used, and the error says to await; awaiting without a directory says why."""
    import cogment

    ctx = cogment.Context(user_id="getters", cog_settings=None, prometheus_registry=None)
    pending = ctx.get_controller()
    with pytest.raises(cogment.CogmentError, match="await"):
        pending.start_trial  # noqa: B018
    with pytest.raises(cogment.CogmentError, match="directory"):
        await pending


def test_deprecated_and_refused_session_forms() -> None:
    """``DatalogSession.get_all_samples`` is deprecated (still works); ``get_active_actors`` on an
    actor session raises, as in the published SDK."""
    import cogment
    from cogment._actor import ActorSession
    from cogment._datalog import DatalogSession

    session = DatalogSession("t", "u", cogment.TrialParameters(None))
    with pytest.warns(DeprecationWarning, match="get_all_samples"):
        generator = session.get_all_samples()
        assert inspect.isasyncgen(generator)
        with contextlib.suppress(StopAsyncIteration):
            asyncio.run(generator.__anext__())
    from tests.cogment._runtime_helpers import Action, Observation

    player = cogment.ActorClass("player", None, Action, Observation)
    actor: ActorSession[Any, Any, None] = ActorSession("t", "p1", "impl", player, "env", None)
    with pytest.raises(cogment.CogmentError):
        actor.get_active_actors()


async def test_all_events_stops_when_sent_false_and_can_be_resumed() -> None:
    """``all_events``: "The generator will exit ... if the generator is sent False (in which case
    the callback function does not necessarily need to exit)"."""
    import cogment
    from cogment._environment import EnvironmentSession

    session: EnvironmentSession[Any, Any, None] = EnvironmentSession(
        "t", "env", "impl", [cogment.ActorInfo("a", "player")], None
    )
    session.start()
    for _ in range(2):
        session._post_event(cogment.RecvEvent(cogment.EventType.ACTIVE))
    session._finish(final=True)
    events = session.all_events()
    first = await asyncio.wait_for(events.__anext__(), 5)
    assert first.type is cogment.EventType.ACTIVE
    with pytest.raises(StopAsyncIteration):
        await asyncio.wait_for(events.asend(False), 5)
    remaining = [event.type async for event in session.all_events()]
    assert remaining == [cogment.EventType.ACTIVE, cogment.EventType.FINAL]
    assert [event async for event in session.all_events()] == []
