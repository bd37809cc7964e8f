"""Rock-paper-scissors: an environment, a heuristic player and a random player.

Run ``python -m examples.rps`` from the repository root (it generates ``cog_settings`` first).
"""
