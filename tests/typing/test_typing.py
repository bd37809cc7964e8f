"""Type-check the positive and negative typing cases against the generated package, with
``mypy --strict`` and basedpyright, and the generated RPS package itself."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from cogment_codegen import generate

HERE = Path(__file__).parent
ROOT = HERE.parents[1]
POSITIVE = sorted(str(p) for p in (HERE / "positive").glob("*.py"))
NEGATIVE = sorted(str(p) for p in (HERE / "negative").glob("*.py"))
BIN = Path(sys.executable).parent
TIMEOUT = 300


def mypy(files: list[str], search_path: Path, cache: Path) -> subprocess.CompletedProcess[str]:
    config = cache / "mypy.ini"
    cache.mkdir(parents=True, exist_ok=True)
    config.write_text(
        "[mypy]\nstrict = True\nwarn_unused_ignores = True\npython_version = 3.10\n"
        "show_error_codes = True\n"
    )
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--config-file",
            str(config),
            "--cache-dir",
            str(cache / "mypy-cache"),
            *files,
        ],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        env={**os.environ, "MYPYPATH": str(search_path)},
        cwd=search_path,
    )


def basedpyright(files: list[str], search_path: Path, where: Path) -> dict[str, object]:
    """basedpyright (its default "recommended" rules, unnecessary ignores as errors)."""
    executable = shutil.which("basedpyright", path=str(BIN)) or shutil.which("basedpyright")
    if executable is None:
        pytest.skip("basedpyright is not installed (dev extra)")
    where.mkdir(parents=True, exist_ok=True)
    config = where / "pyrightconfig.json"
    config.write_text(
        json.dumps(
            {
                "extraPaths": [str(search_path)],
                "pythonVersion": "3.10",
                "enableTypeIgnoreComments": True,
                "reportUnnecessaryTypeIgnoreComment": "error",
            }
        )
    )
    done = subprocess.run(
        [
            executable,
            "--project",
            str(config),
            "--pythonpath",
            sys.executable,
            "--outputjson",
            *files,
        ],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        cwd=where,
    )
    report: dict[str, object] = json.loads(done.stdout)
    return report


def errors_of(report: dict[str, object]) -> list[str]:
    diagnostics = report["generalDiagnostics"]
    assert isinstance(diagnostics, list)
    return [
        f"{d['file']}:{d['range']['start']['line'] + 1}: {d['message']} ({d.get('rule')})"
        for d in diagnostics
        if d["severity"] == "error"
    ]


def test_cases_exist() -> None:
    assert {Path(p).name for p in POSITIVE} >= {
        "agent.py",
        "environment.py",
        "controller.py",
        "prehook.py",
    }
    assert {Path(p).name for p in NEGATIVE} >= {"agent.py", "environment.py", "controller.py"}
    pinned = sum(Path(p).read_text().count("# type: ignore[") for p in NEGATIVE)
    assert pinned >= 20


def test_positive_mypy(typing_settings: Path) -> None:
    done = mypy(POSITIVE, typing_settings, typing_settings / ".check")
    assert done.returncode == 0, done.stdout + done.stderr


def test_negative_mypy(typing_settings: Path) -> None:
    """Every pinned error is still an error (unused ignores fail) and nothing else is."""
    done = mypy(NEGATIVE, typing_settings, typing_settings / ".check")
    assert done.returncode == 0, done.stdout + done.stderr


def test_negative_mypy_without_ignores_fails(typing_settings: Path, tmp_path: Path) -> None:
    """The negatives are real errors: stripped of their ignores, each pinned line fails."""
    stripped = []
    expected = 0
    for path in NEGATIVE:
        text = Path(path).read_text()
        expected += text.count("# type: ignore[")
        target = tmp_path / Path(path).name
        target.write_text(
            "\n".join(line.split("  # type: ignore[")[0] for line in text.splitlines()) + "\n"
        )
        stripped.append(str(target))
    done = mypy(stripped, typing_settings, typing_settings / ".check")
    assert done.returncode == 1
    failing_lines = {
        line.split(": error:")[0] for line in done.stdout.splitlines() if ": error:" in line
    }
    assert len(failing_lines) == expected, done.stdout


def test_positive_basedpyright(typing_settings: Path) -> None:
    report = basedpyright(POSITIVE, typing_settings, typing_settings / ".pyright")
    assert errors_of(report) == []


def test_negative_basedpyright(typing_settings: Path) -> None:
    report = basedpyright(NEGATIVE, typing_settings, typing_settings / ".pyright")
    assert errors_of(report) == []


def test_rps_package_is_clean(tmp_path: Path) -> None:
    """The generated RPS package (its modules and stubs; protoc's ``_pb2.py`` are untyped and
    shadowed by their ``.pyi``) has zero mypy --strict and basedpyright errors."""
    generate(ROOT / "examples" / "rps" / "cogment.yaml", tmp_path)
    package = tmp_path / "cog_settings"
    files = [str(package / "__init__.py"), *map(str, sorted(package.glob("*.pyi")))]
    done = mypy(files, tmp_path, tmp_path / ".check")
    assert done.returncode == 0, done.stdout + done.stderr
    report = basedpyright(files, tmp_path, tmp_path / ".pyright")
    assert errors_of(report) == []
