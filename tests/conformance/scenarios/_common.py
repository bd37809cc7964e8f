"""Shared machinery of the conformance scenario programs.

Every scenario is a standalone program hosting all its components (environment, actors, pre-trial
hook, datalog, controller) in one ``cogment.Context``. It is written against the documented
Cogment Python API only, so the same file runs with the published SDK 2.10.1 (Python 3.10) and
with ours (Python 3.11+): keep this code version-neutral (no ``match``, no 3.11-only APIs).

Each component appends records to one :class:`Trace`. At exit the trace is written in canonical
form (one JSON object per line):

- trial ids are replaced by ordinal names (``t1``, ``c07``, ...) everywhere they appear;
- records are grouped by (trial, component); *ordered* records keep the order in which the
  component saw them (the protocol fixes it: rewards before the observation of a tick, action
  sets in tick order, ...), *unordered* records (messages, whose arrival relative to other
  traffic the documentation does not fix) are sorted;
- no timestamps, ports or random ids; floats only where the values are exactly representable.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import sys
import traceback
from collections.abc import Awaitable, Callable
from typing import Any

import cog_settings
from _trace import Trace
from google.protobuf import wrappers_pb2

import cogment

# --------------------------------------------------------------------------- proto rendering


def proto_data(message: Any) -> Any:
    """A JSON-able, protobuf-version-neutral rendering of a message (set fields only)."""
    if message is None:
        return None
    result: dict[str, Any] = {}
    for field, value in message.ListFields():
        if field.message_type is not None:
            if _is_repeated(field):
                result[field.name] = [proto_data(each) for each in value]
            else:
                result[field.name] = proto_data(value)
        elif _is_repeated(field):
            result[field.name] = list(value)
        else:
            result[field.name] = value
    return {"type": message.DESCRIPTOR.name, "fields": result}


def _is_repeated(field: Any) -> bool:
    # ``label`` is deprecated in recent protobuf releases; ``is_repeated`` is missing in old ones.
    repeated = getattr(field, "is_repeated", None)
    if repeated is not None:
        return bool(repeated)
    return bool(field.label == field.LABEL_REPEATED)


def _known_types() -> dict[str, Any]:
    types: dict[str, Any] = {}
    candidates = [
        wrappers_pb2.StringValue,
        wrappers_pb2.Int32Value,
        cog_settings.trial.config_type,
        cog_settings.environment.config_type,
    ]
    for actor_class in cog_settings.actor_classes:
        candidates += [
            actor_class.action_space,
            actor_class.observation_space,
            actor_class.config_type,
        ]
    for each in candidates:
        if each is not None:
            types[each.DESCRIPTOR.full_name] = each
    return types


KNOWN_TYPES = _known_types()


def any_data(packed: Any) -> Any:
    """Render a ``google.protobuf.Any`` (``None`` and an empty Any both render as ``None``)."""
    if packed is None or not packed.type_url:
        return None
    type_name = packed.type_url.split("/")[-1]
    message_type = KNOWN_TYPES.get(type_name)
    if message_type is None:
        return {"type_url": packed.type_url, "hex": bytes(packed.value).hex()}
    message = message_type()
    if not packed.Unpack(message):
        return {"type_url": packed.type_url, "unpack": "failed"}
    return proto_data(message)


def text(value: str) -> Any:
    """A message payload (``StringValue``)."""
    return wrappers_pb2.StringValue(value=value)


# --------------------------------------------------------------------------- events


def reward_data(reward: Any) -> dict[str, Any]:
    sources = [
        {
            "value": source.value,
            "confidence": source.confidence,
            "sender": source.sender_name,
            "user_data": any_data(source.user_data),
        }
        for source in reward.all_sources()
    ]
    # Sources from different senders arrive in an order the documentation does not fix.
    sources.sort(key=lambda each: json.dumps(each, sort_keys=True))
    return {
        "receiver": reward.receiver_name,
        "tick": reward.tick_id,
        "value": reward.value,
        "nb_sources": reward.get_nb_sources(),
        "sources": sources,
    }


def message_data(message: Any) -> dict[str, Any]:
    return {
        "tick": message.tick_id,
        "sender": message.sender_name,
        "receiver": message.receiver_name,
        "payload": any_data(message.payload),
    }


def action_data(action: Any) -> dict[str, Any]:
    status = action.status
    return {
        "index": action.actor_index,
        "tick": action.tick_id,
        "status": status.name,
        "action": proto_data(action.action) if status == cogment.ActorStatus.ACTIVE else None,
    }


def observation_data(observation: Any) -> dict[str, Any]:
    return {"tick": observation.tick_id, "observation": proto_data(observation.observation)}


# --------------------------------------------------------------------------- the run


class Run:
    """What a scenario gets: arguments, trace, context, controller and helpers."""

    def __init__(self, args: argparse.Namespace, trace: Trace) -> None:
        self.args = args
        self.trace = trace
        self.context: Any = None
        self.controller: Any = None
        self.port = 0
        self._serving: asyncio.Task[None] | None = None
        self._active: dict[str, int] = {}
        self.background: list[asyncio.Task[Any]] = []
        self.embedded: Any = None  # in-process mode: the Orchestrator of this Context

    # ---- endpoints and ids

    @property
    def served(self) -> str:
        """The URL of the components this program serves."""
        return f"grpc://127.0.0.1:{self.port}"

    def requested_id(self, name: str) -> str:
        """A requested trial id unique to this run, written as ``name`` in the trace."""
        trial_id = f"{self.args.run_id}-{name}"
        self.trace.name_trial(trial_id, name)
        return trial_id

    def params_data(self, params: Any) -> dict[str, Any]:
        """Trial parameters as trace data (this program's own URL written ``<served>``)."""

        def url(value: str) -> str:
            return "<served>" if value == self.served else value

        return {
            "config": proto_data(params.config),
            "properties": dict(sorted(dict(params.properties).items())),
            "max_steps": params.max_steps,
            "max_inactivity": params.max_inactivity,
            "nb_buffered_ticks": params.nb_buffered_ticks,
            "datalog": url(params.datalog_endpoint or ""),
            "environment": [
                params.environment_name,
                url(params.environment_endpoint or ""),
                params.environment_implementation,
                proto_data(params.environment_config),
            ],
            "actors": [
                [
                    actor.name,
                    actor.class_name,
                    url(actor.endpoint or ""),
                    actor.implementation,
                    proto_data(actor.config),
                ]
                for actor in params.actors
            ],
        }

    def record(self, kind: str, **data: Any) -> None:
        """A controller-side record (ordered, trial ``-``)."""
        self.trace.add(None, "controller", kind, **data)

    # ---- components bookkeeping

    def enter(self, trial_id: str) -> None:
        self._active[trial_id] = self._active.get(trial_id, 0) + 1

    def leave(self, trial_id: str) -> None:
        self._active[trial_id] = self._active.get(trial_id, 0) - 1

    # ---- serving

    async def serve(self) -> None:
        """Serve every registered component; return once the port accepts connections."""
        endpoint = cogment.ServedEndpoint(port=self.args.port)
        self._serving = asyncio.ensure_future(self.context.serve_all_registered(endpoint))
        for _ in range(500):
            if self._serving.done():
                self._serving.result()
                raise RuntimeError("serve_all_registered returned before serving")
            port = self.context.served_port
            if port:
                try:
                    _, writer = await asyncio.open_connection("127.0.0.1", port)
                except OSError:
                    pass
                else:
                    writer.close()
                    self.port = port
                    return
            await asyncio.sleep(0.01)
        raise RuntimeError("the context did not start serving within 5 s")

    async def stop(self) -> None:
        for task in self.background:
            task.cancel()
        if self.embedded is not None:
            with contextlib.suppress(BaseException):
                await self.embedded.stop()
        if self._serving is not None:
            self._serving.cancel()
            with contextlib.suppress(BaseException):
                await self._serving

    # ---- trials

    def params(
        self,
        actors: list[Any],
        *,
        max_steps: int = 3,
        env_impl: str = "env",
        env_config: Any = None,
        trial_config: Any = None,
        datalog: bool = False,
        properties: dict[str, str] | None = None,
        nb_buffered_ticks: int | None = None,
        environment_name: str = "env",
    ) -> Any:
        """Trial parameters whose environment (and datalog) is served by this program."""
        params = cogment.TrialParameters(
            cog_settings,
            environment_name=environment_name,
            environment_endpoint=self.served,
            environment_implementation=env_impl,
            max_steps=max_steps,
            max_inactivity=0,
        )
        if env_config is not None:
            params.environment_config = env_config
        if trial_config is not None:
            params.config = trial_config
        if properties:
            params.properties = properties
        if nb_buffered_ticks is not None:
            params.nb_buffered_ticks = nb_buffered_ticks
        if datalog:
            params.datalog_endpoint = self.served
        params.actors = actors
        return params

    def actor(
        self,
        name: str,
        class_name: str,
        implementation: str,
        *,
        client: bool = False,
        config: Any = None,
        endpoint: str | None = None,
        **kwargs: Any,
    ) -> Any:
        """Actor parameters (served by this program, ``cogment://client`` or ``endpoint``)."""
        if endpoint is None:
            endpoint = "cogment://client" if client else self.served
        actor = cogment.ActorParameters(
            cog_settings,
            class_name=class_name,
            name=name,
            endpoint=endpoint,
            implementation=implementation,
            **kwargs,
        )
        if config is not None:
            actor.config = config
        return actor

    async def start(self, params: Any, name: str) -> str:
        """Start a trial with ``params`` under the requested id ``name``; return its id."""
        trial_id: str = await self.controller.start_trial(
            trial_params=params, trial_id_requested=self.requested_id(name)
        )
        if not trial_id:
            raise RuntimeError(f"start_trial refused the requested id of trial {name!r}")
        return trial_id

    async def wait_ended(self, trial_ids: list[str], timeout: float = 20.0) -> None:
        """Wait until every trial is ENDED (or gone) and its components have returned."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        pending = [each for each in trial_ids if each]
        while pending:
            infos = await self.controller.get_trial_info(pending)
            seen = {info.trial_id: info.state for info in infos}
            pending = [
                each for each in pending if each in seen and seen[each] != cogment.TrialState.ENDED
            ]
            if pending:
                if loop.time() > deadline:
                    raise RuntimeError(f"trials not ENDED after {timeout:.0f} s: {pending}")
                await asyncio.sleep(0.02)
        while any(self._active.get(each, 0) > 0 for each in trial_ids):
            if loop.time() > deadline:
                busy = [each for each in trial_ids if self._active.get(each, 0) > 0]
                raise RuntimeError(f"components still running {timeout:.0f} s after: {busy}")
            await asyncio.sleep(0.02)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--orchestrator", required=True, help="lifecycle endpoint, grpc://host:port"
    )
    parser.add_argument(
        "--actor-endpoint", default=None, help="client-actor endpoint (default: --orchestrator)"
    )
    parser.add_argument("--trace", required=True, help="where to write the canonical trace")
    parser.add_argument("--port", type=int, default=0, help="port to serve the components on")
    parser.add_argument("--run-id", default="run", help="prefix of requested trial ids")
    parser.add_argument("--timeout", type=float, default=40.0, help="whole-run timeout (s)")
    args = parser.parse_args(argv)
    if args.actor_endpoint is None:
        args.actor_endpoint = args.orchestrator
    return args


Scenario = Callable[[Run], Awaitable[None]]
Setup = Callable[[Run], None]


def main(setup: Setup, scenario: Scenario) -> None:
    """Run a scenario program: ``setup`` registers components, ``scenario`` drives the trials.

    Exit status 0 on success; 1 on an error; 3 on the whole-run timeout. The trace is written in
    every case (what was recorded until then), and the error goes to stderr.
    """
    args = parse_args()
    sys.stderr.write(f"SDK: cogment {cogment.__version__} from {cogment.__file__}\n")
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    trace = Trace()
    status = 0
    try:
        asyncio.run(_run(args, trace, setup, scenario))
    except asyncio.TimeoutError:
        traceback.print_exc()
        sys.stderr.write(f"scenario timed out (whole-run limit {args.timeout:.0f} s)\n")
        trace.add(None, "~harness", "timeout")
        status = 3
    except BaseException:
        traceback.print_exc()
        trace.add(None, "~harness", "error", error=traceback.format_exc().splitlines()[-1])
        status = 1
    try:
        trace.write(args.trace)
    except BaseException:
        traceback.print_exc()
        status = 1
    sys.stderr.flush()
    os._exit(status)  # do not wait on stray gRPC threads


async def _run(args: argparse.Namespace, trace: Trace, setup: Setup, scenario: Scenario) -> None:
    run = Run(args, trace)
    run.context = cogment.Context(
        user_id="conformance", cog_settings=cog_settings, prometheus_registry=None
    )
    setup(run)
    try:
        await asyncio.wait_for(_drive(run, scenario), args.timeout)
    finally:
        await run.stop()


#: In-process mode (our SDK only): JSON options of an Orchestrator embedded in this program's
#: Context (``context.embedded_orchestrator``), used instead of ``--orchestrator``. The served
#: components then run in-process; hooks and datalog still go over gRPC to the served port.
INPROCESS_ENV = "COGMENT_CONFORMANCE_INPROCESS"


async def _drive(run: Run, scenario: Scenario) -> None:
    await run.serve()
    inprocess = os.environ.get(INPROCESS_ENV)
    if inprocess:
        options = json.loads(inprocess)
        options.setdefault("lifecycle_port", 0)
        options.setdefault("host", "127.0.0.1")
        orchestrator = run.context.embedded_orchestrator(**options)
        await orchestrator.start()
        run.embedded = orchestrator
        run.args.orchestrator = orchestrator.endpoint
        run.args.actor_endpoint = orchestrator.actor_endpoint
        run.controller = orchestrator.get_controller()
    else:
        run.controller = await run.context.get_controller(cogment.Endpoint(run.args.orchestrator))
    await scenario(run)
