"""The referee: collects both moves, scores the round and ends the trial at the target score."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import cogment

from .cog_settings import EnvironmentSession
from .cog_settings.rps_pb2 import Move, Observation
from .players import BEATS


@dataclass
class TrialResult:
    """Outcome of one trial."""

    names: list[str]
    scores: list[int]
    rounds: int


results: dict[str, TrialResult] = {}
"""Results of the finished trials, by trial id."""

_finished: dict[str, asyncio.Event] = {}


def finished(trial_id: str) -> asyncio.Event:
    """Set once the environment of trial ``trial_id`` has recorded its result."""
    return _finished.setdefault(trial_id, asyncio.Event())


def observations(
    names: list[str], scores: list[int], moves: list[Move.ValueType] | None
) -> list[tuple[str, Observation]]:
    """What each player sees: its own and the opponent's last move, and both scores."""
    result = []
    for me, them in ((0, 1), (1, 0)):
        obs = Observation(my_score=scores[me], their_score=scores[them])
        if moves is not None:
            obs.me, obs.them = moves[me], moves[them]
        result.append((names[me], obs))
    return result


async def rps_environment(session: EnvironmentSession) -> None:
    """Runs rounds until a player reaches ``config.target_score`` (or the trial is ended)."""
    target_score = session.config.target_score if session.config is not None else 0
    names = [actor.actor_name for actor in session.get_active_actors()]
    scores = [0, 0]
    rounds = 0
    session.start(observations(names, scores, None))
    async for event in session.all_events():
        if not event.actions:
            continue
        moves = [action.move for action in map(session.player_action, event.actions) if action]
        if len(moves) == 2 and moves[0] != moves[1]:
            winner = 0 if BEATS[moves[1]] == moves[0] else 1
            scores[winner] += 1
            session.add_reward(1.0, 1.0, [names[winner]])
            session.add_reward(-1.0, 1.0, [names[1 - winner]])
        rounds += 1
        next_observations = observations(names, scores, moves if len(moves) == 2 else None)
        if event.type == cogment.EventType.ENDING or 0 < target_score <= max(scores):
            session.end(next_observations)
        else:
            session.produce_observations(next_observations)
    results[session.get_trial_id()] = TrialResult(names, scores, rounds)
    finished(session.get_trial_id()).set()
