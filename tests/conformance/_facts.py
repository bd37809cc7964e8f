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
    assert records, "the trace is empty"
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


def max_steps(records: list[Record]) -> None:
    check_clean(records)
    check_max_steps_run(records, "five", ["p1", "ref"], 5)
    check_max_steps_run(records, "one", ["p1", "ref"], 1)
    infos = {each["trial_id"]: each for each in select(records, who="controller", kind="info")}
    assert infos["five"]["tick"] == 6 and infos["five"]["state"] == "ENDED"  # observed §11
    assert infos["one"]["tick"] == 2
    # Env-initiated end after tick 2: no ENDING action set, actors get the final tick 3 as ENDING.
    env_sets = select(records, trial="self", who="env", kind="actions")
    assert [(each["tick"], each["type"]) for each in env_sets] == [
        (0, "ACTIVE"),
        (1, "ACTIVE"),
        (2, "ACTIVE"),
    ]
    for who in ("actor:p1", "actor:ref"):
        observations = select(records, trial="self", who=who, kind="observation")
        assert [(o["tick"], o["type"]) for o in observations] == [
            (0, "ACTIVE"),
            (1, "ACTIVE"),
            (2, "ACTIVE"),
            (3, "ENDING"),
        ]
        assert one(records, trial="self", who=who, kind="exit")["last"] == "FINAL"
    assert one(records, trial="self", who="env", kind="exit")["last"] == "FINAL"


def terminate(records: list[Record]) -> None:
    check_clean(records)
    # Soft: requested while tick 2 is handled; the state stays RUNNING; tick 3 arrives ENDING.
    assert one(records, trial="soft", kind="after_soft_terminate")["state"] == "RUNNING"
    env_sets = select(records, trial="soft", who="env", kind="actions")
    assert [(e["tick"], e["type"]) for e in env_sets] == [
        (0, "ACTIVE"),
        (1, "ACTIVE"),
        (2, "ACTIVE"),
        (3, "ENDING"),
    ]
    for name in ("p1", "p2", "ref"):
        observations = select(records, trial="soft", who=f"actor:{name}", kind="observation")
        assert [o["type"] for o in observations] == ["ACTIVE"] * 4 + ["ENDING"]
        assert one(records, trial="soft", who=f"actor:{name}", kind="exit")["last"] == "FINAL"
    # Hard: ENDING at once; no ENDING nor FINAL event reaches anyone (observed §11).
    assert one(records, trial="hard", kind="after_hard_terminate")["terminating_or_ended"] is True
    hard = select(records, trial="hard")
    assert not [e for e in hard if e.get("type") == "ENDING" or e["kind"] == "final"], hard
    for name in ("p1", "p2", "ref"):
        observations = select(records, trial="hard", who=f"actor:{name}", kind="observation")
        assert [o["tick"] for o in observations] == [0, 1]
    assert [e["state"] for e in select(records, who="controller", kind="ended")] == ["ENDED"] * 2


def _rewards(records: list[Record], who: str) -> list[tuple[int, str, float, int]]:
    found = []
    for event in select(records, who=who, kind="rewards"):
        for reward in event["rewards"]:
            found.append(
                (reward["tick"], reward["receiver"], reward["value"], reward["nb_sources"])
            )
    return found


def rewards(records: list[Record]) -> None:
    check_clean(records)
    # One reward per receiver and tick, value = sum(v*c)/sum(c) over c > 0 (spec §5): the env's
    # (1,1)+(3,3)+(100,0) gives 2.5; the receiver name is the actor's own; "*" from an actor
    # includes the sender; a past tick never reaches the actors; the env never gets rewards.
    assert _rewards(records, "actor:p1") == [(0, "p1", 2.5, 3), (1, "p1", 1.5, 2)]
    assert _rewards(records, "actor:p2") == [
        (0, "p2", 1.0, 1),
        (1, "p2", 3.25, 3),
        (3, "p2", 7.0, 1),
    ]
    assert _rewards(records, "actor:ref") == [
        (0, "ref", 1.0, 1),
        (1, "ref", -0.5, 2),
        (2, "ref", 0.0, 1),
    ]
    p2_tick1 = select(records, who="actor:p2", kind="rewards")[1]["rewards"][0]
    senders = sorted((s["sender"], s["value"], s["confidence"]) for s in p2_tick1["sources"])
    assert senders == [("env", 2.0, 1.0), ("ref", 1.0, 1.0), ("ref", 5.0, 2.0)]
    user_data = [s["user_data"] for s in p2_tick1["sources"] if s["user_data"] is not None]
    assert sorted(u["fields"]["value"] for u in user_data) == ["bonus", "from the referee"]
    # Rewards come before the observation of the tick they are delivered with.
    p2 = [e for e in select(records, who="actor:p2") if e["kind"] in ("rewards", "observation")]
    kinds = [(e["kind"], e.get("tick")) for e in p2]
    assert kinds.index(("rewards", None)) < kinds.index(("observation", 1))
    assert not select(records, who="env", kind="rewards")


def _messages(records: list[Record], who: str) -> list[tuple[int, str, str, str]]:
    return sorted(
        (m["tick"], m["sender"], m["receiver"], m["payload"]["fields"]["value"])
        for m in select(records, who=who, kind="message")
    )


def messages(records: list[Record]) -> None:
    check_clean(records)
    # Sent immediately, tick = the current tick, receiver = the concrete recipient, sender set by
    # the orchestrator; "*" includes the sending actor and never the env (spec §6).
    assert _messages(records, "actor:p1") == [
        (0, "env", "p1", "env->*"),
        (0, "env", "p1", "env->p1"),
        (0, "env", "p1", "env->player.*"),
        (1, "p1", "p1", "p1->*"),
        (2, "ref", "p1", "ref->env+p1"),
    ]
    assert _messages(records, "actor:p2") == [
        (0, "env", "p2", "env->*"),
        (0, "env", "p2", "env->player.*"),
        (1, "p1", "p2", "p1->*"),
        (1, "p1", "p2", "p1->p2"),
        (2, "ref", "p2", "ref->player.p2"),
    ]
    assert _messages(records, "actor:ref") == [
        (0, "env", "ref", "env->*"),
        (1, "p1", "ref", "p1->*"),
        (1, "p1", "ref", "p1->referee.*"),
    ]
    assert _messages(records, "env") == [
        (0, "env", "env", "env->env"),
        (1, "p1", "env", "p1->env"),
        (2, "ref", "env", "ref->env+p1"),
    ]


FACTS: dict[str, Callable[[list[Record]], None]] = {
    "max_steps": max_steps,
    "terminate": terminate,
    "rewards": rewards,
    "messages": messages,
    "basic": basic,
}
