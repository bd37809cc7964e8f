"""The counting game's components and controller in one process, on either SDK.

Run as a script by the benchmark, with the published SDK 2.10.1's interpreter (mode
``reference``) or with ours (mode ``ours-grpc``): only the public API both SDKs share is used, so
the same lines measure both. It serves the environment and the ``counter`` actors, runs the
controller, and talks to the benchmark on stdin/stdout, one line each way per phase::

    -> READY <port>          served, warm-up trial done
    <- GO                    start the workload's trials
    -> IDLE                  (held workloads) every actor has its first observation and waits
    <- RELEASE               let the held actors answer
    -> DONE <json>           {"wall_s": ..., "cpu_s": ..., "trials": ..., "ticks": ...}
                             or {"error": ...}

The benchmark reads both processes' CPU and memory from /proc between the phases.

Usage: python _components.py <settings dir> <orchestrator endpoint | inprocess> <workload json>
(``inprocess``: ours only, the Orchestrator embedded in the components' Context, mode
``ours-inprocess``)
(workload: {"trials": N, "ticks": T, "hold": bool, "timeout": seconds}).
"""

from __future__ import annotations

import asyncio
import cProfile
import importlib
import json
import os
import sys
import time
import traceback
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import cogment

ENV_IMPL = "counting-env"
ACTOR_IMPL = "counter"


class Bookkeeping:
    """What the components of the running trials report to the controller (same process).

    Shared with the ``grpc-floor`` mode (``_floor.py``), as is :func:`run_workload`.
    """

    def __init__(self) -> None:
        self.finished: dict[str, int] = {}
        self.all_finished: dict[str, asyncio.Event] = {}
        self.held = 0
        self.expected_held = -1
        self.all_held = asyncio.Event()
        self.release = asyncio.Event()
        self.errors: list[str] = []

    def new_trial_ids(self, prefix: str, trials: int) -> list[str]:
        """Ids for ``trials`` new trials, each with its done event ready."""
        batch = uuid.uuid4().hex[:8]
        ids = [f"{prefix}-{batch}-{index}" for index in range(trials)]
        for trial_id in ids:
            self.done_event(trial_id)
        return ids

    def done_event(self, trial_id: str) -> asyncio.Event:
        return self.all_finished.setdefault(trial_id, asyncio.Event())

    def component_finished(self, trial_id: str) -> None:
        count = self.finished.get(trial_id, 0) + 1
        self.finished[trial_id] = count
        if count == 3:  # the environment and both actors
            self.done_event(trial_id).set()

    def actor_holds(self) -> None:
        self.held += 1
        if self.held == self.expected_held:
            self.all_held.set()


class Game(Bookkeeping):
    """The counting game on the SDK's public API (either SDK)."""

    def __init__(self, settings: Any, pb2: Any) -> None:
        super().__init__()
        self.settings = settings
        self.pb2 = pb2

    async def environment(self, session: Any) -> None:
        tick_of = self.pb2.Tick
        try:
            ticks = session.config.ticks
            session.start([("*", tick_of(tick=0))])
            async for event in session.all_events():
                if not event.actions:
                    continue
                tick = event.actions[0].tick_id
                total = sum(a.action.value for a in event.actions if a.action is not None)
                if total < 0:
                    raise RuntimeError(f"tick {tick}: the counters' sum went negative: {total}")
                observations = [("*", tick_of(tick=tick + 1))]
                if event.type == cogment.EventType.ENDING or tick + 1 >= ticks:
                    session.end(observations)
                else:
                    session.produce_observations(observations)
        except Exception as error:
            self.errors.append(f"environment: {error!r}")
            raise
        finally:
            self.component_finished(session.get_trial_id())

    async def counter(self, session: Any) -> None:
        count_of = self.pb2.Count
        try:
            step = session.config.step
            hold = session.config.hold_first_action
            session.start()
            async for event in session.all_events():
                if event.observation is None or event.type != cogment.EventType.ACTIVE:
                    continue
                if hold:
                    hold = False
                    self.actor_holds()
                    await self.release.wait()
                session.do_action(count_of(value=event.observation.observation.tick + step))
        except Exception as error:
            self.errors.append(f"actor {session.name}: {error!r}")
            raise
        finally:
            self.component_finished(session.get_trial_id())

    def params(self, endpoint: str, ticks: int, hold: bool) -> Any:
        pb2 = self.pb2
        actors = [
            cogment.ActorParameters(
                self.settings,
                name=name,
                class_name="counter",
                endpoint=endpoint,
                implementation=ACTOR_IMPL,
                config=pb2.CounterConfig(step=step, hold_first_action=hold),
            )
            for name, step in (("alice", 1), ("bob", 2))
        ]
        return cogment.TrialParameters(
            self.settings,
            environment_name="env",
            environment_endpoint=endpoint,
            environment_implementation=ENV_IMPL,
            environment_config=pb2.EnvConfig(ticks=ticks),
            actors=actors,
        )


async def line() -> str:
    return await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)


def say(text: str) -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


async def _run_trials(
    game: Game, controller: Any, endpoint: str, trials: int, ticks: int, hold: bool
) -> list[str]:
    """Start ``trials`` trials together; return their ids."""
    ids = game.new_trial_ids("bench", trials)
    params = game.params(endpoint, ticks, hold)
    started = await asyncio.gather(
        *(controller.start_trial(trial_id_requested=i, trial_params=params) for i in ids)
    )
    refused = [i for i, got in zip(ids, started, strict=True) if got != i]
    if refused:
        raise RuntimeError(f"{len(refused)} trial(s) not started, e.g. {refused[0]}")
    return ids


async def wait_trials(
    book: Bookkeeping, ids: list[str], timeout: float, fail_on_errors: bool = False
) -> None:
    """Wait for the trials ``ids`` to finish (``fail_on_errors``: and fail if a component
    reported an error)."""
    waits = [book.done_event(i).wait() for i in ids]
    try:
        await asyncio.wait_for(asyncio.gather(*waits), timeout)
    except asyncio.TimeoutError:
        missing = [i for i in ids if not book.done_event(i).is_set()]
        raise RuntimeError(
            f"{len(missing)} of {len(ids)} trial(s) not finished after {timeout}s; "
            f"component errors: {book.errors[:3]}"
        ) from None
    if fail_on_errors and book.errors:
        raise RuntimeError(f"{len(book.errors)} component error(s), e.g. {book.errors[:3]}")


#: The orchestrator argument of the ``ours-inprocess`` mode.
INPROCESS = "inprocess"


async def _serve(context: Any, orchestrator: str) -> tuple[str, Any]:
    server = asyncio.ensure_future(context.serve_all_registered(cogment.ServedEndpoint(port=0)))
    for _ in range(400):
        if context.served_port or server.done():
            break
        await asyncio.sleep(0.025)
    if server.done():
        server.result()
    if not context.served_port:
        raise RuntimeError("serve_all_registered did not start within 10 s")
    endpoint = f"grpc://127.0.0.1:{context.served_port}"
    return endpoint, context.get_controller(cogment.Endpoint(orchestrator))


async def main(settings_dir: str, orchestrator: str, workload: dict[str, Any]) -> None:
    sys.path.insert(0, settings_dir)
    settings = importlib.import_module("cog_settings")
    game = Game(settings, importlib.import_module("counting_pb2"))
    context = cogment.Context(cog_settings=settings, user_id="bench")
    context.register_environment(impl=game.environment, impl_name=ENV_IMPL)
    context.register_actor(impl=game.counter, impl_name=ACTOR_IMPL, actor_classes=["counter"])
    if orchestrator == INPROCESS:
        # ours-inprocess: an Orchestrator embedded in this Context, no socket at all.
        embedded = context.embedded_orchestrator()
        await embedded.start()
        endpoint = embedded.components_endpoint
        controller = embedded.get_controller()
    else:
        endpoint, controller = await _serve(context, orchestrator)

    async def start(trials: int, ticks: int, hold: bool) -> list[str]:
        return await _run_trials(game, controller, endpoint, trials, ticks, hold)

    await run_workload(game, start, workload, context.served_port or 0)


#: Starts ``trials`` trials of ``ticks`` ticks (``hold``: actors hold their first action); their ids.
StartTrials = Callable[[int, int, bool], Awaitable[list[str]]]


async def run_workload(
    book: Bookkeeping,
    start: StartTrials,
    workload: dict[str, Any],
    port: int,
    fail_on_errors: bool = False,
) -> None:
    """The line protocol of the module docstring: warm-up, ``READY``, the measured trials, then
    ``DONE``; exits the process once the benchmark has read it."""
    timeout = float(workload.get("timeout", 120))
    # Warm-up: channels opened, lazy imports done, before anything is measured.
    await wait_trials(book, await start(1, 3, False), timeout, fail_on_errors)
    say(f"READY {port}")
    if (await line()).strip() != "GO":
        return
    trials, ticks, hold = int(workload["trials"]), int(workload["ticks"]), bool(workload["hold"])
    result: dict[str, Any] = {"trials": trials, "ticks": ticks}
    # The event loop's thread, on a CPU-time clock (waiting is not counted), when asked.
    profiler = cProfile.Profile(time.thread_time) if workload.get("profile") else None
    try:
        if profiler is not None:
            profiler.enable()
        begin = time.perf_counter()
        cpu_start = time.process_time()
        if hold:
            book.expected_held = 2 * trials
        ids = await start(trials, ticks, hold)
        if hold:
            await asyncio.wait_for(book.all_held.wait(), timeout)
            result["idle_after_s"] = time.perf_counter() - begin
            say("IDLE")
            await line()
            book.release.set()
        await wait_trials(book, ids, timeout, fail_on_errors)
        result["wall_s"] = time.perf_counter() - begin
        result["cpu_s"] = time.process_time() - cpu_start
    except Exception as error:
        result = {"error": f"{error}"}
    finally:
        if profiler is not None:
            profiler.disable()
            profiler.dump_stats(workload["profile"])
    say("DONE " + json.dumps(result))
    await line()  # the benchmark closes stdin once it has read what it needs
    exit_now(0)


def exit_now(code: int) -> None:
    # Measured and reported: skip the SDK's shutdown (stopping the published SDK's server when
    # asyncio.run cancels it takes about 10 s), it is not part of any workload.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    try:
        asyncio.run(main(sys.argv[1], sys.argv[2], json.loads(sys.argv[3])))
    except BaseException:
        traceback.print_exc()
        exit_now(1)
    exit_now(0)
