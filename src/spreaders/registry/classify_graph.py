"""The shape of a normalised workflow: which node feeds which, and which sub-nodes serve which root.

n8n draws two kinds of links. `main` links carry items from node to node. Every other kind (`ai_tool`,
`ai_languageModel`, `ai_memory`, ...) attaches a sub-node (a chat model, a tool, a memory) to the root
node that calls it; the link runs from the sub-node to the root.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Graph:
    # node name -> names its `main` outputs feed
    successors: Mapping[str, tuple[str, ...]]
    # node name -> names feeding its `main` input
    predecessors: Mapping[str, tuple[str, ...]]
    # root name -> sub-node names attached to it, with the link kind
    sub_nodes: Mapping[str, tuple[tuple[str, str], ...]]

    def attached(self, roots: Iterable[str]) -> set[str]:
        """Return the roots plus every sub-node attached to them, however deep (tools have models too)."""
        found: set[str] = set()
        pending = list(roots)
        while pending:
            name = pending.pop()
            if name in found:
                continue
            found.add(name)
            pending.extend(sub for sub, _ in self.sub_nodes.get(name, ()))
        return found

    def reachable(
        self, starts: Iterable[str], *, through: Mapping[str, tuple[str, ...]] | None = None
    ) -> set[str]:
        """Return the names reachable from `starts` along `main` links (forward unless `through` is given)."""
        links = self.successors if through is None else through
        found: set[str] = set()
        pending = list(starts)
        while pending:
            name = pending.pop()
            if name in found:
                continue
            found.add(name)
            pending.extend(links.get(name, ()))
        return found


def build_graph(connections: Mapping[str, Any]) -> Graph:
    """Read the `connections` object of a normalised workflow."""
    successors: dict[str, list[str]] = defaultdict(list)
    predecessors: dict[str, list[str]] = defaultdict(list)
    sub_nodes: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for source, outputs in connections.items():
        if not isinstance(outputs, Mapping):
            continue
        for link_kind, branches in outputs.items():
            for target in _targets(branches):
                if link_kind == "main":
                    _add(successors[source], target)
                    _add(predecessors[target], source)
                elif (source, str(link_kind)) not in sub_nodes[target]:
                    sub_nodes[target].append((source, str(link_kind)))
    return Graph(
        successors={name: tuple(names) for name, names in successors.items()},
        predecessors={name: tuple(names) for name, names in predecessors.items()},
        sub_nodes={name: tuple(names) for name, names in sub_nodes.items()},
    )


def _targets(branches: object) -> list[str]:
    found: list[str] = []
    for branch in branches if isinstance(branches, list) else []:
        for link in branch if isinstance(branch, list) else []:
            if isinstance(link, dict) and isinstance(link.get("node"), str):
                found.append(link["node"])
    return found


def _add(names: list[str], name: str) -> None:
    if name not in names:
        names.append(name)
