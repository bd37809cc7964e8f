"""The two players: one counters the opponent's favourite move, the other plays at random."""

from __future__ import annotations

import random
from collections import Counter, defaultdict

import cogment

from .cog_settings import PlayerSession
from .cog_settings.rps_pb2 import PAPER, ROCK, SCISSORS, Move, Observation, PlayerAction

BEATS = {ROCK: PAPER, PAPER: SCISSORS, SCISSORS: ROCK}
"""``BEATS[m]`` is the move that wins against ``m``."""

rewards: defaultdict[str, float] = defaultdict(float)
"""Total reward received, by player name."""


def collect_rewards(
    session: PlayerSession, event: cogment.RecvEvent[Observation, PlayerAction]
) -> None:
    for reward in event.rewards:
        rewards[session.name] += reward.value


async def heuristic_player(session: PlayerSession) -> None:
    """Plays the move that beats what the opponent has played most often so far."""
    seen: Counter[Move.ValueType] = Counter()
    session.start()
    async for event in session.all_events():
        collect_rewards(session, event)
        if event.observation is None or event.type != cogment.EventType.ACTIVE:
            continue
        observation = event.observation.observation
        if observation.HasField("them"):
            seen[observation.them] += 1
        favourite = seen.most_common(1)[0][0] if seen else ROCK
        session.do_action(PlayerAction(move=BEATS[favourite]))


async def random_player(session: PlayerSession) -> None:
    """Plays uniformly at random (seeded by its config, for reproducible runs)."""
    seed = session.config.seed if session.config is not None else 0
    rng = random.Random(seed or None)
    session.start()
    async for event in session.all_events():
        collect_rewards(session, event)
        if event.observation is not None and event.type == cogment.EventType.ACTIVE:
            session.do_action(PlayerAction(move=rng.choice((ROCK, PAPER, SCISSORS))))
