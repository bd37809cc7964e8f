"""``python -m bench.trials [--quick] [a b c d]``: some trial workloads only, table printed."""

from __future__ import annotations

import argparse
import sys

from bench.__main__ import _table
from bench.trials._suite import FULL, QUICK, run_suite


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.trials", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smaller sizes")
    parser.add_argument("workloads", nargs="*", default=["a", "b", "c", "d"], help="a, b, c, d")
    args = parser.parse_args(argv)
    print(_table(run_suite(QUICK if args.quick else FULL, args.workloads)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
