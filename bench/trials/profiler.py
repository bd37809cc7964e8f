"""Profile our Orchestrator, or the components, under a trial workload (default: (a), one
trial of 2,000 ticks).

``python -m bench.trials.profiler [--ticks N] [--trials N] [--sdk reference|ours|floor]
[--top N] [--out FILE] [--py-spy [--native]] [--memory TRIALS] [--components]`` runs the
workload with the chosen components (the published SDK's, ours, or the grpc-floor's) against an
Orchestrator process recorded by cProfile, then prints where the Orchestrator's time went: the
functions with the most own time, and the most cumulative time, as shares of the profiled total.
``--components`` records the components' process instead, and first sums its calls and own time
per tick by layer (the SDK runtime, gRPC's Python, asyncio, the game, C functions), so that the
SDKs and the floor can be compared call for call.
cProfile (default) records the event loop's thread only, on a CPU-time clock; ``--py-spy``
samples every thread instead (``pip install py-spy``; it must be allowed to ptrace), without
instrumentation overhead. The raw file is kept with ``--out``. ``--memory N`` holds N idle
trials instead and shows, with tracemalloc, which allocation sites grew the Python heap.
"""

from __future__ import annotations

import argparse
import io
import json
import pstats
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.trials._runner import Child, Run, Workload, generate_settings, reference_python, run_one


def _report(stats_file: Path, top: int, total_ticks: int) -> str:
    stats = pstats.Stats(str(stats_file))
    # pstats keeps its table in an undocumented attribute; fall back to the printed report.
    table: dict[tuple[str, int, str], tuple[int, int, float, float, object]] = getattr(
        stats, "stats", {}
    )
    total = sum(own for _, _, own, _, _ in table.values()) or 1.0
    lines = [
        f"profiled: the event loop thread's CPU time, {total:.3f} s "
        f"= {total * 1000 / total_ticks:.3f} ms/tick under cProfile",
        "",
        f"top {top} by own time:",
        f"{'own s':>8} {'share':>6} {'calls':>9}  function",
    ]

    def name(key: tuple[str, int, str]) -> str:
        filename, line, function = key
        short = "/".join(Path(filename).parts[-2:]) if filename != "~" else ""
        return f"{function} ({short}:{line})" if short else function

    by_own = sorted(table.items(), key=lambda item: item[1][2], reverse=True)[:top]
    for key, (_, calls, own, _, _) in by_own:
        lines.append(f"{own:8.3f} {own / total:6.1%} {calls:9d}  {name(key)}")
    lines += [
        "",
        f"top {top} by cumulative time:",
        f"{'cum s':>8} {'share':>6} {'calls':>9}  function",
    ]
    by_cum = sorted(table.items(), key=lambda item: item[1][3], reverse=True)[:top]
    for key, (_, calls, _, cum, _) in by_cum:
        lines.append(f"{cum:8.3f} {cum / total:6.1%} {calls:9d}  {name(key)}")
    if not table:
        out = io.StringIO()
        pstats.Stats(str(stats_file), stream=out).sort_stats("tottime").print_stats(top)
        lines.append(out.getvalue())
    return "\n".join(lines)


class PySpy:
    """``py-spy record`` attached to the Orchestrator during the measured part (raw stacks)."""

    python_options: Sequence[str] = ()

    def __init__(self, out: Path, rate: int, native: bool) -> None:
        self.out = out
        self.rate = rate
        self.native = native
        self._process: subprocess.Popen[bytes] | None = None

    def start(self, orchestrator: Child) -> None:
        exe = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
        pid = str(orchestrator.pid)
        argv = [exe, "record", "--pid", pid, "--format", "raw", "-o", str(self.out)]
        argv += ["--rate", str(self.rate), "--threads"]
        if self.native:
            argv.append("--native")
        self._process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        time.sleep(0.5)  # attached before the workload starts

    def idle(self, orchestrator: Child) -> None:
        pass

    def stop(self, orchestrator: Child | None = None) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        process.send_signal(signal.SIGINT)  # py-spy writes its file on Ctrl-C
        try:
            _, err = process.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            _, err = process.communicate()
        if not self.out.exists():
            raise RuntimeError(f"py-spy wrote nothing: {err.decode(errors='replace')[-400:]}")


class PythonMemory:
    """Where the Orchestrator's Python heap grows for idle trials (tracemalloc, 25 frames)."""

    python_options: Sequence[str] = ()

    def __init__(self, top: int) -> None:
        self.top = top
        self.report: dict[str, Any] | None = None

    def start(self, orchestrator: Child) -> None:
        orchestrator.send("MEMORY BASE")
        orchestrator.expect("MEMORY", 60)

    def idle(self, orchestrator: Child) -> None:
        orchestrator.send(f"MEMORY TOP {self.top}")
        self.report = json.loads(orchestrator.expect("MEMORY", 120))

    def stop(self, orchestrator: Child) -> None:
        pass

    def text(self, trials: int) -> str:
        if self.report is None:
            return "no memory report (the workload did not reach its idle point)"
        total = self.report["total_bytes"]
        lines = [
            f"Python heap growth for {trials} idle trials: {total / 1024 / trials:.1f} KiB/trial "
            "(compare with the suite's '(d) orch RSS/trial' run without tracing: the rest is gRPC "
            "core, protobuf and the allocator; RSS here would include tracemalloc's own records)",
            f"top {self.top} allocation sites (innermost frame outside the standard library):",
        ]
        for site, size in self.report["top"]:
            lines.append(f"{size / 1024 / trials:8.2f} KiB/trial {size / total:6.1%}  {site}")
        return "\n".join(lines)


def _frame_name(frame: str) -> str:
    """``func (path/to/file.py:123)`` -> ``func (to/file.py)`` (lines merged)."""
    name, _, where = frame.partition(" (")
    where = where.rstrip(")").rsplit(":", 1)[0]
    short = "/".join(Path(where).parts[-2:]) if where else ""
    return f"{name} ({short})" if short else name


#: Innermost frames of a thread that waits (py-spy's own idle detection misses them here).
_WAITING = (
    "epoll_wait",
    "epoll_pwait",
    "poll",
    "ppoll",
    "select",
    "pselect",
    "futex",
    "pthread_cond_wait",
    "pthread_cond_timedwait",
    "sem_wait",
    "sem_timedwait",
    "nanosleep",
    "clock_nanosleep",
)


def _leaf_name(frame: str) -> str:
    return frame.split(" (", 1)[0]


def _innermost_python(frames: list[str]) -> str:
    for frame in reversed(frames):
        if ".py:" in frame:
            return _frame_name(frame)
    return "(no Python frame)"


def _share_lines(counts: dict[str, int], total: int, top: int) -> list[str]:
    ranked = sorted(counts.items(), key=lambda kv: -kv[1])[:top]
    return [f"{count / total:7.1%}  {name}" for name, count in ranked]


def _spy_report(raw: Path, top: int) -> str:
    """Busy samples only (waiting leaves and the benchmark's stdin thread left out).

    With ``--native`` the innermost frame is C (``sendmsg``, ``epoll_wait``...): waiting is
    recognized exactly, and each busy sample is also charged to its innermost Python frame.
    """
    per_thread: dict[str, list[int]] = {}  # thread -> [busy, waiting]
    loop_python: dict[str, int] = {}
    loop_leaf: dict[str, int] = {}
    loop_inclusive: dict[str, int] = {}
    loop_busy = 0
    for line in raw.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        thread, *frames = stack.split(";")
        if not frames or "bench-stdin" in thread:
            continue
        name = thread.split(": ", 1)[-1]
        waiting = _leaf_name(frames[-1]) in _WAITING
        slot = per_thread.setdefault(name, [0, 0])
        slot[1 if waiting else 0] += count
        if waiting or name != "MainThread":
            continue
        loop_busy += count
        python = _innermost_python(frames)
        loop_python[python] = loop_python.get(python, 0) + count
        leaf = _frame_name(frames[-1])
        loop_leaf[leaf] = loop_leaf.get(leaf, 0) + count
        for each in {_frame_name(f) for f in frames if ".py:" in f}:
            loop_inclusive[each] = loop_inclusive.get(each, 0) + count
    if loop_busy == 0:
        return "py-spy: no busy sample of the event loop thread"
    lines = ["py-spy samples per thread (busy / waiting):"]
    for name, (busy_count, waiting_count) in sorted(per_thread.items(), key=lambda kv: -kv[1][0]):
        lines.append(f"  {busy_count:6d} / {waiting_count:6d}  {name}")
    lines += ["", f"event loop thread, {loop_busy} busy samples; innermost Python frame:"]
    lines += _share_lines(loop_python, loop_busy, top)
    lines += ["", "innermost frame (C with --native):"]
    lines += _share_lines(loop_leaf, loop_busy, top)
    lines += ["", "Python functions on the stack (inclusive):"]
    lines += _share_lines(loop_inclusive, loop_busy, top)
    return "\n".join(lines)


def _components(sdk: str, work: Path) -> tuple[str, str, Path]:
    reference = reference_python()
    settings = generate_settings(work, reference)
    if sdk == "reference":
        return "reference", reference, settings["reference"]
    if sdk == "floor":
        return "grpc-floor", sys.executable, settings["ours"]
    return "ours-grpc", sys.executable, settings["ours"]


def _layer(filename: str) -> str:
    """Which layer a profiled function belongs to, from its file."""
    path = filename.replace("\\", "/")
    if filename == "~":
        return "C functions (protobuf, asyncio's C parts, built-ins)"
    if "/bench/" in path:
        return "the game and the benchmark (bench/)"
    if "/grpc/" in path:
        return "gRPC's Python layer (grpc/)"
    if "/asyncio/" in path or path.endswith("/selectors.py"):
        return "asyncio's Python layer"
    if "/cogment/" in path:
        return "the SDK runtime (cogment/)"
    if "/cogment_services/" in path:
        return "our services (cogment_services/)"
    return "other Python"


def layer_totals(stats_file: Path) -> dict[str, tuple[int, float]]:
    """Calls and own seconds of a cProfile recording, summed by :func:`_layer`."""
    table: dict[tuple[str, int, str], tuple[int, int, float, float, object]] = getattr(
        pstats.Stats(str(stats_file)), "stats", {}
    )
    totals: dict[str, tuple[int, float]] = {}
    for (filename, _, _), (_, count, own_s, _, _) in table.items():
        layer = _layer(filename)
        calls, own = totals.get(layer, (0, 0.0))
        totals[layer] = (calls + count, own + own_s)
    return totals


def _layers(stats_file: Path, total_ticks: int) -> str:
    """Calls and own time per tick, summed by :func:`_layer`."""
    totals = layer_totals(stats_file)
    lines = [
        "by layer, per tick (a coroutine resumed counts as a call; own time under cProfile):",
        f"{'calls':>9} {'own us':>9}  layer",
    ]
    for layer, (calls, own) in sorted(totals.items(), key=lambda item: -item[1][0]):
        lines.append(f"{calls / total_ticks:9.1f} {own * 1e6 / total_ticks:9.1f}  {layer}")
    all_calls = sum(calls for calls, _ in totals.values())
    all_own = sum(own for _, own in totals.values())
    lines.append(f"{all_calls / total_ticks:9.1f} {all_own * 1e6 / total_ticks:9.1f}  total")
    return "\n".join(lines)


def _failed(run: Run) -> bool:
    """True when ``run`` failed, after saying why."""
    if run.error is None:
        return False
    print(f"the workload failed: {run.error}", file=sys.stderr)
    return True


def _memory_main(trials: int, sdk: str, top: int) -> int:
    workload = Workload("d", "memory", trials, 2, hold=True)
    memory = PythonMemory(top)
    with tempfile.TemporaryDirectory(prefix="bench-profile-") as tmp:
        mode, python, folder = _components(sdk, Path(tmp))
        run = run_one(workload, mode, python, folder, sampler=memory)
    if _failed(run):
        return 1
    print(memory.text(trials))
    return 0


def _components_main(trials: int, ticks: int, sdk: str, top: int, out: Path | None) -> int:
    workload = Workload("a", "profile", trials, ticks)
    with tempfile.TemporaryDirectory(prefix="bench-profile-") as tmp:
        work = Path(tmp)
        stats_file = out or work / "components.pstats"
        mode, python, folder = _components(sdk, work)
        run = run_one(workload, mode, python, folder, components_profile_to=stats_file)
        if _failed(run):
            return 1
        print(
            f"{mode}: {workload.total_ticks} ticks in {run.wall_s:.2f} s with the profiler on; "
            f"components CPU {run.components_cpu_s * 1000 / workload.total_ticks:.3f} ms/tick"
        )
        _print_profile(stats_file, top, workload.total_ticks)
    return 0


def _print_profile(stats_file: Path, top: int, total_ticks: int) -> None:
    """A cProfile recording: per tick by layer, then the top functions."""
    print(_layers(stats_file, total_ticks))
    print()
    print(_report(stats_file, top, total_ticks))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.trials.profiler", description=__doc__)
    parser.add_argument("--ticks", type=int, default=2000)
    parser.add_argument("--trials", type=int, default=1)
    parser.add_argument("--sdk", choices=("reference", "ours", "floor"), default="reference")
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--out", type=Path, help="keep the pstats (or py-spy raw) file here")
    parser.add_argument(
        "--py-spy",
        action="store_true",
        help="sample with py-spy (every thread, no instrumentation overhead) instead of cProfile",
    )
    parser.add_argument("--native", action="store_true", help="py-spy: include C frames")
    parser.add_argument("--rate", type=int, default=250, help="py-spy: samples per second")
    parser.add_argument(
        "--memory",
        type=int,
        metavar="TRIALS",
        help="instead: hold TRIALS idle trials and show where the Python heap grew (tracemalloc)",
    )
    parser.add_argument(
        "--components",
        action="store_true",
        help="profile the components' process (cProfile) instead of the Orchestrator",
    )
    args = parser.parse_args(argv)
    if args.memory:
        return _memory_main(args.memory, args.sdk, args.top)
    if args.components:
        return _components_main(args.trials, args.ticks, args.sdk, args.top, args.out)
    workload = Workload("a", "profile", args.trials, args.ticks)
    with tempfile.TemporaryDirectory(prefix="bench-profile-") as tmp:
        work = Path(tmp)
        out = args.out or work / ("orchestrator.spy" if args.py_spy else "orchestrator.pstats")
        spy = PySpy(out, args.rate, args.native) if args.py_spy else None
        stats_file = None if args.py_spy else out
        mode, python, folder = _components(args.sdk, work)
        try:
            run = run_one(workload, mode, python, folder, stats_file, spy)
        finally:
            if spy is not None:
                spy.stop()
        if _failed(run):
            return 1
        print(
            f"{workload.total_ticks} ticks in {run.wall_s:.2f} s "
            f"({workload.total_ticks / run.wall_s:.0f} ticks/s with the profiler on); "
            f"orchestrator CPU {run.orchestrator_cpu_s or 0:.2f} s, of which its event loop's "
            f"thread {run.orchestrator_loop_cpu_s or 0:.2f} s (the rest: gRPC core threads)"
        )
        if stats_file is not None:
            _print_profile(stats_file, args.top, workload.total_ticks)
        else:
            print(_spy_report(out, args.top))
    return 0


if __name__ == "__main__":
    sys.exit(main())
