# mypy: allow-subclassing-any
"""messages in every direction: env to an actor, to ``*``, to ``class.*``, to itself; actor to
actor, to the env, to ``class.*``, to ``*`` (sender included), to ``class.name``."""

from __future__ import annotations

from typing import Any

from _common import Run, main, text
from _components import ActorScript, EnvScript, register_actor, register_environment


class TalkingEnv(EnvScript):
    async def on_actions(self, run: Run, session: Any, tick: int, event: Any) -> bool:
        if tick == 0:
            session.send_message(text("env->p1"), ["p1"])
            session.send_message(text("env->*"), ["*"])
            session.send_message(text("env->player.*"), ["player.*"])
            session.send_message(text("env->env"), [session.name])
        return True


class TalkingPlayer(ActorScript):
    async def on_observation(self, run: Run, session: Any, tick: int, event: Any) -> None:
        if tick == 1 and session.name == "p1":
            session.send_message(text("p1->p2"), ["p2"])
            session.send_message(text("p1->env"), [session.env_name])
            session.send_message(text("p1->referee.*"), ["referee.*"])
            session.send_message(text("p1->*"), ["*"])


class TalkingReferee(ActorScript):
    async def on_observation(self, run: Run, session: Any, tick: int, event: Any) -> None:
        if tick == 2:
            session.send_message(text("ref->player.p2"), ["player.p2"])
            session.send_message(text("ref->env+p1"), [session.env_name, "p1"])


def setup(run: Run) -> None:
    register_environment(run, "env", TalkingEnv())
    register_actor(run, "plays", ["player"], TalkingPlayer())
    register_actor(run, "judges", ["referee"], TalkingReferee())


async def scenario(run: Run) -> None:
    actors = [
        run.actor("p1", "player", "plays"),
        run.actor("p2", "player", "plays"),
        run.actor("ref", "referee", "judges"),
    ]
    params = run.params(actors, max_steps=4)
    trial_id = await run.start(params, "t1")
    await run.wait_ended([trial_id])


if __name__ == "__main__":
    main(setup, scenario)
