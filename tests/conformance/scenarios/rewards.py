# mypy: allow-subclassing-any
"""rewards: wildcards (``*``, ``class.*``, ``class.name``, names), confidences (0 included),
aggregation per receiver and tick, user data, a past tick (never delivered), final-tick rewards."""

from __future__ import annotations

from typing import Any

from _common import Run, main, text
from _components import ActorScript, EnvScript, register_actor, register_environment


class RewardingEnv(EnvScript):
    async def on_actions(self, run: Run, session: Any, tick: int, event: Any) -> bool:
        if tick == 0:
            session.add_reward(value=1.0, confidence=1.0, to=["*"])
            session.add_reward(value=3.0, confidence=3.0, to=["p1"])
            session.add_reward(value=100.0, confidence=0.0, to=["p1"])
        elif tick == 1:
            session.add_reward(2.0, 1.0, ["player.*"], user_data=text("bonus"))
        elif tick == 2:
            session.add_reward(42.0, 0.0, ["ref"])
            session.add_reward(9.0, 1.0, ["p1"], tick_id=1)  # a past tick: datalog only
        elif tick == 3:
            session.add_reward(7.0, 1.0, ["p2"])  # the final tick (max_steps=3)
        return True


class RewardingReferee(ActorScript):
    async def on_observation(self, run: Run, session: Any, tick: int, event: Any) -> None:
        if tick == 1:
            session.add_reward(1.0, 1.0, ["*"])
            session.add_reward(5.0, 2.0, ["p2"], user_data=text("from the referee"))
            session.add_reward(-2.0, 1.0, ["referee.ref"])
            session.add_reward(50.0, 1.0, ["referee.p1"])  # p1 is no referee: nobody
            session.add_reward(60.0, 1.0, ["nobody"])  # unknown: nobody


def setup(run: Run) -> None:
    register_environment(run, "env", RewardingEnv())
    register_actor(run, "plays", ["player"], ActorScript())
    register_actor(run, "judges", ["referee"], RewardingReferee())


async def scenario(run: Run) -> None:
    actors = [
        run.actor("p1", "player", "plays"),
        run.actor("p2", "player", "plays"),
        run.actor("ref", "referee", "judges"),
    ]
    params = run.params(actors, max_steps=3)
    trial_id = await run.start(params, "t1")
    await run.wait_ended([trial_id])


if __name__ == "__main__":
    main(setup, scenario)
