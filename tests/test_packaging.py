"""A plain (non-editable) install ships working, typed packages.

Builds the wheel as ``pip install`` would, then checks its contents and imports the packages
from the unpacked wheel alone (not from the checkout).
"""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("cogment", "cogment_codegen", "cogment_services")
PROTO_MODULES = sorted(p.stem for p in (ROOT / "protos" / "cogment" / "api").glob("*.proto"))


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
         "--wheel-dir", str(out), str(ROOT)],
        check=True,
        timeout=300,
    )  # fmt: skip
    (built,) = out.glob("*.whl")
    return built


def test_wheel_holds_every_package_typed_with_templates_and_stubs(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    for package in PACKAGES:
        assert f"{package}/py.typed" in names, package
    for module in PROTO_MODULES:
        for suffix in ("_pb2.py", "_pb2.pyi", "_pb2_grpc.py", "_pb2_grpc.pyi"):
            assert f"cogment/api/{module}{suffix}" in names
    assert any(n.startswith("cogment_codegen/templates/") for n in names)
    assert not any(n.startswith(("tests/", "bench/", "examples/")) for n in names)
    (entry_points,) = [n for n in names if n.endswith("entry_points.txt")]
    text = zipfile.ZipFile(wheel).read(entry_points).decode()
    assert "cogment = cogment._cli.main:main" in text


def test_unpacked_wheel_imports_and_runs_alone(wheel: Path, tmp_path: Path) -> None:
    zipfile.ZipFile(wheel).extractall(tmp_path)
    probe = (
        "import json, cogment, cogment_codegen, cogment_services\n"
        "from cogment.api import "
        + ", ".join(f"{m}_pb2, {m}_pb2_grpc" for m in PROTO_MODULES)
        + "\n"
        "from cogment._cli.main import main\n"
        "print(json.dumps({'file': cogment.__file__, 'cli': main(['version'])}))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe],
        env={"PYTHONPATH": str(tmp_path), "PATH": "/usr/bin:/bin"},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert Path(report["file"]).is_relative_to(tmp_path), "imported the checkout, not the wheel"
    assert report["cli"] == 0
