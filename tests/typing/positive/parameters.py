"""Every scalar attribute of the trial and actor parameters is typed on instances and resettable."""

from __future__ import annotations

from typing import Any

from typing_extensions import assert_type

import cogment


def trial(params: cogment.TrialParameters[Any, Any]) -> None:
    assert_type(params.max_steps, int)
    assert_type(params.max_inactivity, int)
    assert_type(params.nb_buffered_ticks, int)
    assert_type(params.datalog_endpoint, str)
    assert_type(params.environment_name, str)
    assert_type(params.environment_endpoint, str)
    assert_type(params.environment_implementation, str)
    assert_type(params.config_serialized, bytes | None)
    assert_type(params.environment_config_serialized, bytes | None)
    assert_type(params.datalog_exclude_fields, tuple[str, ...])
    params.max_steps = 10
    params.max_steps = None
    params.environment_name = "env"
    params.environment_name = None
    params.datalog_endpoint = None
    params.config_serialized = b"\x08\x01"
    params.environment_config_serialized = None


def actor(actor: cogment.ActorParameters[Any, Any]) -> None:
    assert_type(actor.name, str)
    assert_type(actor.endpoint, str)
    assert_type(actor.implementation, str)
    assert_type(actor.initial_connection_timeout, float)
    assert_type(actor.response_timeout, float)
    assert_type(actor.optional, bool)
    assert_type(actor.class_name, str)
    assert_type(actor.config_serialized, bytes | None)
    assert_type(actor.default_action_serialized, bytes | None)
    actor.response_timeout = 1.5
    actor.response_timeout = 2
    actor.optional = None
    actor.name = None
    actor.default_action_serialized = None
