"""RPC surface details checked with raw gRPC (what the published SDK never asks for)."""

from __future__ import annotations

import asyncio
from typing import Any

import grpc
import grpc.aio
import pytest

from cogment.api import common_pb2, orchestrator_pb2, orchestrator_pb2_grpc
from cogment_services.orchestrator import Orchestrator

from .conftest import Driver


def lifecycle(
    orch: Orchestrator, channel: grpc.aio.Channel
) -> orchestrator_pb2_grpc.TrialLifecycleSPAsyncStub:
    return orchestrator_pb2_grpc.TrialLifecycleSPStub(channel)


async def test_version_and_status(orchestrator: Orchestrator) -> None:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{orchestrator.lifecycle_port}") as channel:
        stub = lifecycle(orchestrator, channel)
        version = await stub.Version(common_pb2.VersionRequest(), timeout=5)
        assert [v.name for v in version.versions] == ["cogment"]
        status = await stub.Status(common_pb2.StatusRequest(names=["*"]), timeout=5)
        assert dict(status.statuses) == {"overall_load": "0"}
        empty = await stub.Status(common_pb2.StatusRequest(), timeout=5)
        assert dict(empty.statuses) == {}
        actor_stub: Any = orchestrator_pb2_grpc.ClientActorSPStub(channel)
        version = await actor_stub.Version(common_pb2.VersionRequest(), timeout=5)
        assert [v.name for v in version.versions] == ["cogment"]


async def test_terminate_without_trial_id_is_invalid(orchestrator: Orchestrator) -> None:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{orchestrator.lifecycle_port}") as channel:
        stub = lifecycle(orchestrator, channel)
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await stub.TerminateTrial(orchestrator_pb2.TerminateTrialRequest(), timeout=5)
        assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        # Unknown ids are ignored.
        await stub.TerminateTrial(
            orchestrator_pb2.TerminateTrialRequest(), metadata=(("trial-id", "nope"),), timeout=5
        )


async def test_start_trial_refusal_is_invalid_argument(orchestrator: Orchestrator) -> None:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{orchestrator.lifecycle_port}") as channel:
        stub = lifecycle(orchestrator, channel)
        params = common_pb2.TrialParams()
        params.actors.add(name="a", actor_class="")
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await stub.StartTrial(orchestrator_pb2.TrialStartRequest(params=params), timeout=5)
        assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "actors[0].actor_class: missing" in (info.value.details() or "")


async def test_client_actor_rpc_refusals(orchestrator: Orchestrator) -> None:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{orchestrator.actor_port}") as channel:
        stub: Any = orchestrator_pb2_grpc.ClientActorSPStub(channel)
        for metadata, code in (
            ((), grpc.StatusCode.INVALID_ARGUMENT),
            ((("trial-id", "unknown"),), grpc.StatusCode.NOT_FOUND),
        ):
            call = stub.RunTrial(metadata=metadata, timeout=5)
            # The refusal may already be there when we write (the server does not wait).
            with pytest.raises(grpc.aio.AioRpcError) as info:
                await call.write(
                    common_pb2.ActorRunTrialOutput(
                        state=common_pb2.NORMAL,
                        init_output=common_pb2.ActorInitialOutput(actor_name="x"),
                    )
                )
                await call.read()
            assert info.value.code() == code


@pytest.mark.interop
async def test_latest_observation_and_full_info_watch(
    driver: Driver, orchestrator: Orchestrator
) -> None:
    r = await driver.call(
        "run_trial",
        orchestrator=orchestrator.endpoint,
        max_wait=0.3,
        params={"actors": [{"name": "p1"}, {"name": "p2"}]},
    )
    trial_id = r["trial_id"]
    async with grpc.aio.insecure_channel(f"127.0.0.1:{orchestrator.lifecycle_port}") as channel:
        stub = lifecycle(orchestrator, channel)
        reply = await stub.GetTrialInfo(
            orchestrator_pb2.TrialInfoRequest(get_latest_observation=True, get_actor_list=True),
            metadata=(("trial-id", trial_id),),
            timeout=5,
        )
        (info,) = reply.trial
        assert info.state == common_pb2.RUNNING
        assert info.env_name == "env"
        assert len(info.latest_observation.actors_map) == 2
        assert [a.name for a in info.actors_in_trial] == ["p1", "p2"]
        watch: Any = stub.WatchTrials(
            orchestrator_pb2.TrialListRequest(filter=[common_pb2.RUNNING], full_info=True)
        )
        first = await asyncio.wait_for(watch.read(), 5)
        assert isinstance(first, orchestrator_pb2.TrialListEntry)
        assert first.info.trial_id == trial_id and first.info.state == common_pb2.RUNNING
        assert not first.trial_id
        await stub.TerminateTrial(
            orchestrator_pb2.TerminateTrialRequest(hard_termination=True),
            metadata=(("trial-id", trial_id),),
            timeout=5,
        )
        watch.cancel()
        trial = orchestrator.get_trial(trial_id)
        assert trial is not None
        assert trial.ended.is_set(), "a hard TerminateTrial replies once the trial is ENDED"
        ended = await stub.GetTrialInfo(
            orchestrator_pb2.TrialInfoRequest(get_latest_observation=True), timeout=5
        )
        entry = next(t for t in ended.trial if t.trial_id == trial_id)
        assert entry.state == common_pb2.ENDED
        assert not entry.HasField("latest_observation")
