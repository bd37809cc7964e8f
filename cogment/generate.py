"""The published SDK's generator entry point, kept for existing build steps:

    python -m cogment.generate --spec cogment.yaml --output ./cog_settings.py

It writes ``cog_settings.py`` with the compiled ``*_pb2.py`` modules next to it (the published
layout, which programs import unchanged), now typed and with ``*_pb2.pyi`` stubs. The work is
done by ``cogment_codegen`` (``cogment generate --output <dir>`` writes a self-contained package
instead); it is imported only when generating, so ``import cogment`` never loads pydantic or
Jinja2.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from cogment._errors import CogmentGenerateError

__all__ = ["CogmentGenerateError", "generate", "main"]


def generate(spec: str | Path = "cogment.yaml", output: str | Path = "cog_settings.py") -> None:
    """Generate the settings module ``output`` (a ``.py`` file) from the spec file ``spec``.

    Raises ``CogmentGenerateError`` (a ``cogment_codegen.SpecError`` for spec problems, whose
    message has one ``file:line:column: key.path: message`` line per problem).
    """
    if Path(output).suffix != ".py":
        raise CogmentGenerateError(
            f"--output must name the module file to write (e.g. ./cog_settings.py), got "
            f"[{output}]; `cogment generate --output <dir>` writes the package layout"
        )
    from cogment_codegen import generate as generate_settings

    try:
        result = generate_settings(spec, output)
    except ValueError as error:
        raise CogmentGenerateError(str(error)) from None
    for warning in result.warnings:
        print(f"warning: {warning}", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: ``--spec`` (default ``cogment.yaml``), ``--output`` (default
    ``cog_settings.py``). Returns the exit code."""
    parser = argparse.ArgumentParser(
        prog="python -m cogment.generate",
        description="Generate cog_settings.py (and the *_pb2 modules) from a cogment.yaml spec.",
    )
    parser.add_argument("--spec", default="cogment.yaml", help="the spec file (%(default)s)")
    parser.add_argument("--output", default="cog_settings.py", help="the module (%(default)s)")
    args = parser.parse_args(list(sys.argv[1:] if argv is None else argv))
    try:
        generate(args.spec, args.output)
    except CogmentGenerateError as error:
        print(f"error: {error}".replace("\n", "\nerror: "), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
