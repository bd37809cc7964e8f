"""Errors raised by the generator, each naming the file, line, column and key path at fault."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from cogment._errors import CogmentGenerateError

__all__ = ["Location", "Problem", "SpecError"]


@dataclass(frozen=True)
class Location:
    """A position in the spec file: 1-based line and column."""

    file: str
    line: int
    column: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the spec: where, which key path, and what was expected."""

    location: Location
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.location}: {self.path}: {self.message}"


class SpecError(CogmentGenerateError):
    """The spec (``cogment.yaml``) or a proto it imports is invalid.

    ``problems`` lists every problem found; ``str(error)`` has one problem per line, each as
    ``<file>:<line>:<column>: <key path>: <message>``.
    """

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems: tuple[Problem, ...] = tuple(problems)
        super().__init__("\n".join(str(p) for p in self.problems))
