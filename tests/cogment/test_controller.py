"""Controller end to end: our Controller against the Python Orchestrator (cogment_services), with an
environment, actors and a pre-trial hook served by the published SDK 2.10.1 (``controller_peers/``).

Plus wire-level checks of the requests and headers the Controller sends (recording stub).
"""

from __future__ import annotations

import asyncio
import importlib
import shutil
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

import pytest

from cogment._actor import ActorClass, ActorClassList
from cogment._controller import Controller, TrialInfo, TrialState
from cogment._endpoints import Endpoint
from cogment._errors import CogmentError
from cogment._grpc import create_channel
from cogment._metadata import GrpcMetadata
from cogment._parameters import ActorParameters, TrialParameters
from cogment._session import ActorInfo
from cogment.api import common_pb2, orchestrator_pb2

PEERS_DIR = Path(__file__).parent / "controller_peers"
pytestmark = pytest.mark.timeout(90)


# ------------------------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def messages(tmp_path_factory: pytest.TempPathFactory) -> ModuleType:
    """``controller_peers_pb2`` compiled for our interpreter."""
    from grpc_tools import protoc

    out = tmp_path_factory.mktemp("ctl_proto")
    code = protoc.main(
        [
            "protoc",
            f"-I{PEERS_DIR}",
            f"--python_out={out}",
            str(PEERS_DIR / "controller_peers.proto"),
        ]
    )
    assert code == 0
    sys.path.insert(0, str(out))
    try:
        return importlib.import_module("controller_peers_pb2")
    finally:
        sys.path.remove(str(out))


@pytest.fixture(scope="module")
def settings(messages: ModuleType) -> Any:
    """A cog_settings equivalent of ``controller_peers/cogment.yaml``."""
    return SimpleNamespace(
        actor_classes=ActorClassList(
            ActorClass("player", messages.PlayerConfig, messages.Action, messages.Observation)
        ),
        trial=SimpleNamespace(config_type=messages.TrialConfig),
        environment=SimpleNamespace(config_type=messages.EnvConfig),
    )


class Peers:
    def __init__(self, process: subprocess.Popen[str], port: int, log: Path) -> None:
        self.process = process
        self.endpoint = f"grpc://127.0.0.1:{port}"
        self.log = log


@pytest.fixture(scope="module")
def peers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Peers]:
    """Environment ``ticker``, actor ``echo`` and a pre-trial hook, served by the published SDK."""
    from tests._support.refsdk import reference_python

    python = str(reference_python())
    workdir = tmp_path_factory.mktemp("ctl_peers")
    for name in ("cogment.yaml", "controller_peers.proto"):
        shutil.copy(PEERS_DIR / name, workdir / name)
    subprocess.run(
        [python, "-m", "cogment.generate", "--spec", "cogment.yaml", "--output", "cog_settings.py"],
        cwd=workdir,
        check=True,
        capture_output=True,
        timeout=120,
    )
    log = workdir / "peers.log"
    with open(log, "w") as log_file:
        process = subprocess.Popen(
            [python, str(PEERS_DIR / "peers.py"), str(workdir)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=log_file,
            text=True,
            cwd=workdir,
        )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        if not line.startswith("READY"):
            raise RuntimeError(f"controller peers did not start: {line!r}\n{log.read_text()}")
        yield Peers(process, int(line.split()[1]), log)
    finally:
        if process.stdin is not None:
            process.stdin.close()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        if process.stdout is not None:
            process.stdout.close()


def default_params(
    settings: Any, messages: ModuleType, peers: Peers, tick_delay: float = 0.02
) -> TrialParameters:
    return TrialParameters(
        settings,
        environment_endpoint=peers.endpoint,
        environment_implementation="ticker",
        environment_config=messages.EnvConfig(tick_delay=tick_delay),
        max_inactivity=30,
        actors=[
            ActorParameters(
                settings,
                "player",
                name="p1",
                endpoint=peers.endpoint,
                implementation="echo",
                config=messages.PlayerConfig(style="calm"),
            )
        ],
    )


@pytest.fixture
async def orchestrator(settings: Any, messages: ModuleType, peers: Peers) -> AsyncIterator[Any]:
    from cogment_services.orchestrator import Orchestrator

    defaults = default_params(settings, messages, peers).to_proto()
    async with Orchestrator(
        lifecycle_port=0, host="127.0.0.1", params=defaults, pre_trial_hooks=[peers.endpoint]
    ) as orch:
        yield orch


@pytest.fixture
async def controller(orchestrator: Any) -> AsyncIterator[Controller]:
    metadata = GrpcMetadata().add("x-test", "controller")
    async with Controller(
        create_channel(Endpoint(orchestrator.endpoint)), "tester", metadata, timeout=20
    ) as ctrl:
        yield ctrl


async def wait_for_state(
    controller: Controller, trial_id: str, state: TrialState, timeout: float = 20
) -> TrialInfo:
    async def watch() -> TrialInfo:
        async for info in controller.watch_trials([state]):
            if info.trial_id == trial_id:
                return info
        raise AssertionError("watch_trials ended")

    return await asyncio.wait_for(watch(), timeout)


# ------------------------------------------------------------------------------------------- end to end


@pytest.mark.interop
async def test_trial_lifecycle_with_parameters(
    controller: Controller, settings: Any, messages: ModuleType, peers: Peers
) -> None:
    params = default_params(settings, messages, peers)
    params.properties = {"run": "1"}
    trial_id = await controller.start_trial(trial_params=params, trial_id_requested="ctl-params")
    assert trial_id == "ctl-params"

    running = await wait_for_state(controller, trial_id, TrialState.RUNNING)
    assert running.state is TrialState.RUNNING
    assert running.properties is None and running.env_name is None  # not full info

    deadline = time.monotonic() + 10
    while True:
        (info,) = await controller.get_trial_info(
            [trial_id], get_latest_observation=True, get_actor_list=True
        )
        if (info.tick_id and info.latest_observation is not None) or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.05)
    assert info.trial_id == trial_id
    assert info.state is TrialState.RUNNING
    assert info.properties == {"run": "1"}
    assert info.env_name == "env"
    assert info.tick_id is not None and info.tick_id > 0
    assert info.duration is not None and info.duration > 0
    assert info.actors_in_trial == [ActorInfo("p1", "player")]
    assert info.latest_observation is not None
    observation = messages.Observation()
    observation.ParseFromString(
        info.latest_observation.observations[info.latest_observation.actors_map[0]]
    )
    assert observation.tick >= 0

    (plain,) = await controller.get_trial_info([trial_id])
    assert plain.latest_observation is None and plain.actors_in_trial is None
    assert await controller.get_actors(trial_id) == [ActorInfo("p1", "player")]
    assert trial_id in [i.trial_id for i in await controller.get_trial_info([])]

    ended = asyncio.ensure_future(wait_for_state(controller, trial_id, TrialState.ENDED))
    await controller.terminate_trial([trial_id])
    assert (await ended).trial_id == trial_id


@pytest.mark.interop
async def test_start_with_config_goes_through_the_hook(
    controller: Controller, messages: ModuleType
) -> None:
    ended = asyncio.ensure_future(wait_for_state(controller, "ctl-config", TrialState.ENDED))
    await asyncio.sleep(0.1)  # let the watch start
    trial_id = await controller.start_trial(messages.TrialConfig(tag="blue", steps=3), "ctl-config")
    assert trial_id == "ctl-config"
    await ended  # max_steps set by the hook from the config
    (info,) = await controller.get_trial_info([trial_id])
    assert info.state is TrialState.ENDED
    assert info.properties == {"tag": "blue", "user": "tester"}
    assert info.tick_id is not None and info.tick_id >= 3


@pytest.mark.interop
async def test_watch_full_info_and_stop_by_sending_false(
    controller: Controller, messages: ModuleType
) -> None:
    trial_id = await controller.start_trial(messages.TrialConfig(tag="w", steps=0))
    assert trial_id
    await wait_for_state(controller, trial_id, TrialState.RUNNING)
    watcher = controller.watch_trials(full_info=True)
    seen = await asyncio.wait_for(watcher.__anext__(), 10)
    assert isinstance(seen, TrialInfo)
    assert seen.properties is not None and seen.env_name is not None
    with pytest.raises(StopAsyncIteration):
        await watcher.asend(False)
    await controller.terminate_trial([trial_id], hard=True)


@pytest.mark.interop
async def test_requested_id_already_used_gives_empty_id(
    controller: Controller, messages: ModuleType
) -> None:
    first = await controller.start_trial(messages.TrialConfig(steps=0), trial_id_requested="dup")
    assert first == "dup"
    again = await controller.start_trial(messages.TrialConfig(steps=0), trial_id_requested="dup")
    assert again == ""
    with pytest.warns(DeprecationWarning, match="list"):
        await controller.terminate_trial("dup", hard=True)
    info = await wait_for_state(controller, "dup", TrialState.ENDED)
    assert info.state is TrialState.ENDED


@pytest.mark.interop
async def test_hard_termination_of_several_trials(
    controller: Controller, messages: ModuleType
) -> None:
    ids = [await controller.start_trial(messages.TrialConfig(steps=0)) for _ in range(2)]
    for trial_id in ids:
        await wait_for_state(controller, trial_id, TrialState.RUNNING)
    await controller.terminate_trial(ids, hard=True)
    for trial_id in ids:
        await wait_for_state(controller, trial_id, TrialState.ENDED)


@pytest.mark.interop
async def test_remote_versions(controller: Controller) -> None:
    versions = await controller.get_remote_versions()
    assert versions
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in versions.items())


@pytest.mark.interop
async def test_rejected_start_names_the_reason(controller: Controller, settings: Any) -> None:
    no_actors = TrialParameters(settings, environment_endpoint="grpc://127.0.0.1:1")
    with pytest.raises(
        CogmentError,
        match=r"Orchestrator at \[grpc://127\.0\.0\.1:\d+\] refused to start the trial .*at least one actor",
    ):
        await controller.start_trial(trial_params=no_actors)


@pytest.mark.interop
async def test_timeout_names_the_rpc(orchestrator: Any, messages: ModuleType) -> None:
    async with Controller(
        create_channel(Endpoint(orchestrator.endpoint)), "tester", timeout=0.3
    ) as slow:
        with pytest.raises(
            CogmentError, match=r"StartTrial to Orchestrator at .* timed out after 0\.3 s"
        ):
            await slow.start_trial(messages.TrialConfig(hook_delay=2.0, steps=1))


async def test_unreachable_orchestrator() -> None:
    async with Controller(
        create_channel(Endpoint("grpc://127.0.0.1:1")), "tester", timeout=10
    ) as ctrl:
        with pytest.raises(
            CogmentError, match=r"Orchestrator at \[grpc://127\.0\.0\.1:1\] is unreachable"
        ):
            await ctrl.get_remote_versions()
        with pytest.raises(CogmentError, match="is unreachable"):
            async for _ in ctrl.watch_trials():
                pass


# ------------------------------------------------------------------------------------------- wire level


class _Call:
    def __init__(self, entries: list[orchestrator_pb2.TrialListEntry]) -> None:
        self._entries = entries
        self.cancelled = False

    def __aiter__(self) -> _Call:
        return self

    async def __anext__(self) -> orchestrator_pb2.TrialListEntry:
        if not self._entries:
            raise StopAsyncIteration
        return self._entries.pop(0)

    def cancel(self) -> bool:
        self.cancelled = True
        return True


class RecordingStub:
    """Records the requests and metadata the Controller sends (checks the wire form, not a server)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, Any, tuple[tuple[str, Any], ...]]] = []
        self.trial_infos: list[orchestrator_pb2.TrialInfo] = []
        self.watch_call = _Call(
            [
                orchestrator_pb2.TrialListEntry(trial_id="a", state=common_pb2.RUNNING),
                orchestrator_pb2.TrialListEntry(
                    info=orchestrator_pb2.TrialInfo(trial_id="b", state=common_pb2.ENDED)
                ),
            ]
        )

    async def StartTrial(self, request: Any, metadata: Any, timeout: Any) -> Any:
        self.calls.append(("StartTrial", request, metadata))
        return orchestrator_pb2.TrialStartReply(trial_id=request.trial_id_requested or "new")

    async def TerminateTrial(self, request: Any, metadata: Any, timeout: Any) -> Any:
        self.calls.append(("TerminateTrial", request, metadata))
        return orchestrator_pb2.TerminateTrialReply()

    async def GetTrialInfo(self, request: Any, metadata: Any, timeout: Any) -> Any:
        self.calls.append(("GetTrialInfo", request, metadata))
        return orchestrator_pb2.TrialInfoReply(trial=self.trial_infos)

    def WatchTrials(self, request: Any, metadata: Any) -> _Call:
        self.calls.append(("WatchTrials", request, metadata))
        return self.watch_call

    async def Version(self, request: Any, metadata: Any, timeout: Any) -> Any:
        self.calls.append(("Version", request, metadata))
        return common_pb2.VersionInfo(
            versions=[common_pb2.VersionInfo.Version(name="orchestrator", version="x")]
        )


@pytest.fixture
def recorded() -> tuple[Controller, RecordingStub]:
    stub = RecordingStub()
    metadata = GrpcMetadata().add("authorization", "token")
    return Controller(stub, "me", metadata, url="grpc://orch:9000"), stub  # type: ignore[arg-type]


async def test_every_call_carries_the_context_metadata(
    recorded: tuple[Controller, RecordingStub],
) -> None:
    controller, stub = recorded
    await controller.start_trial()
    await controller.terminate_trial(["t1", "t2"], hard=True)
    await controller.get_trial_info(["t1"])
    [
        _
        async for _ in controller.watch_trials(
            [TrialState.RUNNING, TrialState.ENDED], full_info=True
        )
    ]
    await controller.get_remote_versions()
    for name, _, metadata in stub.calls:
        assert ("authorization", "token") in metadata, name
    terminate = stub.calls[1]
    assert terminate[1] == orchestrator_pb2.TerminateTrialRequest(hard_termination=True)
    assert [v for k, v in terminate[2] if k == "trial-id"] == ["t1", "t2"]
    watch = stub.calls[3][1]
    assert list(watch.filter) == [common_pb2.RUNNING, common_pb2.ENDED] and watch.full_info
    assert stub.watch_call.cancelled


async def test_start_request_contents(
    recorded: tuple[Controller, RecordingStub], settings: Any, messages: ModuleType
) -> None:
    controller, stub = recorded
    assert await controller.start_trial(messages.TrialConfig(tag="t"), "wanted") == "wanted"
    await controller.start_trial(b"raw-config")
    params = TrialParameters(settings, max_steps=9)
    await controller.start_trial(trial_params=params)
    await controller.start_trial()
    requests = [request for name, request, _ in stub.calls]
    assert requests[0] == orchestrator_pb2.TrialStartRequest(
        user_id="me",
        trial_id_requested="wanted",
        config=common_pb2.SerializedMessage(
            content=messages.TrialConfig(tag="t").SerializeToString()
        ),
    )
    assert requests[1].config.content == b"raw-config"
    assert (
        requests[2].WhichOneof("start_data") == "params" and requests[2].params == params.to_proto()
    )
    assert requests[3].WhichOneof("start_data") is None and requests[3].user_id == "me"
    with pytest.raises(CogmentError, match="not both"):
        await controller.start_trial(messages.TrialConfig(), trial_params=params)
    with pytest.raises(CogmentError, match="protobuf message or bytes"):
        await controller.start_trial("config")  # type: ignore[arg-type]


async def test_argument_errors_and_deprecations(recorded: tuple[Controller, RecordingStub]) -> None:
    controller, stub = recorded
    with pytest.raises(CogmentError, match="at least one trial id"):
        await controller.terminate_trial([])
    with pytest.raises(CogmentError, match="TrialState"):
        async for _ in controller.watch_trials([3]):  # type: ignore[list-item]
            pass
    with pytest.warns(DeprecationWarning):
        await controller.get_trial_info(None)
    with pytest.warns(DeprecationWarning):
        await controller.get_trial_info("t9")
    assert [v for k, v in stub.calls[-1][2] if k == "trial-id"] == ["t9"]
    assert [k for k, _ in stub.calls[-2][2]] == [
        "authorization"
    ]  # None = all trials: no trial-id header
    with pytest.raises(CogmentError, match="Unknown trial"):
        await controller.get_actors("missing")


async def test_watch_entries_become_trial_infos(recorded: tuple[Controller, RecordingStub]) -> None:
    controller, _ = recorded
    infos = [info async for info in controller.watch_trials()]
    assert [(i.trial_id, i.state) for i in infos] == [
        ("a", TrialState.RUNNING),
        ("b", TrialState.ENDED),
    ]
    assert infos[0].tick_id is None and infos[1].tick_id == 0


def test_trial_state_values_are_the_wire_values() -> None:
    assert {s.name: s.value for s in TrialState} == dict(common_pb2.TrialState.items())
    assert Controller(RecordingStub(), "u").has_specs()  # type: ignore[arg-type]


async def test_controller_is_closed_with_its_channel() -> None:
    channel = create_channel(Endpoint("grpc://127.0.0.1:1"))
    controller = Controller(channel, "u")
    assert controller.url == "grpc://127.0.0.1:1"
    await controller.close()
    await controller.close()  # idempotent
    with pytest.raises(CogmentError, match="closed"):
        await controller.get_remote_versions()


async def test_watch_trials_does_not_hang_when_the_orchestrator_goes_away(
    caplog: pytest.LogCaptureFixture,
) -> None:
    from cogment_services.orchestrator import Orchestrator

    orch = Orchestrator(lifecycle_port=0, host="127.0.0.1")
    await orch.start()
    stopped = False
    try:
        async with Controller(create_channel(Endpoint(orch.endpoint)), "tester") as ctrl:
            watching = asyncio.ensure_future(ctrl.watch_trials().__anext__())
            await asyncio.sleep(0.2)  # the stream is open, nothing to report
            assert not watching.done()
            await orch.stop()
            stopped = True
            # Ends (graceful server shutdown) or raises CogmentError (connection lost): never hangs.
            with pytest.raises((StopAsyncIteration, CogmentError)):
                await asyncio.wait_for(watching, 10)
            if isinstance(watching.exception(), StopAsyncIteration):
                assert "ended the WatchTrials stream" in caplog.text
    finally:
        if not stopped:
            await orch.stop()


async def test_controller_over_mutual_tls(tmp_path: Path) -> None:
    from cogment_services._server import TlsFiles
    from cogment_services.orchestrator import Orchestrator
    from tests.cogment.test_grpc import make_test_pki

    pki = make_test_pki(tmp_path)
    tls = TlsFiles(
        private_key=pki["server.key"], root_cert=pki["ca.pem"], trust_chain=pki["server.pem"]
    )
    async with Orchestrator(lifecycle_port=0, host="127.0.0.1", tls=tls) as orch:
        endpoint = Endpoint(orch.endpoint)
        endpoint.set_from_files(pki["client.key"], pki["ca.pem"], pki["client.pem"])
        async with Controller(create_channel(endpoint), "tester", timeout=10) as ctrl:
            assert await ctrl.get_remote_versions()
            assert await ctrl.get_trial_info([]) == []

        plain = Endpoint(orch.endpoint)  # no TLS: the orchestrator cannot be reached
        async with Controller(create_channel(plain), "tester", timeout=10) as ctrl:
            with pytest.raises(CogmentError, match="is unreachable"):
                await ctrl.get_remote_versions()
