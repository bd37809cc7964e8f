"""Entry point of the ``cogment`` console command.

The command only dispatches: each subcommand lives in the package that implements it and is
imported lazily, so ``cogment services directory`` never loads the generator (Jinja2, pydantic)
and ``cogment generate`` never loads the services. Every target is a ``main(argv) -> int``.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Sequence
from typing import cast

from cogment._version import __version__

# (command words) -> (module, one-line help)
COMMANDS: dict[tuple[str, ...], tuple[str, str]] = {
    ("generate",): (
        "cogment_codegen._cli",
        "generate a typed cog_settings package from cogment.yaml",
    ),
    ("services", "orchestrator"): ("cogment_services.orchestrator._cli", "run the Orchestrator"),
    ("services", "directory"): ("cogment_services.directory._cli", "run the Directory"),
    ("services", "trial_datastore"): (
        "cogment_services.trial_datastore._cli",
        "run the Trial Datastore",
    ),
    ("services", "model_registry"): (
        "cogment_services.model_registry._cli",
        "run the Model Registry",
    ),
    ("client", "directory"): (
        "cogment_services.directory._client_cli",
        "talk to a Directory: register, deregister, inquire, wait_for_ready",
    ),
}


def _usage(group: str | None = None) -> str:
    """The command list; with ``group`` (e.g. ``services``) only that group's commands."""
    head = f"cogment {group} <name>" if group else "cogment <command>"
    lines = [f"usage: {head} [options]   (cogment {__version__})", "", "commands:"]
    for words, (_, summary) in COMMANDS.items():
        if group is None or words[0] == group:
            lines.append(f"  {' '.join(words):<30} {summary}")
    if group is None:
        lines.append(f"  {'version':<30} print the version")
    lines.append("")
    lines.append("Run 'cogment <command> --help' for the options of a command.")
    return "\n".join(lines)


def _resolve(argv: Sequence[str]) -> tuple[tuple[str, ...], list[str]] | None:
    for words in sorted(COMMANDS, key=len, reverse=True):
        if tuple(argv[: len(words)]) == words:
            return words, list(argv[len(words) :])
    return None


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``cogment`` command with ``argv`` (default: ``sys.argv[1:]``)."""
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help", "help"):
        print(_usage())
        return 0
    if args[0] in ("version", "--version"):
        print(__version__)
        return 0
    found = _resolve(args)
    groups = {words[0] for words in COMMANDS if len(words) > 1}
    if found is None and args[0] in groups and (len(args) == 1 or args[1] in ("-h", "--help")):
        print(_usage(args[0]))
        return 0 if len(args) > 1 else 2
    if found is None:
        known = sorted({words[0] for words in COMMANDS} | {"version"})
        given = " ".join(args[:2])
        print(
            f"cogment: unknown command '{given}' (commands: {', '.join(known)}); "
            "see 'cogment --help'",
            file=sys.stderr,
        )
        return 2
    words, rest = found
    module_name, _ = COMMANDS[words]
    module = importlib.import_module(module_name)
    entry = cast(Callable[[list[str]], int], module.main)
    return entry(rest)


if __name__ == "__main__":
    sys.exit(main())
