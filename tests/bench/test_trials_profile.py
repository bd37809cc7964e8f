"""The Orchestrator profiler of the trial benchmark: reports parse, and the real runs work."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.trials.profile import _spy_report, main


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
