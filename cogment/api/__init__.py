"""Compiled Cogment wire contract (package ``cogmentAPI``), generated from ``protos/`` by ``nox -s protos``."""
