"""Byte-level interoperability of ``cogment.api`` with the published SDK 2.10.1's compiled protos.

Every message of the contract is filled generically (every field, nested messages,
repeated fields, maps; one run per oneof member) by ``_wire_probe.populate``, which
derives each value from the field's path. Then:

* ours -> reference: we serialize, the published SDK parses, and its view of the
  message (by field name, with enum names and unknown fields) must equal ours;
* reference -> ours: the published SDK builds and serializes the same message, we parse
  it and must see what it sees; and both builds must encode to the same bytes.

The published SDK runs in its own Python 3.10 venv, once per test module.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests._support.refsdk import reference_python
from tests.interop import _wire_probe as probe

pytestmark = pytest.mark.interop

PROBE_SCRIPT = Path(probe.__file__).resolve()

# The messages the brief requires to be covered explicitly; every other message of the
# contract is covered too, through the same generic path.
KEY_MESSAGES = (
    "cogmentAPI.TrialParams",
    "cogmentAPI.ActorRunTrialInput",
    "cogmentAPI.ActorRunTrialOutput",
    "cogmentAPI.EnvRunTrialInput",
    "cogmentAPI.EnvRunTrialOutput",
    "cogmentAPI.DatalogSample",
    "cogmentAPI.StoredTrialSample",
    "cogmentAPI.RegisterRequest",
    "cogmentAPI.CreateVersionRequestChunk",
)

OUR_CLASSES = probe.message_classes()
CASES = [
    (name, variant)
    for name in sorted(OUR_CLASSES)
    for variant in range(probe.max_oneof_size(OUR_CLASSES[name].DESCRIPTOR))
]


def run_reference(requests: list[dict[str, Any]], tmp_path: Path) -> list[dict[str, Any]]:
    """Answer ``requests`` with ``_wire_probe`` running on the published SDK's interpreter."""
    completed = subprocess.run(
        [str(reference_python()), str(PROBE_SCRIPT)],
        input=json.dumps(requests),
        capture_output=True,
        text=True,
        cwd=tmp_path,  # never the repo root: its ``cogment`` package would shadow the reference
        timeout=90,
    )
    if completed.returncode != 0:
        pytest.fail(f"reference probe failed (exit {completed.returncode}):\n{completed.stderr}")
    results: list[dict[str, Any]] = json.loads(completed.stdout)
    return results


def build_ours(name: str, variant: int) -> Any:
    return probe.populate(OUR_CLASSES[name](), variant)


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """All reference answers, computed in one subprocess: its message list, its builds,
    and its parse of each of our serializations."""
    requests: list[dict[str, Any]] = [{"op": "list"}]
    for name, variant in CASES:
        requests.append({"op": "build", "type": name, "variant": variant})
        data = build_ours(name, variant).SerializeToString(deterministic=True)
        requests.append({"op": "parse", "type": name, "data": data.hex()})
    answers = run_reference(requests, tmp_path_factory.mktemp("refprobe"))
    result: dict[str, Any] = {"list": answers[0], "build": {}, "parse": {}}
    for index, (name, variant) in enumerate(CASES):
        result["build"][name, variant] = answers[1 + 2 * index]
        result["parse"][name, variant] = answers[2 + 2 * index]
    return result


def describe_difference(expected: Any, actual: Any, path: str = "") -> list[str]:
    """Human-readable list of where two canonical descriptions differ."""
    if isinstance(expected, dict) and isinstance(actual, dict):
        lines = []
        for key in sorted(set(expected) | set(actual), key=str):
            where = f"{path}.{key}" if path else str(key)
            if key not in actual:
                lines.append(f"{where}: missing on the receiving side")
            elif key not in expected:
                lines.append(f"{where}: unexpected on the receiving side: {actual[key]!r}")
            else:
                lines += describe_difference(expected[key], actual[key], where)
        return lines
    if isinstance(expected, list) and isinstance(actual, list) and len(expected) == len(actual):
        lines = []
        for index, (a, b) in enumerate(zip(expected, actual, strict=True)):
            lines += describe_difference(a, b, f"{path}[{index}]")
        return lines
    return [] if expected == actual else [f"{path}: sent {expected!r}, received {actual!r}"]


def assert_same(sent: Any, received: Any, context: str) -> None:
    differences = describe_difference(sent, received)
    assert not differences, f"{context}:\n  " + "\n  ".join(differences[:40])


def test_key_messages_are_covered() -> None:
    for name in KEY_MESSAGES:
        assert name in OUR_CLASSES, f"{name} is missing from cogment.api"


def test_same_message_set_as_reference(reference: dict[str, Any]) -> None:
    assert reference["list"]["types"] == sorted(OUR_CLASSES)


@pytest.mark.parametrize(("name", "variant"), CASES, ids=[f"{n}-{v}" for n, v in CASES])
def test_populated_message_sets_every_field(name: str, variant: int) -> None:
    missing = probe.unset_fields(build_ours(name, variant), variant)
    assert not missing, f"{name} variant {variant}: fields left unset: {missing}"


@pytest.mark.parametrize(("name", "variant"), CASES, ids=[f"{n}-{v}" for n, v in CASES])
def test_ours_to_reference(name: str, variant: int, reference: dict[str, Any]) -> None:
    ours = probe.canonical(build_ours(name, variant))
    assert_same(
        ours,
        reference["parse"][name, variant]["canonical"],
        f"{name} (variant {variant}) serialized by us, parsed by the published SDK",
    )


@pytest.mark.parametrize(("name", "variant"), CASES, ids=[f"{n}-{v}" for n, v in CASES])
def test_reference_to_ours(name: str, variant: int, reference: dict[str, Any]) -> None:
    built = reference["build"][name, variant]
    message = OUR_CLASSES[name]()
    message.ParseFromString(bytes.fromhex(built["data"]))
    assert_same(
        built["canonical"],
        probe.canonical(message),
        f"{name} (variant {variant}) serialized by the published SDK, parsed by us",
    )
    assert probe.unset_fields(message, variant) == []


@pytest.mark.parametrize(("name", "variant"), CASES, ids=[f"{n}-{v}" for n, v in CASES])
def test_same_bytes_as_reference(name: str, variant: int, reference: dict[str, Any]) -> None:
    ours = build_ours(name, variant).SerializeToString(deterministic=True)
    theirs = bytes.fromhex(reference["build"][name, variant]["data"])
    assert ours == theirs, (
        f"{name} (variant {variant}): deterministic encodings differ "
        f"({len(ours)} bytes ours, {len(theirs)} bytes reference)"
    )
