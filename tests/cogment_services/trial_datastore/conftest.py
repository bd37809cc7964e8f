"""Fixtures: a Trial Datastore on 127.0.0.1 (free port) and a channel to it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import grpc.aio
import pytest

from cogment_services.trial_datastore import TrialDatastore


@pytest.fixture
async def datastore() -> AsyncIterator[TrialDatastore]:
    async with TrialDatastore(port=0) as service:
        yield service


@pytest.fixture
async def channel(datastore: TrialDatastore) -> AsyncIterator[grpc.aio.Channel]:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{datastore.port}") as opened:
        yield opened
