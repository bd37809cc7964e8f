"""Our Orchestrator in a process of its own, so that its CPU time and memory can be measured.

``python -m bench.trials._orchestrator_process [--profile FILE]`` embeds
:class:`cogment_services.Orchestrator` on 127.0.0.1 (free port), prints ``READY <port>`` and
serves until its stdin closes; a ``CPU`` line on stdin is answered with ``CPU <seconds>``, the
process's CPU time (all threads, finer than /proc's 10 ms). With ``--profile`` the whole run is recorded with cProfile and
written to ``FILE`` (``pstats`` format) on exit.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import logging
import sys
import time


async def _serve() -> None:
    from cogment_services.orchestrator import Orchestrator

    async with Orchestrator(lifecycle_port=0, host="127.0.0.1", prometheus_port=0) as orch:
        sys.stdout.write(f"READY {orch.lifecycle_port}\n")
        sys.stdout.flush()
        loop = asyncio.get_running_loop()
        while True:
            line = await loop.run_in_executor(None, sys.stdin.readline)
            if not line:
                return
            if line.strip() == "CPU":
                sys.stdout.write(f"CPU {time.process_time()!r}\n")
                sys.stdout.flush()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.trials._orchestrator_process")
    parser.add_argument("--profile", help="write a cProfile (pstats) of the run to this file")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    if args.profile is None:
        asyncio.run(_serve())
        return 0
    profiler = cProfile.Profile()
    profiler.enable()
    try:
        asyncio.run(_serve())
    finally:
        profiler.disable()
        profiler.dump_stats(args.profile)
    return 0


if __name__ == "__main__":
    sys.exit(main())
