"""The Orchestrator profiler of the trial benchmark: reports parse, and the real runs work."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.trials.profiler import _spy_report, main


def test_py_spy_report_keeps_busy_event_loop_samples(tmp_path: Path) -> None:
    raw = tmp_path / "orchestrator.spy"
    raw.write_text(
        "thread (1): MainThread;run (asyncio/runners.py:1);_write (grpc/aio/_call.py:486);"
        "sendmsg (libc.so.6) 6\n"
        "thread (1): MainThread;run (asyncio/runners.py:1);"
        "_on_action (cogment_services/orchestrator/_trial.py:640) 2\n"
        "thread (1): MainThread;run (asyncio/runners.py:1);epoll_wait (libc.so.6) 50\n"
        "thread (2): bench-stdin_0;read (libc.so.6) 90\n"
        "thread (3): Thread-1 (_poll_wrapper);epoll_wait (libc.so.6) 40\n"
    )
    report = _spy_report(raw, top=5)
    assert "event loop thread, 8 busy samples" in report
    assert " 75.0%  _write (aio/_call.py)" in report
    assert " 25.0%  _on_action (orchestrator/_trial.py)" in report
    assert "bench-stdin" not in report
    assert "     8 /     50  MainThread" in report


@pytest.mark.interop
@pytest.mark.timeout(120)
def test_cprofile_of_a_short_trial(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--ticks", "30", "--top", "5"]) == 0
    out = capsys.readouterr().out
    assert "30 ticks in" in out
    assert "top 5 by own time:" in out and "_run_once" in out


@pytest.mark.interop
@pytest.mark.timeout(120)
def test_memory_of_idle_trials(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--memory", "10", "--sdk", "ours", "--top", "5"]) == 0
    out = capsys.readouterr().out
    assert "Python heap growth for 10 idle trials" in out
    assert "orchestrator/" in out


def test_layers_sum_calls_and_own_time_per_tick(tmp_path: Path) -> None:
    import cProfile

    from bench.trials.profiler import _layer, _layers

    assert _layer("~").startswith("C functions")
    assert _layer("/x/site-packages/cogment/_session.py") == "the SDK runtime (cogment/)"
    assert _layer("/x/lib/python3.11/asyncio/events.py") == "asyncio's Python layer"
    assert _layer("/x/lib/python3.11/selectors.py") == "asyncio's Python layer"
    assert _layer("/x/site-packages/grpc/aio/_call.py") == "gRPC's Python layer (grpc/)"
    assert _layer("/work/main/bench/trials/_floor.py") == "the game and the benchmark (bench/)"
    assert _layer("/x/cogment_services/orchestrator/_trial.py").startswith("our services")

    def tick() -> int:
        return len("x")  # per tick: one Python call (tick) and one C call (len)

    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(100):
        tick()
    profiler.disable()
    stats = tmp_path / "p.pstats"
    profiler.dump_stats(stats)
    rows = {
        name: (float(calls), float(own))
        for calls, own, name in (
            line.split(maxsplit=2) for line in _layers(stats, total_ticks=100).splitlines()[2:]
        )
    }
    here = _layer(__file__)  # tests/bench/: the benchmark's layer
    assert rows[here][0] == pytest.approx(1.0)
    assert rows[_layer("~")][0] == pytest.approx(1.0, abs=0.05)  # len (and disable(), once)
    assert rows["total"][0] == pytest.approx(2.0, abs=0.05)
    layers_own = sum(own for name, (_, own) in rows.items() if name != "total")
    assert rows["total"][1] == pytest.approx(layers_own, abs=0.1 * len(rows))  # rounded to 0.1


@pytest.mark.interop
@pytest.mark.timeout(120)
@pytest.mark.parametrize("sdk", ["ours", "floor"])
def test_cprofile_of_the_components(sdk: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--components", "--sdk", sdk, "--ticks", "30", "--top", "5"]) == 0
    out = capsys.readouterr().out
    assert "30 ticks in" in out and "by layer, per tick" in out
    assert "asyncio's Python layer" in out and "top 5 by own time:" in out
    if sdk == "ours":
        assert "the SDK runtime (cogment/)" in out
