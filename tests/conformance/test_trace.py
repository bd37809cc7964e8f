"""The canonical trace and the trace comparison (no SDK, no network)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType

import pytest

from tests.conformance._harness import SCENARIO_DIR, RunResult, assert_same_traces


def _trace_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("_trace", SCENARIO_DIR / "_trace.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _records(trace: object) -> list[dict[str, object]]:
    return [json.loads(line) for line in trace.canonical()]  # type: ignore[attr-defined]


def test_trial_ids_become_names_everywhere() -> None:
    trace = _trace_module().Trace()
    trace.name_trial("5d1c-uuid", "t1")
    trace.add(None, "controller", "started", trial_id="5d1c-uuid", others=["5d1c-uuid", "x"])
    trace.add("5d1c-uuid", "env", "init")
    assert _records(trace) == [
        {
            "trial": "-",
            "who": "controller",
            "kind": "started",
            "trial_id": "t1",
            "others": ["t1", "x"],
        },
        {"trial": "t1", "who": "env", "kind": "init"},
    ]


def test_groups_sorted_ordered_kept_unordered_sorted() -> None:
    first, second = _trace_module().Trace(), _trace_module().Trace()
    for trace, messages in ((first, ["b", "a"]), (second, ["a", "b"])):
        trace.add("t2", "env", "init")
        for payload in messages:
            trace.add("t1", "actor:p1", "message", False, payload=payload)
        trace.add("t1", "actor:p1", "observation", tick=1)
        trace.add("t1", "actor:p1", "observation", tick=0)
    assert first.canonical() == second.canonical()
    assert [(r["trial"], r["kind"], r.get("tick"), r.get("payload")) for r in _records(first)] == [
        ("t1", "observation", 1, None),
        ("t1", "observation", 0, None),
        ("t1", "message", None, "a"),
        ("t1", "message", None, "b"),
        ("t2", "init", None, None),
    ]


def test_reserved_keys_are_refused() -> None:
    trace = _trace_module().Trace()
    with pytest.raises(ValueError, match="trial"):
        trace.add(None, "controller", "started", trial="oops")


def test_written_one_json_object_per_line(tmp_path: Path) -> None:
    trace = _trace_module().Trace()
    trace.add("t", "env", "init", z=1, a=2)
    trace.write(str(tmp_path / "out.jsonl"))
    assert (tmp_path / "out.jsonl").read_text() == (
        '{"a": 2, "kind": "init", "trial": "t", "who": "env", "z": 1}\n'
    )


def test_different_traces_fail_with_a_unified_diff() -> None:
    reference = RunResult("ref", "basic", 0, ['{"a": 1}', '{"b": 2}'], "")
    ours = RunResult("ours", "basic", 0, ['{"a": 1}', '{"b": 3}'], "")
    assert_same_traces(reference, RunResult("ours", "basic", 0, list(reference.lines), ""))
    with pytest.raises(AssertionError) as failure:
        assert_same_traces(reference, ours)
    message = str(failure.value)
    assert "--- basic (published SDK 2.10.1)" in message and "+++ basic (ours)" in message
    assert '-{"b": 2}' in message and '+{"b": 3}' in message
