"""gRPC core settings chosen for Cogment's traffic, applied when ``grpc`` is first imported.

A trial exchanges many small messages on long-lived streams, one at a time: what costs is the
work done per message, not bandwidth. In grpcio 1.60 and later, TCP connections and listeners go
through gRPC's EventEngine by default, which adds a thread hop to every read and write; the
previous implementation (still shipped and supported in those versions, and the only one in
grpcio 1.48, which the published SDK pins) has its sockets polled by the thread that waits for
completions, which is already there in ``grpc.aio``. Measured on a streaming ping-pong between two
processes: about 1.4 times the round trips per second for about 30% less CPU per message.

gRPC reads its experiment flags from ``GRPC_EXPERIMENTS`` once, while ``grpc`` is imported, so
:func:`apply` must run before that; ``import cogment`` calls it first thing. It changes nothing
when:

- ``COGMENT_GRPC_TUNING`` is ``0``/``off``/``false``/``no`` (opt out);
- ``GRPC_EXPERIMENTS`` is set (the user's choice wins, untouched);
- ``grpc`` was already imported (too late: the flags are read; import ``cogment`` first);
- the installed grpcio is outside the versions known to have these flags (an unknown flag makes
  gRPC print an error line at every start, so newer versions are left alone until checked).

The variable is set only around the import of ``grpc``, then restored: child processes (which
may run another gRPC version) inherit the environment as it was.
"""

from __future__ import annotations

import importlib.util
import os
import re
import sys
from pathlib import Path

#: The flags passed to gRPC: TCP client connections and listeners without the EventEngine.
EXPERIMENTS = "-event_engine_client,-event_engine_listener"
#: grpcio versions known to have these flags (checked in their binaries): [first, last exclusive).
SUPPORTED = ((1, 60), (1, 90))
#: The opt-out variable.
OPT_OUT_VARIABLE = "COGMENT_GRPC_TUNING"

#: What :func:`apply` did in this process: the flags given to gRPC, or why none were.
outcome: str = "not applied yet"

_VERSION = re.compile(r"""__version__\s*=\s*['"]{1,3}(\d+)\.(\d+)""")


def installed_grpcio_version() -> tuple[int, int] | None:
    """``(major, minor)`` of the installed grpcio, read without importing it (None if unknown)."""
    try:
        spec = importlib.util.find_spec("grpc")
    except (ImportError, ValueError):
        return None
    if spec is None or spec.origin is None:
        return None
    try:
        text = (Path(spec.origin).parent / "_grpcio_metadata.py").read_text(encoding="utf-8")
    except OSError:
        return None
    found = _VERSION.search(text)
    return None if found is None else (int(found.group(1)), int(found.group(2)))


def _reason_not_to_apply() -> str | None:
    if os.environ.get(OPT_OUT_VARIABLE, "").strip().lower() in ("0", "off", "false", "no"):
        return f"disabled by {OPT_OUT_VARIABLE}"
    if "GRPC_EXPERIMENTS" in os.environ:
        return "GRPC_EXPERIMENTS is set by the user"
    if "grpc" in sys.modules:
        return "grpc was imported before cogment"
    version = installed_grpcio_version()
    if version is None:
        return "grpcio version unknown"
    if not SUPPORTED[0] <= version < SUPPORTED[1]:
        return f"grpcio {version[0]}.{version[1]} is outside the checked versions"
    return None


def apply() -> str:
    """Import ``grpc`` with :data:`EXPERIMENTS` unless a reason not to applies; return the outcome."""
    global outcome
    reason = _reason_not_to_apply()
    if reason is not None:
        outcome = f"not applied: {reason}"
        return outcome
    os.environ["GRPC_EXPERIMENTS"] = EXPERIMENTS
    try:
        import grpc  # noqa: F401  (reads GRPC_EXPERIMENTS now, once)
    finally:
        del os.environ["GRPC_EXPERIMENTS"]
    outcome = f"GRPC_EXPERIMENTS={EXPERIMENTS}"
    return outcome


# On import: ``cogment/__init__.py`` imports this module before anything that imports ``grpc``.
apply()
