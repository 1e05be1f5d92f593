"""Read n8n export files in the shapes people actually publish them.

Accepted: one workflow object; a list of workflows; JSON followed by stray text; several JSON values
back to back; `{"workflows": [...]}` and `{"data": {...}}` wrappers. Anything else is refused with a
reason a person can act on.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

_DECODER = json.JSONDecoder()
_MAX_WRAPPER_DEPTH = 4


class ParseError(ValueError):
    """The text holds no importable workflow; the message says why."""


@dataclass
class ParsedFile:
    """Workflows found in one file, plus items refused inside it and notes about the file."""

    workflows: list[dict[str, Any]] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def workflow_problem(document: object) -> str | None:
    """Return why `document` is not an n8n workflow, or None when it is one."""
    if not isinstance(document, dict):
        return f"expected a workflow object, found a JSON {_json_kind(document)}"
    nodes = document.get("nodes")
    if nodes is None:
        return "JSON object has no 'nodes' list, so it is not an n8n workflow"
    if not isinstance(nodes, list):
        return f"'nodes' must be a list, found a JSON {_json_kind(nodes)}"
    if not nodes:
        return "'nodes' is empty: a workflow needs at least one node"
    for index, node in enumerate(nodes):
        if not isinstance(node, dict):
            return f"node #{index} is a JSON {_json_kind(node)}, not an object"
        node_type = node.get("type")
        if not isinstance(node_type, str) or not node_type.strip():
            return f"node #{index} ({node.get('name', 'unnamed')!r}) has no 'type'"
    connections = document.get("connections")
    if connections is not None and not isinstance(connections, dict):
        return f"'connections' must be an object, found a JSON {_json_kind(connections)}"
    return None


def parse_text(text: str) -> ParsedFile:
    """Find the workflows in the text of an export file; raise ParseError when there are none."""
    values, warnings = _decode_values(text)
    parsed = ParsedFile(warnings=warnings)
    candidates: list[tuple[str, object]] = []
    for index, value in enumerate(values):
        prefix = f"value #{index}: " if len(values) > 1 else ""
        candidates.extend((prefix + label, item) for label, item in _unwrap(value, 0))
    for label, item in candidates:
        problem = workflow_problem(item)
        if problem is None:
            assert isinstance(item, dict)
            parsed.workflows.append(item)
        else:
            parsed.rejected.append(f"{label}{problem}")
    if not parsed.workflows:
        reason = parsed.rejected[0] if len(parsed.rejected) == 1 else "; ".join(parsed.rejected[:3])
        raise ParseError(reason or "no workflow found")
    return parsed


def _decode_values(text: str) -> tuple[list[object], list[str]]:
    text = text.lstrip("\ufeff")
    position = _skip_space(text, 0)
    if position == len(text):
        raise ParseError("the file is empty")
    try:
        first, position = _DECODER.raw_decode(text, position)
    except json.JSONDecodeError as exc:
        raise ParseError(f"not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from exc
    values: list[object] = [first]
    warnings: list[str] = []
    while (position := _skip_space(text, position)) < len(text):
        try:
            value, position = _DECODER.raw_decode(text, position)
        except json.JSONDecodeError:
            warnings.append(f"ignored {len(text) - position} characters of non-JSON text after the workflow")
            break
        values.append(value)
    if len(values) > 1:
        warnings.append(f"the file holds {len(values)} JSON values one after another")
    return values, warnings


def _skip_space(text: str, position: int) -> int:
    while position < len(text) and text[position].isspace():
        position += 1
    return position


def _unwrap(value: object, depth: int) -> list[tuple[str, object]]:
    """Flatten lists and the `workflows` / `data` wrappers into (label, candidate) pairs."""
    if depth > _MAX_WRAPPER_DEPTH:
        return [("", value)]
    if isinstance(value, list):
        if not value:
            return [("the list is empty: ", value)]
        found: list[tuple[str, object]] = []
        for index, item in enumerate(value):
            found.extend((f"item #{index}: {label}", inner) for label, inner in _unwrap(item, depth + 1))
        return found
    if isinstance(value, dict) and "nodes" not in value:
        if isinstance(value.get("workflows"), list):
            return _unwrap(value["workflows"], depth + 1)
        if isinstance(value.get("data"), dict | list):
            return _unwrap(value["data"], depth + 1)
    return [("", value)]


def _json_kind(value: object) -> str:
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list):
        return "list"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "null"
