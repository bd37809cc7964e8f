"""Fixtures: a Trial Datastore on 127.0.0.1 (free port), once per storage, and a channel to it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import grpc.aio
import pytest

from cogment_services.trial_datastore import TrialDatastore


@pytest.fixture(params=["memory", "sqlite"])
async def datastore(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[TrialDatastore]:
    file_storage = tmp_path / "trials.db" if request.param == "sqlite" else None
    async with TrialDatastore(port=0, file_storage=file_storage) as service:
        yield service


@pytest.fixture
async def channel(datastore: TrialDatastore) -> AsyncIterator[grpc.aio.Channel]:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{datastore.port}") as opened:
        yield opened
