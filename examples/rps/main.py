"""Runs a burst of rock-paper-scissors trials on an embedded Orchestrator, in one process.

python -m examples.rps [--trials 20] [--target-score 5] [--concurrency 5]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time

import cogment

from . import cog_settings
from .cog_settings.rps_pb2 import EnvConfig, PlayerConfig
from .environment import finished, results, rps_environment
from .players import heuristic_player, random_player, rewards

DESCRIPTION = "Runs a burst of rock-paper-scissors trials on an embedded Orchestrator."
PLAYERS = {"heuristic": heuristic_player, "random": random_player}


class Progress:
    """A one-line progress bar on a terminal; a few plain lines otherwise."""

    def __init__(self, total: int, width: int = 30) -> None:
        self.total, self.width, self.done = total, width, 0
        self.tty = sys.stderr.isatty()
        self.next_report = 0.25

    def advance(self) -> None:
        self.done += 1
        fraction = self.done / self.total
        if self.tty:
            filled = int(self.width * fraction)
            bar = "#" * filled + "-" * (self.width - filled)
            end = "\n" if self.done == self.total else ""
            print(
                f"\r[{bar}] {self.done}/{self.total} trials", end=end, file=sys.stderr, flush=True
            )
        elif fraction >= self.next_report or self.done == self.total:
            print(f"{self.done}/{self.total} trials done", file=sys.stderr, flush=True)
            self.next_report = fraction + 0.25


def trial_parameters(endpoint: str, target_score: int, seed: int) -> cog_settings.TrialParameters:
    return cog_settings.trial_parameters(
        environment_name="referee",
        environment_endpoint=endpoint,
        environment_implementation="rps",
        environment_config=EnvConfig(target_score=target_score),
        max_steps=100 * target_score,
        actors=[
            cog_settings.player_parameters(
                name=name, endpoint=endpoint, implementation=name, config=PlayerConfig(seed=seed)
            )
            for name in PLAYERS
        ],
    )


async def run(trials: int, target_score: int, concurrency: int) -> None:
    context = cogment.Context(user_id="rps", cog_settings=cog_settings, prometheus_registry=None)
    context.register_environment(rps_environment, "rps")
    for name, implementation in PLAYERS.items():
        context.register_actor(implementation, name, [cog_settings.actor_classes.player])

    # The embedded Orchestrator runs the Context's components in-process: no sockets, no
    # serialization of observations and actions.
    async with context.embedded_orchestrator() as orchestrator:
        controller = orchestrator.get_controller()
        progress = Progress(trials)
        slots = asyncio.Semaphore(concurrency)

        async def one_trial(index: int) -> None:
            async with slots:
                params = trial_parameters(
                    orchestrator.components_endpoint, target_score, seed=index + 1
                )
                trial_id = await controller.start_trial(trial_params=params)
                await finished(trial_id).wait()
                progress.advance()

        await asyncio.gather(*(one_trial(i) for i in range(trials)))


def print_scores(elapsed: float) -> None:
    wins = dict.fromkeys(PLAYERS, 0)
    rounds_won = dict.fromkeys(PLAYERS, 0)
    rounds = 0
    for result in results.values():
        rounds += result.rounds
        for name, score in zip(result.names, result.scores, strict=True):
            rounds_won[name] += score
        best = max(result.scores)
        if result.scores.count(best) == 1:
            wins[result.names[result.scores.index(best)]] += 1
    print(f"\n{len(results)} trials, {rounds} rounds in {elapsed:.2f}s\n")
    print(f"{'player':<10} {'trials won':>10} {'rounds won':>10} {'reward':>8}")
    for name in PLAYERS:
        print(f"{name:<10} {wins[name]:>10} {rounds_won[name]:>10} {rewards[name]:>8.0f}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m examples.rps", description=DESCRIPTION)
    parser.add_argument("--trials", type=int, default=20, help="number of trials (default: 20)")
    parser.add_argument("--target-score", type=int, default=5, help="rounds to win a trial")
    parser.add_argument("--concurrency", type=int, default=5, help="trials running at once")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    asyncio.run(run(args.trials, args.target_score, args.concurrency))
    print_scores(time.perf_counter() - started)
    return 0
