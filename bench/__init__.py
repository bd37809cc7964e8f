"""Benchmark suite: ``python -m bench`` (or ``nox -s bench``).

Every benchmark module exposes ``run(quick: bool) -> list[Measurement]``; each measurement names
the baseline it was compared with *in the same run*, because this machine is shared and noisy:
absolute numbers drift, ratios measured side by side do not.
"""
