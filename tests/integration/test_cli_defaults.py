"""The flags of ``cogment services directory|trial_datastore|model_registry``: documented
defaults, and the ``COGMENT_*`` environment variables that override them."""

from __future__ import annotations

import pytest

from cogment_services.directory._cli import build_parser as directory_parser
from cogment_services.model_registry._cli import build_parser as model_registry_parser
from cogment_services.trial_datastore._cli import build_parser as datastore_parser


def test_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [
        "COGMENT_DIRECTORY_PORT",
        "COGMENT_DIRECTORY_REGISTRATION_LAG",
        "COGMENT_DIRECTORY_LOAD_BALANCING",
        "COGMENT_DIRECTORY_CHECK_ON_INQUIRE",
        "COGMENT_DIRECTORY_FORCE_PERMANENT",
        "COGMENT_TRIAL_DATASTORE_PORT",
        "COGMENT_MODEL_REGISTRY_PORT",
        "COGMENT_MODEL_REGISTRY_VERSION_CACHE_MAX_ITEMS",
        "COGMENT_MODEL_REGISTRY_SENT_MODEL_VERSION_DATA_CHUNK_SIZE",
    ]:
        monkeypatch.delenv(name, raising=False)
    directory = directory_parser().parse_args([])
    assert directory.port == 9005 and directory.registration_lag == 0
    assert not (directory.load_balancing or directory.check_on_inquire or directory.force_permanent)
    assert datastore_parser().parse_args([]).port == 9003
    registry = model_registry_parser().parse_args([])
    assert registry.port == 9002
    assert registry.sent_version_chunk_size > 0 and registry.cache_max_items > 0


def test_environment_overrides(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COGMENT_DIRECTORY_PORT", "19005")
    monkeypatch.setenv("COGMENT_DIRECTORY_REGISTRATION_LAG", "2.5")
    monkeypatch.setenv("COGMENT_DIRECTORY_LOAD_BALANCING", "true")
    monkeypatch.setenv("COGMENT_DIRECTORY_CHECK_ON_INQUIRE", "1")
    monkeypatch.setenv("COGMENT_DIRECTORY_FORCE_PERMANENT", "true")
    monkeypatch.setenv("COGMENT_TRIAL_DATASTORE_PORT", "19003")
    monkeypatch.setenv("COGMENT_MODEL_REGISTRY_PORT", "19002")
    monkeypatch.setenv("COGMENT_MODEL_REGISTRY_VERSION_CACHE_MAX_ITEMS", "7")
    monkeypatch.setenv("COGMENT_MODEL_REGISTRY_SENT_MODEL_VERSION_DATA_CHUNK_SIZE", "4096")
    directory = directory_parser().parse_args([])
    assert (directory.port, directory.registration_lag) == (19005, 2.5)
    assert directory.load_balancing and directory.check_on_inquire and directory.force_permanent
    assert datastore_parser().parse_args([]).port == 19003
    registry = model_registry_parser().parse_args([])
    assert (registry.port, registry.cache_max_items, registry.sent_version_chunk_size) == (
        19002,
        7,
        4096,
    )
    # a flag wins over the environment
    assert directory_parser().parse_args(["--port=1"]).port == 1
    assert model_registry_parser().parse_args(["--port=2"]).port == 2
