"""Access to the trial specs (the generated ``cog_settings`` module or package), tolerant of both
the published generator's format and ours."""

from __future__ import annotations

from typing import Any

from google.protobuf.message import Message

from cogment._actor import ActorClass, ActorClassList
from cogment._environment import EnvironmentSession
from cogment._errors import CogmentError

__all__ = ["Specs"]


class Specs:
    """The parts of ``cog_settings`` the runtime uses; ``cog_settings=None`` means no specs."""

    __slots__ = ("_actor_classes", "cog_settings")

    def __init__(self, cog_settings: Any) -> None:
        self.cog_settings = cog_settings
        classes = getattr(cog_settings, "actor_classes", None) if cog_settings is not None else None
        if cog_settings is not None and classes is None:
            raise CogmentError(
                f"cog_settings [{getattr(cog_settings, '__name__', cog_settings)}] has no "
                "`actor_classes`: is it a module generated from cogment.yaml?"
            )
        self._actor_classes: ActorClassList | None = classes

    @property
    def has_specs(self) -> bool:
        return self.cog_settings is not None

    def actor_class(self, name: str, where: str) -> ActorClass[Any]:
        """The actor class ``name``; without specs, a placeholder class with no types."""
        if self._actor_classes is None:
            return ActorClass(name, None, Message, Message)
        found = self._actor_classes.get(name)
        if found is None:
            raise CogmentError(
                f"{where}: actor class [{name}] is not in the specs (cog_settings classes: "
                f"{[c.name for c in self._actor_classes]})"
            )
        return found

    def _section_attr(self, section: str, attr: str) -> Any:
        if self.cog_settings is None:
            return None
        part = getattr(self.cog_settings, section, None)
        return getattr(part, attr, None) if part is not None else None

    @property
    def environment_config_type(self) -> type[Message] | None:
        result: type[Message] | None = self._section_attr("environment", "config_type")
        return result

    @property
    def environment_session_type(self) -> type[EnvironmentSession[Any, Any, Any]]:
        result: type[EnvironmentSession[Any, Any, Any]] | None = self._section_attr(
            "environment", "session_type"
        )
        return result if result is not None else EnvironmentSession

    @property
    def trial_config_type(self) -> type[Message] | None:
        result: type[Message] | None = self._section_attr("trial", "config_type")
        return result


def parse_config(
    config_type: type[Message] | None, content: bytes, what: str, has_specs: bool
) -> Any:
    """Parse a serialized config; without specs the raw bytes are kept."""
    if not has_specs:
        return content
    if config_type is None:
        raise CogmentError(
            f"{what} received config data but no config type is defined for it in the specs "
            "(is `config_type` declared in cogment.yaml?)"
        )
    return config_type.FromString(content)
