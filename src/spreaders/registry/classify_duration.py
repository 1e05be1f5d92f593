"""Estimate how long one run of a workflow takes, from what kind of work each node does.

Heuristic, deterministic, and meant for ordering and rough expectations, not for timeouts:
- every node costs the figure of its kind (`DURATION_MS`): core data nodes 5 ms, code 20 ms, outside API
  calls 400 ms, LLM calls 4 s, image generation 15 s, video generation 60 s; chat models cost nothing on
  their own because the root node that calls them (agent, chain, LangChain code) carries the LLM time,
  and a root with tools attached pays one more LLM round for the tool call;
- a Wait node costs its configured interval (n8n's defaults when the amount is an expression), capped at
  `WAIT_CAP_MS`; waiting for a webhook, a form or a date costs the cap;
- nodes inside a Loop Over Items (Split in Batches) loop cost `LOOP_FACTOR` times as much, once per
  enclosing loop, up to `LOOP_FACTOR ** 2`;
- the estimate is the sum over the enabled nodes a trigger reaches (and their sub-nodes), not the longest
  path: n8n runs one node at a time, so parallel branches add up. Branches of an If/Switch that exclude
  each other are all counted, so the figure leans high. When no trigger is wired to anything (no trigger,
  or an export whose connections name renamed nodes), every enabled node counts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

from spreaders.registry.classify_graph import Graph
from spreaders.registry.node_map import NodeKind, type_version

DURATION_MS: Final[Mapping[NodeKind, int]] = {
    "note": 0,
    "trigger": 0,
    "core": 5,
    "loop": 5,
    "code": 20,
    "file": 20,
    "subworkflow": 1_000,
    "api": 400,
    "model": 0,
    "llm": 4_000,
    "image": 15_000,
    "video": 60_000,
    "wait": 0,  # replaced by the node's configured interval
}
WAIT_CAP_MS: Final = 3_600_000
LOOP_FACTOR: Final = 3
_MAX_LOOP_FACTOR: Final = LOOP_FACTOR**2
_UNIT_MS: Final = {"seconds": 1_000, "minutes": 60_000, "hours": 3_600_000, "days": 86_400_000}
_TOOL_LINK: Final = "ai_tool"
_MODEL_LINK: Final = "ai_languageModel"


def estimate_duration_ms(
    nodes: Sequence[Mapping[str, Any]], graph: Graph, kinds: Mapping[str, NodeKind], triggers: Sequence[str]
) -> int:
    """Sum the cost of the enabled nodes one run reaches; `kinds` maps node name -> kind."""
    enabled = {str(node["name"]): node for node in nodes if node.get("disabled") is not True}
    # Disabled nodes pass items through in n8n, so they carry reachability but cost nothing.
    wired = any(graph.successors.get(name) for name in triggers)
    reached = graph.attached(graph.reachable(triggers)) if wired else set(enabled)
    factors = _loop_factors(nodes, graph, kinds)
    total = 0
    for name in sorted(reached & set(enabled)):
        cost = _node_cost(enabled[name], kinds.get(name, "api"))
        links = {link for _, link in graph.sub_nodes.get(name, ())}
        if kinds.get(name) == "llm" or _MODEL_LINK in links:
            cost = max(cost, DURATION_MS["llm"]) + (DURATION_MS["llm"] if _TOOL_LINK in links else 0)
        total += cost * factors.get(name, 1)
    return total


def _node_cost(node: Mapping[str, Any], kind: NodeKind) -> int:
    if kind == "wait":
        return wait_ms(node)
    return DURATION_MS[kind]


def wait_ms(node: Mapping[str, Any]) -> int:
    """Return a Wait node's configured interval in ms, capped at `WAIT_CAP_MS`."""
    params: Mapping[str, Any] = node.get("parameters") or {}
    resume = params.get("resume", "timeInterval")
    if resume != "timeInterval":
        # Waiting for a webhook, a form or a date ends when someone acts, or at the optional time limit.
        limit_type = params.get("limitType", "afterTimeInterval")
        amount = params.get("resumeAmount", 1)
        if params.get("limitWaitTime") is True and limit_type == "afterTimeInterval" and _is_number(amount):
            return _capped(amount, params.get("resumeUnit", "hours"))
        return WAIT_CAP_MS
    first_version = type_version(node) < 1.1
    default_amount, default_unit = (1, "hours") if first_version else (5, "seconds")
    amount = params.get("amount", default_amount)
    unit = params.get("unit", default_unit)
    return _capped(amount if _is_number(amount) else default_amount, unit)


def _capped(amount: object, unit: object) -> int:
    assert isinstance(amount, int | float)
    per_unit = _UNIT_MS.get(unit, _UNIT_MS["seconds"]) if isinstance(unit, str) else _UNIT_MS["seconds"]
    return min(WAIT_CAP_MS, max(0, round(amount * per_unit)))


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _loop_factors(
    nodes: Sequence[Mapping[str, Any]], graph: Graph, kinds: Mapping[str, NodeKind]
) -> dict[str, int]:
    """Weigh the nodes inside loops: those a Split in Batches node reaches and that lead back to it."""
    factors: dict[str, int] = {}
    for node in nodes:
        name = str(node["name"])
        if kinds.get(name) != "loop" or node.get("disabled") is True:
            continue
        ahead = graph.reachable(graph.successors.get(name, ()))
        behind = graph.reachable(graph.predecessors.get(name, ()), through=graph.predecessors)
        for member in graph.attached((ahead & behind) - {name}):
            factors[member] = min(_MAX_LOOP_FACTOR, factors.get(member, 1) * LOOP_FACTOR)
    return factors
