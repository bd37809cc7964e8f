"""The pre-trial hook session."""

from __future__ import annotations

from typing import Any, Generic, TypeVar

from cogment._errors import CogmentError
from cogment._log import deprecated
from cogment._parameters import TrialParameters
from cogment.api import common_pb2

__all__ = ["PrehookSession", "TrialConfigT"]

TrialConfigT = TypeVar("TrialConfigT")
"""Trial config type (a protobuf message class, or None when the spec declares none)."""

# Deprecated attribute API of the published SDK (before `trial_parameters`).
_LEGACY_ATTRIBUTES = (
    "trial_config",
    "trial_max_steps",
    "trial_max_inactivity",
    "datalog_endpoint",
    "datalog_exclude",
    "environment_config",
    "environment_endpoint",
    "environment_name",
    "environment_implementation",
    "actors",
)
_LEGACY_ACTOR_KEYS = ("name", "actor_class", "endpoint", "implementation", "config")


class PrehookSession(Generic[TrialConfigT]):
    """Session of a pre-trial hook: edit ``trial_parameters`` before returning to set the
    parameters of the new trial (they go to the next hook, or the orchestrator)."""

    def __init__(
        self,
        trial_id: str,
        user_id: str,
        trial_parameters: TrialParameters[TrialConfigT, Any],
    ) -> None:
        self._trial_id = trial_id
        self._user_id = user_id
        self._trial_parameters = trial_parameters
        self._original = trial_parameters.to_proto()
        self._legacy: dict[str, Any] | None = None
        self._legacy_snapshot: dict[str, Any] = {}
        self._trial_parameters_used = False

    @property
    def trial_parameters(self) -> TrialParameters[TrialConfigT, Any]:
        """Parameters of the trial, to edit in place (or replace)."""
        self._trial_parameters_used = True
        return self._trial_parameters

    @trial_parameters.setter
    def trial_parameters(self, value: TrialParameters[TrialConfigT, Any]) -> None:
        if not isinstance(value, TrialParameters):
            raise CogmentError(
                f"PrehookSession.trial_parameters must be a TrialParameters, got "
                f"[{type(value).__name__}]"
            )
        self._trial_parameters_used = True
        self._trial_parameters = value

    def get_trial_id(self) -> str:
        """Id of the trial being started."""
        return self._trial_id

    def get_user_id(self) -> str:
        """Id of the user who started the trial."""
        return self._user_id

    def validate(self) -> None:
        """Check the deprecated attribute API was used consistently (raises ``CogmentError``)."""
        legacy = self._legacy
        if legacy is None:
            return
        if self._trial_parameters_used and self._legacy_changed():
            raise CogmentError(
                "Pre-trial hook: cannot mix the deprecated attributes with `trial_parameters`"
            )
        for actor in legacy.get("actors") or []:
            if not isinstance(actor, dict):
                raise CogmentError(f"Pre-trial hook: invalid actor entry [{actor!r}]")
            for key in actor:
                if key not in _LEGACY_ACTOR_KEYS:
                    raise CogmentError(f"Pre-trial hook: unknown actor attribute [{key}]")

    # -- deprecated attribute API ----------------------------------------------------------------

    def __getattr__(self, name: str) -> Any:
        if name in _LEGACY_ATTRIBUTES:
            legacy = self._legacy_attributes()
            return legacy[name]
        raise AttributeError(f"'PrehookSession' object has no attribute '{name}'")

    def __setattr__(self, name: str, value: Any) -> None:
        if name in _LEGACY_ATTRIBUTES:
            self._legacy_attributes()[name] = value
        else:
            object.__setattr__(self, name, value)

    def _legacy_attributes(self) -> dict[str, Any]:
        if self._legacy is None:
            deprecated(
                f"PrehookSession attributes ({', '.join(_LEGACY_ATTRIBUTES)}) are deprecated; "
                "use `session.trial_parameters`",
                stacklevel=4,
            )
            self._legacy = self._decode_legacy()
            self._legacy_snapshot = {
                key: ([dict(a) for a in value] if key == "actors" else _snapshot_value(value))
                for key, value in self._legacy.items()
            }
        return self._legacy

    def _decode_legacy(self) -> dict[str, Any]:
        params = self._trial_parameters
        raw = params.to_proto(copy=False)
        has_env = raw.HasField("environment")
        has_datalog = raw.HasField("datalog")
        actors = []
        for actor in params.actors:
            actors.append(
                {
                    "name": actor.name,
                    "actor_class": actor.actor_class,
                    "endpoint": actor.endpoint,
                    "implementation": actor.implementation,
                    "config": actor.config if actor.has_specs() else actor.config_serialized,
                }
            )
        return {
            "trial_config": params.config if params.has_specs() else params.config_serialized,
            "trial_max_steps": raw.max_steps,
            "trial_max_inactivity": raw.max_inactivity,
            "datalog_endpoint": raw.datalog.endpoint if has_datalog else None,
            "datalog_exclude": list(raw.datalog.exclude_fields) if has_datalog else [],
            "environment_config": (
                (params.environment_config if params.has_specs() else None) if has_env else None
            ),
            "environment_endpoint": raw.environment.endpoint if has_env else None,
            "environment_name": raw.environment.name if has_env else None,
            "environment_implementation": raw.environment.implementation if has_env else None,
            "actors": actors,
        }

    def _legacy_changed(self) -> bool:
        legacy = self._legacy
        if legacy is None:
            return False
        for key, value in legacy.items():
            before = self._legacy_snapshot.get(key)
            if key == "actors":
                if value != before:
                    return True
            elif _snapshot_value(value) != before:
                return True
        return False

    def _reply_params(self) -> common_pb2.TrialParams:
        """The parameters to answer the orchestrator with."""
        if self._legacy is None or self._trial_parameters_used or not self._legacy_changed():
            return self._trial_parameters.to_proto(copy=False)
        return self._recode_legacy()

    def _recode_legacy(self) -> common_pb2.TrialParams:
        """Apply the deprecated attributes on top of the received parameters (the fields the
        attribute API does not cover, like properties and timeouts, are kept)."""
        legacy = self._legacy
        assert legacy is not None
        result = common_pb2.TrialParams()
        result.CopyFrom(self._original)
        config = legacy["trial_config"]
        if config is None:
            result.ClearField("trial_config")
        else:
            result.trial_config.content = _serialize(config)
        result.max_steps = int(legacy["trial_max_steps"] or 0)
        result.max_inactivity = int(legacy["trial_max_inactivity"] or 0)
        if legacy["datalog_endpoint"] is not None:
            result.datalog.endpoint = legacy["datalog_endpoint"]
            del result.datalog.exclude_fields[:]
            result.datalog.exclude_fields.extend(legacy["datalog_exclude"] or [])
        else:
            result.ClearField("datalog")
        env_fields = {
            "endpoint": legacy["environment_endpoint"],
            "name": legacy["environment_name"],
            "implementation": legacy["environment_implementation"],
        }
        for field, value in env_fields.items():
            if value is not None:
                setattr(result.environment, field, value)
        if legacy["environment_config"] is not None:
            result.environment.config.content = _serialize(legacy["environment_config"])
        elif result.HasField("environment"):
            result.environment.ClearField("config")
        previous = {a.name: a for a in self._original.actors}
        del result.actors[:]
        for actor in legacy["actors"] or []:
            wire = result.actors.add()
            kept = previous.get(actor.get("name", ""))
            if kept is not None:
                wire.CopyFrom(kept)
            for key in ("name", "actor_class", "endpoint", "implementation"):
                if key in actor and actor[key] is not None:
                    setattr(wire, key, actor[key])
            if actor.get("config") is not None:
                wire.config.content = _serialize(actor["config"])
            else:
                wire.ClearField("config")
        return result


def _snapshot_value(value: Any) -> Any:
    if hasattr(value, "SerializeToString"):
        return value.SerializeToString(deterministic=True)
    if isinstance(value, list):
        return list(value)
    return value


def _serialize(value: Any) -> bytes:
    if isinstance(value, bytes):
        return value
    if hasattr(value, "SerializeToString"):
        data: bytes = value.SerializeToString()
        return data
    raise CogmentError(f"Pre-trial hook: cannot serialize config [{value!r}]")
