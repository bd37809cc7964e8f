"""Locate or build the interop oracle: the published ``cogment[generate]==2.10.1`` SDK.

It only installs on Python < 3.11, so it lives in its own Python 3.10 virtual
environment under ``.cache/`` at the repository root, apart from ours. The first
call builds it (a minute, from the package registry); later calls reuse it.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import sys
from pathlib import Path

REFERENCE_REQUIREMENT = "cogment[generate]==2.10.1"
ROOT = Path(__file__).resolve().parents[2]
VENV = Path(os.environ.get("COGMENT_REFSDK_VENV", ROOT / ".cache" / "refsdk-2.10.1"))


def find_python310() -> str:
    """Return a working ``python3.10`` executable (PATH first, then pyenv's versions)."""
    candidates: list[str] = []
    found = shutil.which("python3.10")
    if found:
        candidates.append(found)
    pyenv_root = os.environ.get("PYENV_ROOT", os.path.expanduser("~/.pyenv"))
    candidates += sorted(
        glob.glob(os.path.join(pyenv_root, "versions", "3.10*", "bin", "python3.10"))
    )
    for candidate in candidates:
        probe = subprocess.run(
            [candidate, "-c", "import sys; print(sys.version_info[:2])"],
            capture_output=True,
            text=True,
        )
        if probe.returncode == 0 and probe.stdout.strip() == "(3, 10)":
            return candidate
    raise RuntimeError("python3.10 not found: the published cogment SDK 2.10.1 needs Python < 3.11")


def reference_python() -> Path:
    """The interpreter of the reference-SDK venv, building the venv on first use."""
    python = VENV / "bin" / "python"
    marker = VENV / ".installed"
    if python.exists() and marker.exists():
        return python
    VENV.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run([find_python310(), "-m", "venv", "--clear", str(VENV)], check=True)
    subprocess.run(
        [
            str(python),
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            REFERENCE_REQUIREMENT,
        ],
        check=True,
    )
    marker.write_text(REFERENCE_REQUIREMENT + "\n")
    return python


if __name__ == "__main__":
    print(reference_python())
    sys.exit(0)
