"""Writing the output: deterministic, only changed files rewritten, ``--check``, CLI entry points."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from cogment_codegen import generate, generate_files
from cogment_codegen._cli import main as cli_main
from tests.cogment_codegen.golden import CASES_DIR, ROOT

RPS_SPEC = ROOT / "examples" / "rps" / "cogment.yaml"


def copy_case(case: str, tmp_path: Path) -> Path:
    """A writable copy of a golden case's spec and protos; returns the spec."""
    target = tmp_path / case
    shutil.copytree(CASES_DIR / case, target, ignore=shutil.ignore_patterns("expected"))
    return target / "cogment.yaml"


def snapshot(root: Path) -> dict[str, tuple[bytes, int]]:
    return {
        p.relative_to(root).as_posix(): (p.read_bytes(), p.stat().st_mtime_ns)
        for p in sorted(root.rglob("*"))
        if p.is_file() and "__pycache__" not in p.parts
    }


def test_deterministic_in_memory() -> None:
    first = generate_files(CASES_DIR / "sub_folder_protos" / "cogment.yaml")
    second = generate_files(CASES_DIR / "sub_folder_protos" / "cogment.yaml")
    assert first.files == second.files


def test_rerun_rewrites_nothing(tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = generate(RPS_SPEC, out)
    assert sorted(result.changes.created) == [
        "cog_settings/__init__.py",
        "cog_settings/py.typed",
        "cog_settings/rps_pb2.py",
        "cog_settings/rps_pb2.pyi",
    ]
    before = snapshot(out)
    time.sleep(0.01)
    again = generate(RPS_SPEC, out)
    assert not again.changes.stale
    assert len(again.changes.unchanged) == 4
    assert snapshot(out) == before  # same bytes, same modification times


def test_only_changed_files_are_written(tmp_path: Path) -> None:
    spec = copy_case("several_packages", tmp_path)
    out = tmp_path / "out"
    generate(spec, out)
    before = snapshot(out)
    red = spec.parent / "red.proto"
    red.write_text(red.read_text().replace("bool fire = 2;", "bool fire = 2; int32 ammo = 3;"))
    result = generate(spec, out)
    assert result.changes.changed == ["cog_settings/red_pb2.py", "cog_settings/red_pb2.pyi"]
    after = snapshot(out)
    for path, (content, mtime) in before.items():
        if path not in result.changes.changed:
            assert after[path] == (content, mtime), path


def test_obsolete_modules_are_removed(tmp_path: Path) -> None:
    spec = copy_case("sub_folder_protos", tmp_path)
    out = tmp_path / "out"
    generate(spec, out)
    assert (out / "cog_settings" / "sub" / "config_pb2.py").is_file()
    # Drop sub/config.proto: its modules (and the emptied sub-packages) go away.
    spec.write_text(
        "import:\n  proto: [top.proto]\nactor_classes:\n  - name: rover\n"
        "    action: {space: world.Command}\n    observation: {space: world.sensors.Reading}\n"
    )
    result = generate(spec, out, check=True)
    assert result.changes.deleted == [
        "cog_settings/sub/config_pb2.py",
        "cog_settings/sub/config_pb2.pyi",
    ]
    generate(spec, out)
    assert not (out / "cog_settings" / "sub" / "config_pb2.py").exists()
    assert (out / "cog_settings" / "sub" / "deeper" / "sensors_pb2.py").is_file()
    assert not generate(spec, out, check=True).changes.stale


def test_check(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    args = ["--spec", str(RPS_SPEC), "--output", str(out), "--check"]
    assert cli_main(args) == 1  # nothing generated yet
    missing = capsys.readouterr().err
    assert "missing: cog_settings/__init__.py" in missing
    assert not out.exists()

    assert cli_main(args[:-1]) == 0
    capsys.readouterr()
    assert cli_main(args) == 0
    assert capsys.readouterr().out.startswith("up to date: 4 files in ")

    init = out / "cog_settings" / "__init__.py"
    init.write_text(init.read_text().replace('name="player"', 'name="plyer"'))
    (out / "cog_settings" / "old_pb2.py").write_text("")
    assert cli_main(args) == 1
    report = capsys.readouterr().err
    assert "is stale (rerun without --check):" in report
    assert "changed: cog_settings/__init__.py (+1 -1 lines)" in report
    assert '    -    name="plyer",' in report
    assert '    +    name="player",' in report
    assert "obsolete: cog_settings/old_pb2.py" in report


def test_cli_reports_what_it_wrote(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_main(["--spec", str(RPS_SPEC), "--output", str(tmp_path)]) == 0
    assert capsys.readouterr().out.startswith(
        f"generated in {tmp_path}: 4 written, 0 unchanged, 0 removed ("
    )
    assert cli_main(["--spec", str(RPS_SPEC), "--output", str(tmp_path), "--quiet"]) == 0
    assert capsys.readouterr().out == ""


def test_package_name_option(tmp_path: Path) -> None:
    generate(RPS_SPEC, tmp_path, name="rps_settings")
    assert (tmp_path / "rps_settings" / "__init__.py").is_file()
    with pytest.raises(ValueError, match="must be a Python identifier"):
        generate(RPS_SPEC, tmp_path, name="rps-settings")


def test_python_dash_m_and_cogment_command(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    for command in (
        [sys.executable, "-m", "cogment_codegen", "--spec", str(RPS_SPEC), "--output", "a"],
        [sys.executable, "-m", "cogment_codegen", "generate", "--spec", str(RPS_SPEC), "-q"],
        [
            sys.executable,
            "-m",
            "cogment._cli.main",
            "generate",
            "--spec",
            str(RPS_SPEC),
            "-q",
            "--output",
            "b",
        ],
    ):
        done = subprocess.run(
            command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60
        )
        assert done.returncode == 0, done.stderr
    for root in ("a", ".", "b"):
        assert (tmp_path / root / "cog_settings" / "rps_pb2.pyi").is_file()


def test_generation_time(tmp_path: Path) -> None:
    """A small spec generates well under a second (protoc included), once imports are warm."""
    generate(RPS_SPEC, tmp_path / "warm")
    start = time.perf_counter()
    result = generate(RPS_SPEC, tmp_path / "out")
    elapsed = time.perf_counter() - start
    print(f"generation of the RPS spec: {elapsed * 1000:.1f} ms, steps {result.timings}")
    assert elapsed < 1.0
