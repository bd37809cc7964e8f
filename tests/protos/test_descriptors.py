"""The compiled ``cogment.api`` descriptors must match the reference wire contract exactly.

The reference is ``wire-api.json`` (``<repo>/../shared/reference/`` or
``$COGMENT_WIRE_REFERENCE``): every file's package and imports, every enum value, every
message field's number, type, label (singular/optional/repeated/map) and oneof, and every
rpc with its streaming shape. A missing reference file is a failure, not a skip.
"""

from __future__ import annotations

import copy
import functools
import importlib
import json
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from tests.protos import _wire_summary as wire

PROTO_DIR = wire.REPO_ROOT / "protos" / "cogment" / "api"
API_DIR = wire.REPO_ROOT / "cogment" / "api"


def compiled_modules() -> list[ModuleType]:
    """Every ``cogment.api.*_pb2`` module: one per proto, plus any other compiled one present."""
    stems = {p.stem for p in PROTO_DIR.glob("*.proto")}
    stems |= {p.name[: -len("_pb2.py")] for p in API_DIR.glob("*_pb2.py")}
    return [importlib.import_module(f"cogment.api.{stem}_pb2") for stem in sorted(stems)]


def load_reference() -> dict[str, Any]:
    """The reference summary; fails the test (never skips) when the file is absent."""
    path = wire.reference_path()
    if not path.is_file():
        pytest.fail(
            f"wire reference not found at {path}: the descriptor check cannot run. "
            f"Put the shared/ folder beside the repository, or set {wire.REFERENCE_ENV} "
            "to the path of wire-api.json."
        )
    loaded: dict[str, Any] = json.loads(Path(path).read_text(encoding="utf-8"))
    return loaded


@functools.cache
def cached_reference() -> dict[str, Any]:
    """:func:`load_reference`, read once (a failure is not cached: each test fails)."""
    return load_reference()


@pytest.fixture(scope="module")
def ours() -> dict[str, Any]:
    return wire.summarize(wire.file_protos(compiled_modules()))


def section_problems(reference: dict[str, Any], ours: dict[str, Any], section: str) -> list[str]:
    return wire.diff({section: reference.get(section, {})}, {section: ours.get(section, {})})


@pytest.mark.parametrize("section", ["files", "enums", "messages", "services"])
def test_section_matches_reference(section: str, ours: dict[str, Any]) -> None:
    reference = cached_reference()
    assert section in reference, f"the reference has no {section!r} section"
    problems = section_problems(reference, ours, section)
    assert not problems, f"{len(problems)} wire differences in {section}:\n  " + "\n  ".join(
        problems
    )


def test_reference_has_no_section_we_ignore() -> None:
    reference = cached_reference()
    assert set(reference) == {"enums", "files", "messages", "services"}


def test_every_proto_is_compiled_as_cogment_api_file(ours: dict[str, Any]) -> None:
    expected = {f"cogment/api/{p.name}" for p in PROTO_DIR.glob("*.proto")}
    assert set(ours["files"]) == expected


# --- the comparison itself must catch each kind of change -------------------------------


def mutated(ours: dict[str, Any], path: tuple[str, ...], value: Any) -> dict[str, Any]:
    changed = copy.deepcopy(ours)
    target = changed
    for key in path[:-1]:
        target = target[key]
    if value is DELETE:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return changed


DELETE = object()
MUTATIONS: list[tuple[str, tuple[str, ...], Any, str]] = [
    (
        "renumbered field",
        ("messages", "cogmentAPI.TrialParams", "max_steps", "number"),
        15,
        "cogmentAPI.TrialParams.max_steps: number differs: reference 5, ours 15",
    ),
    (
        "retyped field",
        ("messages", "cogmentAPI.Action", "tick_id", "type"),
        "int64",
        "cogmentAPI.Action.tick_id: type differs: reference sint64, ours int64",
    ),
    (
        "dropped field",
        ("messages", "cogmentAPI.ActorParams", "default_action"),
        DELETE,
        "cogmentAPI.ActorParams.default_action is missing from ours",
    ),
    (
        "added field",
        ("messages", "cogmentAPI.Observation", "extra"),
        {"label": "singular", "number": 9, "oneof": None, "type": "string"},
        "cogmentAPI.Observation.extra is not in the reference",
    ),
    (
        "lost proto3 optional",
        ("messages", "cogmentAPI.StoredTrialActorSample", "reward", "label"),
        "singular",
        "cogmentAPI.StoredTrialActorSample.reward: label differs: reference optional, ours singular",
    ),
    (
        "left a oneof",
        ("messages", "cogmentAPI.ActorRunTrialInput", "details", "oneof"),
        None,
        "cogmentAPI.ActorRunTrialInput.details: oneof differs: reference data, ours None",
    ),
    (
        "map value type",
        ("messages", "cogmentAPI.TrialSamplesFileHeader", "trial_params", "type"),
        "map<string,string>",
        "trial_params: type differs: reference map<string,cogmentAPI.TrialParams>",
    ),
    (
        "enum value",
        ("enums", "cogmentAPI.ServiceType", "OTHER_SERVICE"),
        10,
        "enums: cogmentAPI.ServiceType.OTHER_SERVICE: reference 100, ours 10",
    ),
    (
        "rpc streaming shape",
        ("services", "cogmentAPI.DirectorySP", "Inquire"),
        "cogmentAPI.InquireRequest -> cogmentAPI.InquireReply",
        "cogmentAPI.DirectorySP.Inquire: reference cogmentAPI.InquireRequest -> stream",
    ),
    (
        "file imports",
        ("files", "cogment/api/orchestrator.proto", "imports"),
        ["cogment/api/common.proto"],
        "files: cogment/api/orchestrator.proto imports: reference",
    ),
    (
        "dropped message",
        ("messages", "cogmentAPI.EnvInitialOutput"),
        DELETE,
        "messages: cogmentAPI.EnvInitialOutput is missing from ours",
    ),
]


@pytest.mark.parametrize(
    ("label", "path", "value", "expected"), MUTATIONS, ids=[m[0] for m in MUTATIONS]
)
def test_diff_reports_each_kind_of_change(
    label: str, path: tuple[str, ...], value: Any, expected: str, ours: dict[str, Any]
) -> None:
    problems = wire.diff(ours, mutated(ours, path, value))
    assert len(problems) == 1, f"{label}: expected exactly one problem, got {problems}"
    assert expected in problems[0], f"{label}: {problems[0]!r} does not mention {expected!r}"


def test_diff_of_identical_summaries_is_empty(ours: dict[str, Any]) -> None:
    assert wire.diff(ours, copy.deepcopy(ours)) == []


def test_missing_reference_fails_with_a_clear_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    missing = tmp_path / "nowhere" / "wire-api.json"
    monkeypatch.setenv(wire.REFERENCE_ENV, str(missing))
    with pytest.raises(pytest.fail.Exception, match=r"wire reference not found at .*nowhere"):
        load_reference()


def test_reference_location_defaults_beside_the_repository(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(wire.REFERENCE_ENV, raising=False)
    assert wire.reference_path() == wire.REPO_ROOT.parent / "shared" / "reference" / "wire-api.json"
