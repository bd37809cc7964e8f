"""``python -m bench.trials.inprocess_overhead [N]``: start-to-end time of 1-tick trials run
in-process (``context.embedded_orchestrator()``), one after the other.

Each trial (the counting game: environment + 2 actors, ``ticks=1``) is timed from
``start_trial`` to the end of its three components; the median, 10th and 90th percentiles of
``N`` trials (default 500, after 20 warm-up trials) are printed in milliseconds.
"""

from __future__ import annotations

import asyncio
import importlib
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import cogment

HERE = Path(__file__).resolve().parent


def _settings(work: Path) -> tuple[Any, Any]:
    for name in ("cogment.yaml", "counting.proto"):
        (work / name).write_text((HERE / "spec" / name).read_text())
    subprocess.run(
        [
            *(sys.executable, "-m", "cogment", "generate", "--quiet"),
            *("--spec", "cogment.yaml", "--output", "cog_settings.py"),
        ],
        cwd=work,
        check=True,
        timeout=120,
    )
    sys.path.insert(0, str(work))
    return importlib.import_module("cog_settings"), importlib.import_module("counting_pb2")


async def measure(count: int) -> list[float]:
    """Seconds from ``start_trial`` to the end of the components, for ``count`` trials."""
    from bench.trials._components import ACTOR_IMPL, ENV_IMPL, Game

    with tempfile.TemporaryDirectory(prefix="bench-overhead-") as tmp:
        settings, pb2 = _settings(Path(tmp))
        game = Game(settings, pb2)
        context = cogment.Context(cog_settings=settings, user_id="bench")
        context.register_environment(impl=game.environment, impl_name=ENV_IMPL)
        context.register_actor(impl=game.counter, impl_name=ACTOR_IMPL, actor_classes=["counter"])
        durations: list[float] = []
        async with context.embedded_orchestrator() as orch:
            controller = orch.get_controller()
            params = game.params(orch.components_endpoint, 1, False)
            for index in range(count + 20):
                trial_id = f"overhead-{index}"
                done = game.done_event(trial_id)
                start = time.perf_counter()
                await controller.start_trial(trial_id_requested=trial_id, trial_params=params)
                await asyncio.wait_for(done.wait(), 10)
                if index >= 20:
                    durations.append(time.perf_counter() - start)
        return durations


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    count = int(args[0]) if args else 500
    durations = asyncio.run(measure(count))
    ms = sorted(d * 1000 for d in durations)
    deciles = statistics.quantiles(ms, n=10)
    print(
        f"1-tick in-process trials: median {statistics.median(ms):.3f} ms, "
        f"p10 {deciles[0]:.3f} ms, p90 {deciles[-1]:.3f} ms ({len(ms)} trials)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
