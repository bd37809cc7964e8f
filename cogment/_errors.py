"""Exceptions raised by the Cogment SDK.

Every error the runtime raises on purpose is a :class:`CogmentError` whose message names what was wrong
(the offending value, the endpoint, the RPC).  When it wraps a lower-level failure (a gRPC status, an
``OSError``...), that failure is chained as ``__cause__``.
"""

from __future__ import annotations

__all__ = ["CogmentError", "CogmentGenerateError"]


class CogmentError(Exception):
    """Cogment specific exception: all the errors raised on purpose by the SDK runtime are of this type."""

    def __init__(self, msg: str) -> None:
        super().__init__(msg)

    @property
    def message(self) -> str:
        """The error message."""
        return str(self.args[0]) if self.args else ""


class CogmentGenerateError(Exception):
    """Error raised by the ``cog_settings`` generator (``cogment generate`` / ``python -m cogment.generate``)."""

    def __init__(self, msg: str) -> None:
        super().__init__(msg)

    @property
    def message(self) -> str:
        """The error message."""
        return str(self.args[0]) if self.args else ""
