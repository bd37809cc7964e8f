"""Logging for the runtime: the ``cogment.sdk`` logger, ``COGMENT_LOG_LEVEL`` and deprecations.

The library installs no handler; applications configure handlers themselves.
"""

from __future__ import annotations

import logging
import os
import warnings

__all__ = ["TRACE", "deprecated", "logger", "make_logger", "trace"]

TRACE = 5
"""Level below ``logging.DEBUG`` used by ``COGMENT_LOG_LEVEL=trace``."""

_LEVELS = {
    "off": logging.CRITICAL,
    "critical": logging.CRITICAL,
    "error": logging.ERROR,
    "warning": logging.WARNING,
    "warn": logging.WARNING,
    "info": logging.INFO,
    "debug": logging.DEBUG,
    "trace": TRACE,
}


def _level_from_text(text: str, default: int) -> int:
    value = text.strip().lower()
    if value in _LEVELS:
        return _LEVELS[value]
    if value.isdigit():
        return int(value)
    logging.getLogger("cogment.sdk").warning(
        "Ignoring invalid log level [%s] (expected one of: %s)", text, ", ".join(_LEVELS)
    )
    return default


def make_logger(
    name: str, env_name: str | None = None, default_level: str = "INFO"
) -> logging.Logger:
    """Return the logger ``name`` with its level taken from the environment variable ``env_name``.

    Accepted levels: off, error, warning, info, debug, trace (trace is below DEBUG).
    No handler is installed.
    """
    log = logging.getLogger(name)
    default = _level_from_text(default_level, logging.INFO)
    text = os.environ.get(env_name) if env_name is not None else None
    log.setLevel(_level_from_text(text, default) if text else default)
    return log


logger = make_logger("cogment.sdk", "COGMENT_LOG_LEVEL")
"""The runtime logger, ``cogment.sdk``."""


def trace(msg: str, *args: object) -> None:
    """Log ``msg`` at the TRACE level (cheap when disabled)."""
    if logger.isEnabledFor(TRACE):
        logger.log(TRACE, msg, *args)


_deprecations_logged: set[str] = set()


def deprecated(msg: str, stacklevel: int = 3) -> None:
    """Emit a ``DeprecationWarning`` (for the caller of the deprecated API) and log it once."""
    warnings.warn(msg, DeprecationWarning, stacklevel=stacklevel)
    if msg not in _deprecations_logged:
        _deprecations_logged.add(msg)
        logger.warning(msg)
