"""A full training loop over mutual TLS, with our SDK on every side.

Our Orchestrator runs a trial of 10 service actors and an environment (served by
``serve_all_registered`` with TLS) and logs it to our Trial Datastore; a "trainer" reads the
samples live with ``Datastore.all_samples`` while the trial runs and stores new iterations of a
model in our Model Registry as soon as every actor has acted with the previous one; the actors
follow the model with ``track_latest_model`` and say in each action which iteration they used.
The environment ends the trial once every actor acts with the last iteration. Afterwards the
stored trial is read back: every tick present, rewards and messages intact, same as live.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

import cogment
from cogment._controller import TrialState
from cogment._datastore import DatastoreSample
from cogment_services.model_registry import ModelRegistryServer
from cogment_services.orchestrator import Orchestrator
from cogment_services.trial_datastore import TrialDatastore
from tests.cogment._runtime_helpers import Action, Observation, PlayerConfig, make_settings
from tests.integration._pki import Pki, needs_openssl

pytestmark = [needs_openssl, pytest.mark.timeout(120)]

SETTINGS = make_settings()
ACTORS = [f"p{index}" for index in range(10)]
MODEL = "policy"
LAST_ITERATION = 3


def model_bytes(iteration: int) -> bytes:
    return f"weights-{iteration}:".encode() + bytes(range(256)) * 4


def decode_action(action: bytes | None) -> tuple[str, int] | None:
    """``(actor name, model iteration)`` from an action ``name|iteration|model prefix``."""
    if action is None:
        return None
    parsed = Action()
    parsed.ParseFromString(action)
    name, iteration, prefix = parsed.content.decode().split("|")
    assert prefix == f"weights-{iteration}:", "the actor got the model bytes of its iteration"
    return name, int(iteration)


def register(ctx: cogment.Context, registry: Any, env_log: list[int]) -> None:
    async def environment(session: cogment.EnvironmentSession[Any, Any, Any]) -> None:
        session.start([("*", Observation(name="0"))])
        async for event in session.all_events():
            if not event.actions:
                continue
            tick = event.actions[0].tick_id
            env_log.append(tick)
            iterations = set()
            for recv in event.actions:
                assert recv.action is not None
                _, iteration, _ = recv.action.content.decode().split("|")
                iterations.add(int(iteration))
            session.add_reward(float(tick), 1.0, ["player.*"])
            session.send_message(Observation(name=f"env@{tick}"), ["p0"])
            observations = [("*", Observation(name=str(tick + 1)))]
            if event.type == cogment.EventType.ENDING or iterations == {LAST_ITERATION}:
                session.end(observations)
            else:
                await asyncio.sleep(0.02)  # leave the trainer time to read live samples
                session.produce_observations(observations)

    async def player(session: cogment.ActorSession[Any, Any, Any]) -> None:
        latest = await registry.track_latest_model(MODEL, initial_wait=10)
        session.start()
        async for event in session.all_events():
            if event.observation is None or event.type != cogment.EventType.ACTIVE:
                continue
            model, info = await latest.get()
            assert model.startswith(f"weights-{info.iteration}:".encode())
            prefix = model.split(b":")[0].decode()
            session.do_action(Action(content=f"{session.name}|{info.iteration}|{prefix}:".encode()))
            if session.name == "p1":
                session.add_reward(0.5, 1.0, ["p2"])
                session.send_message(Observation(name=f"p1@{event.observation.tick_id}"), ["p3"])

    ctx.register_environment(environment, "env-impl")
    ctx.register_actor(player, "player-impl", ["player"])


@contextlib.asynccontextmanager
async def serving(ctx: cogment.Context, served: cogment.ServedEndpoint) -> AsyncIterator[int]:
    task = asyncio.create_task(ctx.serve_all_registered(served, host="127.0.0.1"))
    try:
        for _ in range(1000):
            if ctx.served_port != 0:
                break
            if task.done():
                task.result()
            await asyncio.sleep(0.01)
        else:
            raise TimeoutError("serve_all_registered did not start within 10 s")
        yield ctx.served_port
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def actions_iterations(sample: DatastoreSample) -> set[int]:
    decoded = [decode_action(data.action_serialized) for data in sample.actors_data.values()]
    return {entry[1] for entry in decoded if entry is not None}


async def test_trainer_actors_orchestrator_datastore_registry_over_mutual_tls(
    pki: Pki, tmp_path: Path
) -> None:
    tls = pki.server_tls(mutual=True)
    async with (
        TrialDatastore(port=0, file_storage=tmp_path / "trials.db", tls=tls) as datastore_service,
        ModelRegistryServer(port=0, archive_dir=tmp_path / "models", tls=tls) as registry_service,
        Orchestrator(lifecycle_port=0, host="127.0.0.1", tls=tls) as orchestrator,
    ):
        ctx = cogment.Context(user_id="trainer", cog_settings=SETTINGS)
        registry = await ctx.get_model_registry_v2(pki.endpoint(registry_service.endpoint))
        await registry.store_model(MODEL, model_bytes(1))
        env_log: list[int] = []
        register(ctx, registry, env_log)
        async with serving(ctx, pki.served_endpoint(mutual=True)) as port:
            url = f"grpc://127.0.0.1:{port}"
            params = cogment.TrialParameters(
                SETTINGS,
                environment_endpoint=url,
                environment_implementation="env-impl",
                datalog_endpoint=datastore_service.endpoint,
                properties={"loop": "integration"},
                max_steps=3000,  # a bound only: the environment ends the trial
                actors=[
                    cogment.ActorParameters(
                        SETTINGS,
                        class_name="player",
                        name=name,
                        endpoint=url,
                        implementation="player-impl",
                        config=PlayerConfig(content=name.encode()),
                    )
                    for name in ACTORS
                ],
            )
            controller = await ctx.get_controller(pki.endpoint(orchestrator.endpoint))
            trial_id = await controller.start_trial(trial_params=params)
            datastore = await ctx.get_datastore(pki.endpoint(datastore_service.endpoint))

            # The trainer, while the trial runs.
            infos = []
            async for info in datastore.all_trials(
                wait_for_trials=10, properties={"loop": "integration"}
            ):
                infos.append(info)
                break  # the next bundle would wait for a second trial
            assert [info.trial_id for info in infos] == [trial_id]
            # no sample yet (UNKNOWN) or running: in any case not ended
            assert infos[0].trial_state in (TrialState.UNKNOWN, TrialState.RUNNING)
            live: list[DatastoreSample] = []
            stored = 1

            async def train() -> None:
                nonlocal stored
                async for sample in datastore.all_samples(infos):
                    live.append(sample)
                    if actions_iterations(sample) == {stored} and stored < LAST_ITERATION:
                        stored += 1
                        await registry.store_model(MODEL, model_bytes(stored))

            await asyncio.wait_for(train(), 60)

            # After the end: the stored trial.
            infos = await datastore.get_trials(ids=[trial_id])
            assert infos[0].trial_state == TrialState.ENDED
            after = [sample async for sample in datastore.all_samples(infos)]

    assert stored == LAST_ITERATION
    ticks = [sample.tick_id for sample in after]
    assert ticks == list(range(len(after))), "every tick is stored, in order"
    assert infos[0].sample_count == len(after)
    assert env_log == ticks[: len(env_log)] and len(env_log) >= len(after) - 2
    assert [s.tick_id for s in live] == ticks, "the live read saw every tick too"
    assert [s.trial_state for s in after][-1] == TrialState.ENDED
    # The actors saw the trainer's iterations in order, all of them, without going back.
    seen = [actions_iterations(s) for s in after if actions_iterations(s)]
    firsts = [min(its) for its in seen]
    assert firsts == sorted(firsts) and seen[0] == {1} and seen[-1] == {LAST_ITERATION}
    assert {2} in seen  # the trainer stored the last iteration only after seeing this
    for sample, live_sample in zip(after, live, strict=True):
        for name in ACTORS:
            data, live_data = sample.actors_data[name], live_sample.actors_data[name]
            assert data.action_serialized == live_data.action_serialized
            decoded = decode_action(data.action_serialized)
            assert decoded is None or decoded[0] == name
    # Rewards: the environment's (tick value) to every player, p1's 0.5 to p2.
    assert [s.tick_id for s in after[:-1]] == env_log
    for sample in after[:-1]:
        tick = sample.tick_id
        for name in ACTORS:
            received = sorted(
                (r.sender, r.value) for r in sample.actors_data[name].all_received_rewards()
            )
            expected = [("env", float(tick))] + ([("p1", 0.5)] if name == "p2" else [])
            assert received == sorted(expected), (tick, name, received)
    # Messages: the environment's to p0 and p1's to p3, with their payloads.
    to_p0 = [
        (m.sender, m.payload) for s in after for m in s.actors_data["p0"].all_received_messages()
    ]
    expected_ticks = env_log  # every tick the environment saw actions, the ending one too
    payloads = []
    for sender, payload in to_p0:
        assert sender == "env" and payload is not None
        unpacked = Observation()
        payload.Unpack(unpacked)
        payloads.append(unpacked.name)
    assert payloads == [f"env@{tick}" for tick in expected_ticks]
    to_p3 = [m.sender for s in after for m in s.actors_data["p3"].all_received_messages()]
    assert to_p3 and set(to_p3) == {"p1"}
