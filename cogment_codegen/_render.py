"""Render the generated modules from the Jinja2 templates (one template per emitted file)."""

from __future__ import annotations

import functools
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import jinja2

from cogment_codegen._model import ProtoModule, SettingsModel

__all__ = ["TEMPLATES_DIR", "render_legacy_module", "render_package_modules"]

TEMPLATES_DIR = Path(__file__).parent / "templates"


@functools.cache
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,
    )


def _render(template: str, **context: Any) -> bytes:
    text = _environment().get_template(template).render(**context)
    return text.encode("utf-8")


def _exported(model: SettingsModel, with_modules: Iterable[ProtoModule]) -> list[str]:
    names = {
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
    names.update(actor.session_class for actor in model.actor_classes)
    names.update(actor.parameters_function for actor in model.actor_classes)
    names.update(module.alias for module in with_modules)
    return sorted(names)


def render_package_modules(model: SettingsModel, name: str) -> dict[str, bytes]:
    """The package's own modules (not the compiled protos), by path inside the package."""
    files = {
        "__init__.py": _render(
            "package/__init__.py.jinja",
            model=model,
            name=name,
            exported=_exported(model, model.modules),
        ),
        "py.typed": b"",
    }
    folders = sorted({m.parent for m in model.user_modules if m.parent})
    for folder in folders:
        parts = folder.split(".")
        for depth in range(1, len(parts) + 1):
            sub = "/".join(parts[:depth])
            files[f"{sub}/__init__.py"] = _render(
                "package/subpackage__init__.py.jinja", model=model, folder=sub
            )
    return files


def render_legacy_module(model: SettingsModel, name: str) -> bytes:
    """The single-module ``<name>.py`` (published layout, typed)."""
    legacy_aliases = [m.legacy_alias for m in model.user_modules if m.legacy_alias]
    exported = _exported(model, model.modules) + legacy_aliases
    return _render(
        "legacy/cog_settings.py.jinja", model=model, name=name, exported=sorted(exported)
    )
