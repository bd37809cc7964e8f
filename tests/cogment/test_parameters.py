"""TrialParameters / ActorParameters: the documented behaviour, the list-like actors, wire conversion."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from google.protobuf import wrappers_pb2
from typing_extensions import assert_type

from cogment._actor import ActorClass, ActorClassList
from cogment._errors import CogmentError
from cogment._parameters import ActorParameters, ActorsList, TrialParameters
from cogment.api import common_pb2

TrialConfig = wrappers_pb2.StringValue
EnvConfig = wrappers_pb2.Int32Value
PlayerConfig = wrappers_pb2.BoolValue
PlayerAction = wrappers_pb2.Int64Value
Observation = wrappers_pb2.BytesValue

SETTINGS: Any = SimpleNamespace(
    actor_classes=ActorClassList(
        ActorClass("player", PlayerConfig, PlayerAction, Observation),
        ActorClass("referee", None, wrappers_pb2.UInt32Value, Observation),
    ),
    trial=SimpleNamespace(config_type=TrialConfig),
    environment=SimpleNamespace(config_type=EnvConfig),
)
NO_CONFIG_SETTINGS: Any = SimpleNamespace(
    actor_classes=SETTINGS.actor_classes,
    trial=SimpleNamespace(config_type=None),
    environment=SimpleNamespace(config_type=None),
)


def player(name: str, **kwargs: Any) -> ActorParameters:
    return ActorParameters(SETTINGS, "player", name=name, **kwargs)


# ------------------------------------------------------------------------------------------ TrialParameters


def test_defaults() -> None:
    params = TrialParameters(SETTINGS)
    assert params.has_specs()
    assert params.config is None and params.config_serialized is None
    assert dict(params.properties) == {}
    assert (params.max_steps, params.max_inactivity, params.nb_buffered_ticks) == (0, 0, 0)
    assert params.datalog_endpoint == "" and params.datalog_exclude_fields == ()
    assert params.environment_config is None and params.environment_config_serialized is None
    assert (
        params.environment_name,
        params.environment_endpoint,
        params.environment_implementation,
    ) == ("", "", "")
    assert len(params.actors) == 0
    assert params.to_proto() == common_pb2.TrialParams()


def test_constructor_keywords_set_every_attribute() -> None:
    params = TrialParameters(
        SETTINGS,
        config=TrialConfig(value="cfg"),
        properties={"a": "1"},
        max_steps=10,
        max_inactivity=30,
        nb_buffered_ticks=5,
        datalog_endpoint="grpc://log:9000",
        datalog_exclude_fields=["observations"],
        environment_config=EnvConfig(value=7),
        environment_name="env",
        environment_endpoint="grpc://env:9000",
        environment_implementation="default",
        actors=[player("bob"), player("alice")],
    )
    assert params.config == TrialConfig(value="cfg")
    assert dict(params.properties) == {"a": "1"}
    assert (params.max_steps, params.max_inactivity, params.nb_buffered_ticks) == (10, 30, 5)
    assert params.datalog_endpoint == "grpc://log:9000"
    assert params.datalog_exclude_fields == ("observations",)
    assert params.environment_config == EnvConfig(value=7)
    assert params.environment_name == "env"
    assert params.environment_endpoint == "grpc://env:9000"
    assert params.environment_implementation == "default"
    assert params.actors.names() == ["bob", "alice"]
    raw = params.to_proto()
    assert raw.trial_config.content == TrialConfig(value="cfg").SerializeToString()
    assert raw.environment.config.content == EnvConfig(value=7).SerializeToString()
    assert [a.name for a in raw.actors] == ["bob", "alice"]


def test_unknown_keyword_is_rejected() -> None:
    with pytest.raises(TypeError):
        TrialParameters(SETTINGS, max_step=3)  # type: ignore[call-arg]


def test_none_resets_to_default() -> None:
    params = TrialParameters(
        SETTINGS,
        config=TrialConfig(value="x"),
        properties={"a": "b"},
        max_steps=3,
        datalog_exclude_fields=["x"],
        environment_name="e",
        environment_config_serialized=b"\x08\x01",
        actors=[player("p")],
    )
    params.config = None
    params.properties = None
    params.max_steps = None
    params.datalog_exclude_fields = None
    params.environment_name = None
    params.environment_config_serialized = None
    params.actors = None
    assert params.to_proto() == common_pb2.TrialParams(
        datalog=common_pb2.DatalogParams(), environment=common_pb2.EnvironmentParams()
    )
    assert params.config is None and params.environment_config is None
    assert len(params.actors) == 0


def test_config_is_immutable_copy() -> None:
    params = TrialParameters(SETTINGS, config=TrialConfig(value="a"))
    returned = params.config
    assert returned is not None
    returned.value = "changed"
    assert params.config == TrialConfig(value="a")
    params.config = returned
    assert params.config == TrialConfig(value="changed")


def test_serialized_variants_work_without_specs() -> None:
    params = TrialParameters(None, config_serialized=b"raw", environment_serialized=b"env")
    assert not params.has_specs()
    assert params.config_serialized == b"raw"
    assert params.environment_config_serialized == b"env"
    assert params.environment_serialized == b"env"
    with pytest.raises(CogmentError, match="without specs"):
        _ = params.config
    with pytest.raises(CogmentError, match="without specs"):
        _ = params.environment_config
    # Without specs any message can be set (it is only serialized).
    params.config = wrappers_pb2.Int64Value(value=3)
    assert params.config_serialized == wrappers_pb2.Int64Value(value=3).SerializeToString()


def test_config_type_is_checked_against_specs() -> None:
    params = TrialParameters(SETTINGS)
    with pytest.raises(CogmentError, match=r"google\.protobuf\.StringValue"):
        params.config = EnvConfig(value=1)
    with pytest.raises(CogmentError, match="protobuf message"):
        params.config = "text"
    with pytest.raises(CogmentError, match=r"google\.protobuf\.Int32Value"):
        params.environment_config = TrialConfig(value="x")
    no_config = TrialParameters(NO_CONFIG_SETTINGS)
    with pytest.raises(CogmentError, match="no trial config type"):
        no_config.config = TrialConfig(value="x")
    no_config.config_serialized = b"\x0a\x01x"
    with pytest.raises(CogmentError, match="config_serialized"):
        _ = no_config.config


@pytest.mark.parametrize(
    ("attribute", "value", "fragment"),
    [
        ("max_steps", "10", "expected int"),
        ("max_steps", -1, "out of range"),
        ("max_steps", True, "expected int"),
        ("max_inactivity", 2**32, "out of range"),
        ("nb_buffered_ticks", 1.0, "expected int"),
        ("datalog_endpoint", 3, "expected str"),
        ("datalog_exclude_fields", "observations", "got a string"),
        ("datalog_exclude_fields", [1], "expected str"),
        ("environment_name", b"env", "expected str"),
        ("properties", {"a": 1}, "expected str"),
        ("properties", [("a", "b")], "mapping"),
        ("config_serialized", "text", "expected bytes"),
        ("actors", ["bob"], "ActorParameters"),
    ],
)
def test_bad_values_raise_cogment_error_naming_the_attribute(
    attribute: str, value: object, fragment: str
) -> None:
    params = TrialParameters(SETTINGS)
    with pytest.raises(CogmentError, match=fragment):
        setattr(params, attribute, value)
    assert params.to_proto() == common_pb2.TrialParams()


def test_properties_are_a_live_mapping() -> None:
    params = TrialParameters(None, properties={"a": "1"})
    params.properties["b"] = "2"
    assert dict(params.to_proto().properties) == {"a": "1", "b": "2"}


def test_serialize_deserialize_round_trip() -> None:
    params = TrialParameters(SETTINGS, max_steps=4, properties={"x": "y"}, actors=[player("bob")])
    assert params.get_serialization_type() == 3
    data = params.serialize()
    assert isinstance(data, bytes)
    other = TrialParameters(None)
    other.deserialize(data, type=3)
    assert other.to_proto() == params.to_proto()
    assert other.actors[0].name == "bob"
    again = TrialParameters(SETTINGS)
    again.deserialize(data)
    assert again == params
    with pytest.raises(CogmentError, match="serialization type"):
        other.deserialize(data, type=2)
    with pytest.raises(CogmentError, match="Cannot decode"):
        other.deserialize(b"\xff\xff\xff")


def test_from_proto_copy_and_in_place() -> None:
    raw = common_pb2.TrialParams(
        max_steps=5, actors=[common_pb2.ActorParams(name="a", actor_class="player")]
    )
    copied = TrialParameters.from_proto(SETTINGS, raw)
    copied.max_steps = 6
    assert raw.max_steps == 5
    wrapped = TrialParameters.from_proto(SETTINGS, raw, copy=False)
    wrapped.max_steps = 7
    wrapped.actors["a"].implementation = "smart"
    assert raw.max_steps == 7 and raw.actors[0].implementation == "smart"
    assert wrapped.to_proto(copy=False) is raw
    wrapped.deserialize(copied.serialize())
    assert raw.max_steps == 6  # deserialize keeps the wrapped message (in place)


def test_copy_is_independent() -> None:
    params = TrialParameters(SETTINGS, max_steps=1, actors=[player("a")])
    duplicate = params.copy()
    duplicate.actors[0].name = "b"
    assert params.actors[0].name == "a"
    assert duplicate != params


# ------------------------------------------------------------------------------------------ actors list


def test_actors_list_indexing() -> None:
    params = TrialParameters(SETTINGS, actors=[player("a"), player("b"), player("c")])
    actors = params.actors
    assert isinstance(actors, ActorsList)
    assert len(actors) == 3
    assert actors[0].name == "a" and actors[-1].name == "c"
    assert actors["b"].name == "b"
    assert [p.name for p in actors[1:]] == ["b", "c"]
    assert [p.name for p in actors] == ["a", "b", "c"]
    assert "b" in actors and "z" not in actors
    assert actors.index("c") == 2
    assert actors.get("z") is None
    with pytest.raises(CogmentError, match=r"Unknown actor name \[z\].*a, b, c"):
        _ = actors["z"]
    with pytest.raises(IndexError):
        _ = actors[3]
    with pytest.raises(CogmentError, match="Wrong key type"):
        _ = actors[1.0]  # type: ignore[call-overload]


def test_actors_are_live_views() -> None:
    params = TrialParameters(SETTINGS, actors=[player("a")])
    params.actors[0].implementation = "impl"
    params.actors["a"].config = PlayerConfig(value=True)
    assert params.to_proto().actors[0].implementation == "impl"
    assert params.actors[0].config == PlayerConfig(value=True)
    # Renaming is seen by name lookups right away (no stale cache).
    params.actors[0].name = "renamed"
    assert params.actors["renamed"].implementation == "impl"


def test_appended_actor_is_copied() -> None:
    params = TrialParameters(SETTINGS)
    bob = player("bob")
    params.actors.append(bob)
    bob.name = "not-bob"
    assert params.actors.names() == ["bob"]


def test_actors_list_mutations() -> None:
    params = TrialParameters(SETTINGS, actors=[player("a"), player("b")])
    actors = params.actors
    actors.extend([player("c"), player("d")])
    actors.insert(0, player("z"))
    assert actors.names() == ["z", "a", "b", "c", "d"]
    actors[1] = player("A")
    actors["b"] = player("B")
    assert actors.names() == ["z", "A", "B", "c", "d"]
    del actors[0]
    del actors["c"]
    assert actors.names() == ["A", "B", "d"]
    popped = actors.pop()
    assert popped.name == "d" and actors.names() == ["A", "B"]
    popped.name = "detached"
    assert actors.names() == ["A", "B"]
    actors.remove("A")
    assert actors.names() == ["B"]
    with pytest.raises(CogmentError, match="ActorParameters"):
        actors.append("x")  # type: ignore[arg-type]
    with pytest.raises(CogmentError, match="ActorParameters"):
        actors.extend([player("ok"), "x"])  # type: ignore[list-item]
    assert actors.names() == ["B"]
    with pytest.raises(CogmentError, match="Slices"):
        actors[0:1] = [player("x")]  # type: ignore[index,assignment]
    actors.clear()
    assert len(actors) == 0


def test_actors_setter_copies_from_another_trial() -> None:
    source = TrialParameters(SETTINGS, actors=[player("a"), player("b")])
    target = TrialParameters(SETTINGS)
    target.actors = source.actors
    target.actors[0].name = "x"
    assert source.actors.names() == ["a", "b"]
    assert target.actors.names() == ["x", "b"]
    target.actors = target.actors  # self-assignment keeps the actors
    assert target.actors.names() == ["x", "b"]
    assert source.actors == [player("a"), player("b")]


# ------------------------------------------------------------------------------------------ ActorParameters


def test_actor_parameters_attributes() -> None:
    actor = ActorParameters(
        SETTINGS,
        "player",
        name="bob",
        endpoint="grpc://a:1",
        implementation="smart",
        initial_connection_timeout=2,
        response_timeout=1.5,
        optional=True,
        config=PlayerConfig(value=True),
        default_action=PlayerAction(value=3),
    )
    assert actor.has_specs()
    assert actor.class_name == "player" and actor.actor_class == "player"
    assert actor.actor_class_spec is SETTINGS.actor_classes.player
    assert (actor.name, actor.endpoint, actor.implementation) == ("bob", "grpc://a:1", "smart")
    assert actor.initial_connection_timeout == 2.0 and actor.response_timeout == 1.5
    assert actor.optional is True
    assert actor.config == PlayerConfig(value=True)
    assert actor.default_action == PlayerAction(value=3)
    assert actor.config_serialized == PlayerConfig(value=True).SerializeToString()
    assert actor.default_action_serialized == PlayerAction(value=3).SerializeToString()
    raw = actor.to_proto()
    assert raw.optional and raw.response_timeout == 1.5 and raw.actor_class == "player"


def test_actor_parameters_none_resets() -> None:
    actor = player("bob", implementation="x", optional=True, config=PlayerConfig(value=True))
    for attribute in (
        "name",
        "implementation",
        "optional",
        "config",
        "default_action",
        "response_timeout",
    ):
        setattr(actor, attribute, None)
    assert actor.to_proto() == common_pb2.ActorParams(actor_class="player")


def test_actor_class_keyword_works_with_specs() -> None:
    # The published SDK raised "Cannot change actor class" here (reference defect 6).
    actor = ActorParameters(SETTINGS, actor_class="referee", name="ref")
    assert actor.class_name == "referee"
    with pytest.raises(CogmentError, match="Conflicting"):
        ActorParameters(SETTINGS, "player", actor_class="referee")
    with pytest.raises(CogmentError, match="requires an actor class"):
        ActorParameters(SETTINGS)


def test_unknown_actor_class_is_rejected_with_specs() -> None:
    with pytest.raises(CogmentError, match=r"Unknown actor class \[coach\].*player, referee"):
        ActorParameters(SETTINGS, "coach")
    assert ActorParameters(None, "coach").class_name == "coach"


def test_class_name_cannot_change() -> None:
    actor = player("bob")
    with pytest.raises(CogmentError, match="Cannot change"):
        actor.class_name = "referee"
    actor.actor_class = "referee"  # allowed: no class-typed data yet
    assert actor.class_name == "referee"
    actor.default_action = wrappers_pb2.UInt32Value(value=1)
    with pytest.raises(CogmentError, match="config or a default action"):
        actor.actor_class = "player"
    with pytest.raises(CogmentError, match="required"):
        actor.actor_class = None  # type: ignore[assignment]


def test_actor_config_type_checks() -> None:
    actor = player("bob")
    with pytest.raises(CogmentError, match=r"google\.protobuf\.BoolValue"):
        actor.config = PlayerAction(value=1)
    with pytest.raises(CogmentError, match=r"google\.protobuf\.Int64Value"):
        actor.default_action = PlayerConfig(value=True)
    referee = ActorParameters(SETTINGS, "referee")
    with pytest.raises(CogmentError, match="no config type"):
        referee.config = PlayerConfig(value=True)
    with pytest.raises(CogmentError, match="expected bool"):
        actor.optional = 1  # type: ignore[assignment]
    with pytest.raises(CogmentError, match="not a number"):
        actor.response_timeout = "soon"  # type: ignore[assignment]
    with pytest.raises(CogmentError, match="expected str"):
        actor.name = 3  # type: ignore[assignment]


def test_actor_config_without_specs() -> None:
    actor = ActorParameters(None, "player", config_serialized=b"\x08\x01")
    assert not actor.has_specs()
    assert actor.config_serialized == b"\x08\x01"
    with pytest.raises(CogmentError, match="without specs"):
        _ = actor.config
    with pytest.raises(CogmentError, match="no specs"):
        _ = actor.actor_class_spec
    with pytest.raises(CogmentError, match="not both"):
        ActorParameters(None, "player", config=PlayerConfig(), config_serialized=b"")


def test_actor_config_is_immutable_copy() -> None:
    actor = player("bob", config=PlayerConfig(value=False))
    config = actor.config
    assert config is not None
    config.value = True
    assert actor.config == PlayerConfig(value=False)


# ------------------------------------------------------------------------------------------ interop

_REFERENCE_SCRIPT = """
import json, sys
import cogment
params = cogment.TrialParameters(
    None,
    config_serialized=b"\\x0a\\x01x",
    properties={"a": "1", "b": "2"},
    max_steps=10,
    max_inactivity=5,
    nb_buffered_ticks=3,
    datalog_endpoint="grpc://log:1",
    datalog_exclude_fields=["observations", "rewards"],
    environment_config_serialized=b"\\x08\\x01",
    environment_name="env",
    environment_endpoint="grpc://env:1",
    environment_implementation="impl",
)
params.actors = [
    cogment.ActorParameters(
        None, class_name="player", name="bob", endpoint="cogment://client", implementation="i",
        initial_connection_timeout=2.5, response_timeout=1.0, optional=True,
        config_serialized=b"c", default_action_serialized=b"d",
    ),
    cogment.ActorParameters(None, class_name="referee", name="ref"),
]
ours = cogment.TrialParameters(None)
ours.deserialize(bytes.fromhex(sys.argv[1]), type=3)
print(json.dumps({
    "serialized": params.serialize().hex(),
    "type": params.get_serialization_type(),
    "ours_read": [ours.max_steps, ours.environment_name, list(ours.datalog_exclude_fields),
                  [a.name for a in ours.actors], ours.actors["bob"].response_timeout,
                  ours.actors[0].default_action_serialized.hex(), dict(ours.properties)],
}))
"""


def _same_params() -> TrialParameters:
    return TrialParameters(
        None,
        config_serialized=b"\x0a\x01x",
        properties={"a": "1", "b": "2"},
        max_steps=10,
        max_inactivity=5,
        nb_buffered_ticks=3,
        datalog_endpoint="grpc://log:1",
        datalog_exclude_fields=["observations", "rewards"],
        environment_config_serialized=b"\x08\x01",
        environment_name="env",
        environment_endpoint="grpc://env:1",
        environment_implementation="impl",
        actors=[
            ActorParameters(
                None,
                "player",
                name="bob",
                endpoint="cogment://client",
                implementation="i",
                initial_connection_timeout=2.5,
                response_timeout=1.0,
                optional=True,
                config_serialized=b"c",
                default_action_serialized=b"d",
            ),
            ActorParameters(None, "referee", name="ref"),
        ],
    )


@pytest.mark.interop
def test_serialization_interoperates_with_the_published_sdk(tmp_path: Path) -> None:
    from tests._support.refsdk import reference_python

    ours = _same_params()
    output = subprocess.run(
        [str(reference_python()), "-c", _REFERENCE_SCRIPT, ours.serialize().hex()],
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,  # import the published `cogment`, not the repository's
    ).stdout
    result = json.loads(output)
    assert result["type"] == ours.get_serialization_type() == 3
    theirs = TrialParameters(None)
    theirs.deserialize(bytes.fromhex(result["serialized"]), type=result["type"])
    assert theirs == ours  # same attributes give the same TrialParams
    assert result["ours_read"] == [
        10,
        "env",
        ["observations", "rewards"],
        ["bob", "ref"],
        1.0,
        "64",
        {"a": "1", "b": "2"},
    ]


# ------------------------------------------------------------------------------------------ typing


def test_generic_types_are_inferred() -> None:
    """Checked by mypy (``assert_type``): the config types flow from the arguments / annotations."""
    trial: TrialParameters[TrialConfig, EnvConfig] = TrialParameters(SETTINGS)
    assert_type(trial.config, TrialConfig | None)
    assert_type(trial.environment_config, EnvConfig | None)
    actor = ActorParameters(
        SETTINGS, "player", config=PlayerConfig(), default_action=PlayerAction()
    )
    assert_type(actor, ActorParameters[PlayerConfig, PlayerAction])
    assert_type(actor.default_action, PlayerAction | None)
    untyped = TrialParameters(SETTINGS)
    assert_type(untyped, TrialParameters[Any, Any])
    assert_type(untyped.actors.get("x"), ActorParameters[Any, Any] | None)
