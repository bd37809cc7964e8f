"""Our Orchestrator in a process of its own, so that its CPU time and memory can be measured.

``python -m bench.trials._orchestrator_process [--profile FILE]`` embeds
:class:`cogment_services.Orchestrator` on 127.0.0.1 (free port), prints ``READY <port>`` and
serves until its stdin closes. Commands on stdin, one per line:

- ``CPU``: answered ``CPU <process s> <main thread s>``, CPU time of the whole process (all
  threads) and of the event loop's thread (finer than /proc's 10 ms);
- ``PROFILE START`` / ``PROFILE STOP`` (with ``--profile``): record the event loop's thread
  with cProfile (CPU-time clock, so waiting is not counted) between the two; ``STOP`` writes
  ``FILE`` (``pstats`` format) and answers ``PROFILED``.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import logging
import sys
import time
from concurrent.futures import ThreadPoolExecutor


async def _serve(profile_to: str | None) -> None:
    from cogment_services.orchestrator import Orchestrator

    profiler = cProfile.Profile(time.thread_time) if profile_to else None
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
            elif line == "PROFILE START" and profiler is not None:
                profiler.enable()
            elif line == "PROFILE STOP" and profiler is not None and profile_to is not None:
                profiler.disable()
                profiler.dump_stats(profile_to)
                _say("PROFILED")


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
