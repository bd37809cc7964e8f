"""The render model: what the templates need, resolved and named (no YAML, no descriptors).

Built from a validated spec and the compiled descriptors; every Python name the generated code
defines is decided here, and clashes are reported as spec problems.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from cogment_codegen._descriptors import (
    MessageInfo,
    TypeIndex,
    is_runtime_provided,
    python_module_name,
)
from cogment_codegen._errors import Problem, SpecError
from cogment_codegen._spec import LoadedSpec
from cogment_codegen._yaml_marks import KeyPath

__all__ = [
    "ActorClassModel",
    "ProtoModule",
    "SettingsModel",
    "TypeRef",
    "build_model",
]

RESERVED_NAMES = frozenset(
    {
        "ActorClasses",
        "EnvironmentAction",
        "EnvironmentObservation",
        "EnvironmentSession",
        "EnvironmentSpec",
        "PrehookSession",
        "TrialParameters",
        "TrialSpec",
        "actor_classes",
        "environment",
        "start_trial",
        "trial",
        "trial_parameters",
    }
)
"""Names the generated module defines whatever the spec says."""


@dataclass(frozen=True)
class ProtoModule:
    """A ``*_pb2`` module the generated code imports."""

    proto_file: str
    """``sub/c.proto``."""
    module: str
    """Dotted module name protoc gives it: ``sub.c_pb2`` (relative to the output for user
    protos, absolute for well-known types)."""
    alias: str
    """Name it is bound to in the generated module: ``sub_c_pb2``."""
    runtime_provided: bool
    """A well-known type module shipped with protobuf (never relative)."""

    @property
    def parent(self) -> str:
        """``sub`` for ``sub.c_pb2``, ``""`` for a top-level module."""
        return self.module.rpartition(".")[0]

    @property
    def name(self) -> str:
        """``c_pb2`` for ``sub.c_pb2``."""
        return self.module.rpartition(".")[2]

    @property
    def legacy_alias(self) -> str | None:
        """``data_pb`` for ``data.proto``: the alias the published generator bound."""
        if self.runtime_provided or self.parent:
            return None
        return self.name.removesuffix("2")


@dataclass(frozen=True)
class TypeRef:
    """A message class, as a Python expression in the generated module."""

    full_name: str
    """``rps.Observation``."""
    module: ProtoModule
    qualname: str
    """``Outer.Inner``."""

    @property
    def expr(self) -> str:
        """``rps_pb2.Observation``."""
        return f"{self.module.alias}.{self.qualname}"


@dataclass(frozen=True)
class ActorClassModel:
    """An actor class and the names generated for it."""

    name: str
    session_class: str
    """``PlayerSession``."""
    action_method: str
    """``player_action``: the environment helper narrowing an action to this class."""
    parameters_function: str
    """``player_parameters``: makes typed ``ActorParameters`` of this class."""
    observation: TypeRef
    action: TypeRef
    config: TypeRef | None


@dataclass(frozen=True)
class SettingsModel:
    """Everything the templates render."""

    spec_name: str
    """How the generated docstrings name the spec (its file name)."""
    modules: tuple[ProtoModule, ...]
    """Every imported ``*_pb2`` module, user protos first (in file order)."""
    user_modules: tuple[ProtoModule, ...]
    """The modules compiled into the output (not the well-known types)."""
    actor_classes: tuple[ActorClassModel, ...]
    environment_config: TypeRef | None
    trial_config: TypeRef | None

    @property
    def runtime_modules(self) -> tuple[ProtoModule, ...]:
        """The well-known type modules the spec refers to directly."""
        return tuple(m for m in self.modules if m.runtime_provided)

    @property
    def observation_types(self) -> tuple[TypeRef, ...]:
        """Distinct observation spaces, in spec order."""
        return _distinct(c.observation for c in self.actor_classes)

    @property
    def action_types(self) -> tuple[TypeRef, ...]:
        """Distinct action spaces, in spec order."""
        return _distinct(c.action for c in self.actor_classes)


def _distinct(refs: Iterable[TypeRef]) -> tuple[TypeRef, ...]:
    seen: dict[str, TypeRef] = {}
    for ref in refs:
        seen.setdefault(ref.full_name, ref)
    return tuple(seen.values())


def camel_case(name: str) -> str:
    """``my_player`` -> ``MyPlayer``; ``agentX`` -> ``AgentX``."""
    return "".join(part[:1].upper() + part[1:] for part in name.split("_") if part)


def _aliases(files: list[str]) -> dict[str, str]:
    """Unique Python aliases for module files, deterministic (file order)."""
    result: dict[str, str] = {}
    used: set[str] = set()
    for file in files:
        base = python_module_name(file).replace(".", "_")
        alias, n = base, 2
        while alias in used:
            alias, n = f"{base}_{n}", n + 1
        used.add(alias)
        result[file] = alias
    return result


def build_model(
    loaded: LoadedSpec,
    index: TypeIndex,
    user_files: list[str],
    environment_methods: frozenset[str],
) -> SettingsModel:
    """Resolve every type name of the spec and name everything the templates emit.

    ``user_files`` are the compiled user protos (dependencies first); ``environment_methods``
    are the runtime environment session's attributes (helper names must not hide them).
    Raises ``SpecError`` listing every unresolved type and name clash.
    """
    spec = loaded.spec
    problems: list[Problem] = []
    resolved: dict[KeyPath, MessageInfo] = {}

    def resolve(path: KeyPath, name: str | None) -> None:
        if name is None:
            return
        found = index.lookup(name)
        if isinstance(found, str):
            problems.append(loaded.problem(path, found))
        else:
            resolved[path] = found

    resolve(("trial", "config_type"), spec.trial.config_type if spec.trial else None)
    resolve(
        ("environment", "config_type"), spec.environment.config_type if spec.environment else None
    )
    classes = spec.actor_classes or []
    for i, actor_class in enumerate(classes):
        resolve(("actor_classes", i, "action", "space"), actor_class.action.space)
        resolve(("actor_classes", i, "observation", "space"), actor_class.observation.space)
        resolve(("actor_classes", i, "config_type"), actor_class.config_type)

    runtime_files = sorted(
        {info.proto_file for info in resolved.values() if is_runtime_provided(info.proto_file)}
    )
    aliases = _aliases([*user_files, *runtime_files])
    modules = {
        file: ProtoModule(file, python_module_name(file), aliases[file], is_runtime_provided(file))
        for file in [*user_files, *runtime_files]
    }

    def ref(path: KeyPath) -> TypeRef | None:
        info = resolved.get(path)
        if info is None:
            return None
        return TypeRef(info.full_name, modules[info.proto_file], info.qualname)

    models: list[ActorClassModel] = []
    taken: dict[str, str] = {name: "the generated module" for name in RESERVED_NAMES}
    for i, actor_class in enumerate(classes):
        session_class = camel_case(actor_class.name) + "Session"
        action_method = f"{actor_class.name}_action"
        parameters_function = f"{actor_class.name}_parameters"
        name_path: KeyPath = ("actor_classes", i, "name")
        for generated in (session_class, parameters_function):
            if generated in taken:
                problems.append(
                    loaded.problem(
                        name_path,
                        f"actor class '{actor_class.name}' would generate the name "
                        f"'{generated}', already used by {taken[generated]}; rename it",
                    )
                )
            taken[generated] = f"actor class '{actor_class.name}'"
        if action_method in environment_methods:
            problems.append(
                loaded.problem(
                    name_path,
                    f"actor class '{actor_class.name}' would generate the environment helper "
                    f"'{action_method}', which would hide EnvironmentSession.{action_method}; "
                    "rename it",
                )
            )
        observation = ref(("actor_classes", i, "observation", "space"))
        action = ref(("actor_classes", i, "action", "space"))
        if observation is not None and action is not None:
            models.append(
                ActorClassModel(
                    actor_class.name,
                    session_class,
                    action_method,
                    parameters_function,
                    observation,
                    action,
                    ref(("actor_classes", i, "config_type")),
                )
            )
    if problems:
        problems.sort(key=lambda p: (p.location.line, p.location.column))
        raise SpecError(problems)
    user_modules = sorted((modules[f] for f in user_files), key=lambda m: (m.parent, m.name))
    used_modules = user_modules + [modules[f] for f in runtime_files]
    return SettingsModel(
        spec_name=loaded.path.name,
        modules=tuple(used_modules),
        user_modules=tuple(user_modules),
        actor_classes=tuple(models),
        environment_config=ref(("environment", "config_type")),
        trial_config=ref(("trial", "config_type")),
    )
