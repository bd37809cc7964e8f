"""GrpcMetadata: the published SDK's API and validation rules (keys, -bin values, basic auth)."""

from __future__ import annotations

import base64

import pytest

from cogment._errors import CogmentError
from cogment._metadata import GrpcMetadata


def test_add_lowercases_keys_and_keeps_order_and_duplicates() -> None:
    metadata = GrpcMetadata()
    metadata.add("Trial-ID", "a")
    metadata.add("trial-id", "b")
    metadata.add("x-data-bin", b"\x00\xff")
    assert metadata.to_grpc_metadata() == (
        ("trial-id", "a"),
        ("trial-id", "b"),
        ("x-data-bin", b"\x00\xff"),
    )
    assert metadata.get_all("TRIAL-id") == ["a", "b"]
    assert "Trial-Id" in metadata
    assert len(metadata) == 3


def test_add_returns_self_for_chaining() -> None:
    # The published SDK's directory did `md = md.add(...)` and crashed on None: returning self fixes that use.
    metadata = GrpcMetadata().add("a", "1").add("b", "2")
    assert list(metadata) == [("a", "1"), ("b", "2")]


@pytest.mark.parametrize(
    ("key", "value", "fragment"),
    [
        ("grpc-timeout", "1", "reserved"),
        ("GRPC-foo", "1", "reserved"),
        ("data-bin", "text", "must be bytes"),
        ("data", b"raw", "must end with '-bin'"),
        ("", "x", "non-empty"),
        ("with space", "x", "0-9 a-z"),
        ("ok", "caf\u00e9", "printable ASCII"),
        ("ok", "line\nbreak", "printable ASCII"),
        ("ok", 3, "must be a str"),
    ],
)
def test_add_rejects_invalid_metadata(key: str, value: object, fragment: str) -> None:
    with pytest.raises(CogmentError, match=fragment):
        GrpcMetadata().add(key, value)  # type: ignore[arg-type]


def test_basic_auth_header() -> None:
    metadata = GrpcMetadata().add_http_basic_auth("user", "p@ss:word")
    ((key, value),) = metadata.to_grpc_metadata()
    assert key == "authorization"
    assert isinstance(value, str)
    scheme, token = value.split(" ")
    assert scheme == "basic"
    assert base64.b64decode(token) == b"user:p@ss:word"


def test_copy_is_independent_and_equal() -> None:
    original = GrpcMetadata([("a", "1")])
    duplicate = original.copy()
    assert duplicate == original
    duplicate.add("b", "2")
    assert original.to_grpc_metadata() == (("a", "1"),)
    extended = original.extended([("trial-id", "t")])
    assert extended.to_grpc_metadata() == (("a", "1"), ("trial-id", "t"))
    assert len(original) == 1


def test_to_grpc_metadata_does_not_leak_internal_state() -> None:
    metadata = GrpcMetadata([("a", "1")])
    exported = metadata.to_grpc_metadata()
    assert isinstance(exported, tuple)
    metadata.add("b", "2")
    assert exported == (("a", "1"),)


def test_repr_hides_secrets() -> None:
    metadata = GrpcMetadata().add_http_basic_auth("u", "secret").add("authentication-token", "tok")
    metadata.add("visible", "yes")
    text = repr(metadata)
    assert "secret" not in text and "tok'" not in text and "dTpzZWNyZXQ" not in text
    assert "'visible', 'yes'" in text
