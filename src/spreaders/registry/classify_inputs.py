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


def required_inputs(
    nodes: Sequence[Mapping[str, Any]], graph: Graph, trigger_names: Mapping[str, str]
) -> list[str]:
    """Return the sorted, distinct paths read from trigger data; `trigger_names` maps name -> short type."""
    found: set[str] = set()
    for name, kind in trigger_names.items():
        trigger = next((node for node in nodes if node.get("name") == name), None)
        if trigger is not None:
            found.update(_declared(kind, trigger.get("parameters") or {}))
    fed = graph.attached(_fed_by(graph, trigger_names, nodes))
    for node in nodes:
        if node.get("disabled") is True:
            continue
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


def _path(text: str, position: int) -> list[str]:
    """Read `.a.b`, `["a"]['b']` or `?.a` after `position`; stop at a call, an index or anything else."""
    segments: list[str] = []
    while match := _SEGMENT.match(text, position):
        segment = match.group(1) or _ESCAPED.sub(r"\1", match.group(2) or match.group(3) or "")
        if match.group(1) and _CALL.match(text, match.end()):
            break
        if not segment:
            break
        segments.append(segment)
        position = match.end()
    while segments and segments[-1] in _JS_MEMBERS:
        segments.pop()
    return [".".join(segments)] if segments else []


def _strings(value: object) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)
