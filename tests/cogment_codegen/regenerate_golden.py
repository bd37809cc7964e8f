"""Regenerate the generator's golden files: ``python -m tests.cogment_codegen.regenerate_golden
[case ...]`` from the repository root (``nox -s golden`` runs it).

Without arguments every case under ``tests/golden/`` is regenerated. Review the diff before
committing: it is the change in what ``cogment generate`` writes.
"""

from __future__ import annotations

import sys

from tests.cogment_codegen.golden import case_names, write_golden


def main(argv: list[str]) -> int:
    known = case_names()
    cases = argv or known
    unknown = [c for c in cases if c not in known]
    if unknown:
        print(f"unknown golden case(s): {', '.join(unknown)} (known: {', '.join(known)})")
        return 2
    for case in cases:
        changed = write_golden(case)
        status = f"{len(changed)} file(s) changed" if changed else "unchanged"
        print(f"{case}: {status}")
        for path in changed:
            print(f"  {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
