"""Helpers for the runtime tests: small specs built from the wire messages, serving a context."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from types import SimpleNamespace
from typing import Any

import grpc

import cogment
from cogment.api import common_pb2

EOF: Any = grpc.aio.EOF  # type: ignore[attr-defined]


def open_stream(method: Any, trial_id: str | None = None) -> Any:
    """Open a bidirectional stream call (the orchestrator's side) with ``trial-id`` metadata."""
    if trial_id is None:
        return method()
    return method(metadata=(("trial-id", trial_id),))


# Spaces for the tests: any protobuf message works.
Observation = common_pb2.TrialActor  # fields: name, actor_class
Action = common_pb2.SerializedMessage  # field: content
PlayerConfig = common_pb2.ActorConfig  # field: content
EnvConfig = common_pb2.EnvironmentConfig
TrialConfig = common_pb2.TrialConfig


def make_settings(session_type: type[Any] | None = None) -> Any:
    """A ``cog_settings`` in the published generator's format (classes ``player``, ``referee``)."""
    if session_type is None:
        player = cogment.ActorClass("player", PlayerConfig, Action, Observation)
    else:
        player = cogment.ActorClass(
            "player", PlayerConfig, Action, Observation, session_type=session_type
        )
    referee = cogment.ActorClass("referee", None, Action, Observation)
    return SimpleNamespace(
        actor_classes=cogment.ActorClassList(player, referee),
        trial=SimpleNamespace(config_type=TrialConfig),
        environment=SimpleNamespace(config_type=EnvConfig),
    )


@contextlib.asynccontextmanager
async def serving(context: cogment.Context, timeout: float = 5.0) -> AsyncIterator[int]:
    """Run ``serve_all_registered`` on 127.0.0.1 (free port) and yield the port."""
    task = asyncio.create_task(
        context.serve_all_registered(cogment.ServedEndpoint(0), host="127.0.0.1")
    )
    try:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while context.served_port == 0:
            if task.done():
                task.result()
            if loop.time() > deadline:
                raise TimeoutError("serve_all_registered did not start")
            await asyncio.sleep(0.01)
        yield context.served_port
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def run_one_actor_trial(
    settings: Any,
    environment: Any,
    player: Any,
    done: list[asyncio.Event],
    *,
    user_id: str,
    max_steps: int = 0,
    timeout: float = 30.0,
) -> None:
    """One trial over gRPC on an embedded Orchestrator: ``environment`` and one ``player`` actor
    named ``p1``, served by one Context on 127.0.0.1; returns once every ``done`` event is set
    (``max_steps`` 0: no limit)."""
    from cogment_services.orchestrator import Orchestrator

    async with Orchestrator(lifecycle_port=0, host="127.0.0.1") as orch:
        ctx = cogment.Context(user_id=user_id, cog_settings=settings)
        ctx.register_environment(environment, "env-impl")
        ctx.register_actor(player, "player-impl", ["player"])
        async with serving(ctx) as port:
            url = f"grpc://127.0.0.1:{port}"
            params = cogment.TrialParameters(
                settings,
                environment_endpoint=url,
                environment_implementation="env-impl",
                max_steps=max_steps,
                actors=[
                    cogment.ActorParameters(
                        settings,
                        class_name="player",
                        name="p1",
                        endpoint=url,
                        implementation="player-impl",
                    )
                ],
            )
            controller = await ctx.get_controller(cogment.Endpoint(orch.endpoint))
            assert await controller.start_trial(trial_params=params)
            await asyncio.wait_for(asyncio.gather(*(event.wait() for event in done)), timeout)
