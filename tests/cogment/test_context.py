"""Context construction, registration, environment variables, directory registration and
discovery, Prometheus registries, and the deprecated forms."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest

import cogment
from cogment._endpoint_url import DiscoveryContext
from cogment._log import TRACE, make_logger
from cogment.api import directory_pb2
from cogment_services.directory import Directory
from cogment_services.orchestrator import Orchestrator
from tests.cogment._runtime_helpers import Action, Observation, make_settings, serving

pytestmark = pytest.mark.timeout(60)

SETTINGS = make_settings()


def test_context_needs_a_running_loop() -> None:
    with pytest.raises(cogment.CogmentError, match="running asyncio loop"):
        cogment.Context(user_id="u", cog_settings=SETTINGS)


async def test_context_arguments_and_environment_variables(monkeypatch: Any) -> None:
    with pytest.raises(cogment.CogmentError, match="user_id must be a str"):
        cogment.Context(user_id=3, cog_settings=SETTINGS)  # type: ignore[arg-type]
    monkeypatch.setenv("COGMENT_DIRECTORY_ENDPOINT", "grpc://dir.example:9005")
    monkeypatch.setenv("COGMENT_DIRECTORY_AUTHENTICATION_TOKEN", "secret")
    ctx = cogment.Context(user_id="u", cog_settings=None)
    assert not ctx.has_specs()
    assert ctx.served_port == 0
    assert ctx.asyncio_loop is asyncio.get_running_loop()
    directory = ctx.get_context_directory()
    assert directory is not None and directory.auth_token == "secret"
    assert "dir.example:9005" in directory.url
    await directory.close()
    monkeypatch.delenv("COGMENT_DIRECTORY_ENDPOINT")
    ctx = cogment.Context(user_id="u", cog_settings=SETTINGS)
    assert ctx.get_context_directory() is None
    with pytest.raises(cogment.CogmentError, match="needs a directory"):
        await ctx.get_controller()


async def test_registration_errors() -> None:
    ctx = cogment.Context(user_id="u", cog_settings=SETTINGS)

    async def impl(session: Any) -> None:
        pass

    with pytest.raises(cogment.CogmentError, match="not the string"):
        ctx.register_actor(impl, "a", "player")
    with pytest.raises(cogment.CogmentError, match="actor class \\[nope\\] is not in the specs"):
        ctx.register_actor(impl, "a", ["nope"])
    with pytest.raises(cogment.CogmentError, match="async function"):
        ctx.register_environment(42, "env")  # type: ignore[arg-type]
    ctx.register_pre_trial_hook(impl)
    with pytest.raises(cogment.CogmentError, match="Only one pre-trial hook"):
        ctx.register_pre_trial_hook(impl)
    ctx.register_datalog(impl)
    with pytest.raises(cogment.CogmentError, match="Only one datalog"):
        ctx.register_datalog(impl)
    with pytest.warns(DeprecationWarning, match="without actor_classes"):
        ctx.register_actor(impl, "every-class")
    assert ctx._actor_impls["every-class"].actor_classes == ["player", "referee"]
    with pytest.raises(cogment.CogmentError, match="nothing registered"):
        await cogment.Context(user_id="u", cog_settings=SETTINGS).serve_all_registered()


async def test_two_contexts_share_the_default_prometheus_registry() -> None:
    async def env(session: Any) -> None:
        pass

    first = cogment.Context(user_id="a", cog_settings=SETTINGS)
    second = cogment.Context(user_id="b", cog_settings=SETTINGS)
    for ctx in (first, second):
        ctx.register_environment(env, "env")
        ctx.register_actor(env, "act", ["player"])
    async with serving(first) as port1, serving(second) as port2:
        assert port1 != port2


async def test_deprecated_forms_warn_and_work() -> None:
    ctx = cogment.Context(user_id="u", cog_settings=SETTINGS)

    async def env(session: Any) -> None:
        pass

    ctx.register_environment(env, "env")
    with pytest.warns(DeprecationWarning, match="serve_all_registered\\(port\\)"):
        task = asyncio.create_task(ctx.serve_all_registered("0", host="127.0.0.1"))  # type: ignore[arg-type]
        port = await asyncio.wait_for(ctx.wait_for_serving(), 5)
    assert port > 0
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert ctx.served_port == 0

    ctx.register_actor(env, "player-impl", ["player"])
    with (
        pytest.warns(DeprecationWarning, match="impl_name"),
        pytest.raises(cogment.CogmentError, match="unknown implementation"),
    ):
        await ctx.join_trial("t", cogment.Endpoint("grpc://127.0.0.1:1"), impl_name="nope")

    obs = cogment.RecvObservation(1, 2, Observation(name="x"))
    with pytest.warns(DeprecationWarning, match="snapshot"):
        assert obs.snapshot is obs.observation

    session: cogment.ActorSession[Any, Any, Any] = cogment.ActorSession(
        "t", "p1", "impl", SETTINGS.actor_classes.player, "env", None
    )
    session.start()
    with pytest.warns(DeprecationWarning, match="to_environment"):
        session.send_message(Observation(), ["p2"], to_environment=True)
    sent: list[Any] = [session._outgoing.get_nowait() for _ in range(3)]
    assert [m.message.receiver_name for m in sent[1:]] == ["p2", "env"]
    session._finish(final=True)
    with pytest.warns(DeprecationWarning, match="event_loop"):
        events = [e async for e in session.event_loop()]
    assert [e.type for e in events] == [cogment.EventType.FINAL]


def test_log_levels(monkeypatch: Any) -> None:
    for text, level in [
        ("off", logging.CRITICAL),
        ("error", logging.ERROR),
        ("WARNING", logging.WARNING),
        ("info", logging.INFO),
        ("debug", logging.DEBUG),
        ("trace", TRACE),
    ]:
        monkeypatch.setenv("TEST_COGMENT_LEVEL", text)
        assert make_logger("cogment.test_levels", "TEST_COGMENT_LEVEL").level == level
    monkeypatch.delenv("TEST_COGMENT_LEVEL")
    assert make_logger("cogment.test_levels", "TEST_COGMENT_LEVEL").level == logging.INFO
    sdk = logging.getLogger("cogment.sdk")
    assert not sdk.handlers  # the library installs no handler
    assert cogment.make_logger is make_logger


def test_actor_class_list() -> None:
    classes = SETTINGS.actor_classes
    assert classes.player is classes["player"] is classes.get("player")
    assert "player" in classes and "nope" not in classes
    assert [c.name for c in classes] == ["player", "referee"]
    assert classes.get_class_by_index(1).name == "referee"
    assert classes.get("nope") is None
    with pytest.raises(KeyError, match="Unknown actor class \\[nope\\]"):
        classes["nope"]
    with pytest.raises(AttributeError, match="Unknown actor class \\[nope\\]"):
        _ = classes.nope
    assert classes.player.session_type is cogment.ActorSession
    assert cogment.actor.ActorClassList is cogment.ActorClassList  # published module name


async def test_everything_through_the_directory() -> None:
    """Services registered in the Directory by serve_all_registered; the orchestrator, the
    controller and the trial endpoints all found by discovery."""
    done = asyncio.Event()
    ticks: list[int] = []

    async def env(session: cogment.EnvironmentSession[Any, Any, Any]) -> None:
        session.start([("*", Observation())])
        async for event in session.all_events():
            if event.actions:
                ticks.append(event.actions[0].tick_id)
                if event.type == cogment.EventType.ENDING:
                    session.end([("*", Observation())])
                else:
                    session.produce_observations([("*", Observation())])
        done.set()

    async def player(session: cogment.ActorSession[Any, Any, Any]) -> None:
        session.start()
        async for event in session.all_events():
            if event.observation is not None and event.type == cogment.EventType.ACTIVE:
                session.do_action(Action())

    async with Directory(port=0) as directory:
        endpoint = cogment.Endpoint(directory.endpoint)
        ctx = cogment.Context(
            user_id="dir",
            cog_settings=SETTINGS,
            directory_endpoint=endpoint,
            directory_auth_token="tok",
        )
        ctx.register_environment(env, "env-impl", properties={"game": "test"})
        ctx.register_actor(player, "player-impl", ["player"])
        task = asyncio.create_task(
            ctx.serve_all_registered(
                cogment.ServedEndpoint(0), directory_registration_host="127.0.0.1", host="127.0.0.1"
            )
        )
        await asyncio.wait_for(ctx.wait_for_serving(), 5)
        async with Orchestrator(lifecycle_port=0, host="127.0.0.1") as orch:
            # Register the orchestrator's lifecycle service as it would do itself.
            lifecycle = cogment.Endpoint(orch.endpoint).parsed_url
            await ctx.get_context_directory().register(
                directory_pb2.RegisterRequest(
                    endpoint=directory_pb2.ServiceEndpoint(
                        protocol=directory_pb2.ServiceEndpoint.GRPC,
                        host=lifecycle.host,
                        port=lifecycle.port or 0,
                    ),
                    details=directory_pb2.ServiceDetails(
                        type=directory_pb2.TRIAL_LIFE_CYCLE_SERVICE
                    ),
                )
            )
            controller = await ctx.get_controller()  # cogment://discover
            served = f"grpc://127.0.0.1:{ctx.served_port}"
            env_url = await ctx._resolve(
                cogment.Endpoint("cogment://discover/environment?game=test"),
                DiscoveryContext.environment(),
            )
            actor_url = await ctx._resolve(
                cogment.Endpoint("cogment://discover"),
                DiscoveryContext.actor("player", "player-impl"),
            )
            assert env_url.url == actor_url.url == served
            with pytest.raises(cogment.CogmentError, match="No service found"):
                await ctx._resolve(
                    cogment.Endpoint("cogment://discover"), DiscoveryContext.actor("referee")
                )
            params = cogment.TrialParameters(
                SETTINGS,
                environment_endpoint=env_url.url,
                environment_implementation="env-impl",
                max_steps=2,
                actors=[
                    cogment.ActorParameters(
                        SETTINGS,
                        class_name="player",
                        name="p1",
                        endpoint=actor_url.url,
                        implementation="player-impl",
                    )
                ],
            )
            await controller.start_trial(trial_params=params)
            await asyncio.wait_for(done.wait(), 20)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        # deregistered when serving stopped: only the lifecycle entry is left
        with pytest.raises(cogment.CogmentError, match="No service found"):
            await ctx._resolve(
                cogment.Endpoint("cogment://discover/environment"), DiscoveryContext.environment()
            )
    assert ticks == [0, 1, 2]
