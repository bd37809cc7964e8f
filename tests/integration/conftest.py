"""Fixtures of the integration tests: a PKI generated once per session."""

from __future__ import annotations

import pytest

from tests.integration._pki import Pki, make_pki


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("pki"))
