"""Published module name ``cogment.errors``: the SDK's exceptions.
Thin re-export of :mod:`cogment._errors`."""

from cogment._errors import CogmentError, CogmentGenerateError

__all__ = ["CogmentError", "CogmentGenerateError"]
