"""Our Orchestrator in a process of its own, so that its CPU time and memory can be measured.

``python -m bench.trials._orchestrator_process [--profile FILE]`` embeds
:class:`cogment_services.Orchestrator` on 127.0.0.1 (free port), prints ``READY <port>`` and
serves until its stdin closes. Commands on stdin, one per line:

- ``CPU``: answered ``CPU <process s> <main thread s>``, CPU time of the whole process (all
  threads) and of the event loop's thread (finer than /proc's 10 ms);
- ``PROFILE START`` / ``PROFILE STOP`` (with ``--profile``): record the event loop's thread
  with cProfile (CPU-time clock, so waiting is not counted) between the two; ``STOP`` writes
  ``FILE`` (``pstats`` format) and answers ``PROFILED``;
- ``MEMORY BASE`` / ``MEMORY TOP <n>``: start tracemalloc and take a snapshot of Python
  allocations, then report the growth since it by allocation site, as JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import logging
import sys
import time
import tracemalloc
from concurrent.futures import ThreadPoolExecutor
from typing import Any


async def _serve(profile_to: str | None) -> None:
    from cogment_services.orchestrator import Orchestrator

    profiler = cProfile.Profile(time.thread_time) if profile_to else None
    base: tracemalloc.Snapshot | None = None
    async with Orchestrator(lifecycle_port=0, host="127.0.0.1", prometheus_port=0) as orch:
        _say(f"READY {orch.lifecycle_port}")
        loop = asyncio.get_running_loop()
        # A named thread, so that profiles can leave this plumbing out.
        stdin_reader = ThreadPoolExecutor(1, thread_name_prefix="bench-stdin")
        while True:
            raw = await loop.run_in_executor(stdin_reader, sys.stdin.readline)
            if not raw:  # stdin closed: stop
                break
            line = raw.strip()
            if line == "CPU":
                _say(f"CPU {time.process_time()!r} {time.thread_time()!r}")
            elif line == "MEMORY BASE":
                # Tracing from here only: tracing the imports too would take a minute.
                tracemalloc.start(25)
                base = tracemalloc.take_snapshot()
                _say("MEMORY")
            elif line.startswith("MEMORY TOP ") and tracemalloc.is_tracing():
                _say("MEMORY " + json.dumps(_memory_top(base, int(line.split()[2]))))
            elif line == "PROFILE START" and profiler is not None:
                profiler.enable()
            elif line == "PROFILE STOP" and profiler is not None and profile_to is not None:
                profiler.disable()
                profiler.dump_stats(profile_to)
                _say("PROFILED")


def _memory_top(base: tracemalloc.Snapshot | None, top: int) -> dict[str, Any]:
    """Python allocations since ``base``, by the innermost frame outside the Python install.

    Library frames (stdlib, site-packages: asyncio, grpc) are skipped so the growth is charged
    to the line of ours that caused it; the library that allocated is named in parentheses.
    """
    snapshot = tracemalloc.take_snapshot()
    stats = snapshot.compare_to(base, "traceback") if base is not None else []
    total = sum(stat.size_diff for stat in stats)
    by_site: dict[str, int] = {}
    for stat in stats:
        frames = list(stat.traceback)  # most recent call last
        site = next(
            (f for f in reversed(frames) if "/lib/python3" not in f.filename),
            frames[-1],
        )
        key = f"{_short(site.filename)}:{site.lineno}"
        if frames[-1] is not site:  # allocated inside a library: say which
            key += f" (in {_short(frames[-1].filename)})"
        by_site[key] = by_site.get(key, 0) + stat.size_diff
    ranked = sorted(by_site.items(), key=lambda kv: -kv[1])[:top]
    return {"total_bytes": total, "top": ranked}


def _short(filename: str) -> str:
    return "/".join(filename.split("/")[-2:])


def _say(text: str) -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.trials._orchestrator_process")
    parser.add_argument("--profile", help="where PROFILE STOP writes the cProfile (pstats) file")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    asyncio.run(_serve(args.profile))
    return 0


if __name__ == "__main__":
    sys.exit(main())
