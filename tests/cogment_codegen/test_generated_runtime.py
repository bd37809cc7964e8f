"""Generate, import, run: each golden case's package is imported (in its own interpreter, since
protobuf registers messages process-wide) and its typed sessions and helpers are driven."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from cogment_codegen import generate
from tests.cogment_codegen.golden import ROOT, case_names, spec_of

SCRIPT = Path(__file__).with_name("_exercise_settings.py")


def run_script(directory: Path) -> str:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, str(SCRIPT), str(directory)],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        cwd=directory,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


@pytest.mark.parametrize("case", case_names())
def test_package_imports_and_runs(tmp_path: Path, case: str) -> None:
    generate(spec_of(case), tmp_path)
    assert run_script(tmp_path).splitlines()[-1] == "OK"


@pytest.mark.parametrize("case", ["several_classes", "sub_folder_protos"])
def test_module_layout_imports_and_runs(tmp_path: Path, case: str) -> None:
    generate(spec_of(case), tmp_path / "cog_settings.py")
    assert not (tmp_path / "cog_settings").exists()
    assert run_script(tmp_path).splitlines()[-1] == "OK"
