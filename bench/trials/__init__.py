"""Trials: the counting game (an environment, two actors) run whole, in several modes.

Workloads: (a) one trial of many ticks, (b) a few concurrent long trials, (c) many short trials
started together, (d) many concurrent idle trials (memory per trial). Modes, measured in the
same run and reported as ratios to ``reference``:

- ``reference``: the published SDK 2.10.1's components and controller (one Python 3.10
  process) over gRPC on our Orchestrator (its own process, so its CPU and memory are its own);
- ``ours-grpc``: the same program on our SDK, over gRPC on our Orchestrator;
- ``grpc-floor``: the same game written directly on ``grpc.aio`` and the compiled wire contract
  (no SDK runtime), over gRPC on our Orchestrator: the most a Python gRPC SDK could gain;
- ``raw``: the game's logic as plain calls, building and parsing the same wire messages per
  tick: the floor no framework beats;
- ``ours-inprocess``: the same program on our SDK with the Orchestrator embedded in its
  Context (``context.embedded_orchestrator()``): one process, no socket, no gRPC (the
  Orchestrator's figures are part of the components' ones).

``python -m bench trials`` (``--quick`` for smaller sizes) or ``python -m bench.trials [--quick]
[a b c d]``. ``python -m bench.trials.profiler`` profiles our Orchestrator (or, ``--components``, the
components of ``--sdk reference|ours|floor``, by layer) under workload (a)
(cProfile, or ``--py-spy [--native]``); ``--memory N`` shows where its Python heap grows for N
idle trials. ``python -m bench.trials.inprocess_overhead [N]`` times 1-tick in-process trials;
``python -m bench.trials.profile_inprocess`` profiles an in-process trial (cProfile).
"""

from bench.trials._suite import FULL, MODES, QUICK, Sizes, run, run_suite

__all__ = ["FULL", "MODES", "QUICK", "Sizes", "run", "run_suite"]
