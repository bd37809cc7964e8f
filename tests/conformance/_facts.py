"""What the reference documents say each scenario must show, checked on a trace.

These checks make the suite fail when both SDKs (or the Orchestrator) are wrong the same way:
the two traces would be identical, but not what the documentation (``python-sdk-api.txt``,
``orchestrator-spec.md``) and the observed reference behaviour say.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Record = dict[str, Any]


def select(records: list[Record], **match: Any) -> list[Record]:
    """The records whose keys equal ``match``."""
    return [each for each in records if all(each.get(k) == v for k, v in match.items())]


def one(records: list[Record], **match: Any) -> Record:
    found = select(records, **match)
    assert len(found) == 1, f"expected one record {match}, found {len(found)}: {found}"
    return found[0]


def components(records: list[Record], trial: str) -> set[str]:
    return {each["who"] for each in records if each["trial"] == trial}


def check_clean(records: list[Record]) -> None:
    """No harness error or timeout record."""
    bad = [each for each in records if each["who"] == "~harness"]
    assert not bad, f"the scenario reported: {bad}"


def check_max_steps_run(
    records: list[Record], trial: str, actors: list[str], max_steps: int
) -> None:
    """A trial ended by ``max_steps``: the env gets sets 0..N (N as ENDING), actors observations
    0..N+1 (N+1 as ENDING) then FINAL (orchestrator-spec §4 max_steps, observed §11)."""
    env_sets = select(records, trial=trial, who="env", kind="actions")
    assert [each["tick"] for each in env_sets] == list(range(max_steps + 1)), env_sets
    assert [each["type"] for each in env_sets] == ["ACTIVE"] * max_steps + ["ENDING"]
    for each in env_sets:
        assert [a["tick"] for a in each["actions"]] == [each["tick"]] * len(actors)
    assert select(records, trial=trial, who="env", kind="final")
    assert one(records, trial=trial, who="env", kind="exit")["last"] == "FINAL"
    for name in actors:
        who = f"actor:{name}"
        observations = select(records, trial=trial, who=who, kind="observation")
        assert [each["tick"] for each in observations] == list(range(max_steps + 2)), (
            who,
            observations,
        )
        assert [each["type"] for each in observations] == ["ACTIVE"] * (max_steps + 1) + ["ENDING"]
        assert one(records, trial=trial, who=who, kind="exit")["last"] == "FINAL"


def basic(records: list[Record]) -> None:
    check_clean(records)
    assert one(records, who="controller", kind="started")["is_uuid"] is True
    assert components(records, "t1") == {"env", "actor:p1", "actor:p2", "actor:ref"}
    check_max_steps_run(records, "t1", ["p1", "p2", "ref"], 3)
    env_init = one(records, trial="t1", who="env", kind="init")
    assert env_init["actors"] == [["p1", "player"], ["p2", "player"], ["ref", "referee"]]
    assert env_init["config"]["fields"] == {"label": "basic", "variant": 7}
    assert one(records, who="actor:p2", kind="init")["config"]["fields"] == {"strength": 2}
    referee = one(records, who="actor:ref", kind="init")
    assert referee["actor_class"] == "referee"
    assert referee["config"] == {"type": "RefereeConfig", "fields": {"strict": True, "motto": "m"}}
    first = select(records, who="env", kind="actions")[0]["actions"]
    assert first[2]["action"]["type"] == "RefereeAction"
    assert first[0]["action"]["type"] == "PlayerAction"
    [info] = one(records, who="controller", kind="info")["infos"]
    assert info["state"] == "ENDED" and info["env_name"] == "env"
    assert info["tick"] == 4, info  # max_steps=N ends at tick N+1
    assert info["properties"] == {"scenario": "basic"}


FACTS: dict[str, Callable[[list[Record]], None]] = {
    "basic": basic,
}
