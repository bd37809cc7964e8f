"""Run in a subprocess by ``test_end_to_end.py``: a real trial (embedded Orchestrator, served
environment and actors) with the generated package of the ``several_classes`` golden case
(``sys.argv[1]`` holds it). Prints, as JSON, the classes of what each implementation received.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections import defaultdict

sys.path.insert(0, sys.argv[1])

import cog_settings
from cog_settings import match_pb2 as m

import cogment
from cogment_services.orchestrator import Orchestrator

seen: dict[str, set[str]] = defaultdict(set)


def note(key: str, value: object) -> None:
    seen[key].add(type(value).__name__)


async def player(session: cog_settings.PlayerSession) -> None:
    note("player.session", session)
    note("player.config", session.config)
    session.start()
    async for event in session.all_events():
        if event.observation is not None:
            observation = event.observation.observation
            note("player.observation", observation)
            session.do_action(m.PlayerAction(move=observation.round))


async def referee(session: cog_settings.RefereeSession) -> None:
    note("referee.session", session)
    note("referee.config", session.config)
    session.start()
    async for event in session.all_events():
        if event.observation is not None:
            observation = event.observation.observation
            note("referee.observation", observation)
            session.do_action(m.RefereeAction(foul=len(observation.scores) > 5, reason="r"))


async def spectator(session: cog_settings.SpectatorSession) -> None:
    note("spectator.session", session)
    session.start()
    async for event in session.all_events():
        if event.observation is not None:
            note("spectator.observation", event.observation.observation)
            session.do_action(None)


async def main() -> None:
    finished = asyncio.Event()

    async def environment(session: cog_settings.EnvironmentSession) -> None:
        note("environment.session", session)
        note("environment.config", session.config)
        actors = session.get_active_actors()

        def observations(round_: int) -> list[tuple[str, cog_settings.EnvironmentObservation]]:
            return [
                (
                    actor.actor_name,
                    m.RefereeObservation(scores=[round_])
                    if actor.actor_class_name == "referee"
                    else m.Observation(score=round_, round=round_),
                )
                for actor in actors
            ]

        session.start(observations(0))
        rounds = 0
        async for event in session.all_events():
            if not event.actions:
                continue
            rounds += 1
            for received in event.actions:
                class_name = actors[received.actor_index].actor_class_name
                narrowed = getattr(session, f"{class_name}_action")(received)
                note(f"environment.{class_name}_action", narrowed)
            target = session.config.target if session.config is not None else 1
            if rounds >= target:
                session.end(observations(rounds))
            else:
                session.produce_observations(observations(rounds))
        finished.set()

    context = cogment.Context(user_id="e2e", cog_settings=cog_settings, prometheus_registry=None)
    context.register_environment(environment, "env")
    context.register_actor(player, "player", [cog_settings.actor_classes.player])
    context.register_actor(referee, "referee", [cog_settings.actor_classes.referee])
    context.register_actor(spectator, "spectator", [cog_settings.actor_classes.spectator])
    async with Orchestrator(lifecycle_port=0, host="127.0.0.1") as orchestrator:
        server = asyncio.create_task(
            context.serve_all_registered(cogment.ServedEndpoint(0), host="127.0.0.1")
        )
        try:
            url = f"grpc://127.0.0.1:{await context.wait_for_serving()}"
            controller = await context.get_controller(cogment.Endpoint(orchestrator.endpoint))
            params = cog_settings.trial_parameters(
                config=m.TrialConfig(rounds=3),
                environment_config=m.EnvConfig(target=3),
                environment_name="env",
                environment_endpoint=url,
                environment_implementation="env",
                actors=[
                    cog_settings.player_parameters(
                        name="p",
                        endpoint=url,
                        implementation="player",
                        config=m.PlayerConfig(style="bold"),
                    ),
                    cog_settings.referee_parameters(
                        name="r",
                        endpoint=url,
                        implementation="referee",
                        config=m.RefereeConfig(strict=True),
                    ),
                    cog_settings.spectator_parameters(
                        name="s", endpoint=url, implementation="spectator"
                    ),
                ],
            )
            trial_id = await cog_settings.start_trial(controller, trial_params=params)
            assert trial_id
            await asyncio.wait_for(finished.wait(), 30)
        finally:
            server.cancel()
    print(json.dumps({key: sorted(value) for key, value in sorted(seen.items())}))


asyncio.run(main())
