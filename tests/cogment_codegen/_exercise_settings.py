"""Run in a subprocess by ``test_generated_runtime.py``: import a generated ``cog_settings`` (the
directory holding it is ``sys.argv[1]``), build its messages and drive its typed sessions.

Prints one line per check; exits non-zero on the first failure.
"""

from __future__ import annotations

import sys
from typing import Any

sys.path.insert(0, sys.argv[1])

import cog_settings

import cogment
from cogment.api import common_pb2, environment_pb2


def drain(session: Any) -> list[Any]:
    items = []
    while not session._outgoing.empty():
        items.append(session._outgoing.get_nowait())
    return items


classes = list(cog_settings.actor_classes)
assert [c.name for c in classes] == [c.name for c in cog_settings.actor_classes]
for actor_class in classes:
    assert actor_class.name in cog_settings.actor_classes
    assert cog_settings.actor_classes[actor_class.name] is actor_class
    assert cog_settings.actor_classes.get(actor_class.name) is actor_class
    assert getattr(cog_settings.actor_classes, actor_class.name) is actor_class
    session_type = actor_class.session_type
    assert session_type is getattr(cog_settings, session_type.__name__)
    assert issubclass(session_type, cogment.ActorSession)
    config = actor_class.config_type() if actor_class.config_type is not None else None
    session = session_type("trial-1", "actor-1", "impl", actor_class, "env", config)
    session.start()
    action = actor_class.action_space()
    session._on_observation_delivered(7)
    session.do_action(action)
    out = drain(session)
    assert isinstance(out[-1], common_pb2.ActorRunTrialOutput), out
    assert out[-1].action.tick_id == 7
    decoded = actor_class.action_space.FromString(out[-1].action.content)
    assert decoded == action
    observation = actor_class.observation_space()
    assert actor_class.observation_space.FromString(observation.SerializeToString()) == observation
    print(f"actor class {actor_class.name}: {session_type.__name__} acts")

assert cog_settings.actor_classes.get("no such class") is None

env_spec = cog_settings.environment
env_config = env_spec.config_type() if env_spec.config_type is not None else None
actors = [cogment.ActorInfo(f"a{i}", c.name) for i, c in enumerate(classes)]
env = env_spec.session_type("trial-1", "env", "impl", actors, env_config)
assert isinstance(env, cog_settings.EnvironmentSession)
assert env.config == env_config
env.start([(f"a{i}", c.observation_space()) for i, c in enumerate(classes)])
sent = drain(env)
assert isinstance(sent[-1], environment_pb2.EnvRunTrialOutput)
assert list(sent[-1].observation_set.actors_map) == list(range(len(classes)))
for i, actor_class in enumerate(classes):
    narrow = getattr(env, f"{actor_class.name}_action")
    action = actor_class.action_space()
    received = cogment.RecvAction(i, 3, cogment.ActorStatus.ACTIVE, 0, action)
    assert narrow(received) is action
    assert narrow(cogment.RecvAction(i, 3, cogment.ActorStatus.ACTIVE, 0, None)) is None
    others = [j for j, c in enumerate(classes) if c.name != actor_class.name]
    for j in others:
        try:
            narrow(cogment.RecvAction(j, 3, cogment.ActorStatus.ACTIVE, 0, action))
        except cogment.CogmentError as error:
            assert f"expected class [{actor_class.name}]" in str(error)
        else:
            raise AssertionError("narrowing to the wrong class did not raise")
    print(f"environment narrows actions of {actor_class.name}")

trial_config = cog_settings.trial.config_type
kwargs: dict[str, Any] = {"max_steps": 12, "environment_name": "env"}
if trial_config is not None:
    kwargs["config"] = trial_config()
if env_spec.config_type is not None:
    kwargs["environment_config"] = env_spec.config_type()
actor_params = []
for i, actor_class in enumerate(classes):
    make = getattr(cog_settings, f"{actor_class.name}_parameters")
    extra = {"config": actor_class.config_type()} if actor_class.config_type is not None else {}
    actor_params.append(
        make(
            name=f"a{i}", implementation="impl", default_action=actor_class.action_space(), **extra
        )
    )
params = cog_settings.trial_parameters(actors=actor_params, **kwargs)
wire = params.to_proto()
assert wire.max_steps == 12
assert [a.actor_class for a in wire.actors] == [c.name for c in classes]
assert [a.name for a in params.actors] == [f"a{i}" for i in range(len(classes))]
for i, actor_class in enumerate(classes):
    assert isinstance(params.actors[i].default_action, actor_class.action_space)
if trial_config is not None:
    assert isinstance(params.config, trial_config)
hook = cog_settings.PrehookSession("trial-1", "user", params)
assert isinstance(hook, cogment.PrehookSession)
assert hook.trial_parameters.max_steps == 12
print(f"trial parameters with {len(classes)} actors")
print("OK")
