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
        assert each["session_tick"] == each["tick"]  # get_tick_id() follows the action sets
    assert select(records, trial=trial, who="env", kind="final")
    env_exit = one(records, trial=trial, who="env", kind="exit")
    assert env_exit["last"] == "FINAL" and env_exit["over"] is True
    for name in actors:
        who = f"actor:{name}"
        observations = select(records, trial=trial, who=who, kind="observation")
        assert [each["tick"] for each in observations] == list(range(max_steps + 2)), (
            who,
            observations,
        )
        assert [each["type"] for each in observations] == ["ACTIVE"] * (max_steps + 1) + ["ENDING"]
        assert all(each["session_tick"] == each["tick"] for each in observations)
        actor_exit = one(records, trial=trial, who=who, kind="exit")
        assert actor_exit["last"] == "FINAL" and actor_exit["over"] is True


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
    # do_action(None): the env gets the actor ACTIVE with a default-initialised action.
    for each in select(records, trial="one", who="env", kind="actions"):
        assert each["actions"][1] == {
            "index": 1,
            "tick": each["tick"],
            "status": "ACTIVE",
            "action": {"type": "RefereeAction", "fields": {}},
        }
    # ("*", obs) reaches every actor; auto_done_sending=False with sending_done() ends cleanly.
    check_max_steps_run(records, "star", ["p1", "p2"], 2)
    for name in ("p1", "p2"):
        seen = [
            o["observation"]["fields"]["seen"]
            for o in select(records, trial="star", who=f"actor:{name}", kind="observation")
        ]
        assert seen == ["*@0", "*@1", "*@2", "*@3"]
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
    assert one(records, trial="hard", kind="after_hard_terminate")["state"] == "ENDED"
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


def client_actors(records: list[Record]) -> None:
    check_clean(records)
    check_max_steps_run(records, "t1", ["p1", "c1", "c2", "cr"], 2)
    # By name c2; by class "player": the first unjoined player client in index order, c1.
    assert one(records, who="actor:c1", kind="init")["config"]["fields"] == {"strength": 5}
    assert one(records, who="actor:c2", kind="init")["config"]["fields"] == {"strength": 6}
    assert one(records, who="actor:cr", kind="init")["actor_class"] == "referee"
    assert len(select(records, who="joins", kind="joined")) == 3
    refused = [(e["actor_name"], e["outcome"]) for e in select(records, who="refused_joins")]
    assert refused == [("p1", "raised"), ("nobody", "raised")]


def hooks(records: list[Record]) -> None:
    check_clean(records)
    calls = select(records, trial="hooked", who="hook", kind="call")
    assert len(calls) == 2, calls  # the same hook listed twice is called twice
    first, second = calls[0]["seen"], calls[1]["seen"]
    # The first sees the defaults (params-file form: max_inactivity 30) plus the start config.
    assert first["properties"] == {"origin": "defaults"} and first["max_steps"] == 9
    assert first["max_inactivity"] == 30 and first["actors"] == []
    assert first["config"]["fields"] == {"variant": 3, "steps": 2, "tag": "hooked"}
    # The second sees the first's output.
    assert second["properties"] == {"origin": "defaults", "hooks": "1"}
    assert [a[0] for a in second["actors"]] == ["p1", "ref"] and second["max_steps"] == 2
    assert all(each["user"] == "conformance" for each in calls)
    assert one(records, who="controller", kind="hooked")["properties"]["hooks"] == "2"
    check_max_steps_run(records, "hooked", ["p1", "ref"], 2)
    env = one(records, trial="hooked", who="env", kind="init")
    assert env["config"]["fields"] == {"label": "hooked", "variant": 3}
    assert one(records, who="controller", kind="boom")["outcome"] == "raised"
    assert len(select(records, trial="boom", who="hook", kind="call")) == 1  # the pipeline stops
    # Explicit parameters skip the hooks.
    assert not select(records, trial="explicit", who="hook")
    check_max_steps_run(records, "explicit", ["p1"], 1)


def _samples(records: list[Record], trial: str = "t1") -> list[Record]:
    return select(records, trial=trial, who="datalog", kind="sample")


def datalog(records: list[Record]) -> None:
    check_clean(records)
    check_max_steps_run(records, "t1", ["p1", "ref"], 2)
    init = one(records, trial="t1", who="datalog", kind="init")
    assert init["user"] == "conformance"
    assert init["parameters"]["properties"] == {"logged": "yes"}
    assert init["parameters"]["environment"][0] == "env"
    samples = _samples(records)
    # One sample per tick (0..3), the past-tick reward as an out-of-sync sample, the last ENDED.
    assert [(s["tick"], s["out_of_sync"]) for s in samples] == [
        (0, False),
        (1, False),
        (0, True),
        (2, False),
        (3, False),
    ]
    assert samples[-1]["state"] == "ENDED"
    assert samples[2]["events"] == ["Out of sync reward"]
    assert samples[3]["events"] == ["Maximum number of steps reached"]
    # Observations are logged as received (tick -1); the final sample has placeholder actions.
    assert {o["tick"] for o in samples[0]["observations"].values()} == {-1}
    assert samples[0]["actions"]["p1"]["action"]["fields"] == {"move": 4, "said": "p1:0"}
    assert {a["tick"] for a in samples[-1]["actions"].values()} == {-2}
    # Rewards and messages are logged as sent: wildcards unresolved, tick -1, senders filled.
    [reward] = samples[0]["rewards"]
    assert (reward["receiver"], reward["tick"], reward["value"]) == ("*", -1, 1.5)
    [reward] = samples[1]["rewards"]
    assert reward["receiver"] == "referee.*" and reward["sources"][0]["sender"] == "p1"
    pairs = sorted((m["sender"], m["receiver"]) for m in samples[1]["messages"])
    assert pairs == [("env", "p1"), ("p1", "env")]
    [late] = samples[2]["rewards"]
    assert (late["receiver"], late["tick"], late["value"]) == ("p1", 0, 4.0)
    assert len(select(records, who="datalog", kind="exit")) == 4
    excluded = _samples(records, "excluded")
    assert [(s["tick"], s["out_of_sync"]) for s in excluded] == [
        (0, False),
        (1, False),
        (0, True),
        (2, False),
        (3, False),
    ]
    for sample in excluded:
        assert sample["rewards"] == [] and sample["messages"] == []
        assert sample["actions"] == {"p1": None}  # no actions in the sample at all
        assert (sample["observations"]["p1"] is None) == sample["out_of_sync"]
    assert _samples(records, "t1")[0]["rewards"] != []  # (not excluded there)
    # Special events on the newest sample when the end is decided (spec §8), the correct spelling
    # of the reference's "Evironment ended trial" accepted too.
    ended = _samples(records, "self-ending")
    assert [(s["tick"], s["state"]) for s in ended] == [
        (0, "RUNNING"),
        (1, "TERMINATING"),
        (2, "ENDED"),
    ]
    assert ended[1]["events"] in (["Environment ended trial"], ["Evironment ended trial"])
    soft = _samples(records, "soft")
    assert [s["state"] for s in soft] == ["RUNNING", "RUNNING", "TERMINATING", "ENDED"]
    assert soft[2]["events"] == ["End requested"]


def optional(records: list[Record]) -> None:
    check_clean(records)
    # The env sees the defaulted actor ACTIVE with its default action, the silent one without a
    # default and the unreachable one UNAVAILABLE, at every tick (observed §11).
    env_sets = select(records, trial="t1", who="env", kind="actions")
    assert [e["tick"] for e in env_sets] == [0, 1, 2]
    for each in env_sets:
        statuses = [a["status"] for a in each["actions"]]
        assert statuses == ["ACTIVE", "ACTIVE", "UNAVAILABLE", "UNAVAILABLE"], each
        assert each["actions"][1]["action"]["fields"] == {"move": -1, "said": "default"}
    # The datalog reports DEFAULT and UNAVAILABLE.
    for sample in _samples(records)[:-1]:
        logged = {n: a["status"] for n, a in sample["actions"].items()}
        assert logged == {
            "p1": "ACTIVE",
            "p2": "DEFAULT",
            "ref": "UNAVAILABLE",
            "ghost": "UNAVAILABLE",
        }
    # Silent optional actors are never dropped: they observe every tick; the ghost never runs.
    for name in ("p2", "ref"):
        observed = select(records, trial="t1", who=f"actor:{name}", kind="observation")
        assert [o["tick"] for o in observed] == [0, 1, 2, 3]
    assert not select(records, who="actor:ghost")
    # A missing *required* actor hard-ends the trial even with a default action (spec §4).
    assert not select(records, trial="required", who="env", kind="actions")
    assert one(records, trial="required", who="env", kind="exit")["last"] != "FINAL"
    for name in ("p1", "p2"):
        observed = select(records, trial="required", who=f"actor:{name}", kind="observation")
        assert [o["tick"] for o in observed] == [0]
    assert one(records, who="controller", kind="required_ended")["state"] == "ENDED"


def watch(records: list[Record]) -> None:
    check_clean(records)
    states = [e["state"] for e in select(records, trial="t1", who="watch")]
    assert states == ["INITIALIZING", "PENDING", "RUNNING", "TERMINATING", "ENDED"]
    assert [e["state"] for e in select(records, trial="sentinel", who="watch")] == [
        "PENDING",
        "ENDED",
    ]
    assert [e["state"] for e in select(records, who="watch_ended")] == ["ENDED", "ENDED"]
    during = one(records, trial="t1", who="env", kind="info")
    assert (during["state"], during["tick"], during["env_name"]) == ("RUNNING", 1, "env")
    assert during["properties"] == {"watched": "yes"} and during["has_duration"] is True
    assert one(records, who="env", kind="actors")["actors"] == [
        ["p1", "player"],
        ["ref", "referee"],
    ]
    after = one(records, who="controller", kind="info")
    assert (after["state"], after["tick"]) == ("ENDED", 3)
    # get_trial_info([]) lists every trial, ended ones included.
    listed = one(records, who="controller", kind="all_trials")["ours"]
    assert listed == [["sentinel", "PENDING"], ["t1", "ENDED"]]
    assert one(records, who="controller", kind="versions")["keys"] == ["cogment"]


def concurrent_trials(records: list[Record]) -> None:
    check_clean(records)
    assert one(records, who="controller", kind="states") == {
        "trial": "-",
        "who": "controller",
        "kind": "states",
        "states": ["ENDED"],
    }
    for index in range(50):
        name = f"c{index:02d}"
        check_max_steps_run(records, name, ["p1", "ref"], 2)
        env = one(records, trial=name, who="env", kind="init")
        assert env["config"]["fields"]["label"] == name
        first = select(records, trial=name, who="env", kind="actions")[0]["actions"][0]
        assert first["action"]["fields"].get("move", 0) == index  # its own actor, config strength


def reuse(records: list[Record]) -> None:
    check_clean(records)
    # A requested id in use gives "" while the trial runs and after it ended (observed §11).
    assert one(records, trial="dup", kind="while_running")["returned"] == ""
    assert one(records, who="controller", kind="after_end")["returned"] == ""
    assert one(records, who="controller", kind="still_one")["states"] == ["ENDED"]
    assert one(records, who="controller", kind="fresh")["returned"] == "fresh"
    check_max_steps_run(records, "dup", ["p1"], 2)


def crash(records: list[Record]) -> None:
    check_clean(records)
    # The actor raises on tick 2: the trial is hard-ended at once (observed §11): the env never
    # gets action set 2, nobody gets ENDING or FINAL.
    assert select(records, who="actor:p1", kind="raising")
    assert [e["tick"] for e in select(records, trial="t1", who="env", kind="actions")] == [0, 1]
    trial = select(records, trial="t1")
    assert not [e for e in trial if e.get("type") == "ENDING" or e["kind"] == "final"]
    for name in ("p2", "ref"):
        ticks = [o["tick"] for o in select(records, who=f"actor:{name}", kind="observation")]
        assert ticks == [0, 1, 2]
        assert one(records, who=f"actor:{name}", kind="exit")["last"] == "ACTIVE"
    assert one(records, who="controller", kind="ended")["state"] == "ENDED"


def env_crash(records: list[Record]) -> None:
    check_clean(records)
    # Not the reference's defect (trial RUNNING forever): the trial ends, hard.
    assert one(records, who="env", kind="raising")
    assert [e["tick"] for e in select(records, trial="t1", who="env", kind="actions")] == [0, 1]
    trial = select(records, trial="t1")
    assert not [e for e in trial if e.get("type") == "ENDING" or e["kind"] == "final"]
    for name in ("p1", "ref"):
        ticks = [o["tick"] for o in select(records, who=f"actor:{name}", kind="observation")]
        assert ticks == [0, 1]
        assert one(records, who=f"actor:{name}", kind="exit")["last"] == "ACTIVE"
    assert one(records, who="controller", kind="ended")["state"] == "ENDED"


def refusals(records: list[Record]) -> None:
    check_clean(records)
    outcomes = {e["case"]: e["outcome"] for e in select(records, who="controller", kind="refused")}
    assert outcomes == {
        "no_actors": "raised",
        "duplicate_names": "raised",
        "named_like_env": "raised",
        "unnamed": "raised",
    }
    assert one(records, who="controller", kind="unknown_info")["infos"] == []
    assert select(records, who="controller", kind="unknown_terminated")
    check_max_steps_run(records, "ok", ["p1"], 1)


FACTS: dict[str, Callable[[list[Record]], None]] = {
    "max_steps": max_steps,
    "terminate": terminate,
    "rewards": rewards,
    "messages": messages,
    "client_actors": client_actors,
    "hooks": hooks,
    "datalog": datalog,
    "optional": optional,
    "watch": watch,
    "concurrent_trials": concurrent_trials,
    "reuse": reuse,
    "crash": crash,
    "env_crash": env_crash,
    "refusals": refusals,
    "basic": basic,
}


# --------------------------------------------------------------------------- self-test
# One plausible wrong behaviour per scenario, applied to a good trace: the facts must reject it
# (proves they can fail, e.g. when both SDKs and the Orchestrator agree on a wrong behaviour).


class MutationTargetMissing(LookupError):
    """The trace lacks what a mutation changes (not an AssertionError: it must not pass as one)."""


def _edit(
    records: list[Record], match: dict[str, Any], change: Callable[[Record], None]
) -> list[Record]:
    found = select(records, **match)
    if not found:
        raise MutationTargetMissing(f"mutation target {match} missing from the trace")
    change(found[0])
    return records


def _drop(records: list[Record], **match: Any) -> list[Record]:
    target = select(records, **match)
    if not target:
        raise MutationTargetMissing(f"mutation target {match} missing from the trace")
    return [each for each in records if each is not target[-1]]


def _set(key: str, value: Any) -> Callable[[Record], None]:
    def change(record: Record) -> None:
        record[key] = value

    return change


def _mutate_rewards(records: list[Record]) -> list[Record]:
    # As if the zero-confidence source counted: (1 + 9 + 100*1) / 5.
    _edit(
        records,
        {"who": "actor:p1", "kind": "rewards"},
        lambda r: r["rewards"][0].update(value=22.0),
    )
    return records


def _mutate_messages(records: list[Record]) -> list[Record]:
    return _drop(records, who="env", kind="message", sender="env")


def _mutate_client_actors(records: list[Record]) -> list[Record]:
    return _edit(
        records, {"who": "actor:c1", "kind": "init"}, _set("config", {"fields": {"strength": 6}})
    )


def _mutate_optional(records: list[Record]) -> list[Record]:
    return _edit(
        records,
        {"who": "env", "kind": "actions"},
        lambda r: r["actions"][1].update(status="UNAVAILABLE", action=None),
    )


def _mutate_datalog(records: list[Record]) -> list[Record]:
    return _edit(
        records, {"who": "datalog", "kind": "sample", "out_of_sync": True}, _set("tick", 1)
    )


def _mutate_crash(records: list[Record]) -> list[Record]:
    extra = dict(select(records, who="env", kind="actions")[-1], tick=2)
    return [*records, extra]


MUTATIONS: dict[str, Callable[[list[Record]], list[Record]]] = {
    "refusals": lambda r: _edit(r, {"case": "named_like_env"}, _set("outcome", "returned")),
    "basic": lambda r: _edit(r, {"kind": "info"}, lambda i: i["infos"][0].update(tick=5)),
    "max_steps": lambda r: _drop(r, trial="five", who="env", kind="actions"),
    "terminate": lambda r: _edit(r, {"kind": "after_soft_terminate"}, _set("state", "TERMINATING")),
    "rewards": _mutate_rewards,
    "messages": _mutate_messages,
    "client_actors": _mutate_client_actors,
    "hooks": lambda r: _drop(r, who="hook", kind="call"),
    "datalog": _mutate_datalog,
    "optional": _mutate_optional,
    "watch": lambda r: _drop(r, trial="t1", who="watch", state="TERMINATING"),
    "concurrent_trials": lambda r: _drop(r, trial="c37", who="env", kind="final"),
    "reuse": lambda r: _edit(r, {"kind": "while_running"}, _set("returned", "dup")),
    "crash": _mutate_crash,
    "env_crash": lambda r: _edit(
        r, {"who": "controller", "kind": "ended"}, _set("state", "RUNNING")
    ),
}
