"""The gRPC floor: the counting game served directly on ``grpc.aio``, no SDK runtime at all.

Mode ``grpc-floor``: the environment, the two ``counter`` actors and the controller of
``_components.py``, written straight on the compiled wire contract (``cogment.api``): one handler
per ``RunTrial`` stream that reads a message, builds the same protobuf messages the SDKs build
for the counting game (same payloads from the generated ``counting_pb2``) and writes them, with
no session, queue or task in between (one ``await`` per message read or written). The controller
calls ``TrialLifecycleSP/StartTrial`` on a raw stub with the ``TrialParams`` the SDKs send.

It talks to our Orchestrator over gRPC like ``reference`` and ``ours-grpc``, so the
Orchestrator's own cost is in its figures too: the distance between ``ours-grpc`` and this mode
is all an SDK on ``grpc.aio`` could still gain on the components' side. ``cogment.api`` is
imported first, so ``grpc`` is loaded with the same core settings as in ``ours-grpc``
(``cogment/_grpc_tuning.py``).

Each component checks the game as it goes: the environment receives exactly ``ticks`` action
sets with both actions, each actor answers exactly ``ticks`` observations, and every stream ends
with the LAST / LAST_ACK / END handshake; a mismatch fails the run (``DONE {"error": ...}``).

Same stdin/stdout protocol as ``_components.py`` (``READY``, ``GO``, ``IDLE``, ``RELEASE``,
``DONE <json>``). Usage: ``python -m bench.trials._floor <settings dir> <orchestrator endpoint>
<workload json>``.
"""

from __future__ import annotations

from cogment.api import (
    agent_pb2_grpc,
    common_pb2,
    environment_pb2,
    environment_pb2_grpc,
    orchestrator_pb2,
    orchestrator_pb2_grpc,
)

# isort: split
# After cogment.api: ``import cogment`` sets gRPC's core settings before grpc is first loaded.
import asyncio
import importlib
import json
import sys
import time
import traceback
from typing import Any, TypeAlias

import grpc
import grpc.aio

from bench.trials._components import (
    ACTOR_IMPL,
    ENV_IMPL,
    Bookkeeping,
    exit_now,
    run_workload,
)

ACTORS = (("alice", 1), ("bob", 2))

_EOF: object = grpc.aio.EOF  # type: ignore[attr-defined]  # (missing from grpc-stubs)
_NORMAL = common_pb2.NORMAL
_HEARTBEAT = common_pb2.HEARTBEAT
_LAST = common_pb2.LAST
_LAST_ACK = common_pb2.LAST_ACK
_END = common_pb2.END

_ENV_HEARTBEAT = environment_pb2.EnvRunTrialOutput(state=_HEARTBEAT)
_ENV_LAST = environment_pb2.EnvRunTrialOutput(state=_LAST)
_ENV_LAST_ACK = environment_pb2.EnvRunTrialOutput(state=_LAST_ACK)
_ENV_INIT = environment_pb2.EnvRunTrialOutput(
    state=_NORMAL, init_output=environment_pb2.EnvInitialOutput()
)
_ACTOR_HEARTBEAT = common_pb2.ActorRunTrialOutput(state=_HEARTBEAT)
_ACTOR_LAST_ACK = common_pb2.ActorRunTrialOutput(state=_LAST_ACK)
_ACTOR_INIT = common_pb2.ActorRunTrialOutput(
    state=_NORMAL, init_output=common_pb2.ActorInitialOutput()
)

EnvContext: TypeAlias = (
    "grpc.aio.ServicerContext[environment_pb2.EnvRunTrialInput, environment_pb2.EnvRunTrialOutput]"
)
ActorContext: TypeAlias = (
    "grpc.aio.ServicerContext[common_pb2.ActorRunTrialInput, common_pb2.ActorRunTrialOutput]"
)


class ProtocolError(RuntimeError):
    """A stream did not follow the trial protocol, or the game's counts are wrong."""


def _trial_id(context: EnvContext | ActorContext) -> str:
    for key, value in context.invocation_metadata() or ():
        if key == "trial-id":
            return str(value)
    raise ProtocolError("RunTrial opened without a trial-id header")


class Game(Bookkeeping):
    """The counting game's messages, built and checked here; the trials' bookkeeping."""

    def __init__(self, pb2: Any) -> None:
        super().__init__()
        self.pb2 = pb2

    def _observation_set(self, tick: int, actors_map: list[int]) -> Any:
        """``EnvRunTrialOutput`` with one ``Tick`` shared by every actor (as ``("*", obs)``)."""
        return environment_pb2.EnvRunTrialOutput(
            state=_NORMAL,
            observation_set=environment_pb2.ObservationSet(
                tick_id=-1,
                timestamp=time.time_ns(),
                observations=[self.pb2.Tick(tick=tick).SerializeToString()],
                actors_map=actors_map,
            ),
        )

    async def environment(self, context: EnvContext) -> None:
        """One ``EnvironmentSP/RunTrial``: tick 0, then ``Tick(t + 1)`` for each action set."""
        trial_id = _trial_id(context)
        read, write = context.read, context.write
        count_of = self.pb2.Count
        try:
            init: environment_pb2.EnvInitialInput | None = await _read_init(
                context, _ENV_HEARTBEAT, _ENV_LAST_ACK, "environment"
            )
            if init is None:
                return
            ticks = self.pb2.EnvConfig.FromString(init.config.content).ticks
            nb_actors = len(init.actors_in_trial)
            actors_map = [0] * nb_actors
            await write(_ENV_INIT)
            await write(self._observation_set(0, actors_map))
            ending = False
            action_sets = 0
            while True:
                message = await read()
                if message is _EOF:
                    raise ProtocolError("environment: stream closed before END")
                state = message.state
                if state == _NORMAL:
                    if message.WhichOneof("data") != "action_set":
                        continue  # a message: the game has none
                    action_set = message.action_set
                    if len(action_set.actions) != nb_actors:
                        raise ProtocolError(
                            f"environment: {len(action_set.actions)} actions for {nb_actors} actors"
                        )
                    tick = action_set.tick_id
                    total = sum(count_of.FromString(a).value for a in action_set.actions)
                    if total < 0:
                        raise ProtocolError(
                            f"tick {tick}: the counters' sum went negative: {total}"
                        )
                    action_sets += 1
                    observations = self._observation_set(tick + 1, actors_map)
                    if ending or tick + 1 >= ticks:
                        if not ending:
                            ending = True
                            await write(_ENV_LAST)
                        await write(observations)
                        await write(_ENV_LAST_ACK)
                    else:
                        await write(observations)
                elif state == _LAST:
                    ending = True
                elif state == _END:
                    break
                elif state == _HEARTBEAT:
                    await write(_ENV_HEARTBEAT)
                else:
                    raise ProtocolError(f"environment: unexpected state {state}")
            if action_sets != ticks:
                raise ProtocolError(f"environment: {action_sets} action sets for {ticks} ticks")
        except Exception as error:
            self.errors.append(f"environment of {trial_id}: {error!r}")
            raise
        finally:
            self.component_finished(trial_id)

    async def counter(self, context: ActorContext) -> None:
        """One ``ServiceActorSP/RunTrial``: ``Count(tick + step)`` for each observation."""
        trial_id = _trial_id(context)
        read, write = context.read, context.write
        tick_of, count_of = self.pb2.Tick, self.pb2.Count
        name = "?"
        try:
            init: common_pb2.ActorInitialInput | None = await _read_init(
                context, _ACTOR_HEARTBEAT, _ACTOR_LAST_ACK, "actor"
            )
            if init is None:
                return
            name = init.actor_name
            config = self.pb2.CounterConfig.FromString(init.config.content)
            step, hold = config.step, config.hold_first_action
            await write(_ACTOR_INIT)
            ending = False
            final_seen = False
            acted = 0
            while True:
                message = await read()
                if message is _EOF:
                    raise ProtocolError(f"actor {name}: stream closed before END")
                state = message.state
                if state == _NORMAL:
                    if message.WhichOneof("data") != "observation":
                        continue  # a reward or a message: the game has none
                    if ending:  # the final observation: acknowledged, not answered
                        final_seen = True
                        await write(_ACTOR_LAST_ACK)
                        continue
                    observation = message.observation
                    if hold:
                        hold = False
                        self.actor_holds()
                        await self.release.wait()
                    tick = tick_of.FromString(observation.content).tick
                    if tick != acted:
                        raise ProtocolError(
                            f"actor {name}: observation of tick {tick}, not {acted}"
                        )
                    acted += 1
                    await write(
                        common_pb2.ActorRunTrialOutput(
                            state=_NORMAL,
                            action=common_pb2.Action(
                                tick_id=observation.tick_id,
                                timestamp=time.time_ns(),
                                content=count_of(value=tick + step).SerializeToString(),
                            ),
                        )
                    )
                elif state == _LAST:
                    ending = True
                elif state == _END:
                    break
                elif state == _HEARTBEAT:
                    await write(_ACTOR_HEARTBEAT)
                else:
                    raise ProtocolError(f"actor {name}: unexpected state {state}")
            if not final_seen:
                raise ProtocolError(f"actor {name}: END without a final observation")
        except Exception as error:
            self.errors.append(f"actor {name} of {trial_id}: {error!r}")
            raise
        finally:
            self.component_finished(trial_id)

    def trial_params(self, endpoint: str, ticks: int, hold: bool) -> common_pb2.TrialParams:
        """What the SDKs' ``TrialParameters`` of ``_components.py`` put on the wire."""
        pb2 = self.pb2
        return common_pb2.TrialParams(
            environment=common_pb2.EnvironmentParams(
                name="env",
                endpoint=endpoint,
                implementation=ENV_IMPL,
                config=common_pb2.SerializedMessage(
                    content=pb2.EnvConfig(ticks=ticks).SerializeToString()
                ),
            ),
            actors=[
                common_pb2.ActorParams(
                    name=name,
                    actor_class="counter",
                    endpoint=endpoint,
                    implementation=ACTOR_IMPL,
                    config=common_pb2.SerializedMessage(
                        content=pb2.CounterConfig(
                            step=step, hold_first_action=hold
                        ).SerializeToString()
                    ),
                )
                for name, step in ACTORS
            ],
        )


async def _read_init(
    context: EnvContext | ActorContext, heartbeat: Any, last_ack: Any, what: str
) -> Any | None:
    """Read up to the ``init_input`` of an environment's or actor's stream (answering
    ``heartbeat`` and ``last_ack``); ``None`` if the trial ends before."""
    while True:
        message = await context.read()
        if message is _EOF:
            return None
        state = message.state
        if state == _NORMAL and message.WhichOneof("data") == "init_input":
            return message.init_input
        if state == _HEARTBEAT:
            await context.write(heartbeat)
        elif state == _LAST:
            await context.write(last_ack)
        elif state == _END:
            return None
        else:
            raise ProtocolError(f"{what}: {message} before init")


class _Served:
    """``Version`` and ``Status`` of both services (not used by the workloads)."""

    async def Version(
        self, request: common_pb2.VersionRequest, context: Any
    ) -> common_pb2.VersionInfo:
        return common_pb2.VersionInfo()

    async def Status(
        self, request: common_pb2.StatusRequest, context: Any
    ) -> common_pb2.StatusReply:
        return common_pb2.StatusReply()


class _Environments(_Served, environment_pb2_grpc.EnvironmentSPServicer):
    def __init__(self, game: Game) -> None:
        self._game = game

    async def RunTrial(  # type: ignore[override]
        self, request_iterator: Any, context: EnvContext
    ) -> None:
        await self._game.environment(context)


class _Actors(_Served, agent_pb2_grpc.ServiceActorSPServicer):
    def __init__(self, game: Game) -> None:
        self._game = game

    async def RunTrial(  # type: ignore[override]
        self, request_iterator: Any, context: ActorContext
    ) -> None:
        await self._game.counter(context)


async def _run_trials(
    game: Game,
    lifecycle: orchestrator_pb2_grpc.TrialLifecycleSPAsyncStub,
    endpoint: str,
    trials: int,
    ticks: int,
    hold: bool,
) -> list[str]:
    """Start ``trials`` trials together; return their ids."""
    ids = game.new_trial_ids("floor", trials)
    params = game.trial_params(endpoint, ticks, hold)
    replies = await asyncio.gather(
        *(
            lifecycle.StartTrial(
                orchestrator_pb2.TrialStartRequest(
                    user_id="bench", trial_id_requested=trial_id, params=params
                )
            )
            for trial_id in ids
        )
    )
    refused = [i for i, reply in zip(ids, replies, strict=True) if reply.trial_id != i]
    if refused:
        raise RuntimeError(f"{len(refused)} trial(s) not started, e.g. {refused[0]}")
    return ids


def _lifecycle_target(orchestrator: str) -> str:
    prefix = "grpc://"
    if not orchestrator.startswith(prefix):
        raise ValueError(f"orchestrator endpoint [{orchestrator}]: expected grpc://host:port")
    return orchestrator[len(prefix) :]


async def main(settings_dir: str, orchestrator: str, workload: dict[str, Any]) -> None:
    sys.path.insert(0, settings_dir)
    game = Game(importlib.import_module("counting_pb2"))
    server = grpc.aio.server()
    environment_pb2_grpc.add_EnvironmentSPServicer_to_server(_Environments(game), server)
    agent_pb2_grpc.add_ServiceActorSPServicer_to_server(_Actors(game), server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    endpoint = f"grpc://127.0.0.1:{port}"
    channel = grpc.aio.insecure_channel(_lifecycle_target(orchestrator))
    lifecycle = orchestrator_pb2_grpc.TrialLifecycleSPStub(channel)

    async def start(trials: int, ticks: int, hold: bool) -> list[str]:
        return await _run_trials(game, lifecycle, endpoint, trials, ticks, hold)

    # Stricter than the SDK modes: a component error fails the run.
    await run_workload(game, start, workload, port, fail_on_errors=True)


if __name__ == "__main__":
    try:
        asyncio.run(main(sys.argv[1], sys.argv[2], json.loads(sys.argv[3])))
    except BaseException:
        traceback.print_exc()
        exit_now(1)
    exit_now(0)
