# mypy: ignore-errors
# (runs with the PUBLISHED cogment SDK 2.10.1 in its Python 3.10 venv, not with ours)
"""Scenario driver run with the PUBLISHED cogment SDK 2.10.1 (Python 3.10 oracle venv).

It serves, on one port, an environment (``env``), actors (``agent``), a pre-trial hook and a
datalog, all recording what they see, and runs controller / client-actor scenarios on request.

Protocol: prints ``READY <port>`` then reads JSON commands, one per line, on stdin:
``{"id": 1, "cmd": "run_trial", "args": {...}}``; answers ``{"id": 1, "ok": true, "result": ...}``
(or ``"ok": false, "error": "..."``) on stdout, one per line. Commands run concurrently.

Usage: python driver.py <dir containing cog_settings.py and data_pb2.py>
"""

import asyncio
import json
import os
import sys
import time
import traceback

sys.path.insert(0, sys.argv[1])

import cog_settings
import data_pb2

import cogment
from cogment.endpoints import Endpoint, ServedEndpoint

RECORDS = {}  # trial_id -> {"env": {...}, actor_name: {...}, "datalog": [...], "hooks": [...]}
PORT = 0
HOOK_CALLS = []


def rec(trial_id):
    return RECORDS.setdefault(trial_id, {"done": {}})


def status_name(action):
    return str(action.status).split(".")[-1]


# --------------------------------------------------------------------------- environment


async def environment(session):
    trial_id = session.get_trial_id()
    config = session.config
    mode = config.mode if config is not None else ""
    end_at = config.end_at if config is not None else 0
    r = rec(trial_id)
    env = r["env"] = {
        "actors": [(a.actor_name, a.actor_class_name) for a in session.get_active_actors()],
        "ticks": [],
        "messages": [],
        "event_types": [],
        "name": session.name,
    }
    try:
        actors = session.get_active_actors()
        if mode == "no_start":
            await asyncio.sleep(30)
            return
        session.start([("*", data_pb2.Observation(tick=0))])
        async for event in session.all_events():
            etype = str(event.type).split(".")[-1]
            if etype not in env["event_types"]:
                env["event_types"].append(etype)
            for message in event.messages:
                note = data_pb2.Note()
                message.payload.Unpack(note)
                env["messages"].append((message.sender_name, note.text, etype))
            if not event.actions:
                continue
            tick = event.actions[0].tick_id
            env["ticks"].append(
                {
                    "tick": session.get_tick_id(),
                    "type": etype,
                    "actions": [
                        (status_name(a), a.action.value if a.action is not None else None)
                        for a in event.actions
                    ],
                }
            )
            if mode == "raise_at_2" and tick >= 2:
                raise RuntimeError("environment raises on purpose")
            if mode == "rewards":
                session.add_reward(value=10.0, confidence=1.0, to=["*"])
            if mode == "message":
                session.send_message(
                    data_pb2.Note(text=f"env->{actors[0].actor_name}"), to=[actors[0].actor_name]
                )
            if mode == "hang":
                await asyncio.sleep(3600)
            obs = [("*", data_pb2.Observation(tick=session.get_tick_id() + 1))]
            if (
                etype == "ACTIVE" and end_at > 0 and session.get_tick_id() + 1 >= end_at
            ) or etype == "ENDING":
                session.end(obs)
            else:
                session.produce_observations(obs)
    finally:
        r["done"]["env"] = True


# --------------------------------------------------------------------------------- actors


async def agent(session):
    trial_id = session.get_trial_id()
    config = session.config
    behaviour = config.behaviour if config is not None else ""
    r = rec(trial_id)
    me = r[session.name] = {
        "observations": [],
        "rewards": [],
        "messages": [],
        "event_types": [],
        "class": session.class_name,
        "env_name": session.get_environment_name()
        if hasattr(session, "get_environment_name")
        else None,
    }
    try:
        session.start()
        async for event in session.all_events():
            etype = str(event.type).split(".")[-1]
            if etype not in me["event_types"]:
                me["event_types"].append(etype)
            for reward in event.rewards:
                me["rewards"].append(
                    {
                        "tick": reward.tick_id,
                        "value": reward.value,
                        "receiver": reward.receiver_name,
                        "sources": [
                            (s.sender_name, s.value, s.confidence) for s in reward.all_sources()
                        ],
                    }
                )
            for message in event.messages:
                note = data_pb2.Note()
                message.payload.Unpack(note)
                me["messages"].append((message.sender_name, note.text))
            if event.observation is None:
                continue
            tick = event.observation.tick_id
            me["observations"].append((tick, event.observation.observation.tick, etype))
            if etype != "ACTIVE":
                continue
            if behaviour == "silent":
                continue
            if behaviour == "crash_at_2" and tick >= 2:
                raise RuntimeError("actor raises on purpose")
            if behaviour == "slow_at_1" and tick == 1:
                continue
            if behaviour == "reward":
                session.add_reward(
                    value=float(config.value),
                    confidence=config.confidence or 1.0,
                    to=[config.target],
                )
            lag = (config.value or 1) if config is not None else 1
            if behaviour == "past_reward" and tick >= lag:
                session.add_reward(
                    value=5.0, confidence=1.0, to=[config.target], tick_id=tick - lag
                )
            if behaviour == "message":
                session.send_message(data_pb2.Note(text=f"from {session.name}"), to=[config.target])
            session.do_action(data_pb2.Action(value=config.value if config is not None else tick))
    finally:
        r["done"][session.name] = True


# ------------------------------------------------------------------------------ prehook


async def prehook(session):
    params = session.trial_parameters
    trial_id = session.get_trial_id()
    HOOK_CALLS.append(trial_id)
    count = int(params.properties.get("hook_count", "0")) + 1
    props = dict(params.properties)
    props["hook_count"] = str(count)
    props["hook_user"] = session.get_user_id()
    if params.config is not None:
        props["hook_tag"] = params.config.tag
        if params.config.tag == "hook_fail":
            raise RuntimeError("hook fails on purpose")
    params.properties = props
    rec(trial_id)["hook_params"] = {
        "max_inactivity": params.max_inactivity,
        "max_steps": params.max_steps,
        "properties": props,
    }


# ------------------------------------------------------------------------------ datalog


async def datalog(session):
    trial_id = session.trial_id
    r = rec(trial_id)
    samples = r["datalog"] = []
    r["datalog_params"] = {
        "env_name": session.trial_parameters.environment_name,
        "nb_actors": len(session.trial_parameters.actors),
    }
    fail = session.trial_parameters.properties.get("datalog") == "fail"
    try:
        session.start()
        async for sample in session.all_samples():
            raw = sample._raw_sample if hasattr(sample, "_raw_sample") else None
            entry = {
                "tick": sample.tick_id,
                "state": str(sample.state).split(".")[-1],
                "out_of_sync": sample.out_of_sync,
                "events": list(sample.events) if hasattr(sample, "events") else [],
            }
            if raw is not None:
                entry["raw_events"] = list(raw.info.special_events)
                entry["action_ticks"] = [a.tick_id for a in raw.actions]
                entry["nb_rewards"] = len(raw.rewards)
                entry["reward_receivers"] = [rw.receiver_name for rw in raw.rewards]
                entry["reward_ticks"] = [rw.tick_id for rw in raw.rewards]
                entry["nb_messages"] = len(raw.messages)
                entry["default_actors"] = list(raw.default_actors)
                entry["unavailable_actors"] = list(raw.unavailable_actors)
                entry["has_observations"] = raw.HasField("observations")
                entry["obs_tick"] = raw.observations.tick_id
            samples.append(entry)
            if fail and len(samples) >= 1:
                raise RuntimeError("datalog fails on purpose")
    finally:
        r["done"]["datalog"] = True


# ---------------------------------------------------------------------------- scenarios


def make_params(spec):
    me = f"grpc://127.0.0.1:{PORT}"

    def endpoint(value):
        if value in (None, "self"):
            return me
        if value == "client":
            return "cogment://client"
        if value == "discover":
            return "cogment://discover"
        return value

    env = spec.get("env", {})
    actors = []
    for a in spec.get("actors", []):
        kwargs = {
            "name": a["name"],
            "class_name": a.get("class", "player"),
            "endpoint": endpoint(a.get("endpoint")),
            "implementation": a.get("impl", "agent"),
        }
        params = cogment.ActorParameters(cog_settings, **kwargs)
        if "config" in a:
            params.config = data_pb2.PlayerConfig(**a["config"])
        if a.get("optional"):
            params.optional = True
        if "response_timeout" in a:
            params.response_timeout = a["response_timeout"]
        if "initial_connection_timeout" in a:
            params.initial_connection_timeout = a["initial_connection_timeout"]
        if "default_action" in a:
            params.default_action = data_pb2.Action(value=a["default_action"])
        actors.append(params)
    kwargs = {
        "environment_name": env.get("name", "env"),
        "environment_endpoint": endpoint(env.get("endpoint")),
        "environment_implementation": env.get("impl", "env"),
        "actors": actors,
        "max_steps": spec.get("max_steps", 0),
        "max_inactivity": spec.get("max_inactivity", 0),
    }
    params = cogment.TrialParameters(cog_settings, **kwargs)
    if "env_config" in spec:
        params.environment_config = data_pb2.EnvConfig(**spec["env_config"])
    if spec.get("datalog"):
        params.datalog_endpoint = endpoint(spec["datalog"])
        if "exclude_fields" in spec:
            params.datalog_exclude_fields = spec["exclude_fields"]
    if "nb_buffered_ticks" in spec:
        params.nb_buffered_ticks = spec["nb_buffered_ticks"]
    if "properties" in spec:
        params.properties = spec["properties"]
    return params


async def wait_done(trial_id, names, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done = rec(trial_id)["done"]
        if all(done.get(n) for n in names):
            return True
        await asyncio.sleep(0.02)
    return False


async def watch(controller, states, stop):
    try:
        async for info in controller.watch_trials():
            states.append((info.trial_id, str(info.state).split(".")[-1]))
            if stop.is_set():
                return
    except asyncio.CancelledError:
        return


async def get_controller(url):
    controller = CONTEXT.get_controller(Endpoint(url))
    if asyncio.iscoroutine(controller):  # with a directory, the published SDK resolves first
        controller = await controller
    return controller


async def run_trial(args):
    """Start one trial, optionally join client actors / terminate it; wait for the end."""
    controller = await get_controller(args["orchestrator"])
    states = []
    stop = asyncio.Event()
    watcher = asyncio.ensure_future(watch(controller, states, stop)) if args.get("watch") else None
    if watcher is not None:
        await asyncio.sleep(0.2)
    kwargs = {}
    if "params" in args:
        kwargs["trial_params"] = make_params(args["params"])
    if "trial_config" in args:
        kwargs["trial_config"] = data_pb2.TrialConfig(**args["trial_config"])
    if "trial_id" in args:
        kwargs["trial_id_requested"] = args["trial_id"]
    try:
        trial_id = await controller.start_trial(**kwargs)
    except Exception as error:  # the error text is part of the result
        if watcher is not None:
            watcher.cancel()
        return {"start_error": str(error)}
    result = {"trial_id": trial_id}
    if not trial_id:
        return result
    joins = []
    for join in args.get("join", []):
        joins.append(
            asyncio.ensure_future(
                CONTEXT.join_trial(
                    trial_id,
                    Endpoint(args.get("actor_endpoint", args["orchestrator"])),
                    actor_name=join.get("actor_name"),
                    actor_class=join.get("actor_class"),
                )
            )
        )
        await asyncio.sleep(0.05)
    if "terminate_after" in args:
        await asyncio.sleep(args["terminate_after"])
        await controller.terminate_trial([trial_id], hard=args.get("hard", False))
    if args.get("get_info_while_running"):
        await asyncio.sleep(0.3)
        infos = await controller.get_trial_info([trial_id])
        result["running_info"] = [(i.trial_id, str(i.state).split(".")[-1]) for i in infos]
        actors = await controller.get_actors(trial_id)
        result["actors"] = [(a.actor_name, a.actor_class_name) for a in actors]
    deadline = time.monotonic() + args.get("max_wait", 20)
    final = None
    while time.monotonic() < deadline:
        infos = await controller.get_trial_info([trial_id])
        if infos and str(infos[0].state).split(".")[-1] == "ENDED":
            final = infos[0]
            break
        await asyncio.sleep(0.05)
    result["final_state"] = str(final.state).split(".")[-1] if final else None
    result["final_tick"] = final.tick_id if final else None
    await wait_done(trial_id, args.get("wait_for", []), args.get("done_timeout", 5))
    for join in joins:
        try:
            await asyncio.wait_for(join, 5)
        except Exception as error:
            result.setdefault("join_errors", []).append(repr(error))
    if watcher is not None:
        await asyncio.sleep(0.1)
        stop.set()
        watcher.cancel()
        result["watch"] = [s for t, s in states if t == trial_id]
    result["records"] = rec(trial_id)
    return result


async def run_many(args):
    results = await asyncio.gather(*(run_trial(dict(args, **extra)) for extra in args["each"]))
    return results


async def misc(args):
    controller = await get_controller(args["orchestrator"])
    what = args["what"]
    if what == "versions":
        return await controller.get_remote_versions()
    if what == "info_all":
        infos = await controller.get_trial_info([])
        return [(i.trial_id, str(i.state).split(".")[-1]) for i in infos]
    if what == "hook_calls":
        return list(HOOK_CALLS)
    if what == "watch_until_end":
        states = []
        try:
            async for info in controller.watch_trials():
                states.append(str(info.state).split(".")[-1])
        except Exception as error:
            return {"states": states, "ended_by": type(error).__name__}
        return {"states": states, "ended_by": "end of stream"}
    raise ValueError(what)


KEEP = []  # long-lived tasks (the served endpoint)
COMMANDS = {"run_trial": run_trial, "run_many": run_many, "misc": misc}
CONTEXT = None


async def handle(line):
    request = json.loads(line)
    try:
        result = await COMMANDS[request["cmd"]](request.get("args", {}))
        reply = {"id": request["id"], "ok": True, "result": result}
    except Exception as error:
        reply = {"id": request["id"], "ok": False, "error": f"{error!r}\n{traceback.format_exc()}"}
    sys.stdout.write(json.dumps(reply, default=str) + "\n")
    sys.stdout.flush()


async def main():
    global CONTEXT, PORT
    directory = os.environ.get("SCENARIO_DIRECTORY")
    CONTEXT = cogment.Context(
        cog_settings=cog_settings,
        user_id="scenario-user",
        directory_endpoint=Endpoint(directory) if directory else None,
    )
    CONTEXT.register_environment(impl=environment, impl_name="env")
    CONTEXT.register_actor(impl=agent, impl_name="agent", actor_classes=["player", "observer"])
    CONTEXT.register_pre_trial_hook(impl=prehook)
    CONTEXT.register_datalog(impl=datalog)
    port = int(os.environ.get("SCENARIO_PORT", "0"))
    KEEP.append(
        asyncio.ensure_future(
            CONTEXT.serve_all_registered(
                ServedEndpoint(port=port),
                directory_registration_host="127.0.0.1" if directory else None,
            )
        )
    )
    for _ in range(200):
        if CONTEXT.served_port:
            break
        await asyncio.sleep(0.05)
    PORT = CONTEXT.served_port
    sys.stdout.write(f"READY {PORT}\n")
    sys.stdout.flush()
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    tasks = set()
    while True:
        line = await reader.readline()
        if not line:
            break
        task = asyncio.ensure_future(handle(line.decode()))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
    # stdin closed: the test is over. Leave at once (SDK tasks may still wait on streams).
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


if __name__ == "__main__":
    asyncio.run(main())
