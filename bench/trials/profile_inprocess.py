"""Profile an in-process trial (``context.embedded_orchestrator()``) with cProfile.

``python -m bench.trials.profile_inprocess [--ticks N] [--top N] [--out FILE]`` runs the
counting game (environment + 2 actors, one trial of ``N`` ticks, default 2,000) in this
process, Orchestrator included, after a warm-up trial; prints the throughput without and with
the profiler, then where the time went (own and cumulative time, as shares of the total).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import cogment
from bench.trials.inprocess_overhead import _settings
from bench.trials.profiler import _report


async def _trial(controller: Any, game: Any, params: Any, trial_id: str) -> float:
    start = time.perf_counter()
    await controller.start_trial(trial_id_requested=trial_id, trial_params=params)
    await asyncio.wait_for(game.done_event(trial_id).wait(), 300)
    return time.perf_counter() - start


async def profile(ticks: int, stats_file: Path) -> tuple[float, float]:
    """Seconds of one ``ticks``-tick trial without, then with cProfile (written to the file)."""
    from bench.trials._components import ACTOR_IMPL, ENV_IMPL, Game

    with tempfile.TemporaryDirectory(prefix="bench-profile-inprocess-") as tmp:
        settings, pb2 = _settings(Path(tmp))
        game = Game(settings, pb2)
        context = cogment.Context(cog_settings=settings, user_id="bench")
        context.register_environment(impl=game.environment, impl_name=ENV_IMPL)
        context.register_actor(impl=game.counter, impl_name=ACTOR_IMPL, actor_classes=["counter"])
        async with context.embedded_orchestrator() as orch:
            controller = orch.get_controller()
            await _trial(controller, game, game.params(orch.components_endpoint, 3, False), "w")
            params = game.params(orch.components_endpoint, ticks, False)
            plain = await _trial(controller, game, params, "plain")
            profiler = cProfile.Profile()
            profiler.enable()
            try:
                profiled = await _trial(controller, game, params, "profiled")
            finally:
                profiler.disable()
            profiler.dump_stats(str(stats_file))
        return plain, profiled


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.trials.profile_inprocess")
    parser.add_argument("--ticks", type=int, default=2000)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--out", type=Path, help="keep the pstats file here")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-profile-") as tmp:
        stats_file = args.out or Path(tmp) / "inprocess.pstats"
        plain, profiled = asyncio.run(profile(args.ticks, stats_file))
        print(
            f"in-process, 1 trial x {args.ticks} ticks: {args.ticks / plain:,.0f} ticks/s "
            f"({args.ticks / profiled:,.0f} under cProfile)"
        )
        print(_report(stats_file, args.top, args.ticks))
    return 0


if __name__ == "__main__":
    sys.exit(main())
