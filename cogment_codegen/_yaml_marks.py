"""Load YAML keeping the position (line, column) of every key and value, by key path."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

from cogment_codegen._errors import Location, Problem, SpecError

__all__ = ["KeyPath", "MarkedDocument", "format_path", "load_marked_yaml"]

KeyPath = tuple[str | int, ...]
"""Path of a value in the document: mapping keys (str) and list indexes (int)."""

_Loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def format_path(path: KeyPath) -> str:
    """``("actor_classes", 0, "action", "space")`` -> ``actor_classes[0].action.space``."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else part
    return text or "(top level)"


@dataclass
class MarkedDocument:
    """A loaded YAML document and where each of its values (and mapping keys) starts."""

    file: str
    data: Any
    value_locations: dict[KeyPath, Location] = field(default_factory=dict)
    key_locations: dict[KeyPath, Location] = field(default_factory=dict)

    def location(self, path: KeyPath, *, key: bool = False) -> Location:
        """Where ``path`` is (its key if ``key``); falls back to the nearest known parent."""
        table = self.key_locations if key else self.value_locations
        probe = path
        while probe:
            if probe in table:
                return table[probe]
            if probe in self.value_locations:
                return self.value_locations[probe]
            probe = probe[:-1]
        return self.value_locations.get((), Location(self.file, 1, 1))


def _location(file: str, mark: yaml.Mark | None) -> Location:
    if mark is None:
        return Location(file, 1, 1)
    return Location(file, mark.line + 1, mark.column + 1)


def load_marked_yaml(text: str, file: str) -> MarkedDocument:
    """Parse ``text`` (one YAML document) recording the location of each value.

    Raises ``SpecError`` for YAML syntax errors, duplicate keys and non-string keys.
    """
    loader = _Loader(text)
    doc = MarkedDocument(file, None)
    problems: list[Problem] = []
    try:
        node = loader.get_single_node()
        if node is not None:
            doc.data = _build(loader, node, (), doc, problems)
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        what = err.problem or "invalid YAML"
        if err.context:
            what = f"{err.context}, {what}"
        raise SpecError(
            [Problem(_location(file, mark), "(YAML syntax)", f"YAML syntax error: {what}")]
        ) from None
    except yaml.YAMLError as err:
        raise SpecError(
            [Problem(Location(file, 1, 1), "(YAML syntax)", f"YAML syntax error: {err}")]
        ) from None
    finally:
        loader.dispose()
    if problems:
        raise SpecError(problems)
    return doc


def _build(
    loader: yaml.SafeLoader,
    node: yaml.Node,
    path: KeyPath,
    doc: MarkedDocument,
    problems: list[Problem],
) -> Any:
    doc.value_locations[path] = _location(doc.file, node.start_mark)
    if isinstance(node, yaml.MappingNode):
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key_loc = _location(doc.file, key_node.start_mark)
            key = loader.construct_object(key_node, deep=True)
            if not isinstance(key, str):
                problems.append(
                    Problem(key_loc, format_path(path), f"keys must be strings, got {key!r}")
                )
                continue
            child = (*path, key)
            if key in result:
                first = doc.key_locations[child]
                problems.append(
                    Problem(
                        key_loc,
                        format_path(child),
                        f"duplicate key '{key}' (first defined at line {first.line})",
                    )
                )
                continue
            doc.key_locations[child] = key_loc
            result[key] = _build(loader, value_node, child, doc, problems)
        return result
    if isinstance(node, yaml.SequenceNode):
        return [
            _build(loader, item, (*path, index), doc, problems)
            for index, item in enumerate(node.value)
        ]
    return loader.construct_object(node, deep=True)
