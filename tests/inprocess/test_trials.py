"""Trials run in-process: ``context.embedded_orchestrator()`` with the Context's components.

Run: ``.venv/bin/python -m pytest tests/inprocess -q``.
"""

from __future__ import annotations

import asyncio
import os
import socket
from collections import defaultdict
from collections.abc import AsyncIterator, Callable
from types import SimpleNamespace
from typing import Any

import grpc
import pytest

import cogment
from cogment_services.orchestrator import Orchestrator
from cogment_services.orchestrator._trial import ENDED

pytestmark = pytest.mark.timeout(30)


class Game:
    """A recording environment and player/referee actors, steered by flags."""

    def __init__(self, pb2: Any) -> None:
        self.pb2 = pb2
        self.records: dict[str, list[Any]] = defaultdict(list)
        self.finished: dict[str, asyncio.Event] = defaultdict(asyncio.Event)
        self.env_messages_at: int | None = None
        self.reward_from: str | None = None
        self.raise_in_env_at: int | None = None
        self.end_at: int | None = None
        self.mutate_received: str | None = None
        self.mutate_sent = False

    def observations(self, session: Any, tick: int) -> list[tuple[str, Any]]:
        pb2 = self.pb2
        out: list[tuple[str, Any]] = []
        for actor in session.get_active_actors():
            if actor.actor_class_name == "referee":
                out.append((actor.actor_name, pb2.RefereeObservation(step=tick, scores=["a"])))
            else:
                out.append((actor.actor_name, pb2.PlayerObservation(step=tick, seen="x")))
        return out

    async def environment(self, session: Any) -> None:
        rec = self.records["env"]
        try:
            shared = self.pb2.PlayerObservation(step=0, seen="shared")
            session.start([("*", shared)] if self.mutate_sent else self.observations(session, 0))
            if self.mutate_sent:
                shared.step = 999  # after sending: nobody may see it
            async for event in session.all_events():
                rec.append(("event", event.type.name))
                for message in event.messages:
                    rec.append(("message", message.sender_name, message.payload.type_url))
                if not event.actions:
                    continue
                tick = event.actions[0].tick_id
                rec.append(
                    ("actions", tick, [(a.actor_index, a.status.name) for a in event.actions])
                )
                if self.raise_in_env_at == tick:
                    raise RuntimeError("environment failure on purpose")
                if self.env_messages_at == tick:
                    session.send_message(self.pb2.PlayerConfig(strength=7), ["p1"])
                if self.reward_from == "env":
                    session.add_reward(1.5, 1.0, ["*"])
                observations = self.observations(session, tick + 1)
                if event.type == cogment.EventType.ENDING or self.end_at == tick:
                    session.end(observations)
                else:
                    session.produce_observations(observations)
        finally:
            rec.append(("exit",))
            self.finished["env"].set()

    async def actor(self, session: Any) -> None:
        name = session.name
        rec = self.records[name]
        pb2 = self.pb2
        try:
            session.start()
            async for event in session.all_events():
                for reward in event.rewards:
                    rec.append(("reward", reward.tick_id, reward.value))
                for message in event.messages:
                    rec.append(("message", message.sender_name, message.payload.type_url))
                if event.observation is None:
                    rec.append(("event", event.type.name))
                    continue
                observation = event.observation.observation
                rec.append(("observation", event.type.name, observation.step))
                if self.mutate_received == name:
                    observation.step = -1
                if event.type != cogment.EventType.ACTIVE:
                    continue
                if self.reward_from == name:
                    session.add_reward(2.0, 1.0, ["p1"])
                if session.class_name == "referee":
                    session.do_action(pb2.RefereeAction(whistle=True))
                    session.send_message(pb2.PlayerConfig(strength=1), [session.env_name])
                else:
                    session.do_action(pb2.PlayerAction(move=observation.step))
        finally:
            rec.append(("exit",))
            self.finished[name].set()


def _register(context: cogment.Context, game: Game) -> None:
    context.register_environment(impl=game.environment, impl_name="env")
    context.register_actor(impl=game.actor, impl_name="plays", actor_classes=["player"])
    context.register_actor(impl=game.actor, impl_name="judges", actor_classes=["referee"])


@pytest.fixture
async def setup(spec: SimpleNamespace) -> AsyncIterator[tuple[cogment.Context, Game]]:
    context = cogment.Context(user_id="inprocess", cog_settings=spec.settings)
    game = Game(spec.pb2)
    _register(context, game)
    yield context, game


def _params(
    spec: SimpleNamespace,
    endpoint: str,
    actors: list[tuple[str, str, str]],
    *,
    max_steps: int = 3,
    **extra: Any,
) -> Any:
    settings = spec.settings
    return cogment.TrialParameters(
        settings,
        environment_name="env",
        environment_endpoint=endpoint,
        environment_implementation="env",
        max_steps=max_steps,
        max_inactivity=0,
        actors=[
            cogment.ActorParameters(
                settings,
                name=name,
                class_name=class_name,
                endpoint=actor_endpoint,
                **{
                    "implementation": "judges" if class_name == "referee" else "plays",
                    **extra.get(name, {}),
                },
            )
            for name, class_name, actor_endpoint in actors
        ],
    )


async def _until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    async def poll() -> None:
        while not condition():  # noqa: ASYNC110 (the orchestrator's state has no event)
            await asyncio.sleep(0.001)

    await asyncio.wait_for(poll(), timeout)


def _tick(orch: Orchestrator, trial_id: str) -> int:
    trial = orch.get_trial(trial_id)
    return -1 if trial is None else trial.tick_id


def _state(orch: Orchestrator, trial_id: str) -> int | None:
    trial = orch.get_trial(trial_id)
    return None if trial is None else trial.state


async def _wait_ended(orch: Orchestrator, trial_id: str, game: Game, who: list[str]) -> Any:
    await _until(lambda: _state(orch, trial_id) == ENDED)
    await asyncio.wait_for(asyncio.gather(*(game.finished[w].wait() for w in who)), 10)
    return orch.get_trial(trial_id)


def _observed(game: Game, name: str) -> list[tuple[str, int]]:
    return [(r[1], r[2]) for r in game.records[name] if r[0] == "observation"]


INPROC = "grpc://inprocess:1"


async def test_basic_trial(spec: SimpleNamespace, setup: tuple[cogment.Context, Game]) -> None:
    context, game = setup
    async with context.embedded_orchestrator() as orch:
        assert orch.components_endpoint == INPROC
        controller = orch.get_controller()
        actors = [("p1", "player", INPROC), ("p2", "player", INPROC), ("ref", "referee", INPROC)]
        trial_id = await controller.start_trial(
            trial_params=_params(spec, INPROC, actors), trial_id_requested="basic"
        )
        assert trial_id == "basic"
        trial = await _wait_ended(orch, trial_id, game, ["env", "p1", "p2", "ref"])
        assert trial.end_reason == "Maximum number of steps reached"
        [info] = await controller.get_trial_info([trial_id])
        assert info.state == cogment.TrialState.ENDED
    # max_steps=3: the actions of ticks 0..3, the last set ENDING; observations 0..4.
    env = game.records["env"]
    sets = [(r[1], e) for r, e in zip(env[1:], env[:-1], strict=True) if r[0] == "actions"]
    assert sets == [
        (0, ("event", "ACTIVE")),
        (1, ("event", "ACTIVE")),
        (2, ("event", "ACTIVE")),
        (3, ("event", "ENDING")),
    ]
    assert next(r for r in env if r[0] == "actions")[2] == [
        (0, "ACTIVE"),
        (1, "ACTIVE"),
        (2, "ACTIVE"),
    ]
    for name in ("p1", "p2", "ref"):
        assert _observed(game, name) == [
            ("ACTIVE", 0),
            ("ACTIVE", 1),
            ("ACTIVE", 2),
            ("ACTIVE", 3),
            ("ENDING", 4),
        ]
        assert game.records[name][-2:] == [("event", "FINAL"), ("exit",)]
    # The referee's messages to the environment arrived (one per tick it acted on).
    env_messages = [r for r in game.records["env"] if r[0] == "message"]
    assert len(env_messages) == 4
    assert {m[1] for m in env_messages} == {"ref"}
    assert game.records["env"][-2:] == [("event", "FINAL"), ("exit",)]


async def test_rewards_and_messages(
    spec: SimpleNamespace, setup: tuple[cogment.Context, Game]
) -> None:
    context, game = setup
    game.reward_from = "p2"
    game.env_messages_at = 1
    async with context.embedded_orchestrator() as orch:
        controller = orch.get_controller()
        actors = [("p1", "player", INPROC), ("p2", "player", INPROC)]
        trial_id = await controller.start_trial(trial_params=_params(spec, INPROC, actors))
        await _wait_ended(orch, trial_id, game, ["env", "p1", "p2"])
    rewards = [r for r in game.records["p1"] if r[0] == "reward"]
    assert [r[1] for r in rewards] == [0, 1, 2, 3]
    assert all(r[2] == 2.0 for r in rewards)
    assert not [r for r in game.records["p2"] if r[0] == "reward"]
    messages = [r for r in game.records["p1"] if r[0] == "message"]
    assert messages == [("message", "env", "type.googleapis.com/conformance.PlayerConfig")]


async def test_soft_and_hard_termination(
    spec: SimpleNamespace, setup: tuple[cogment.Context, Game]
) -> None:
    context, game = setup
    async with context.embedded_orchestrator() as orch:
        controller = orch.get_controller()
        actors = [("p1", "player", INPROC)]
        soft = await controller.start_trial(trial_params=_params(spec, INPROC, actors, max_steps=0))
        await _until(lambda: _tick(orch, soft) >= 3)
        await controller.terminate_trial([soft])
        trial = await _wait_ended(orch, soft, game, ["env", "p1"])
        assert trial.end_reason == "End requested"
        assert game.records["p1"][-2:] == [("event", "FINAL"), ("exit",)]
        assert _observed(game, "p1")[-1][0] == "ENDING"

        for key in ("env", "p1"):
            game.finished[key].clear()
            game.records[key].clear()
        hard = await controller.start_trial(trial_params=_params(spec, INPROC, actors, max_steps=0))
        await _until(lambda: _tick(orch, hard) >= 2)
        await controller.terminate_trial([hard], hard=True)
        [info] = await controller.get_trial_info([hard])
        assert info.state in (cogment.TrialState.TERMINATING, cogment.TrialState.ENDED)
        trial = await _wait_ended(orch, hard, game, ["env", "p1"])
        assert trial.end_reason == "Externally requested"
        # A hard end: no ENDING and no FINAL event.
        assert all(r[1] == "ACTIVE" for r in game.records["p1"] if r[0] == "observation")
        assert ("event", "FINAL") not in game.records["p1"]


async def test_environment_ends_and_environment_failure(
    spec: SimpleNamespace, setup: tuple[cogment.Context, Game]
) -> None:
    context, game = setup
    game.end_at = 1
    async with context.embedded_orchestrator() as orch:
        controller = orch.get_controller()
        actors = [("p1", "player", INPROC)]
        trial_id = await controller.start_trial(
            trial_params=_params(spec, INPROC, actors, max_steps=0)
        )
        trial = await _wait_ended(orch, trial_id, game, ["env", "p1"])
        assert trial.end_reason == "Environment ended trial"
        assert _observed(game, "p1") == [("ACTIVE", 0), ("ACTIVE", 1), ("ENDING", 2)]

        game.end_at = None
        game.raise_in_env_at = 1
        for key in ("env", "p1"):
            game.finished[key].clear()
        trial_id = await controller.start_trial(
            trial_params=_params(spec, INPROC, actors, max_steps=0)
        )
        trial = await _wait_ended(orch, trial_id, game, ["env", "p1"])
        assert trial.end_reason.startswith("Environment stream failure")
        assert "environment failure on purpose" in trial.end_reason


async def test_optional_actor_missing_implementation(
    spec: SimpleNamespace, setup: tuple[cogment.Context, Game]
) -> None:
    context, game = setup
    async with context.embedded_orchestrator() as orch:
        controller = orch.get_controller()
        # ``referee`` is served only by ``judges``, removed: the component refuses the actor,
        # which is optional.
        context._actor_impls.pop("judges")
        params = _params(
            spec,
            INPROC,
            [("p1", "player", INPROC), ("ghost", "referee", INPROC)],
            ghost={"optional": True},
        )
        trial_id = await controller.start_trial(trial_params=params)
        trial = await _wait_ended(orch, trial_id, game, ["env", "p1"])
        assert trial.end_reason == "Maximum number of steps reached"
    action_sets = [r[2] for r in game.records["env"] if r[0] == "actions"]
    assert action_sets[0] == [(0, "ACTIVE"), (1, "UNAVAILABLE")]


async def test_required_actor_failing_ends_the_trial(
    spec: SimpleNamespace, setup: tuple[cogment.Context, Game]
) -> None:
    context, _game = setup
    context._actor_impls.pop("judges")
    async with context.embedded_orchestrator() as orch:
        controller = orch.get_controller()
        params = _params(spec, INPROC, [("p1", "player", INPROC), ("ref", "referee", INPROC)])
        trial_id = await controller.start_trial(trial_params=params)
        await _until(lambda: _state(orch, trial_id) == ENDED)
        trial = orch.get_trial(trial_id)
        assert trial is not None
        assert trial.end_reason == "Failed to initialize all actors"


async def test_client_actor_joins_in_process(
    spec: SimpleNamespace, setup: tuple[cogment.Context, Game]
) -> None:
    context, game = setup
    async with context.embedded_orchestrator() as orch:
        controller = orch.get_controller()
        params = _params(
            spec, INPROC, [("p1", "player", INPROC), ("c1", "player", "cogment://client")]
        )
        trial_id = await controller.start_trial(trial_params=params)
        await asyncio.wait_for(context.join_trial(trial_id, actor_name="c1"), 10)
        trial = await _wait_ended(orch, trial_id, game, ["env", "p1", "c1"])
        assert trial.end_reason == "Maximum number of steps reached"
        assert _observed(game, "c1")[-1] == ("ENDING", 4)
        with pytest.raises(cogment.CogmentError, match="unknown trial"):
            await context.join_trial("no-such-trial", actor_name="c1")


async def test_mixed_inprocess_grpc_actor_and_remote_client_actor(
    spec: SimpleNamespace, setup: tuple[cogment.Context, Game]
) -> None:
    """In-process environment and actor, an actor served over gRPC by another Context, and a
    client actor of that other Context joining over gRPC."""
    context, game = setup
    remote_game = Game(spec.pb2)
    remote = cogment.Context(user_id="remote", cog_settings=spec.settings)
    _register(remote, remote_game)
    serving = asyncio.ensure_future(
        remote.serve_all_registered(cogment.ServedEndpoint(port=0), host="127.0.0.1")
    )
    try:
        port = await asyncio.wait_for(remote.wait_for_serving(), 10)
        remote_url = f"grpc://127.0.0.1:{port}"
        async with context.embedded_orchestrator(lifecycle_port=0, host="127.0.0.1") as orch:
            controller = orch.get_controller()
            actors = [
                ("p1", "player", INPROC),
                ("p2", "player", remote_url),
                ("c1", "player", "cogment://client"),
            ]
            trial_id = await controller.start_trial(trial_params=_params(spec, INPROC, actors))
            joined = asyncio.ensure_future(
                remote.join_trial(trial_id, cogment.Endpoint(orch.actor_endpoint), actor_name="c1")
            )
            await _wait_ended(orch, trial_id, game, ["env", "p1"])
            await asyncio.wait_for(remote_game.finished["p2"].wait(), 10)
            await asyncio.wait_for(joined, 10)
        for records, name in ((game, "p1"), (remote_game, "p2"), (remote_game, "c1")):
            assert _observed(records, name) == [
                ("ACTIVE", 0),
                ("ACTIVE", 1),
                ("ACTIVE", 2),
                ("ACTIVE", 3),
                ("ENDING", 4),
            ], name
        assert not game.records["p2"] and not game.records["c1"]
    finally:
        serving.cancel()
        await asyncio.gather(serving, return_exceptions=True)


async def test_received_objects_are_not_shared(
    spec: SimpleNamespace, setup: tuple[cogment.Context, Game]
) -> None:
    """One observation sent to two actors: each gets its own object (p1 changing its copy does
    not change p2's), and the environment changing it after sending changes nothing."""
    context, game = setup
    game.mutate_received = "p1"
    game.mutate_sent = True
    async with context.embedded_orchestrator() as orch:
        controller = orch.get_controller()
        actors = [("p1", "player", INPROC), ("p2", "player", INPROC)]
        trial_id = await controller.start_trial(trial_params=_params(spec, INPROC, actors))
        await _wait_ended(orch, trial_id, game, ["env", "p1", "p2"])
    assert _observed(game, "p1")[0] == ("ACTIVE", 0)
    assert _observed(game, "p2")[0] == ("ACTIVE", 0)


def _socket_count() -> int:
    count = 0
    for fd in os.listdir("/proc/self/fd"):
        try:
            if os.readlink(f"/proc/self/fd/{fd}").startswith("socket:"):
                count += 1
        except OSError:
            pass
    return count


async def test_pure_inprocess_trial_opens_no_socket(
    spec: SimpleNamespace, setup: tuple[cogment.Context, Game], monkeypatch: pytest.MonkeyPatch
) -> None:
    context, game = setup

    def refuse(what: str) -> Callable[..., Any]:
        def refused(*args: Any, **kwargs: Any) -> Any:
            raise AssertionError(f"{what} called in a pure in-process trial")

        return refused

    for name in ("server", "insecure_channel", "secure_channel"):
        monkeypatch.setattr(grpc.aio, name, refuse(f"grpc.aio.{name}"))
    monkeypatch.setattr(socket, "socket", refuse("socket.socket"))
    before = _socket_count()
    async with context.embedded_orchestrator() as orch:
        assert orch.lifecycle_port == 0 and orch.actor_port == 0
        controller = orch.get_controller()
        actors = [("p1", "player", INPROC), ("c1", "player", "cogment://client")]
        trial_id = await controller.start_trial(trial_params=_params(spec, INPROC, actors))
        await context.join_trial(trial_id, actor_name="c1")
        await _wait_ended(orch, trial_id, game, ["env", "p1", "c1"])
        assert _socket_count() <= before
        watched = []
        async for info in controller.watch_trials([cogment.TrialState.ENDED]):
            watched.append(info.trial_id)
            break
        assert watched == [trial_id]
    assert _socket_count() <= before


async def test_start_refusals_and_one_orchestrator_per_context(
    spec: SimpleNamespace, setup: tuple[cogment.Context, Game]
) -> None:
    context, _game = setup
    async with context.embedded_orchestrator() as orch:
        controller = orch.get_controller()
        params = _params(spec, INPROC, [("p1", "player", INPROC), ("p1", "player", INPROC)])
        with pytest.raises(cogment.CogmentError, match="duplicate actor name"):
            await controller.start_trial(trial_params=params)
        with pytest.raises(cogment.CogmentError, match="already has an embedded Orchestrator"):
            async with context.embedded_orchestrator():
                pass
        versions = await controller.get_remote_versions()
        assert versions["cogment"] == "2.22.0"
    # Stopped: a new one can start.
    async with context.embedded_orchestrator():
        pass


async def test_stopping_the_orchestrator_ends_running_trials(
    spec: SimpleNamespace, setup: tuple[cogment.Context, Game]
) -> None:
    context, game = setup
    async with context.embedded_orchestrator() as orch:
        controller = orch.get_controller()
        params = _params(
            spec,
            INPROC,
            [("p1", "player", INPROC), ("c1", "player", "cogment://client")],
            max_steps=0,
        )
        running = await controller.start_trial(trial_params=params)
        waiting = await controller.start_trial(trial_params=params)  # c1 never joins
        joined = asyncio.ensure_future(context.join_trial(running, actor_name="c1"))
        await _until(lambda: _tick(orch, running) >= 5)
    # Leaving the block hard-ends both trials; every component returns.
    for trial_id in (running, waiting):
        trial = orch.get_trial(trial_id)
        assert trial is not None and trial.state == ENDED
        assert trial.end_reason == "Orchestrator shutting down"
    await asyncio.wait_for(joined, 5)
    await asyncio.wait_for(
        asyncio.gather(*(game.finished[w].wait() for w in ("env", "p1", "c1"))), 5
    )
    assert context._inprocess is None
