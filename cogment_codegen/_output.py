"""Write generated files: only those whose bytes changed, atomically; or check them (``--check``)."""

from __future__ import annotations

import difflib
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["OutputChanges", "apply_changes", "plan_changes"]

_OWNED_SUFFIXES = (".py", ".pyi")
_MAX_DIFF_LINES = 12


@dataclass
class OutputChanges:
    """How the files on disk differ from the generated ones (paths relative to ``root``)."""

    root: Path
    files: Mapping[str, bytes]
    created: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)

    @property
    def stale(self) -> bool:
        """True when the output on disk is not what generation would write."""
        return bool(self.created or self.changed or self.deleted)

    def summary(self, *, diff: bool = False) -> str:
        """One line per file to create, change or delete (with a short diff if ``diff``)."""
        lines: list[str] = []
        for path in self.created:
            lines.append(f"missing: {path}")
        for path in self.changed:
            old = (self.root / path).read_bytes()
            new = self.files[path]
            removed, added, hunk = _line_diff(old, new, path)
            lines.append(f"changed: {path} (+{added} -{removed} lines)")
            if diff:
                lines += [f"    {line}" for line in hunk]
        for path in self.deleted:
            lines.append(f"obsolete: {path}")
        return "\n".join(lines)


def _line_diff(old: bytes, new: bytes, path: str) -> tuple[int, int, list[str]]:
    old_lines = old.decode("utf-8", "replace").splitlines()
    new_lines = new.decode("utf-8", "replace").splitlines()
    diff = list(
        difflib.unified_diff(
            old_lines, new_lines, f"{path} (on disk)", f"{path} (generated)", n=1, lineterm=""
        )
    )
    removed = sum(1 for d in diff if d.startswith("-") and not d.startswith("---"))
    added = sum(1 for d in diff if d.startswith("+") and not d.startswith("+++"))
    hunk = diff[2 : 2 + _MAX_DIFF_LINES]
    if len(diff) > 2 + _MAX_DIFF_LINES:
        hunk.append(f"... ({len(diff) - 2 - _MAX_DIFF_LINES} more diff lines)")
    return removed, added, hunk


def plan_changes(
    root: Path, files: Mapping[str, bytes], owned_dir: str | None = None
) -> OutputChanges:
    """Compare ``files`` (relative to ``root``) with the disk.

    Under ``owned_dir`` (a generated package), Python files that generation no longer produces
    are obsolete.
    """
    changes = OutputChanges(root, files)
    for path in sorted(files):
        target = root / path
        if not target.is_file():
            changes.created.append(path)
        elif target.read_bytes() != files[path]:
            changes.changed.append(path)
        else:
            changes.unchanged.append(path)
    if owned_dir is not None and (root / owned_dir).is_dir():
        for existing in sorted((root / owned_dir).rglob("*")):
            if not existing.is_file() or "__pycache__" in existing.parts:
                continue
            relative = existing.relative_to(root).as_posix()
            owned = existing.suffix in _OWNED_SUFFIXES or existing.name == "py.typed"
            if owned and relative not in files:
                changes.deleted.append(relative)
    return changes


def apply_changes(changes: OutputChanges) -> None:
    """Write the created and changed files (atomically, one by one); delete obsolete ones."""
    for path in [*changes.created, *changes.changed]:
        target = changes.root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        temporary = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        temporary.write_bytes(changes.files[path])
        os.replace(temporary, target)
    for path in changes.deleted:
        target = changes.root / path
        target.unlink(missing_ok=True)
        parent = target.parent
        while parent != changes.root and parent.is_dir() and not _has_files(parent):
            for cache in parent.glob("__pycache__"):
                for item in cache.iterdir():
                    item.unlink()
                cache.rmdir()
            parent.rmdir()
            parent = parent.parent


def _has_files(directory: Path) -> bool:
    return any(p.name != "__pycache__" for p in directory.iterdir())
