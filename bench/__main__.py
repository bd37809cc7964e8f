"""Run every benchmark, print a table, write ``bench/results/<utc time>.json``.

Usage: ``python -m bench [--quick] [name ...]`` (names: the modules listed in ``SUITES``).
"""

from __future__ import annotations

import argparse
import importlib
import json
import platform
import sys
import time
from pathlib import Path

from bench._measure import Measurement, cpu_count

# Benchmark modules, in the order they run. Each exposes ``run(quick: bool) -> list[Measurement]``.
SUITES = ["imports", "generator", "model_registry", "trials", "trial_datastore", "services"]


def _table(results: list[Measurement]) -> str:
    header = f"{'workload':<34} {'mode':<22} {'value':>12} {'unit':<10} {'vs baseline':>12}"
    lines = [header, "-" * len(header)]
    for m in results:
        ratio = f"{m.ratio:.2f}x" if m.ratio is not None else ""
        value = f"{m.value:>12.3f}" if m.available else f"{'n/a':>12}"
        lines.append(f"{m.workload:<34} {m.mode:<22} {value} {m.unit:<10} {ratio:>12}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer repetitions")
    parser.add_argument(
        "suites", nargs="*", help=f"suites to run (default all: {', '.join(SUITES)})"
    )
    args = parser.parse_args(argv)
    unknown = [name for name in args.suites if name not in SUITES]
    if unknown:
        parser.error(f"unknown suite(s) {', '.join(unknown)}; known: {', '.join(SUITES)}")
    results: list[Measurement] = []
    for name in args.suites or SUITES:
        module = importlib.import_module(f"bench.{name}")
        print(f"running {name} ...", file=sys.stderr, flush=True)
        results.extend(module.run(args.quick))
    print(_table(results))
    out_dir = Path(__file__).resolve().parent / "results"
    out_dir.mkdir(exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    out = out_dir / f"{stamp}.json"
    payload = {
        "machine": {
            "python": platform.python_version(),
            "platform": platform.platform(),
            "cpus": cpu_count(),
        },
        "results": [m.as_dict() for m in results],
    }
    out.write_text(json.dumps(payload, indent=2, allow_nan=False) + "\n")
    print(f"\nwritten {out.relative_to(Path.cwd()) if out.is_relative_to(Path.cwd()) else out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
