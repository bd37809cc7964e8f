"""Conformance: each scenario program runs with the published SDK 2.10.1 and with ours against
our Orchestrator; the canonical traces must be identical and show the documented behaviour.

Run: ``.venv/bin/python -m pytest tests/conformance -q`` (``-m interop`` for the published-SDK
runs only). A failing comparison prints a unified diff of the two traces.
"""

from __future__ import annotations

import copy
import sys
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.conformance._facts import FACTS, MUTATIONS
from tests.conformance._harness import (
    EmbeddedOrchestrator,
    HarnessError,
    RunResult,
    assert_same_traces,
    embedded_orchestrator,
    free_port,
    generate_ours,
    generate_reference,
    run_scenario,
)

pytestmark = pytest.mark.timeout(120)

SCENARIOS = [
    "basic",
    "max_steps",
    "terminate",
    "rewards",
    "messages",
    "client_actors",
    "hooks",
    "datalog",
    "optional",
    "watch",
    "concurrent_trials",
    "reuse",
    "crash",
    "env_crash",
    "refusals",
]

#: Default parameters of the orchestrator of the ``hooks`` scenario (as a params file would give
#: them: ``max_inactivity`` left out on purpose, it must default to 30).
HOOKS_DEFAULT_PARAMS: dict[str, Any] = {
    "properties": {"origin": "defaults"},
    "max_steps": 9,
    "environment": {"implementation": "env"},
}


def _dedicated_orchestrator(scenario: str, port: int) -> dict[str, Any] | None:
    """Options of the orchestrator a scenario needs for itself (``None``: the shared one)."""
    if scenario == "hooks":
        hook = f"grpc://127.0.0.1:{port}"
        return {"pre_trial_hooks": [hook, hook], "params": HOOKS_DEFAULT_PARAMS}
    return None


#: Why OUR SDK cannot run a scenario yet (strict: the test fails once it passes; then delete the
#: entry). Keep each reason precise: the missing public feature.
OURS_XFAIL: dict[str, str] = {}


@dataclass
class Suite:
    """Module-wide state: one shared orchestrator, the generated settings, cached reference runs."""

    workdir: Path
    orchestrator: EmbeddedOrchestrator
    settings: dict[str, Path | Exception] = field(default_factory=dict)
    reference_runs: dict[str, RunResult] = field(default_factory=dict)

    def settings_for(self, sdk: str) -> Path:
        if sdk not in self.settings:
            try:
                if sdk == "ref":
                    self.settings[sdk] = generate_reference(self.workdir, _reference_python())
                else:
                    self.settings[sdk] = generate_ours(self.workdir)
            except Exception as error:  # remembered: every test of that SDK reports it
                self.settings[sdk] = error
        found = self.settings[sdk]
        if isinstance(found, Exception):
            raise found
        return found

    def run(self, sdk: str, scenario: str) -> RunResult:
        python: Path | str = _reference_python() if sdk == "ref" else sys.executable
        settings = self.settings_for(sdk)
        port = free_port()
        options = _dedicated_orchestrator(scenario, port)
        with ExitStack() as stack:
            orchestrator = self.orchestrator
            if options is not None:
                orchestrator = stack.enter_context(embedded_orchestrator(**options))
            result = run_scenario(
                sdk=sdk,
                python=python,
                settings=settings,
                scenario=scenario,
                orchestrator=orchestrator,
                workdir=self.workdir / "runs",
                port=port if options is not None else 0,
            )
        if result.returncode != 0:
            raise HarnessError(result.describe())
        return result

    def reference(self, scenario: str) -> RunResult:
        if scenario not in self.reference_runs:
            self.reference_runs[scenario] = self.run("ref", scenario)
        return self.reference_runs[scenario]


def _reference_python() -> Path:
    from tests._support.refsdk import reference_python

    return reference_python()


@pytest.fixture(scope="module")
def suite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Suite]:
    with embedded_orchestrator() as orchestrator:
        yield Suite(tmp_path_factory.mktemp("conformance"), orchestrator)


@pytest.mark.interop
@pytest.mark.parametrize("scenario", SCENARIOS)
def test_reference_sdk(suite: Suite, scenario: str) -> None:
    """The published SDK on our Orchestrator shows the documented behaviour."""
    result = suite.reference(scenario)
    FACTS[scenario](result.records)
    # The facts can fail: a plausible wrong behaviour, applied to this trace, is rejected.
    with pytest.raises(AssertionError):
        FACTS[scenario](MUTATIONS[scenario](copy.deepcopy(result.records)))


def _ours_params() -> list[Any]:
    params = []
    for scenario in SCENARIOS:
        reason = OURS_XFAIL.get(scenario)
        marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
        params.append(pytest.param(scenario, marks=marks, id=scenario))
    return params


@pytest.mark.interop
@pytest.mark.parametrize("scenario", _ours_params())
def test_our_sdk(suite: Suite, scenario: str) -> None:
    """Our SDK runs the same program to the same trace as the published SDK."""
    ours = suite.run("ours", scenario)
    FACTS[scenario](ours.records)
    assert_same_traces(suite.reference(scenario), ours)
