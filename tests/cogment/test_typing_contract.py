"""The typed API contract (docs/design/architecture.md), checked with mypy --strict on snippets:
generated-style session subclasses give precise types, and mismatches are type errors."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from mypy import api as mypy_api

pytestmark = pytest.mark.timeout(300)

HEADER = """
from typing import Any
import cogment
from cogment.api.common_pb2 import TrialActor as Obs, SerializedMessage as Act, ActorConfig as Cfg
from cogment.api.common_pb2 import Reward as OtherAct

class PlayerSession(cogment.ActorSession[Obs, Act, Cfg]):
    pass

class RefereeSession(cogment.ActorSession[Obs, OtherAct, None]):
    pass

player: cogment.ActorClass[PlayerSession] = cogment.ActorClass(
    "player", Cfg, Act, Obs, session_type=PlayerSession
)
referee: cogment.ActorClass[RefereeSession] = cogment.ActorClass(
    "referee", None, OtherAct, Obs, session_type=RefereeSession
)

class EnvSession(cogment.EnvironmentSession[Obs, Act | OtherAct, None]):
    pass
"""

POSITIVE = """
async def play(session: PlayerSession) -> None:
    session.start()
    async for event in session.all_events():
        if event.observation is not None:
            name: str = event.observation.observation.name
            session.do_action(Act(content=name.encode()))
    seed: bytes = session.config.content

async def any_actor(session: cogment.ActorSession[Any, Any, Any]) -> None:
    pass

async def env(session: EnvSession) -> None:
    session.start([("*", Obs())])
    async for event in session.all_events():
        for action in event.actions:
            reveal_type(action.action)
        session.produce_observations([("p1", Obs())])

async def main(context: cogment.Context) -> None:
    context.register_actor(play, "smart", [player])
    context.register_actor(any_actor, "generic", [player, referee])
    context.register_actor(play, "untyped", ["player"])
    context.register_environment(env, "env")
    controller = await context.get_controller(cogment.Endpoint("grpc://127.0.0.1:9000"))
    reveal_type(controller)
"""

NEGATIVE = {
    "wrong class for the implementation": """
async def play(session: PlayerSession) -> None:
    pass

def main(context: cogment.Context) -> None:
    context.register_actor(play, "smart", [referee])
""",
    "wrong action type": """
async def play(session: PlayerSession) -> None:
    session.do_action(OtherAct())
""",
    "wrong observation type for the environment": """
async def env(session: EnvSession) -> None:
    session.produce_observations([("*", Act())])
""",
}


def _mypy(tmp_path: Path, name: str, body: str) -> tuple[int, str]:
    path = tmp_path / f"{name}.py"
    path.write_text(HEADER + textwrap.dedent(body))
    stdout, stderr, status = mypy_api.run(
        ["--strict", "--no-incremental", "--cache-dir", str(tmp_path / ".mypy_cache"), str(path)]
    )
    return status, stdout + stderr


def test_typed_contract(tmp_path: Path) -> None:
    status, output = _mypy(tmp_path, "positive", POSITIVE)
    assert status == 0, output
    assert 'SerializedMessage | cogment.api.common_pb2.Reward | None"' in output
    assert 'Revealed type is "cogment._controller.Controller"' in output
    for index, (what, body) in enumerate(NEGATIVE.items()):
        status, output = _mypy(tmp_path, f"negative_{index}", body)
        assert status == 1 and "error:" in output, f"{what}: no type error\n{output}"
