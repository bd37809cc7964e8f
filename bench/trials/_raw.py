"""The floor: the counting game's logic as plain function calls, with the wire messages.

Each tick builds and serializes what crosses the wire in a real trial — the environment's
``EnvRunTrialOutput`` (observation set), one ``ActorRunTrialInput`` per actor, each actor's
``ActorRunTrialOutput`` (action), the ``EnvRunTrialInput`` (action set) — and parses each on the
receiving side, so the only thing missing is transport and scheduling: no framework can beat it.

Same stdin/stdout protocol as ``_components.py`` (``READY``, ``GO``, ``IDLE``, ``RELEASE``,
``DONE <json>``; for held workloads ``idle_kib`` in the result is the memory the idle trials
hold, traced by ``tracemalloc``). Usage: ``python -m bench.trials._raw <settings dir> <workload json>``.
"""

from __future__ import annotations

import importlib
import json
import sys
import time
import tracemalloc
from typing import Any

from cogment.api import common_pb2, environment_pb2

ACTORS = (("alice", 1), ("bob", 2))


class RawTrial:
    """One trial: the environment and its two counters, called directly."""

    def __init__(self, pb2: Any, trial_id: str, ticks: int) -> None:
        self.pb2 = pb2
        self.trial_id = trial_id
        self.ticks = ticks
        self.tick = 0
        # What a trial keeps between ticks: its init messages and the latest ones.
        env_init = environment_pb2.EnvInitialInput(
            name="env",
            impl_name="counting-env",
            actors_in_trial=[
                common_pb2.TrialActor(name=n, actor_class="counter") for n, _ in ACTORS
            ],
            config=common_pb2.SerializedMessage(
                content=pb2.EnvConfig(ticks=ticks).SerializeToString()
            ),
        )
        self.env_init = environment_pb2.EnvRunTrialInput(
            state=common_pb2.NORMAL, init_input=env_init
        ).SerializeToString()
        self.actor_inits = [
            common_pb2.ActorRunTrialInput(
                state=common_pb2.NORMAL,
                init_input=common_pb2.ActorInitialInput(
                    actor_name=name,
                    actor_class="counter",
                    impl_name="counter",
                    env_name="env",
                    config=common_pb2.SerializedMessage(
                        content=pb2.CounterConfig(step=step).SerializeToString()
                    ),
                ),
            ).SerializeToString()
            for name, step in ACTORS
        ]
        self.last_observation = self._environment_output(0)

    def _environment_output(self, tick: int) -> bytes:
        payload = self.pb2.Tick(tick=tick).SerializeToString()
        return environment_pb2.EnvRunTrialOutput(
            state=common_pb2.NORMAL,
            observation_set=environment_pb2.ObservationSet(
                tick_id=tick, timestamp=time.time_ns(), observations=[payload], actors_map=[0, 0]
            ),
        ).SerializeToString()

    def _actor(self, step: int, wire_in: bytes) -> bytes:
        received = common_pb2.ActorRunTrialInput.FromString(wire_in)
        observation = self.pb2.Tick.FromString(received.observation.content)
        action = self.pb2.Count(value=observation.tick + step)
        return common_pb2.ActorRunTrialOutput(
            state=common_pb2.NORMAL,
            action=common_pb2.Action(
                tick_id=received.observation.tick_id,
                timestamp=time.time_ns(),
                content=action.SerializeToString(),
            ),
        ).SerializeToString()

    def step(self) -> bool:
        """Play one tick; return whether the trial goes on."""
        out = environment_pb2.EnvRunTrialOutput.FromString(self.last_observation)
        observations = out.observation_set
        actions = []
        for index, (_, step) in enumerate(ACTORS):
            content = observations.observations[observations.actors_map[index]]
            wire_in = common_pb2.ActorRunTrialInput(
                state=common_pb2.NORMAL,
                observation=common_pb2.Observation(
                    tick_id=observations.tick_id, timestamp=observations.timestamp, content=content
                ),
            ).SerializeToString()
            answer = common_pb2.ActorRunTrialOutput.FromString(self._actor(step, wire_in))
            actions.append(answer.action.content)
        env_in = environment_pb2.EnvRunTrialInput.FromString(
            environment_pb2.EnvRunTrialInput(
                state=common_pb2.NORMAL,
                action_set=environment_pb2.ActionSet(
                    tick_id=self.tick, timestamp=time.time_ns(), actions=actions
                ),
            ).SerializeToString()
        )
        total = sum(self.pb2.Count.FromString(a).value for a in env_in.action_set.actions)
        if total < 0:
            raise RuntimeError(f"tick {self.tick}: the counters' sum went negative: {total}")
        self.tick += 1
        self.last_observation = self._environment_output(self.tick)
        return self.tick < self.ticks


def _say(text: str) -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def run_trials(pb2: Any, trials: int, ticks: int) -> None:
    """Play ``trials`` trials of ``ticks`` ticks, interleaved tick by tick like concurrent ones."""
    running = [RawTrial(pb2, f"raw-{index}", ticks) for index in range(trials)]
    while running:
        running = [trial for trial in running if trial.step()]


def _traced_kib(pb2: Any, trials: int, ticks: int) -> float:
    """Memory the idle trials hold, traced exactly (this floor is too small for RSS pages).

    A separate, untimed pass: tracing slows allocations down.
    """
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        held = [RawTrial(pb2, f"raw-{index}", ticks) for index in range(trials)]
        used = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    del held
    return used / 1024


def main(settings_dir: str, workload: dict[str, Any]) -> None:
    sys.path.insert(0, settings_dir)
    pb2 = importlib.import_module("counting_pb2")
    run_trials(pb2, 1, 3)  # warm-up, as the other modes do
    _say("READY 0")
    if sys.stdin.readline().strip() != "GO":
        return
    trials, ticks, hold = int(workload["trials"]), int(workload["ticks"]), bool(workload["hold"])
    start = time.perf_counter()
    cpu_start = time.process_time()
    result: dict[str, Any] = {"trials": trials, "ticks": ticks}
    if hold:
        # Idle trials: started (init messages and first observation built), nobody answers yet.
        held = [RawTrial(pb2, f"raw-{index}", ticks) for index in range(trials)]
        result["idle_after_s"] = time.perf_counter() - start
        _say("IDLE")
        sys.stdin.readline()
        while held:
            held = [trial for trial in held if trial.step()]
    else:
        run_trials(pb2, trials, ticks)
    result["wall_s"] = time.perf_counter() - start
    result["cpu_s"] = time.process_time() - cpu_start
    if hold:
        result["idle_kib"] = _traced_kib(pb2, trials, ticks)
    _say("DONE " + json.dumps(result))
    sys.stdin.readline()


if __name__ == "__main__":
    main(sys.argv[1], json.loads(sys.argv[2]))
