"""Pieces shared by the servicers: registered implementations, metadata, init phase, Version and
Status replies, Prometheus metrics (created once per registry)."""

from __future__ import annotations

import os
import weakref
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import grpc
import grpc.aio

from cogment._log import logger
from cogment._servicers._runner import EOF, MessageStream, UserImpl
from cogment._specs import Specs
from cogment._version import __version__
from cogment.api import common_pb2

__all__ = [
    "ActorImpl",
    "EnvironmentImpl",
    "HookImpl",
    "InitProtocolError",
    "Metrics",
    "Registered",
    "metadata_value",
    "read_init",
    "status_reply",
    "version_info",
]

_NORMAL = common_pb2.NORMAL
_HEARTBEAT = common_pb2.HEARTBEAT
_LAST = common_pb2.LAST
_LAST_ACK = common_pb2.LAST_ACK
_END = common_pb2.END


@dataclass
class EnvironmentImpl:
    """A registered environment implementation."""

    impl: UserImpl
    name: str
    properties: dict[str, str] = field(default_factory=dict)


@dataclass
class ActorImpl:
    """A registered actor implementation; no ``actor_classes`` means any class."""

    impl: UserImpl
    name: str
    actor_classes: list[str]
    properties: dict[str, str] = field(default_factory=dict)

    def accepts(self, class_name: str) -> bool:
        return not self.actor_classes or class_name in self.actor_classes


@dataclass
class HookImpl:
    """A registered pre-trial hook or datalog implementation."""

    impl: UserImpl
    properties: dict[str, str] = field(default_factory=dict)


class Registered(Protocol):
    """What a ``Context`` holds about its registered implementations (structural, so the
    servicers need not import the context module)."""

    _env_impls: dict[str, EnvironmentImpl]
    _actor_impls: dict[str, ActorImpl]
    _prehook_impl: HookImpl | None
    _datalog_impl: HookImpl | None
    _specs: Specs


class InitProtocolError(Exception):
    """The peer broke the protocol before the init message."""


def metadata_value(context: grpc.aio.ServicerContext[Any, Any], key: str) -> str | None:
    """The value of the invocation metadata ``key`` (None if absent)."""
    for item_key, value in context.invocation_metadata() or ():
        if item_key == key:
            return value.decode() if isinstance(value, bytes) else str(value)
    return None


async def read_init(stream: MessageStream, out_type: type[Any], where: str) -> Any | None:
    """Read up to the ``init_input`` of a trial stream, answering HEARTBEAT and LAST.

    Returns None if the trial ends (END or EOF) before init.
    """
    last_received = False
    while True:
        msg = await stream.read()
        if msg is EOF:
            logger.info("%s: the orchestrator closed the stream before init", where)
            return None
        state = msg.state
        if state == _NORMAL:
            kind = msg.WhichOneof("data")
            if last_received:
                raise InitProtocolError(f"{where}: received [{kind}] data after LAST, before init")
            if kind == "init_input":
                return msg.init_input
            if kind == "details":
                logger.warning("%s: details received before init: %s", where, msg.details)
                continue
            raise InitProtocolError(f"{where}: received [{kind}] data before init")
        if state == _HEARTBEAT:
            await stream.write(out_type(state=_HEARTBEAT))
        elif state == _LAST:
            if last_received:
                raise InitProtocolError(f"{where}: received a second LAST before init")
            last_received = True
            await stream.write(out_type(state=_LAST_ACK))
        elif state == _END:
            details = msg.details if msg.WhichOneof("data") == "details" else ""
            logger.info("%s: trial ended before init %s", where, details)
            return None
        else:
            raise InitProtocolError(f"{where}: received invalid state [{state}] before init")


def version_info() -> common_pb2.VersionInfo:
    """Reply of the ``Version`` RPCs."""
    return common_pb2.VersionInfo(
        versions=[
            common_pb2.VersionInfo.Version(name="cogment_sdk", version=__version__),
            common_pb2.VersionInfo.Version(name="grpc", version=grpc.__version__),
        ]
    )


def _machine_load() -> int:
    try:
        load = os.getloadavg()[0]
    except (AttributeError, OSError):
        return 0
    cpus = os.cpu_count() or 1
    return max(0, min(254, int(100 * load / cpus)))


def status_reply(names: Any, nb_sessions: int | None) -> common_pb2.StatusReply:
    """Reply of the ``Status`` RPCs: ``overall_load``, ``nb_sessions`` (if any) or ``*``."""
    reply = common_pb2.StatusReply()
    wanted = set(names)
    everything = "*" in wanted
    if everything or "overall_load" in wanted:
        reply.statuses["overall_load"] = str(_machine_load())
    if nb_sessions is not None and (everything or "nb_sessions" in wanted):
        reply.statuses["nb_sessions"] = str(nb_sessions)
    return reply


class Metrics:
    """The runtime's Prometheus metrics, registered once per registry (several contexts of one
    process share them instead of failing with "Duplicated timeseries")."""

    _by_registry: weakref.WeakKeyDictionary[Any, Metrics] = weakref.WeakKeyDictionary()

    def __init__(self, registry: Any) -> None:
        from prometheus_client import Counter, Summary

        def counter(name: str, doc: str, labels: list[str]) -> Counter:
            return Counter(name, doc, labels, registry=registry)

        self.actor_started = counter("actor_started", "Number of actors started", ["impl_name"])
        self.actor_ended = counter("actor_ended", "Number of actors ended", ["impl_name"])
        self.environment_trials_started = counter(
            "environment_trials_started", "Number of trials started", ["impl_name"]
        )
        self.environment_trials_ended = counter(
            "environment_trials_ended", "Number of trials ended", ["impl_name"]
        )
        self.environment_update_count_per_trial = Summary(
            "environment_update_count_per_trial",
            "Number of ticks of the trials",
            ["impl_name"],
            registry=registry,
        )
        self.environment_trial_duration = Summary(
            "environment_trial_duration_in_second",
            "Trial duration",
            ["impl_name"],
            registry=registry,
        )

    @classmethod
    def for_registry(cls, registry: Any) -> Metrics | None:
        """The metrics of ``registry`` (created on first use); None disables metrics."""
        if registry is None:
            return None
        try:
            return cls._by_registry[registry]
        except KeyError:
            pass
        metrics = cls(registry)
        cls._by_registry[registry] = metrics
        return metrics


def properties_dict(properties: Mapping[str, str] | None, what: str) -> dict[str, str]:
    """Validate and copy user ``properties`` (str to str)."""
    result: dict[str, str] = {}
    for key, value in (properties or {}).items():
        if not isinstance(key, str) or not isinstance(value, str):
            from cogment._errors import CogmentError

            raise CogmentError(f"{what}: properties must map str to str, got [{key!r}: {value!r}]")
        result[key] = value
    return result
