"""The ``cogment`` command: dispatch, help, errors."""

from __future__ import annotations

import subprocess
import sys

import pytest

from cogment._cli import main as cli
from cogment._version import __version__


def test_help_lists_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["--help"]) == 0
    out = capsys.readouterr().out
    for words in cli.COMMANDS:
        assert " ".join(words) in out


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["version"]) == 0
    assert capsys.readouterr().out.strip() == __version__


def test_unknown_command_names_it_and_fails(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["services", "nope"]) == 2
    err = capsys.readouterr().err
    assert "unknown command 'services nope'" in err


def test_every_command_module_has_a_main() -> None:
    import importlib

    for module_name, _ in cli.COMMANDS.values():
        module = importlib.import_module(module_name)
        assert callable(module.main), module_name


def test_console_script_runs() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "cogment", "version"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == __version__


@pytest.mark.parametrize("group", ["services", "client"])
def test_group_help_lists_only_that_group(group: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main([group, "--help"]) == 0
    out = capsys.readouterr().out
    listed = [words for words in cli.COMMANDS if " ".join(words) in out]
    assert listed and all(words[0] == group for words in listed)


def test_group_without_a_name_shows_its_commands_and_fails(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert cli.main(["services"]) == 2
    assert "services orchestrator" in capsys.readouterr().out
