"""Trial and actor parameters: typed, validated views over ``cogmentAPI.TrialParams`` / ``ActorParams``.

- :class:`TrialParameters` wraps a ``TrialParams`` message; :class:`ActorParameters` wraps an ``ActorParams``.
- ``TrialParameters.actors`` is an :class:`ActorsList`: a list-like *live view* of the actors (indexable by
  position, slice or actor name); ``params.actors["bob"].implementation = "x"`` edits the trial parameters.
  Appending or assigning an ``ActorParameters`` copies it into the trial.
- Any attribute can be set to ``None`` to reset it to its default.  ``config``, ``environment_config`` and
  ``default_action`` are returned as fresh messages: editing the returned message changes nothing, set the
  attribute again.  Their ``*_serialized`` forms work without specs.
- Every bad value raises :class:`~cogment.CogmentError` naming the attribute.

Conversion to/from the wire (used by ``Controller.start_trial``, the pre-trial hook and datalog servicers,
the datastore): :meth:`TrialParameters.from_proto` (``copy=False`` wraps the message in place, so edits
are visible in it) and :meth:`TrialParameters.to_proto`.

Typing: ``TrialParameters[TrialConfigT, EnvConfigT]`` and ``ActorParameters[ActorConfigT, ActionT]``; the
type arguments default to ``Any`` (the generated ``cog_settings`` helpers return precise types).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, MutableMapping
from typing import TYPE_CHECKING, Any, Generic, Literal, Protocol, overload

from google.protobuf.message import DecodeError, Message
from typing_extensions import Self, TypeVar

from cogment._errors import CogmentError
from cogment.api import common_pb2

__all__ = [
    "ActionT",
    "ActorConfigT",
    "ActorParameters",
    "ActorsList",
    "EnvConfigT",
    "TrialConfigT",
    "TrialParameters",
]

TrialConfigT = TypeVar("TrialConfigT", default=Any)
"""Trial config type (spec ``trial:config_type``)."""
EnvConfigT = TypeVar("EnvConfigT", default=Any)
"""Environment config type (spec ``environment:config_type``)."""
ActorConfigT = TypeVar("ActorConfigT", default=Any)
"""Actor config type (spec ``actor_classes:config_type``)."""
ActionT = TypeVar("ActionT", default=Any)
"""Action space of the actor class (spec ``actor_classes:action:space``)."""

_UINT32_MAX = 2**32 - 1
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1


# ----------------------------------------------------------------------------------------------- helpers


def _type_name(value: object) -> str:
    return type(value).__name__


def _message_name(message_type: type[Message]) -> str:
    return str(message_type.DESCRIPTOR.full_name)


def _serialize(value: object, expected: type[Message] | None, what: str) -> bytes:
    """Serialize ``value`` (a message, of type ``expected`` when the spec is known)."""
    if not isinstance(value, Message):
        raise CogmentError(
            f"Wrong type for {what}: expected a protobuf message, got [{_type_name(value)}]"
        )
    if expected is not None and not isinstance(value, expected):
        raise CogmentError(
            f"Wrong type for {what}: expected [{_message_name(expected)}], "
            f"got [{value.DESCRIPTOR.full_name}]"
        )
    return value.SerializeToString()


def _parse(content: bytes, message_type: type[Message], what: str) -> Any:
    instance = message_type()
    try:
        instance.ParseFromString(content)
    except DecodeError as exc:
        raise CogmentError(
            f"Cannot decode {what} as [{_message_name(message_type)}]: {exc}"
        ) from exc
    return instance


def _check_bytes(value: object, what: str) -> bytes:
    if not isinstance(value, (bytes, bytearray, memoryview)):
        raise CogmentError(f"Wrong type for {what}: expected bytes, got [{_type_name(value)}]")
    return bytes(value)


def _check_str(value: object, what: str) -> str:
    if not isinstance(value, str):
        raise CogmentError(f"Wrong type for {what}: expected str, got [{_type_name(value)}]")
    return value


def _check_int(value: object, what: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise CogmentError(f"Wrong type for {what}: expected int, got [{_type_name(value)}]")
    if not low <= value <= high:
        raise CogmentError(f"Value out of range for {what}: [{value}] not in [{low}, {high}]")
    return value


def _check_float(value: object, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise CogmentError(f"Wrong type for {what}: expected float, got [{_type_name(value)}]")
    try:
        return float(value)
    except ValueError:
        raise CogmentError(f"Wrong value for {what}: [{value}] is not a number") from None


def _check_bool(value: object, what: str) -> bool:
    if not isinstance(value, bool):
        raise CogmentError(f"Wrong type for {what}: expected bool, got [{_type_name(value)}]")
    return value


def _check_uint32(value: object, what: str) -> int:
    return _check_int(value, what, 0, _UINT32_MAX)


def _check_int64(value: object, what: str) -> int:
    return _check_int(value, what, _INT64_MIN, _INT64_MAX)


_Parent = Literal["datalog", "environment"]


def _clear_nested(raw: Message, parent: _Parent | None, field: str) -> None:
    """Clear ``raw.parent.field`` without creating ``parent`` when absent (keeps the wire minimal)."""
    if parent is None:
        raw.ClearField(field)
    elif raw.HasField(parent):
        getattr(raw, parent).ClearField(field)


class _WrapsParams(Protocol):
    @property
    def _raw_params(self) -> Message: ...


_T = TypeVar("_T")


class _ProtoField(property, Generic[_T]):
    """A read/write attribute over one scalar field of the wrapped message (``_raw_params``).

    The field has the attribute's name, less the ``parent`` prefix: ``environment_name = _ProtoField(...,
    parent="environment")`` is ``_raw_params.environment.name`` (or the name given as ``field``).  Setting ``None`` clears the field;
    any other value goes through ``check(value, label)`` (``label``: the attribute name by default), which
    raises :class:`~cogment.CogmentError` naming the attribute.  A ``property`` (with a getter, a setter and
    ``doc``) for documentation tools; typed ``_T`` on instances, settable with ``_T | None``.
    """

    def __init__(
        self,
        check: Callable[[object, str], _T],
        doc: str,
        *,
        parent: _Parent | None = None,
        label: str | None = None,
        field: str = "",
    ) -> None:
        super().__init__(self._read, self._write, None, doc)
        self.__doc__ = doc  # a property subclass keeps its own (class) docstring otherwise
        self._check = check
        self._parent: _Parent | None = parent
        self._label = label or ""
        self._field = field

    def __set_name__(self, owner: type[Any], name: str) -> None:
        if not self._field:
            self._field = name.removeprefix(f"{self._parent}_") if self._parent else name
        if not self._label:
            self._label = name

    def _message(self, instance: _WrapsParams) -> Message:
        """The message holding the field (``parent`` is not created by reading it)."""
        message = instance._raw_params
        if self._parent is not None:
            message = getattr(message, self._parent)
        return message

    def _read(self, instance: _WrapsParams) -> _T:
        value: _T = getattr(self._message(instance), self._field)
        return value

    def _write(self, instance: _WrapsParams, value: _T | None) -> None:
        if value is None:
            _clear_nested(instance._raw_params, self._parent, self._field)
        else:
            setattr(self._message(instance), self._field, self._check(value, self._label))

    if TYPE_CHECKING:

        @overload
        def __get__(self, instance: None, owner: type[Any] | None = None, /) -> Self: ...
        @overload
        def __get__(self, instance: _WrapsParams, owner: type[Any] | None = None, /) -> _T: ...
        def __get__(
            self, instance: _WrapsParams | None, owner: type[Any] | None = None, /
        ) -> Self | _T: ...
        def __set__(self, instance: _WrapsParams, value: _T | None, /) -> None: ...


class _SerializedField(_ProtoField[bytes | None]):
    """A message attribute in its serialized form (works without specs): the ``content`` of the
    ``cogmentAPI.SerializedMessage`` ``field``, ``None`` when that field is not set (setting ``None`` clears
    it).  Values are checked as bytes, errors name the attribute."""

    def __init__(self, field: str, doc: str, *, parent: _Parent | None = None) -> None:
        super().__init__(_check_bytes, doc, parent=parent, field=field)

    def _read(self, instance: _WrapsParams) -> bytes | None:
        message = self._message(instance)
        if not message.HasField(self._field):
            return None
        content: bytes = getattr(message, self._field).content
        return content

    def _write(self, instance: _WrapsParams, value: bytes | None) -> None:
        if value is None:
            _clear_nested(instance._raw_params, self._parent, self._field)
        else:
            getattr(self._message(instance), self._field).content = _check_bytes(value, self._label)


def _spec_config_type(section: object, where: str) -> type[Message] | None:
    """``section.config_type`` of a ``cog_settings`` section (``trial``, ``environment``, actor class)."""
    if section is None:
        raise CogmentError(f"The specs (cog_settings) have no [{where}] section")
    config_type: type[Message] | None = getattr(section, "config_type", None)
    return config_type


def _no_specs(what: str) -> CogmentError:
    return CogmentError(
        f"Cannot decode {what} without specs (cog_settings is None): use the '_serialized' attribute"
    )


_MessageT = TypeVar("_MessageT", bound=Message)


def _copied(message: _MessageT) -> _MessageT:
    result = type(message)()
    result.CopyFrom(message)
    return result


class _ParamsView(Generic[_MessageT]):
    """What the parameters classes share: the wire message they wrap (``_raw_params``) and the specs."""

    __slots__ = ("_cog_settings", "_raw_params")

    _cog_settings: Any
    _raw_params: _MessageT

    @classmethod
    def from_proto(cls, cog_settings: Any, proto: _MessageT, *, copy: bool = True) -> Self:
        """Parameters over a wire message (a copy by default; ``copy=False`` edits ``proto`` in place)."""
        instance = cls.__new__(cls)
        instance._cog_settings = cog_settings
        instance._raw_params = _copied(proto) if copy else proto
        instance._wrapped()
        return instance

    def _wrapped(self) -> None:
        """Called by :meth:`from_proto` once ``_raw_params`` is set (views over it are made here)."""

    def to_proto(self, *, copy: bool = True) -> _MessageT:
        """The wire message (a copy by default; ``copy=False`` returns the underlying message)."""
        return _copied(self._raw_params) if copy else self._raw_params

    def copy(self) -> Self:
        """An independent copy."""
        return self.from_proto(self._cog_settings, self._raw_params, copy=True)

    def has_specs(self) -> bool:
        """True if the specs (``cog_settings``) are known, so configs (and actions) can be decoded."""
        return self._cog_settings is not None


# ----------------------------------------------------------------------------------------- actor params


class ActorParameters(_ParamsView[common_pb2.ActorParams], Generic[ActorConfigT, ActionT]):
    """Parameters of one actor of a trial (a view over a ``cogmentAPI.ActorParams`` message).

    Attributes (all can be set to ``None`` to reset them): ``name``, ``endpoint``, ``implementation``,
    ``initial_connection_timeout``, ``response_timeout``, ``optional``, ``config`` / ``config_serialized``,
    ``default_action`` / ``default_action_serialized``.  ``class_name`` (alias ``actor_class``) is fixed at
    construction.
    """

    __slots__ = ()

    def __init__(
        self,
        cog_settings: Any,
        class_name: str | None = None,
        *,
        actor_class: str | None = None,
        name: str | None = None,
        endpoint: str | None = None,
        implementation: str | None = None,
        initial_connection_timeout: float | None = None,
        response_timeout: float | None = None,
        optional: bool | None = None,
        config: ActorConfigT | None = None,
        config_serialized: bytes | None = None,
        default_action: ActionT | None = None,
        default_action_serialized: bytes | None = None,
    ) -> None:
        """Create the parameters of an actor of class ``class_name`` (``actor_class=`` is an alias).

        Args:
            cog_settings: the generated specs module (``None``: no specs, only ``*_serialized`` configs).
            class_name: the actor class (spec ``actor_classes:name``); checked against the specs if known.
            **attributes: any attribute, e.g. ``ActorParameters(settings, "player", name="bob")``.
        """
        self._cog_settings = cog_settings
        self._raw_params = common_pb2.ActorParams()
        if class_name is not None and actor_class is not None and class_name != actor_class:
            raise CogmentError(
                f"Conflicting actor class: class_name=[{class_name}] and actor_class=[{actor_class}]"
            )
        chosen = class_name if class_name is not None else actor_class
        if chosen is None:
            raise CogmentError("ActorParameters requires an actor class (class_name)")
        chosen = _check_str(chosen, "actor class")
        if not chosen:
            raise CogmentError("ActorParameters requires a non-empty actor class (class_name)")
        if cog_settings is not None:
            _actor_class_spec(cog_settings, chosen)
        self._raw_params.actor_class = chosen

        if config is not None and config_serialized is not None:
            raise CogmentError("Give either 'config' or 'config_serialized', not both")
        if default_action is not None and default_action_serialized is not None:
            raise CogmentError(
                "Give either 'default_action' or 'default_action_serialized', not both"
            )
        given: dict[str, object] = {
            "name": name,
            "endpoint": endpoint,
            "implementation": implementation,
            "initial_connection_timeout": initial_connection_timeout,
            "response_timeout": response_timeout,
            "optional": optional,
            "config": config,
            "config_serialized": config_serialized,
            "default_action": default_action,
            "default_action_serialized": default_action_serialized,
        }
        for attribute, value in given.items():
            if value is not None:
                setattr(self, attribute, value)

    @property
    def actor_class_spec(self) -> Any:
        """The spec's ``ActorClass`` of this actor (needs specs)."""
        if self._cog_settings is None:
            raise CogmentError("Unknown actor class spec: no specs (cog_settings is None)")
        return _actor_class_spec(self._cog_settings, self._raw_params.actor_class)

    # ----- class

    @property
    def class_name(self) -> str:
        """Name of the actor class (cannot be changed)."""
        return self._raw_params.actor_class

    @class_name.setter
    def class_name(self, value: object) -> None:
        raise CogmentError(
            "Cannot change the class name of existing ActorParameters (create new ones)"
        )

    @property
    def actor_class(self) -> str:
        """Name of the actor class (same as ``class_name``)."""
        return self._raw_params.actor_class

    @actor_class.setter
    def actor_class(self, value: str) -> None:
        if value is None or value == "":
            raise CogmentError("Cannot reset the actor class, it is required")
        value = _check_str(value, "actor_class")
        if value == self._raw_params.actor_class:
            return
        if self._raw_params.HasField("config") or self._raw_params.HasField("default_action"):
            raise CogmentError(
                "Cannot change the actor class of ActorParameters that have a config or a default action "
                "(their types depend on the class): create new ActorParameters"
            )
        if self._cog_settings is not None:
            _actor_class_spec(self._cog_settings, value)
        self._raw_params.actor_class = value

    # ----- plain attributes

    name = _ProtoField(_check_str, "Name of the actor in the trial.", label="actor name")
    endpoint = _ProtoField(
        _check_str,
        "Endpoint URL of the actor (``grpc://...``, ``cogment://discover...``, ``cogment://client``).",
        label="actor endpoint",
    )
    implementation = _ProtoField(
        _check_str, "Name of the actor implementation to run.", label="actor implementation"
    )
    initial_connection_timeout = _ProtoField(
        _check_float,
        "Seconds to wait for the actor to connect at the start of the trial (0: default).",
    )
    response_timeout = _ProtoField(
        _check_float, "Seconds to wait for an action of the actor (0: no timeout)."
    )
    optional = _ProtoField(_check_bool, "True if the trial can go on without this actor.")

    # ----- messages

    def _config_type(self) -> type[Message] | None:
        spec = _actor_class_spec(self._cog_settings, self._raw_params.actor_class)
        return _spec_config_type(spec, f"actor class {self._raw_params.actor_class}")

    @property
    def config(self) -> ActorConfigT | None:
        """The actor config (a new message at each access), ``None`` if not set."""
        if not self._raw_params.HasField("config"):
            return None
        if self._cog_settings is None:
            raise _no_specs("the actor config")
        config_type = self._config_type()
        if config_type is None:
            raise CogmentError(
                f"Actor class [{self._raw_params.actor_class}] has no config type in the specs, "
                "but a config is set: use 'config_serialized'"
            )
        result: ActorConfigT = _parse(
            self._raw_params.config.content, config_type, "the actor config"
        )
        return result

    @config.setter
    def config(self, value: ActorConfigT | None) -> None:
        if value is None:
            self._raw_params.ClearField("config")
            return
        expected = None
        if self._cog_settings is not None:
            expected = self._config_type()
            if expected is None:
                raise CogmentError(
                    f"Actor class [{self._raw_params.actor_class}] has no config type in the specs"
                )
        self._raw_params.config.content = _serialize(value, expected, "the actor config")

    config_serialized = _SerializedField(
        "config", "The actor config, serialized (works without specs); ``None`` if not set."
    )

    @property
    def default_action(self) -> ActionT | None:
        """The action used when an optional actor is unavailable (a new message at each access)."""
        if not self._raw_params.HasField("default_action"):
            return None
        if self._cog_settings is None:
            raise _no_specs("the default action")
        spec = _actor_class_spec(self._cog_settings, self._raw_params.actor_class)
        result: ActionT = _parse(
            self._raw_params.default_action.content, spec.action_space, "the default action"
        )
        return result

    @default_action.setter
    def default_action(self, value: ActionT | None) -> None:
        if value is None:
            self._raw_params.ClearField("default_action")
            return
        expected = None
        if self._cog_settings is not None:
            expected = _actor_class_spec(
                self._cog_settings, self._raw_params.actor_class
            ).action_space
        self._raw_params.default_action.content = _serialize(value, expected, "the default action")

    default_action_serialized = _SerializedField(
        "default_action",
        "The default action, serialized (works without specs); ``None`` if not set.",
    )

    # ----- dunder

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ActorParameters):
            return NotImplemented
        return bool(self._raw_params == other._raw_params)

    def __str__(self) -> str:
        return f"ActorParameters: {self._raw_params}"

    def __repr__(self) -> str:
        return f"ActorParameters(class_name={self.class_name!r}, name={self.name!r})"


def _actor_class_spec(cog_settings: Any, class_name: str) -> Any:
    actor_classes = getattr(cog_settings, "actor_classes", None)
    if actor_classes is None:
        raise CogmentError("The specs (cog_settings) have no 'actor_classes'")
    spec = actor_classes.get(class_name)
    if spec is None:
        known = ", ".join(getattr(c, "name", "?") for c in actor_classes) or "none"
        raise CogmentError(f"Unknown actor class [{class_name}] in the specs (known: {known})")
    return spec


# ------------------------------------------------------------------------------------------ actors list


class ActorsList:
    """The actors of :class:`TrialParameters`: a list-like live view over ``TrialParams.actors``.

    Items are :class:`ActorParameters` views: editing one edits the trial parameters.  Index by position,
    slice (a list of views) or actor name.  Assigning or appending an ``ActorParameters`` copies it in.
    """

    __slots__ = ("_cog_settings", "_raw_params")

    def __init__(self, cog_settings: Any, raw_params: common_pb2.TrialParams) -> None:
        self._cog_settings = cog_settings
        self._raw_params = raw_params

    def _view(self, raw: common_pb2.ActorParams) -> ActorParameters:
        return ActorParameters.from_proto(self._cog_settings, raw, copy=False)

    def _index_of_name(self, name: str) -> int:
        for index, actor in enumerate(self._raw_params.actors):
            if actor.name == name:
                return index
        known = ", ".join(actor.name for actor in self._raw_params.actors) or "none"
        raise CogmentError(f"Unknown actor name [{name}] in the trial parameters (actors: {known})")

    def _index(self, key: int | str) -> int:
        if isinstance(key, str):
            return self._index_of_name(key)
        if isinstance(key, bool) or not isinstance(key, int):
            raise CogmentError(
                f"Wrong key type [{_type_name(key)}]: expected int, slice or actor name"
            )
        size = len(self._raw_params.actors)
        if not -size <= key < size:
            raise IndexError(f"Actor index [{key}] out of range (there are {size} actors)")
        return key % size

    @staticmethod
    def _raw_of(value: object) -> common_pb2.ActorParams:
        if not isinstance(value, ActorParameters):
            raise CogmentError(f"Wrong type [{_type_name(value)}]: expected ActorParameters")
        return value._raw_params

    def __len__(self) -> int:
        return len(self._raw_params.actors)

    def __iter__(self) -> Iterator[ActorParameters]:
        for raw in self._raw_params.actors:
            yield self._view(raw)

    @overload
    def __getitem__(self, key: int | str) -> ActorParameters: ...
    @overload
    def __getitem__(self, key: slice) -> list[ActorParameters]: ...
    def __getitem__(self, key: int | str | slice) -> ActorParameters | list[ActorParameters]:
        if isinstance(key, slice):
            actors = self._raw_params.actors
            return [self._view(actors[index]) for index in range(len(actors))[key]]
        return self._view(self._raw_params.actors[self._index(key)])

    def __setitem__(self, key: int | str, value: ActorParameters) -> None:
        if isinstance(key, slice):
            raise CogmentError("Slices are not supported to set actors: assign actors one by one")
        raw = self._raw_of(value)
        self._raw_params.actors[self._index(key)].CopyFrom(raw)

    def __delitem__(self, key: int | str | slice) -> None:
        if isinstance(key, slice):
            del self._raw_params.actors[key]
        else:
            del self._raw_params.actors[self._index(key)]

    def __contains__(self, item: object) -> bool:
        if isinstance(item, str):
            return any(actor.name == item for actor in self._raw_params.actors)
        if isinstance(item, ActorParameters):
            return any(actor == item._raw_params for actor in self._raw_params.actors)
        return False

    def get(self, name: str, default: ActorParameters | None = None) -> ActorParameters | None:
        """The actor named ``name``, or ``default``."""
        for raw in self._raw_params.actors:
            if raw.name == name:
                return self._view(raw)
        return default

    def names(self) -> list[str]:
        """The actor names, in order (the order is the actor index in the trial)."""
        return [actor.name for actor in self._raw_params.actors]

    def index(self, name: str) -> int:
        """The index of the actor named ``name``."""
        return self._index_of_name(name)

    def append(self, value: ActorParameters) -> None:
        """Add (a copy of) ``value`` at the end."""
        self._raw_params.actors.append(self._raw_of(value))

    def extend(self, values: Iterable[ActorParameters]) -> None:
        """Add (copies of) ``values`` at the end (nothing is added if any of them is not ``ActorParameters``)."""
        raws = [self._raw_of(value) for value in values]
        self._raw_params.actors.extend(raws)

    def insert(self, index: int, value: ActorParameters) -> None:
        """Insert (a copy of) ``value`` before ``index``."""
        raw = common_pb2.ActorParams()
        raw.CopyFrom(self._raw_of(value))
        self._raw_params.actors.insert(index, raw)

    def pop(self, key: int | str = -1) -> ActorParameters:
        """Remove the actor at ``key`` (index or name; default: the last one) and return it (detached)."""
        index = self._index(key)
        detached = common_pb2.ActorParams()
        detached.CopyFrom(self._raw_params.actors[index])
        del self._raw_params.actors[index]
        return ActorParameters.from_proto(self._cog_settings, detached, copy=False)

    def remove(self, name: str) -> None:
        """Remove the actor named ``name``."""
        del self._raw_params.actors[self._index_of_name(_check_str(name, "actor name"))]

    def clear(self) -> None:
        """Remove all the actors."""
        self._raw_params.ClearField("actors")

    def __eq__(self, other: object) -> bool:
        if isinstance(other, ActorsList):
            return list(self._raw_params.actors) == list(other._raw_params.actors)
        if isinstance(other, list):
            return len(other) == len(self) and all(
                isinstance(item, ActorParameters) and item._raw_params == raw
                for item, raw in zip(other, self._raw_params.actors, strict=True)
            )
        return NotImplemented

    def __str__(self) -> str:
        return f"Actors Parameters: {list(self._raw_params.actors)}"

    def __repr__(self) -> str:
        return f"ActorsList({self.names()!r})"


# ------------------------------------------------------------------------------------------ trial params


class TrialParameters(_ParamsView[common_pb2.TrialParams], Generic[TrialConfigT, EnvConfigT]):
    """Parameters of a trial (a view over a ``cogmentAPI.TrialParams`` message).

    Attributes (all can be set to ``None`` to reset them): ``config`` / ``config_serialized``, ``properties``,
    ``max_steps``, ``max_inactivity``, ``nb_buffered_ticks``, ``datalog_endpoint``, ``datalog_exclude_fields``,
    ``environment_config`` / ``environment_config_serialized`` (alias ``environment_serialized``),
    ``environment_name``, ``environment_endpoint``, ``environment_implementation``, ``actors``.
    """

    __slots__ = ("_actors",)

    _SERIALIZATION_TYPE = 3

    def __init__(
        self,
        cog_settings: Any,
        *,
        config: TrialConfigT | None = None,
        config_serialized: bytes | None = None,
        properties: Mapping[str, str] | None = None,
        max_steps: int | None = None,
        max_inactivity: int | None = None,
        nb_buffered_ticks: int | None = None,
        datalog_endpoint: str | None = None,
        datalog_exclude_fields: Iterable[str] | None = None,
        environment_config: EnvConfigT | None = None,
        environment_config_serialized: bytes | None = None,
        environment_serialized: bytes | None = None,
        environment_name: str | None = None,
        environment_endpoint: str | None = None,
        environment_implementation: str | None = None,
        actors: Iterable[ActorParameters[Any, Any]] | None = None,
    ) -> None:
        """Create trial parameters, e.g. ``TrialParameters(settings, max_steps=1000, environment_name="env")``.

        Args:
            cog_settings: the generated specs module (``None``: no specs, only ``*_serialized`` configs).
            **attributes: any attribute, set on construction.
        """
        self._cog_settings = cog_settings
        self._raw_params = common_pb2.TrialParams()
        self._actors = ActorsList(cog_settings, self._raw_params)
        if config is not None and config_serialized is not None:
            raise CogmentError("Give either 'config' or 'config_serialized', not both")
        env_serialized = environment_config_serialized
        if environment_serialized is not None:
            if env_serialized is not None:
                raise CogmentError(
                    "Give either 'environment_config_serialized' or 'environment_serialized', not both"
                )
            env_serialized = environment_serialized
        if environment_config is not None and env_serialized is not None:
            raise CogmentError(
                "Give either 'environment_config' or 'environment_config_serialized', not both"
            )

        given: dict[str, object] = {
            "config": config,
            "config_serialized": config_serialized,
            "properties": properties,
            "max_steps": max_steps,
            "max_inactivity": max_inactivity,
            "nb_buffered_ticks": nb_buffered_ticks,
            "datalog_endpoint": datalog_endpoint,
            "datalog_exclude_fields": datalog_exclude_fields,
            "environment_config": environment_config,
            "environment_config_serialized": env_serialized,
            "environment_name": environment_name,
            "environment_endpoint": environment_endpoint,
            "environment_implementation": environment_implementation,
            "actors": actors,
        }
        for attribute, value in given.items():
            if value is not None:
                setattr(self, attribute, value)

    # ----- wire conversion

    def _wrapped(self) -> None:
        self._actors = ActorsList(self._cog_settings, self._raw_params)

    # ----- serialization

    def get_serialization_type(self) -> int:
        """The type of the data of :meth:`serialize` / :meth:`deserialize` (3: ``TrialParams``)."""
        return TrialParameters._SERIALIZATION_TYPE

    def serialize(self) -> bytes:
        """The parameters as bytes (a serialized ``cogmentAPI.TrialParams``)."""
        return self._raw_params.SerializeToString(deterministic=True)

    def deserialize(self, raw_string: bytes, type: int | None = None) -> None:
        """Replace the parameters with serialized ones of serialization ``type`` (``None``: this type)."""
        if type is not None and type != TrialParameters._SERIALIZATION_TYPE:
            raise CogmentError(
                f"Unknown serialization type [{type}] for TrialParameters "
                f"(expected {TrialParameters._SERIALIZATION_TYPE})"
            )
        parsed = common_pb2.TrialParams()
        try:
            parsed.ParseFromString(_check_bytes(raw_string, "serialized trial parameters"))
        except DecodeError as exc:
            raise CogmentError(f"Cannot decode serialized trial parameters: {exc}") from exc
        self._raw_params.CopyFrom(parsed)

    # ----- trial

    def _trial_config_type(self) -> type[Message] | None:
        return _spec_config_type(getattr(self._cog_settings, "trial", None), "trial")

    @property
    def config(self) -> TrialConfigT | None:
        """The trial config (a new message at each access), ``None`` if not set."""
        if not self._raw_params.HasField("trial_config"):
            return None
        if self._cog_settings is None:
            raise _no_specs("the trial config")
        config_type = self._trial_config_type()
        if config_type is None:
            raise CogmentError(
                "The specs have no trial config type (trial:config_type) but a trial config is set: "
                "use 'config_serialized'"
            )
        result: TrialConfigT = _parse(
            self._raw_params.trial_config.content, config_type, "the trial config"
        )
        return result

    @config.setter
    def config(self, value: TrialConfigT | None) -> None:
        if value is None:
            self._raw_params.ClearField("trial_config")
            return
        expected = None
        if self._cog_settings is not None:
            expected = self._trial_config_type()
            if expected is None:
                raise CogmentError("The specs have no trial config type (trial:config_type)")
        self._raw_params.trial_config.content = _serialize(value, expected, "the trial config")

    config_serialized = _SerializedField(
        "trial_config", "The trial config, serialized (works without specs); ``None`` if not set."
    )

    @property
    def properties(self) -> MutableMapping[str, str]:
        """User properties of the trial (a live mapping: editing it edits the parameters)."""
        return self._raw_params.properties

    @properties.setter
    def properties(self, value: Mapping[str, str] | None) -> None:
        if value is None:
            self._raw_params.properties.clear()
            return
        if not isinstance(value, Mapping):
            raise CogmentError(
                f"Wrong type for properties: expected a mapping, got [{_type_name(value)}]"
            )
        checked = {
            _check_str(key, "a property name"): _check_str(item, f"property [{key}]")
            for key, item in value.items()
        }
        self._raw_params.properties.clear()
        self._raw_params.properties.update(checked)

    max_steps = _ProtoField(
        _check_uint32, "Number of ticks after which the trial ends by itself (0: unlimited)."
    )
    max_inactivity = _ProtoField(
        _check_uint32, "Seconds of inactivity after which the trial is terminated (0: never)."
    )
    nb_buffered_ticks = _ProtoField(
        _check_int64, "Number of ticks buffered before samples are sent to the datalog."
    )

    # ----- datalog

    datalog_endpoint = _ProtoField(
        _check_str, 'Endpoint URL of the datalog ("": no datalog).', parent="datalog"
    )

    @property
    def datalog_exclude_fields(self) -> tuple[str, ...]:
        """Names of the sample fields not sent to the datalog."""
        return tuple(self._raw_params.datalog.exclude_fields)

    @datalog_exclude_fields.setter
    def datalog_exclude_fields(self, value: Iterable[str] | None) -> None:
        if value is None:
            _clear_nested(self._raw_params, "datalog", "exclude_fields")
            return
        if isinstance(value, (str, bytes)):
            raise CogmentError(
                "Wrong type for datalog_exclude_fields: expected a list of field names, got a string"
            )
        fields = [_check_str(field, "a datalog excluded field") for field in value]
        self._raw_params.datalog.ClearField("exclude_fields")
        self._raw_params.datalog.exclude_fields.extend(fields)

    # ----- environment

    def _env_config_type(self) -> type[Message] | None:
        return _spec_config_type(getattr(self._cog_settings, "environment", None), "environment")

    @property
    def environment_config(self) -> EnvConfigT | None:
        """The environment config (a new message at each access), ``None`` if not set."""
        if not self._raw_params.environment.HasField("config"):
            return None
        if self._cog_settings is None:
            raise _no_specs("the environment config")
        config_type = self._env_config_type()
        if config_type is None:
            raise CogmentError(
                "The specs have no environment config type (environment:config_type) but an environment "
                "config is set: use 'environment_config_serialized'"
            )
        result: EnvConfigT = _parse(
            self._raw_params.environment.config.content, config_type, "the environment config"
        )
        return result

    @environment_config.setter
    def environment_config(self, value: EnvConfigT | None) -> None:
        if value is None:
            _clear_nested(self._raw_params, "environment", "config")
            return
        expected = None
        if self._cog_settings is not None:
            expected = self._env_config_type()
            if expected is None:
                raise CogmentError(
                    "The specs have no environment config type (environment:config_type)"
                )
        self._raw_params.environment.config.content = _serialize(
            value, expected, "the environment config"
        )

    environment_config_serialized = _SerializedField(
        "config",
        "The environment config, serialized (works without specs); ``None`` if not set.",
        parent="environment",
    )

    @property
    def environment_serialized(self) -> bytes | None:
        """Same as ``environment_config_serialized`` (the name used by the published documentation)."""
        return self.environment_config_serialized

    @environment_serialized.setter
    def environment_serialized(self, value: bytes | None) -> None:
        self.environment_config_serialized = value

    environment_name = _ProtoField(
        _check_str,
        'Name of the environment ("": the orchestrator names it ``env``).',
        parent="environment",
    )
    environment_endpoint = _ProtoField(
        _check_str,
        'Endpoint URL of the environment ("": ``cogment://discover``).',
        parent="environment",
    )
    environment_implementation = _ProtoField(
        _check_str, "Name of the environment implementation to run.", parent="environment"
    )

    # ----- actors

    @property
    def actors(self) -> ActorsList:
        """The actors' parameters (a list-like live view, indexable by position or actor name)."""
        return self._actors

    @actors.setter
    def actors(self, value: Iterable[ActorParameters[Any, Any]] | None) -> None:
        if value is None:
            self._actors.clear()
            return
        if isinstance(value, ActorsList) and value._raw_params is self._raw_params:
            return
        raws = []
        for actor in value:
            if not isinstance(actor, ActorParameters):
                raise CogmentError(
                    f"Wrong type for an actor parameter [{_type_name(actor)}]: expected ActorParameters"
                )
            copied = common_pb2.ActorParams()
            copied.CopyFrom(actor._raw_params)
            raws.append(copied)
        self._actors.clear()
        self._raw_params.actors.extend(raws)

    # ----- dunder

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, TrialParameters):
            return NotImplemented
        return bool(self._raw_params == other._raw_params)

    def __str__(self) -> str:
        return f"TrialParameters: {self._raw_params}"

    def __repr__(self) -> str:
        return (
            f"TrialParameters(environment_name={self.environment_name!r}, "
            f"actors={self._actors.names()!r}, max_steps={self.max_steps!r})"
        )
