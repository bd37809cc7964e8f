"""Default params file and pre-trial hooks (published-SDK hook), plus params-file parsing."""

from __future__ import annotations

from pathlib import Path

import pytest

from cogment_services.orchestrator import Orchestrator, ParamsError, load_params_file

from .conftest import Driver
from .test_trials import end_reason


def write_params(path: Path, driver_endpoint: str, extra: str = "") -> Path:
    path.write_text(
        f"""
trial_params:
  max_steps: 3
  properties:
    origin: file
  environment:
    endpoint: {driver_endpoint}
    implementation: env
  actors:
    - name: p1
      actor_class: player
      endpoint: {driver_endpoint}
      implementation: agent
    - name: p2
      actor_class: observer
      endpoint: {driver_endpoint}
      implementation: agent
{extra}
other_key: ignored
""",
        encoding="utf-8",
    )
    return path


@pytest.mark.interop
async def test_params_file_through_two_hooks(driver: Driver, tmp_path: Path) -> None:
    params = write_params(tmp_path / "params.yaml", driver.endpoint)
    async with Orchestrator(
        lifecycle_port=0,
        host="127.0.0.1",
        params=params,
        pre_trial_hooks=[driver.endpoint, driver.endpoint],
    ) as orch:
        r = await driver.call(
            "run_trial",
            orchestrator=orch.endpoint,
            trial_config={"tag": "hello"},
            wait_for=["env", "p1", "p2"],
        )
        assert r["final_state"] == "ENDED"
        assert r["final_tick"] == 4
        trial = orch.get_trial(r["trial_id"])
        assert trial is not None
        # Each hook saw the previous one's output; the second sees the trial config too.
        assert trial.properties["hook_count"] == "2"
        assert trial.properties["origin"] == "file"
        assert trial.properties["hook_tag"] == "hello"
        assert trial.properties["hook_user"] == "scenario-user"
        hook_params = r["records"]["hook_params"]
        assert hook_params["max_inactivity"] == 30  # file default when the key is absent


@pytest.mark.interop
async def test_explicit_params_skip_the_hooks(driver: Driver, tmp_path: Path) -> None:
    params = write_params(tmp_path / "params.yaml", driver.endpoint)
    async with Orchestrator(
        lifecycle_port=0, host="127.0.0.1", params=params, pre_trial_hooks=[driver.endpoint]
    ) as orch:
        r = await driver.call(
            "run_trial",
            orchestrator=orch.endpoint,
            params={"max_steps": 1, "actors": [{"name": "x"}]},
        )
        trial = orch.get_trial(r["trial_id"])
        assert trial is not None and "hook_count" not in trial.properties


@pytest.mark.interop
async def test_hook_failure_refuses_the_trial(driver: Driver, tmp_path: Path) -> None:
    params = write_params(tmp_path / "params.yaml", driver.endpoint)
    async with Orchestrator(
        lifecycle_port=0, host="127.0.0.1", params=params, pre_trial_hooks=[driver.endpoint]
    ) as orch:
        r = await driver.call(
            "run_trial", orchestrator=orch.endpoint, trial_config={"tag": "hook_fail"}
        )
        assert "Pre-trial hook failure" in r["start_error"]
        failed = [t for t in orch.trials.values() if t.state == 5]
        assert failed and "Pre-trial hook failure" in (failed[0].end_reason or "")
        # The orchestrator keeps serving.
        ok = await driver.call("run_trial", orchestrator=orch.endpoint, trial_config={"tag": "ok"})
        assert ok["final_state"] == "ENDED"
        assert end_reason(orch, ok) == "Maximum number of steps reached"


@pytest.mark.interop
async def test_unreachable_hook_refuses_the_trial(driver: Driver, tmp_path: Path) -> None:
    params = write_params(tmp_path / "params.yaml", driver.endpoint)
    async with Orchestrator(
        lifecycle_port=0,
        host="127.0.0.1",
        params=params,
        pre_trial_hooks=["grpc://127.0.0.1:1"],
        hook_timeout=5,
    ) as orch:
        r = await driver.call("run_trial", orchestrator=orch.endpoint)
        assert "Pre-trial hook failure" in r["start_error"]


def test_params_file_parsing(tmp_path: Path) -> None:
    path = write_params(
        tmp_path / "p.yaml",
        "grpc://127.0.0.1:9001",
        extra="""  nb_buffered_ticks: "5"
  datalog:
    endpoint: grpc://127.0.0.1:9003
    exclude_fields: [messages]
""",
    )
    params = load_params_file(path)
    assert params.max_steps == 3
    assert params.max_inactivity == 30
    assert params.nb_buffered_ticks == 5
    assert [a.name for a in params.actors] == ["p1", "p2"]
    assert params.datalog.exclude_fields == ["messages"]
    assert params.properties["origin"] == "file"


def test_params_file_optional_and_timeouts(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(
        """
trial_params:
  max_inactivity: 0
  actors:
    - name: a
      actor_class: c
      optional: "yes"
      response_timeout: 1.5
      initial_connection_timeout: "2"
""",
        encoding="utf-8",
    )
    params = load_params_file(path)
    assert params.max_inactivity == 0
    actor = params.actors[0]
    assert actor.optional is True
    assert actor.response_timeout == pytest.approx(1.5)
    assert actor.initial_connection_timeout == pytest.approx(2.0)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("trial_params:\n  max_stepz: 3\n", "max_stepz"),
        ("trial_params:\n  max_steps:\n", "trial_params.max_steps: empty value"),
        ("trial_params:\n  actors:\n    - name: a\n      actor_class:\n", "actors[0].actor_class"),
        ("trial_params: [1, 2]\n", "expected a mapping"),
        ("trial_params: {max_steps: [\n", "invalid YAML"),
        ("trial_params:\n  max_steps: many\n", "max_steps"),
    ],
)
def test_malformed_params_file(tmp_path: Path, text: str, expected: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ParamsError) as info:
        load_params_file(path)
    assert expected in str(info.value)
    assert str(path) in str(info.value)


def test_missing_params_file(tmp_path: Path) -> None:
    with pytest.raises(ParamsError, match="cannot read"):
        load_params_file(tmp_path / "absent.yaml")
