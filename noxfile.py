"""Developer and CI sessions.

``./dev test`` runs the ``ci`` session (everything CI checks, in one venv);
``./dev main`` runs the main job. Sessions reuse their virtualenv: a rerun only
reinstalls when ``pyproject.toml`` changed.
"""

from __future__ import annotations

import glob
import hashlib
import os
import sys
from pathlib import Path

import nox

ROOT = Path(__file__).resolve().parent
PYTHONS = ["3.10", "3.11", "3.12", "3.13"]
DEFAULT_PYTHON = f"{sys.version_info.major}.{sys.version_info.minor}"

nox.options.reuse_existing_virtualenvs = True
nox.options.error_on_missing_interpreters = False
nox.options.sessions = ["ci"]


def _expose_pyenv_versions() -> None:
    """Make every pyenv-installed Python reachable as ``pythonX.Y`` (pyenv shims need it)."""
    root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))
    if "PYENV_VERSION" in os.environ or not (root / "versions").is_dir():
        return
    current = f"{sys.version_info.major}.{sys.version_info.minor}"
    versions = sorted(Path(p).name for p in glob.glob(str(root / "versions" / "3.*")))
    versions.sort(key=lambda v: not v.startswith(current + "."))  # keep ours first for python3
    if versions:
        os.environ["PYENV_VERSION"] = ":".join(versions)


_expose_pyenv_versions()


def _install(session: nox.Session, extras: str = "dev") -> None:
    """Install the project (editable) with ``extras`` unless this venv already has it."""
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes() + extras.encode()).hexdigest()
    location = getattr(session.virtualenv, "location", None)
    marker = Path(location) / ".cogment-installed" if location else None
    if marker is not None and marker.exists() and marker.read_text() == digest:
        return
    session.install("--quiet", "--upgrade", "pip")
    session.install("--quiet", "-e", f".[{extras}]" if extras else ".")
    if marker is not None:
        marker.write_text(digest)


def _pytest(session: nox.Session, *args: str) -> None:
    session.run("python", "-m", "pytest", *args, *session.posargs)


@nox.session(python=PYTHONS)
def tests(session: nox.Session) -> None:
    """The test suite without the interop oracle (``nox -s tests-3.12`` for one Python)."""
    _install(session)
    _pytest(session, "-m", "not interop")


@nox.session(python=DEFAULT_PYTHON)
def interop(session: nox.Session) -> None:
    """Tests against the published SDK 2.10.1 (built on first use in its own Python 3.10 venv)."""
    _install(session)
    session.run("python", "tests/_support/refsdk.py")
    _pytest(session, "-m", "interop")


@nox.session(python=DEFAULT_PYTHON)
def typing(session: nox.Session) -> None:
    """mypy --strict over our packages, tests and the typing tests."""
    _install(session)
    session.run("mypy", "cogment", "cogment_codegen", "cogment_services", "tests", "bench")
    _check_example(session)


@nox.session(python=DEFAULT_PYTHON)
def lint(session: nox.Session) -> None:
    """ruff check and ruff format --check."""
    _install(session)
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session(python=DEFAULT_PYTHON)
def protos(session: nox.Session) -> None:
    """Recompile protos/ into cogment/api (commit the result)."""
    _install(session)
    session.run("python", "tools/compile_protos.py", *session.posargs)


@nox.session(python=DEFAULT_PYTHON)
def golden(session: nox.Session) -> None:
    """Regenerate the generator's golden files (review the diff, then commit)."""
    _install(session)
    session.run("python", "-m", "tests.cogment_codegen.regenerate_golden", *session.posargs)


@nox.session(python=DEFAULT_PYTHON)
def bench(session: nox.Session) -> None:
    """Run the benchmark suite; prints a table and writes bench/results/*.json."""
    _install(session)
    session.run("python", "-m", "bench", *session.posargs)


@nox.session(python=DEFAULT_PYTHON)
def main(session: nox.Session) -> None:
    """The main job: the rock-paper-scissors example, a burst of real trials, embedded."""
    _install(session, extras="")
    session.run("python", "-m", "examples.rps", *session.posargs)


@nox.session(python=DEFAULT_PYTHON)
def ci(session: nox.Session) -> None:
    """Everything CI checks: lint, typing, the whole suite incl. interop; then the oldest and
    newest supported Pythons run the suite without interop (queued as their own sessions)."""
    _install(session)
    for version in (PYTHONS[0], PYTHONS[-1]):
        if version != DEFAULT_PYTHON:
            session.notify(f"tests-{version}")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")
    session.run("mypy", "cogment", "cogment_codegen", "cogment_services", "tests", "bench")
    _check_example(session)
    session.run("python", "tests/_support/refsdk.py")
    _pytest(session)


def _check_example(session: nox.Session) -> None:
    """The main job's code, on its generated settings, passes mypy --strict."""
    spec = "examples/rps/cogment.yaml"
    session.run(
        "python", "-m", "cogment", "generate", "--quiet", "--spec", spec, "--output", "examples/rps"
    )
    session.run("mypy", "examples")
