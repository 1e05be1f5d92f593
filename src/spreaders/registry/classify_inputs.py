"""Find the fields a workflow reads from the data that starts it (`body.email`, `chatInput`, ...).

Sources, all returned as dotted paths relative to the trigger's output item:
- fields a trigger declares: Form Trigger `formFields` labels, Chat Trigger `chatInput`, Execute Workflow
  Trigger `workflowInputs` names (or the keys of its JSON example);
- expressions naming a trigger anywhere: `$('Webhook').item.json.body.email`, `.first()`, `.last()`,
  `.all()[0]`, `$node["Webhook"].json["body"]["email"]`, `$items("Webhook")[0].json.x`;
- `$json.x` and `$input.item.json.x` / `$input.first().json.x` in nodes fed by a trigger, directly or
  through nodes that pass items on unchanged (If, Filter, Switch, No-op, Wait, Limit, Sort, ...), and
  in the sub-nodes attached to those nodes.

Limits, on purpose: data is not followed through nodes that reshape items (Set, Code, Merge); dynamic
keys (`$json[key]`) and code that loops over `items` are not evaluated; a path stops at the first array
index or method call (`body.items[0].name` -> `body.items`); `$fromAI(...)` tool arguments are not inputs.

`trigger_inputs` also gives the JSON type a template declares for an input, where it declares one: n8n
checks a Set assignment's or an If/Filter condition's value against its type and fails the run on a
mismatch ("'vectors' expects a array"), so a caller needs the type as much as the name.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Final

from spreaders.registry.classify_graph import Graph

# Nodes whose output items are (a subset of) their input items, so `$json` still means the trigger's item.
PASS_THROUGH: Final = frozenset(
    {
        "if",
        "filter",
        "switch",
        "noOp",
        "wait",
        "limit",
        "sort",
        "removeDuplicates",
        "splitInBatches",
        "stopAndError",
    }
)
_NAME = r"""(['"`])((?:\\.|(?!\1).)+)\1"""
_NAMED_REFERENCES: Final = (
    re.compile(
        r"\$\(\s*"
        + _NAME
        + r"\s*\)\s*\.\s*(?:item|first\(\s*\)|last\(\s*\)|all\(\s*\)\s*\[\s*\d+\s*\])\s*\.\s*json"
    ),
    re.compile(r"\$node\s*\[\s*" + _NAME + r"\s*\]\s*\.\s*json"),
    re.compile(r"\$items\(\s*" + _NAME + r"\s*(?:,[^)]*)?\)\s*\[\s*\d+\s*\]\s*\.\s*json"),
)
_OWN_ITEM: Final = re.compile(
    r"(?<![\w.$])(?:\$json|\$input\s*\.\s*(?:item|first\(\s*\)|last\(\s*\)|all\(\s*\)\s*\[\s*\d+\s*\])\s*\.\s*json)"
)
_SEGMENT: Final = re.compile(
    r"""\s*(?:\??\.\s*([A-Za-z_$][\w$]*)|\??\.?\[\s*(?:"((?:\\.|[^"\\])*)"|'((?:\\.|[^'\\])*)')\s*\])"""
)
_CALL: Final = re.compile(r"\s*\(")
_ESCAPED: Final = re.compile(r"\\(.)")
# Members of strings and arrays, not fields of the item.
_JS_MEMBERS: Final = frozenset({"length"})
# The types n8n's Set assignments, If/Filter conditions and sub-workflow inputs declare that JSON has.
_JSON_TYPES: Final = frozenset({"string", "number", "boolean", "array", "object"})
_WHOLE_EXPRESSION: Final = re.compile(r"=\{\{\s*(.*?)\s*\}\}\s*", re.S)
# A literal default after the reference (`$json.tries || 0`): the value is still the input when given.
_FALLBACK: Final = re.compile(
    r"""\s*(?:\|\||\?\?)\s*(?:-?\d+(?:\.\d+)?|true|false|null|'[^']*'|"[^"]*"|\[\s*\]|\{\s*\})"""
)


def trigger_inputs(
    nodes: Sequence[Mapping[str, Any]], graph: Graph, trigger_names: Mapping[str, str]
) -> tuple[list[str], dict[str, str]]:
    """Return the sorted, distinct paths read from trigger data, and {path: JSON type} for those whose
    type the template declares; `trigger_names` maps name -> short type."""
    triggers = [
        (node, trigger_names[str(node["name"])]) for node in nodes if node.get("name") in trigger_names
    ]
    fed = graph.attached(_fed_by(graph, trigger_names, nodes))
    enabled = [node for node in nodes if node.get("disabled") is not True]
    paths = _read_paths(enabled, triggers, trigger_names, fed)
    types = _declared_types(enabled, triggers, trigger_names, fed)
    read = set(paths)
    return paths, {path: kind for path, kind in types.items() if path in read}


Triggers = Sequence[tuple[Mapping[str, Any], str]]


def _read_paths(
    nodes: Sequence[Mapping[str, Any]], triggers: Triggers, trigger_names: Mapping[str, str], fed: set[str]
) -> list[str]:
    found: set[str] = set()
    for trigger, kind in triggers:
        found.update(_declared(kind, trigger.get("parameters") or {}))
    for node in nodes:
        for text in _strings(node.get("parameters") or {}):
            if "$" not in text:
                continue
            for pattern in _NAMED_REFERENCES:
                for match in pattern.finditer(text):
                    if _ESCAPED.sub(r"\1", match.group(2)) in trigger_names:
                        found.update(_path(text, match.end()))
            if node.get("name") in fed:
                for match in _OWN_ITEM.finditer(text):
                    found.update(_path(text, match.end()))
    return sorted(found)


def _declared_types(
    nodes: Sequence[Mapping[str, Any]], triggers: Triggers, trigger_names: Mapping[str, str], fed: set[str]
) -> dict[str, str]:
    """{path: JSON type} declared by a sub-workflow trigger's typed inputs, or by a Set assignment or an
    If/Filter/Switch condition whose value is exactly one input (`={{ $json.body.vectors }}`, typed
    "array"). A path declared with two different types is left out."""
    found: dict[str, set[str]] = {}
    for trigger, kind in triggers:
        if kind == "executeWorkflowTrigger":
            values = ((trigger.get("parameters") or {}).get("workflowInputs") or {}).get("values")
            for entry in values if isinstance(values, list) else []:
                if isinstance(entry, Mapping) and entry.get("type") in _JSON_TYPES:
                    found.setdefault(str(entry.get("name", "")).strip(), set()).add(str(entry["type"]))
    for node in nodes:
        for value, kind in _typed_values(node.get("parameters") or {}):
            path = _whole_reference(value, trigger_names, own_item=node.get("name") in fed)
            if path is not None and kind in _JSON_TYPES:  # not "dateTime", "any", ...
                found.setdefault(path, set()).add(kind)
    return {path: kinds.pop() for path, kinds in sorted(found.items()) if len(kinds) == 1}


def _typed_values(value: object) -> Iterator[tuple[str, str]]:
    """(value, declared type) of Set assignments and of condition left-hand sides, anywhere inside."""
    if isinstance(value, Mapping):
        operator = value.get("operator")
        if isinstance(operator, Mapping) and isinstance(value.get("leftValue"), str):
            yield value["leftValue"], str(operator.get("type"))
        for key, item in value.items():
            if key == "assignments" and isinstance(item, list):
                for entry in item:
                    if isinstance(entry, Mapping) and isinstance(entry.get("value"), str):
                        yield entry["value"], str(entry.get("type"))
            else:
                yield from _typed_values(item)
    elif isinstance(value, list):
        for item in value:
            yield from _typed_values(item)


def _whole_reference(text: str, trigger_names: Mapping[str, str], *, own_item: bool) -> str | None:
    """The input path when the expression is one trigger-data reference and nothing else."""
    whole = _WHOLE_EXPRESSION.fullmatch(text)
    if whole is None:
        return None
    body = whole.group(1)
    for pattern in _NAMED_REFERENCES:
        named = pattern.match(body)
        if named and _ESCAPED.sub(r"\1", named.group(2)) in trigger_names:
            return _exact_path(body, named.end())
    own = _OWN_ITEM.match(body) if own_item else None
    return _exact_path(body, own.end()) if own else None


def _declared(kind: str, params: Mapping[str, Any]) -> Iterator[str]:
    if kind in {"chatTrigger", "manualChatTrigger"}:
        yield "chatInput"
    elif kind == "formTrigger":
        yield from _field_values(params.get("formFields"), "fieldLabel")
    elif kind == "executeWorkflowTrigger":
        source = params.get("inputSource", "workflowInputs")
        if source == "workflowInputs":
            yield from _field_values(params.get("workflowInputs"), "name")
        elif source == "jsonExample" and isinstance(params.get("jsonExample"), str):
            try:
                example = json.loads(params["jsonExample"])
            except json.JSONDecodeError:
                return
            if isinstance(example, dict):
                yield from (str(key) for key in example)


def _field_values(container: object, key: str) -> Iterator[str]:
    values = container.get("values") if isinstance(container, Mapping) else None
    for entry in values if isinstance(values, list) else []:
        value = entry.get(key) if isinstance(entry, Mapping) else None
        if isinstance(value, str) and value.strip():
            yield value.strip()


def _fed_by(graph: Graph, trigger_names: Mapping[str, str], nodes: Sequence[Mapping[str, Any]]) -> set[str]:
    """Names of nodes whose input item is still a trigger's item."""
    short_types = {str(node.get("name")): str(node.get("type", "")).rsplit(".", 1)[-1] for node in nodes}
    fed: set[str] = set()
    pending = [successor for name in trigger_names for successor in graph.successors.get(name, ())]
    while pending:
        name = pending.pop()
        if name in fed:
            continue
        fed.add(name)
        if short_types.get(name) in PASS_THROUGH:
            pending.extend(graph.successors.get(name, ()))
    return fed


def _segments(text: str, position: int) -> tuple[list[str], int]:
    """Read `.a.b`, `["a"]['b']` or `?.a` after `position`; stop at a call, an index or anything else.

    Returns the segments and where reading stopped."""
    segments: list[str] = []
    while match := _SEGMENT.match(text, position):
        segment = match.group(1) or _ESCAPED.sub(r"\1", match.group(2) or match.group(3) or "")
        if match.group(1) and _CALL.match(text, match.end()):
            break
        if not segment:
            break
        segments.append(segment)
        position = match.end()
    return segments, position


def _path(text: str, position: int) -> list[str]:
    segments, _ = _segments(text, position)
    while segments and segments[-1] in _JS_MEMBERS:
        segments.pop()
    return [".".join(segments)] if segments else []


def _exact_path(text: str, position: int) -> str | None:
    """The path when it runs to the end of `text`, or to a literal default; else None (a method call,
    an operator)."""
    segments, end = _segments(text, position)
    whole = end == len(text) or _FALLBACK.fullmatch(text, end) is not None
    return ".".join(segments) if segments and whole else None


def _strings(value: object) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)
