"""IDE completion (jedi) on user code written against the generated package."""

from __future__ import annotations

import sys
from pathlib import Path

import jedi  # type: ignore[import-untyped]

USER_CODE = """\
import cog_settings


async def player(session: cog_settings.PlayerSession) -> None:
    async for event in session.all_events():
        if event.observation is not None:
            event.observation.observation.
    session.
"""


def complete(settings: Path, line: int, prefix: str) -> set[str]:
    """Names jedi proposes at the end of ``prefix`` on ``line`` of ``USER_CODE``."""
    assert USER_CODE.splitlines()[line - 1] == prefix
    project = jedi.Project(settings, sys_path=[str(settings), *sys.path])
    script = jedi.Script(USER_CODE, path=settings / "user.py", project=project)
    return {c.name for c in script.complete(line, len(prefix)) if not c.name.startswith("_")}


def test_session_methods(typing_settings: Path) -> None:
    names = complete(typing_settings, 8, "    session.")
    assert {"start", "do_action", "all_events", "send_message", "add_reward", "config"} <= names


def test_observation_fields(typing_settings: Path) -> None:
    """Needs the runtime's generic attributes declared at class level (typed API contract)."""
    names = complete(typing_settings, 7, "            event.observation.observation.")
    assert {"last_move", "my_score", "their_score"} <= names


def test_received_action_fields(typing_settings: Path) -> None:
    code = (
        "import cog_settings\n\n\n"
        "async def env(session: cog_settings.EnvironmentSession) -> None:\n"
        "    async for event in session.all_events():\n"
        "        for received in event.actions:\n"
        "            move = session.player_action(received)\n"
        "            if move is not None:\n"
        "                move.\n"
    )
    project = jedi.Project(typing_settings, sys_path=[str(typing_settings), *sys.path])
    script = jedi.Script(code, path=typing_settings / "env.py", project=project)
    names = {c.name for c in script.complete(9, len("                move."))}
    assert "move" in names
