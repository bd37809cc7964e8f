"""The conformance scenarios with the Orchestrator embedded in the scenario's own Context.

Each scenario program (``tests/conformance/scenarios``) runs twice with our SDK: against the
conformance harness's Orchestrator over gRPC, and in in-process mode (``INPROCESS_ENV``: the
program starts ``context.embedded_orchestrator()`` and its served environment and actors run
in-process, its controller calls the Orchestrator directly, its client actors join
in-process). The two canonical traces must be identical and show the documented facts.

Run: ``.venv/bin/python -m pytest tests/inprocess/test_conformance_inprocess.py -q`` (~40 s).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest

from tests.conformance._facts import FACTS
from tests.conformance._harness import (
    EmbeddedOrchestrator,
    HarnessError,
    RunResult,
    embedded_orchestrator,
    free_port,
    generate_ours,
    run_scenario,
)
from tests.conformance.test_conformance import SCENARIOS, _dedicated_orchestrator

pytestmark = pytest.mark.timeout(120)

#: The scenario programs' switch (``tests/conformance/scenarios/_common.py``).
INPROCESS_ENV = "COGMENT_CONFORMANCE_INPROCESS"


class _Suite:
    def __init__(self, workdir: Path, orchestrator: EmbeddedOrchestrator) -> None:
        self.workdir = workdir
        self.orchestrator = orchestrator
        self.settings = generate_ours(workdir)

    def run(self, scenario: str, inprocess: bool) -> RunResult:
        port = free_port()
        options = _dedicated_orchestrator(scenario, port)
        with ExitStack() as stack:
            orchestrator = self.orchestrator
            extra_env: dict[str, str] | None = None
            if inprocess:
                extra_env = {INPROCESS_ENV: json.dumps(_jsonable(options or {}))}
            elif options is not None:
                orchestrator = stack.enter_context(embedded_orchestrator(**options))
            result = run_scenario(
                sdk="ours",
                python=sys.executable,
                settings=self.settings,
                scenario=scenario,
                orchestrator=orchestrator,
                workdir=self.workdir / ("inprocess" if inprocess else "grpc"),
                port=port if options is not None else 0,
                extra_env=extra_env,
            )
        if result.returncode != 0:
            raise HarnessError(result.describe())
        return result


def _jsonable(options: dict[str, Any]) -> dict[str, Any]:
    return {
        key: list(value) if isinstance(value, tuple) else value for key, value in options.items()
    }


@pytest.fixture(scope="module")
def suite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[_Suite]:
    with embedded_orchestrator() as orchestrator:
        yield _Suite(tmp_path_factory.mktemp("conformance-inprocess"), orchestrator)


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_inprocess_trace_equals_grpc_trace(suite: _Suite, scenario: str) -> None:
    """In-process and gRPC runs of the same program give the same canonical trace."""
    inprocess = suite.run(scenario, inprocess=True)
    FACTS[scenario](inprocess.records)
    grpc_run = suite.run(scenario, inprocess=False)
    if grpc_run.lines != inprocess.lines:
        import difflib

        diff = "\n".join(
            difflib.unified_diff(
                grpc_run.lines,
                inprocess.lines,
                fromfile=f"{scenario} (gRPC)",
                tofile=f"{scenario} (in-process)",
                lineterm="",
                n=2,
            )
        )
        pytest.fail(f"traces differ:\n{diff}")
