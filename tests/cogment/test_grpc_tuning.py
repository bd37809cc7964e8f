"""gRPC's flags are set by ``import cogment`` (before ``grpc`` is imported), and only then.

Each case runs a fresh interpreter: the flags are read once per process, at ``import grpc``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import cogment
from cogment import _grpc_tuning

TUNING_FILE = Path(_grpc_tuning.__file__)

_REPORT = (
    "import json, os, sys\n"
    "{before}\n"
    "import cogment\n"
    "print(json.dumps({{'outcome': cogment._grpc_tuning.outcome,"
    " 'env': os.environ.get('GRPC_EXPERIMENTS')}}))\n"
)


def _run(code: str, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {
        k: v for k, v in os.environ.items() if k not in ("GRPC_EXPERIMENTS", "COGMENT_GRPC_TUNING")
    }
    environ.update(env)
    return subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=environ,
        timeout=60,
        check=True,
    )


def _report(before: str = "", **env: str) -> dict[str, str | None]:
    out = _run(_REPORT.format(before=before), **env).stdout.strip().splitlines()[-1]
    result: dict[str, str | None] = json.loads(out)
    return result


def test_installed_grpcio_is_a_checked_version() -> None:
    # When this fails, grpcio moved past the versions whose flags were checked: look for
    # ``event_engine_client`` in its binary, measure, and move ``SUPPORTED``'s bound.
    version = _grpc_tuning.installed_grpcio_version()
    assert version is not None
    assert _grpc_tuning.SUPPORTED[0] <= version < _grpc_tuning.SUPPORTED[1], version


def test_import_cogment_applies_the_flags_and_restores_the_environment() -> None:
    report = _report()
    assert report == {"outcome": f"GRPC_EXPERIMENTS={_grpc_tuning.EXPERIMENTS}", "env": None}


def test_the_flags_reach_grpc() -> None:
    # An unknown flag makes gRPC print its name while ``grpc`` is imported: proof that what
    # ``apply`` sets is what gRPC reads. The module is loaded on its own, with a flag list
    # that has one unknown name added.
    code = (
        "import importlib.util, os, sys\n"
        f"spec = importlib.util.spec_from_file_location('tuning', {str(TUNING_FILE)!r})\n"
        "module = importlib.util.module_from_spec(spec)\n"
        "source = open(spec.origin).read().replace(\n"
        "    'EXPERIMENTS = \"', 'EXPERIMENTS = \"cogment_probe_flag,', 1)\n"
        "exec(compile(source, spec.origin, 'exec'), module.__dict__)\n"
        "assert 'grpc' in sys.modules, module.outcome\n"
        "assert 'GRPC_EXPERIMENTS' not in os.environ\n"
        "print(module.outcome)\n"
    )
    done = _run(code)
    assert "cogment_probe_flag" in done.stdout
    assert "Unknown experiment: cogment_probe_flag" in done.stderr


def test_without_tuning_no_flag_reaches_grpc() -> None:
    done = _run("import grpc\nprint('ok')\n")
    assert "Unknown experiment" not in done.stderr


def test_the_users_grpc_experiments_win() -> None:
    report = _report(GRPC_EXPERIMENTS="tcp_rcv_lowat")
    assert report == {
        "outcome": "not applied: GRPC_EXPERIMENTS is set by the user",
        "env": "tcp_rcv_lowat",
    }


@pytest.mark.parametrize("value", ["0", "off", "False", "no"])
def test_opt_out(value: str) -> None:
    report = _report(COGMENT_GRPC_TUNING=value)
    assert report == {"outcome": "not applied: disabled by COGMENT_GRPC_TUNING", "env": None}


def test_grpc_imported_first_is_left_alone() -> None:
    report = _report(before="import grpc")
    assert report == {"outcome": "not applied: grpc was imported before cogment", "env": None}


def test_services_tune_grpc_too() -> None:
    code = "import cogment_services.orchestrator, cogment\nprint(cogment._grpc_tuning.outcome)\n"
    assert _run(code).stdout.strip() == f"GRPC_EXPERIMENTS={_grpc_tuning.EXPERIMENTS}"


def test_this_process_was_tuned() -> None:
    # pytest imports cogment through the test modules before grpc (conftest order permitting):
    # the whole suite runs on the tuned transport, as users do.
    assert cogment._grpc_tuning.outcome.startswith(
        ("GRPC_EXPERIMENTS=", "not applied: GRPC_EXPERIMENTS")
    )
