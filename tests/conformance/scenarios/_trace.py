"""The canonical trace of a scenario run (no SDK dependency: unit-tested on its own).

Trial ids are replaced by ordinal names everywhere they appear; records are grouped by (trial,
component); ordered records keep their order, unordered ones are sorted; one JSON object per line
with sorted keys.
"""

from __future__ import annotations

import json
from typing import Any


class Trace:
    """Records of one scenario run, canonicalised on :meth:`write`."""

    def __init__(self) -> None:
        self._records: list[dict[str, Any]] = []
        self._names: dict[str, str] = {}

    def name_trial(self, trial_id: str, name: str) -> None:
        """Declare the ordinal name written instead of ``trial_id``."""
        if trial_id:
            self._names[trial_id] = name

    def add(
        self, trial_id: str | None, who: str, kind: str, ordered: bool = True, /, **data: Any
    ) -> None:
        record: dict[str, Any] = {"trial": trial_id or "-", "who": who, "kind": kind}
        clash = set(record) & set(data)
        if clash:
            raise ValueError(f"trace data may not use the keys {sorted(clash)}")
        record.update(data)
        self._records.append({"ordered": ordered, "record": record})

    def _rename(self, value: Any) -> Any:
        if isinstance(value, str):
            return self._names.get(value, value)
        if isinstance(value, list):
            return [self._rename(each) for each in value]
        if isinstance(value, tuple):
            return [self._rename(each) for each in value]
        if isinstance(value, dict):
            return {key: self._rename(each) for key, each in value.items()}
        return value

    def canonical(self) -> list[str]:
        groups: dict[Any, dict[str, list[str]]] = {}
        for entry in self._records:
            record = self._rename(entry["record"])
            key = (record["trial"], record["who"])
            group = groups.setdefault(key, {"ordered": [], "unordered": []})
            line = json.dumps(record, sort_keys=True)
            group["ordered" if entry["ordered"] else "unordered"].append(line)
        lines: list[str] = []
        for key in sorted(groups):
            lines += groups[key]["ordered"]
            lines += sorted(groups[key]["unordered"])
        return lines

    def write(self, path: str) -> None:
        with open(path, "w") as stream:
            for line in self.canonical():
                stream.write(line + "\n")
