"""``cogment generate`` (and ``python -m cogment_codegen``): spec in, typed settings out."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from cogment._errors import CogmentGenerateError
from cogment_codegen._errors import SpecError

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cogment generate",
        description=(
            "Generate the typed cog_settings package (compiled protos, typed sessions, "
            "actor classes) from a cogment.yaml spec."
        ),
    )
    parser.add_argument(
        "--spec", default="cogment.yaml", help="the spec file (default: %(default)s)"
    )
    parser.add_argument(
        "--output",
        default=".",
        help=(
            "directory receiving the package <name>/ (default: %(default)s), which the "
            "generator owns (Python files it no longer generates there are removed); a path "
            "ending in .py writes the published single-module layout instead (the module, "
            "with the *_pb2 modules next to it)"
        ),
    )
    parser.add_argument(
        "--name",
        default=None,
        help="name of the generated package (default: cog_settings)",
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="write nothing; exit with 1 and list the differences if the output is stale",
    )
    parser.add_argument("--quiet", "-q", action="store_true", help="print only problems")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the generator with ``argv`` (the arguments after ``generate``); return the exit code.

    0: generated (or up to date with ``--check``); 1: stale output with ``--check``;
    2: invalid spec or protos (each problem printed as ``file:line:column: key.path: message``).
    """
    args = _parser().parse_args(list(sys.argv[1:] if argv is None else argv))
    from cogment_codegen._generate import generate

    try:
        result = generate(args.spec, args.output, name=args.name, check=args.check)
    except SpecError as error:
        for problem in error.problems:
            print(f"error: {problem}", file=sys.stderr)
        return 2
    except (CogmentGenerateError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    for warning in result.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    changes = result.changes
    if args.check:
        if changes.stale:
            print(
                f"cogment generate --check: the output in {changes.root} is stale "
                f"(rerun without --check):",
                file=sys.stderr,
            )
            print(changes.summary(diff=True), file=sys.stderr)
            return 1
        if not args.quiet:
            print(f"up to date: {len(changes.unchanged)} files in {changes.root}")
        return 0
    if not args.quiet:
        written = len(changes.created) + len(changes.changed)
        print(
            f"generated in {changes.root}: {written} written, {len(changes.unchanged)} unchanged, "
            f"{len(changes.deleted)} removed ({result.timings['total'] * 1000:.0f} ms)"
        )
    return 0
