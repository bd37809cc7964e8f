"""The published SDK's submodules for parameters, control, endpoints, metadata, errors and version exist
with the same public names (classes, functions and constants), so old imports keep working."""

from __future__ import annotations

import importlib
import json
import subprocess
from pathlib import Path

import pytest

MODULES = ["control", "parameters", "endpoints", "grpc_metadata", "errors", "version"]

_LIST_NAMES = """
import importlib, json, sys
result = {}
for name in sys.argv[1:]:
    module = importlib.import_module("cogment." + name)
    names = []
    for attr, value in vars(module).items():
        origin = getattr(value, "__module__", None) or ""
        if attr == "__version__" or attr == "_ActorsList":
            names.append(attr)
        elif attr.startswith("_"):
            continue
        elif isinstance(value, (str, int)) and attr.isupper():
            names.append(attr)
        elif origin.startswith("cogment.") and not origin.startswith("cogment.api"):
            names.append(attr)
    result[name] = sorted(names)
print(json.dumps(result))
"""


@pytest.mark.interop
def test_published_names_are_available(tmp_path: Path) -> None:
    from tests._support.refsdk import reference_python

    output = subprocess.run(
        [str(reference_python()), "-c", _LIST_NAMES, *MODULES],
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,  # not the repository: `cogment` must be the published package
    ).stdout
    published: dict[str, list[str]] = json.loads(output)
    missing = {
        name: [
            attr for attr in attrs if not hasattr(importlib.import_module(f"cogment.{name}"), attr)
        ]
        for name, attrs in published.items()
    }
    assert all(not attrs for attrs in missing.values()), missing
    assert published["control"] and published["endpoints"]


def test_compat_modules_reexport_the_private_classes() -> None:
    import cogment.control
    import cogment.endpoints
    import cogment.errors
    import cogment.grpc_metadata
    import cogment.parameters
    import cogment.version
    from cogment._controller import Controller
    from cogment._endpoints import Endpoint
    from cogment._errors import CogmentError
    from cogment._metadata import GrpcMetadata
    from cogment._parameters import TrialParameters
    from cogment._version import __version__

    assert cogment.control.Controller is Controller
    assert cogment.endpoints.Endpoint is Endpoint
    assert cogment.errors.CogmentError is CogmentError
    assert cogment.grpc_metadata.GrpcMetadata is GrpcMetadata
    assert cogment.parameters.TrialParameters is TrialParameters
    assert cogment.version.__version__ == __version__
    assert cogment.endpoints.CLIENT_ACTOR_URL == "cogment://client"
    assert cogment.endpoints.ACTOR_CLASS_PROPERTY_NAME == "__actor_class"
