# mypy: ignore-errors
"""Trial peers for the Controller end-to-end tests, run with the PUBLISHED cogment SDK 2.10.1.

Serves on one port: the environment ``ticker`` (one observation per tick, ``EnvConfig.tick_delay``
seconds per tick), the actor ``echo`` (class ``player``: acts with the observed tick) and a pre-trial
hook (with a trial config: properties ``tag``, ``max_steps = steps``, after ``hook_delay`` seconds).
Prints ``READY <port>`` on stdout once serving, and stops when stdin closes.

Usage: python peers.py <dir holding cog_settings.py and controller_peers_pb2.py>
"""

import asyncio
import os
import sys

sys.path.insert(0, sys.argv[1])

import cog_settings
import controller_peers_pb2 as data_pb2

import cogment


async def ticker(session):
    delay = session.config.tick_delay if session.config is not None else 0.0
    session.start([("*", data_pb2.Observation(tick=0))])
    async for event in session.all_events():
        if not event.actions:
            continue
        if delay:
            await asyncio.sleep(delay)
        tick = session.get_tick_id() + 1
        observations = [("*", data_pb2.Observation(tick=tick))]
        if event.type == cogment.EventType.ENDING:
            session.end(observations)
        else:
            session.produce_observations(observations)


async def echo(session):
    session.start()
    async for event in session.all_events():
        if event.observation is not None and event.type == cogment.EventType.ACTIVE:
            session.do_action(data_pb2.Action(value=event.observation.observation.tick))


async def hook(session):
    config = session.trial_parameters.config
    if config is None:
        return
    if config.hook_delay:
        await asyncio.sleep(config.hook_delay)
    session.trial_parameters.properties = {"tag": config.tag, "user": session.get_user_id()}
    session.trial_parameters.max_steps = config.steps


async def main():
    context = cogment.Context(user_id="peers", cog_settings=cog_settings, prometheus_registry=None)
    context.register_environment(impl=ticker, impl_name="ticker")
    context.register_actor(impl=echo, impl_name="echo", actor_classes=["player"])
    context.register_pre_trial_hook(impl=hook)
    serving = asyncio.create_task(context.serve_all_registered(cogment.ServedEndpoint(port=0)))
    while context.served_port == 0:
        if serving.done():
            serving.result()
        await asyncio.sleep(0.05)
    print(f"READY {context.served_port}", flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    os._exit(0)  # stdin closed: the test is over (no graceful gRPC shutdown needed)


asyncio.run(main())
