"""The generator pipeline: spec -> protoc -> descriptors -> model -> rendered files -> disk."""

from __future__ import annotations

import keyword
import time
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Literal

from cogment._errors import CogmentGenerateError
from cogment_codegen._descriptors import TypeIndex, is_runtime_provided, python_module_name
from cogment_codegen._errors import Problem, SpecError
from cogment_codegen._model import SettingsModel, build_model
from cogment_codegen._output import OutputChanges, apply_changes, plan_changes
from cogment_codegen._protoc import CompiledProtos, ProtocFailure, run_protoc
from cogment_codegen._relative_imports import UnsupportedImport, make_imports_relative
from cogment_codegen._render import render_legacy_module, render_package_modules
from cogment_codegen._spec import LoadedSpec, load_spec
from cogment_codegen._stubs import StubGenerationError, generate_stubs

__all__ = ["GeneratedFiles", "GenerationResult", "Layout", "generate", "generate_files"]

Layout = Literal["package", "module"]
"""``package``: a self-contained ``cog_settings/`` package; ``module``: the published layout,
``cog_settings.py`` with the ``*_pb2`` modules next to it."""

DEFAULT_NAME = "cog_settings"


@dataclass(frozen=True)
class GeneratedFiles:
    """Generated content, by path relative to the output directory."""

    files: dict[str, bytes]
    owned_dir: str | None
    """The package directory (everything generation owns), None for the module layout."""
    warnings: tuple[Problem, ...]
    model: SettingsModel
    timings: dict[str, float] = field(default_factory=dict)
    """Seconds spent per step (``spec``, ``protoc``, ``stubs``, ``render``)."""


@dataclass(frozen=True)
class GenerationResult:
    """What ``generate`` did (or, with ``check``, would do)."""

    changes: OutputChanges
    warnings: tuple[Problem, ...]
    timings: dict[str, float]


def _check_proto_files(loaded: LoadedSpec) -> list[str]:
    problems: list[Problem] = []
    names: list[str] = []
    for i, name in enumerate(loaded.spec.import_.proto):
        where = ("import", "proto", i)
        pure = PurePosixPath(name)
        if pure.is_absolute() or ".." in pure.parts or "\\" in name:
            problems.append(
                loaded.problem(
                    where,
                    f"'{name}' must be a relative path inside the spec's directory "
                    "(forward slashes, no '..')",
                )
            )
        elif not (loaded.directory / name).is_file():
            problems.append(
                loaded.problem(where, f"proto file '{name}' not found (next to the spec file)")
            )
        elif (why := _not_importable(name)) is not None:
            problems.append(loaded.problem(where, why))
        else:
            names.append(pure.as_posix())
    if problems:
        raise SpecError(problems)
    return names


def _not_importable(proto_file: str) -> str | None:
    """Why the Python module of ``proto_file`` could not be imported (None if it can)."""
    *folders, _ = proto_file.split("/")
    for folder in folders:
        if not folder.isidentifier() or keyword.iskeyword(folder):
            return (
                f"'{proto_file}' cannot be compiled to an importable Python module: its folder "
                f"'{folder}' is not a Python identifier (or is a keyword)"
            )
    module = python_module_name(proto_file).rpartition(".")[2]
    if not module.isidentifier():
        return (
            f"'{proto_file}' cannot be compiled to an importable Python module: "
            f"'{module}' is not a Python identifier"
        )
    return None


def _compile(loaded: LoadedSpec, protos: list[str]) -> CompiledProtos:
    try:
        return run_protoc(loaded.directory, protos)
    except ProtocFailure as failure:
        details = "\n".join(f"    {line}" for line in str(failure).splitlines())
        raise SpecError(
            [
                loaded.problem(
                    ("import", "proto"), f"protoc failed to compile the protos:\n{details}"
                )
            ]
        ) from None


def _environment_methods() -> frozenset[str]:
    import cogment

    return frozenset(dir(cogment.EnvironmentSession))


def generate_files(
    spec: str | Path,
    *,
    layout: Layout = "package",
    name: str = DEFAULT_NAME,
    spec_display_name: str | None = None,
) -> GeneratedFiles:
    """Generate everything in memory (nothing is written).

    Raises ``SpecError`` (file, line, column, key path, message for each problem).
    """
    if not name.isidentifier():
        raise ValueError(f"the settings module name must be a Python identifier, got {name!r}")
    timings: dict[str, float] = {}
    start = time.perf_counter()
    loaded = load_spec(spec, spec_display_name)
    protos = _check_proto_files(loaded)
    timings["spec"] = time.perf_counter() - start

    step = time.perf_counter()
    compiled = _compile(loaded, protos) if protos else None
    timings["protoc"] = time.perf_counter() - step

    step = time.perf_counter()
    descriptor_set = compiled.descriptor_set if compiled is not None else None
    index = TypeIndex(descriptor_set) if descriptor_set is not None else TypeIndex.empty()
    user_files = sorted(f for f in index.files if not is_runtime_provided(f))
    imported = [
        loaded.problem(("import", "proto"), f"imported by the listed protos: {why}")
        for f in user_files
        if f not in protos and (why := _not_importable(f)) is not None
    ]
    if imported:
        raise SpecError(imported)
    model = build_model(loaded, index, user_files, _environment_methods())
    try:
        stubs = generate_stubs(descriptor_set, user_files) if descriptor_set is not None else {}
    except StubGenerationError as error:
        raise CogmentGenerateError(f"mypy-protobuf failed: {error}") from None
    timings["stubs"] = time.perf_counter() - step

    step = time.perf_counter()
    files: dict[str, bytes] = {}
    user_modules = {python_module_name(f) for f in user_files}
    python_modules = compiled.python_modules if compiled is not None else {}
    if layout == "package":
        prefix = f"{name}/"
        for path, content in render_package_modules(model, name).items():
            files[prefix + path] = content
        for path, content in [*python_modules.items(), *stubs.items()]:
            module = path.removesuffix(".pyi").removesuffix(".py").replace("/", ".")
            try:
                text = make_imports_relative(content.decode("utf-8"), module, user_modules)
            except UnsupportedImport as error:
                raise CogmentGenerateError(
                    f"cannot make the imports of {path} package-relative ({error}): unexpected "
                    "protoc or mypy-protobuf output; the module layout (--output "
                    "cog_settings.py) does not need it"
                ) from None
            files[prefix + path] = text.encode("utf-8")
        owned: str | None = name
    else:
        files[f"{name}.py"] = render_legacy_module(model, name)
        files.update(python_modules)
        files.update(stubs)
        owned = None
    timings["render"] = time.perf_counter() - step
    return GeneratedFiles(dict(sorted(files.items())), owned, loaded.warnings, model, timings)


def generate(
    spec: str | Path,
    output: str | Path,
    *,
    name: str | None = None,
    check: bool = False,
    spec_display_name: str | None = None,
) -> GenerationResult:
    """Generate the settings for ``spec`` into ``output`` (or only compare, with ``check``).

    ``output`` is a directory, which receives the package ``<name>/`` (default
    ``cog_settings``), or a ``.py`` file for the published single-module layout (the ``*_pb2``
    modules are written next to it). Only files whose content changed are written.
    """
    output_path = Path(output)
    start = time.perf_counter()
    if output_path.suffix == ".py":
        if name is not None and name != output_path.stem:
            raise ValueError(f"--name {name!r} contradicts the output file {output_path.name!r}")
        generated = generate_files(
            spec, layout="module", name=output_path.stem, spec_display_name=spec_display_name
        )
        root = output_path.parent
    else:
        generated = generate_files(
            spec, layout="package", name=name or DEFAULT_NAME, spec_display_name=spec_display_name
        )
        root = output_path
    changes = plan_changes(root, generated.files, generated.owned_dir)
    if not check:
        apply_changes(changes)
    timings = dict(generated.timings)
    timings["total"] = time.perf_counter() - start
    return GenerationResult(changes, generated.warnings, timings)
