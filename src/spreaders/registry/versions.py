"""What changed between two versions of a workflow, said in one short line."""

from __future__ import annotations

import json
from typing import Any


def _nodes(workflow: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {str(n.get("name")): n for n in workflow.get("nodes", []) if isinstance(n, dict)}


def _edges(workflow: dict[str, Any]) -> set[tuple[str, str]]:
    edges: set[tuple[str, str]] = set()
    for source, outputs in (workflow.get("connections") or {}).items():
        for branches in (outputs or {}).values():
            for branch in branches or []:
                for link in branch or []:
                    if isinstance(link, dict):
                        edges.add((source, str(link.get("node"))))
    return edges


def _names(names: list[str], limit: int = 3) -> str:
    shown = ", ".join(sorted(names)[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


def _signature(node: dict[str, Any]) -> str:
    kept = {k: node.get(k) for k in ("type", "typeVersion", "parameters", "credentials", "disabled")}
    return json.dumps(kept, sort_keys=True, default=str)


def summarize_change(old: dict[str, Any], new: dict[str, Any]) -> str:
    """Describe how `new` differs from `old`: nodes added, removed, changed; wiring; name; settings."""
    old_nodes, new_nodes = _nodes(old), _nodes(new)
    added = [n for n in new_nodes if n not in old_nodes]
    removed = [n for n in old_nodes if n not in new_nodes]
    changed = [
        n for n in new_nodes if n in old_nodes and _signature(new_nodes[n]) != _signature(old_nodes[n])
    ]
    parts = []
    if old.get("name") != new.get("name"):
        parts.append(f"renamed from {old.get('name')!r}")
    if added:
        parts.append(f"{len(added)} node(s) added ({_names(added)})")
    if removed:
        parts.append(f"{len(removed)} node(s) removed ({_names(removed)})")
    if changed:
        parts.append(f"{len(changed)} node(s) changed ({_names(changed)})")
    if _edges(old) != _edges(new):
        parts.append("connections changed")
    if (old.get("settings") or {}) != (new.get("settings") or {}):
        parts.append("settings changed")
    return "; ".join(parts) if parts else "layout or metadata changed only"
