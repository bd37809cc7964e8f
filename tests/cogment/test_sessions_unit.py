"""Sessions and received data without the network: argument checks, LogSample decoding."""

from __future__ import annotations

from typing import Any

import pytest

import cogment
from cogment.api import common_pb2, datalog_pb2, environment_pb2
from tests.cogment._runtime_helpers import Action, Observation, make_settings

SETTINGS = make_settings()


def env_session() -> cogment.EnvironmentSession[Any, Any, Any]:
    actors = [cogment.ActorInfo("a", "player"), cogment.ActorInfo("b", "referee")]
    return cogment.EnvironmentSession("t", "env", "impl", actors, None)


def test_environment_arguments_are_checked() -> None:
    session = env_session()
    with pytest.raises(cogment.CogmentError, match="not the string"):
        session.add_reward(1.0, 1.0, "a")
    with pytest.raises(cogment.CogmentError, match="single pair"):
        session.start(("*", Observation()))  # type: ignore[arg-type]
    with pytest.raises(cogment.CogmentError, match="not a protobuf message"):
        session.start([("*", "text")])
    session.start([("referee.b", Observation()), ("player.*", Observation())])
    assert session.get_active_actors()[1] == cogment.ActorInfo("b", "referee")
    init, first = session._outgoing.get_nowait(), session._outgoing.get_nowait()
    assert isinstance(init, environment_pb2.EnvRunTrialOutput) and init.HasField("init_output")
    assert isinstance(first, environment_pb2.EnvRunTrialOutput)
    assert list(first.observation_set.actors_map) == [1, 0]
    with pytest.raises(cogment.CogmentError, match="more than once"):
        session.start()
    with pytest.raises(cogment.CogmentError, match="auto_done_sending is set"):
        session.sending_done()


def test_sending_is_refused_before_start_and_after_the_end_ack(caplog: Any) -> None:
    session = env_session()
    session.produce_observations([("*", Observation())])
    assert session._outgoing.empty()
    assert "before start()" in caplog.text
    session.start(auto_done_sending=False)
    session.end([("*", Observation())])
    session.sending_done()
    states = [session._outgoing.get_nowait().state for _ in range(4)]  # type: ignore[union-attr]
    assert states == [common_pb2.NORMAL, common_pb2.LAST, common_pb2.NORMAL, common_pb2.LAST_ACK]
    assert session._outgoing.empty()
    session.send_message(Observation(), ["a"])
    assert session._outgoing.empty()
    assert "after acknowledging ending" in caplog.text


def _params() -> cogment.TrialParameters[Any, Any]:
    return cogment.TrialParameters(
        SETTINGS,
        actors=[
            cogment.ActorParameters(SETTINGS, class_name="player", name=name)
            for name in ("a", "b", "c")
        ],
    )


def test_log_sample_actions_observations_rewards_messages() -> None:
    sample = datalog_pb2.DatalogSample(
        info=datalog_pb2.SampleInfo(
            tick_id=4, timestamp=9, state=common_pb2.RUNNING, special_events=["x"]
        ),
        observations=environment_pb2.ObservationSet(
            tick_id=4,
            timestamp=9,
            observations=[Observation(name="shared").SerializeToString()],
            actors_map=[0, 0, 0],
        ),
        actions=[
            common_pb2.Action(
                tick_id=4, timestamp=8, content=Action(content=b"a").SerializeToString()
            ),
            common_pb2.Action(tick_id=4),
            common_pb2.Action(tick_id=4),
        ],
        rewards=[common_pb2.Reward(tick_id=4, receiver_name="a", value=1.0)],
        messages=[common_pb2.Message(tick_id=4, sender_name="b", receiver_name="a")],
        default_actors=[1],
        unavailable_actors=[2],
    )
    log = cogment.LogSample(_params())
    log.deserialize(sample.SerializeToString())
    assert (log.tick_id, log.timestamp, log.state, log.events) == (
        4,
        9,
        cogment.TrialState.RUNNING,
        ["x"],
    )
    assert log.out_of_sync is False
    first = log.get_action("a")
    assert first is not None and first.action == Action(content=b"a") and first.timestamp == 8
    default = log.get_action(1)
    assert default is not None and default.status == cogment.ActorStatus.DEFAULT
    unavailable = log.get_action("c")
    assert unavailable is not None and unavailable.status == cogment.ActorStatus.UNAVAILABLE
    obs = log.get_observation("c")
    assert obs is not None and obs.observation == Observation(name="shared") and obs.tick_id == 4
    assert [r.receiver_name for r in log.all_rewards()] == ["a"]
    assert [m.sender_name for m in log.all_messages()] == ["b"]
    with pytest.raises(cogment.CogmentError, match="out of range"):
        log.get_observation(3)
    empty = cogment.LogSample(_params())
    assert empty.get_action(0) is None and empty.get_observation(0) is None
    with pytest.raises(cogment.CogmentError, match="TrialParameters"):
        cogment.LogSample(object())  # type: ignore[arg-type]


def test_recv_classes_repr() -> None:
    event: cogment.RecvEvent[Any, Any] = cogment.RecvEvent(
        cogment.EventType.ACTIVE,
        observation=cogment.RecvObservation(1, 2, Observation()),
        rewards=[cogment.RecvReward(1, "a", 1.0, [])],
    )
    text = repr(event)
    assert "ACTIVE" in text and "RecvObservation(tick_id=1" in text and "RecvReward(" in text


def test_deprecated_log_params() -> None:
    params = _params()
    params.max_steps = 9
    session = cogment.DatalogSession("t", "u", params)
    with pytest.warns(DeprecationWarning, match="trial_params"):
        legacy = session.trial_params
    assert (legacy.max_steps, legacy.nb_actors) == (9, 3)
    assert legacy.get_actor_index("b") == 1 and legacy.get_actor_name(2) == "c"
    actor = legacy.get_actor(0)
    assert actor["actor_class"] == "player" and actor["action_space"] is Action
    assert legacy.get_trial_config() is None
    with pytest.warns(DeprecationWarning, match="LogParams"):
        copy = cogment.LogParams(SETTINGS)
    copy.deserialize(legacy.serialize())
    assert copy.nb_actors == 3
    with pytest.warns(DeprecationWarning, match="LogSample\\(LogParams\\)"):
        sample = cogment.LogSample(copy)
    assert list(sample.all_actor_names()) == ["a", "b", "c"]


def test_observations_from_a_generator_are_not_confused() -> None:
    session = env_session()
    session.start(
        (name, Observation(name=name))
        for name in ("a", "b")  # temporaries: ids may be reused
    )
    session._outgoing.get_nowait()
    obs_set = session._outgoing.get_nowait().observation_set  # type: ignore[union-attr]
    names = [Observation.FromString(obs_set.observations[i]).name for i in obs_set.actors_map]
    assert names == ["a", "b"]
