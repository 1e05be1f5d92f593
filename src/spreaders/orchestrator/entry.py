"""Make any template startable on demand.

n8n's public API has no "run" endpoint, so at deploy time the platform adds its own entry: a webhook
on a secret path whose first step answers the caller with the execution id, then hands the caller's
parameters to the nodes that followed the template's manual trigger. The template's other triggers
keep working as before.
"""

from __future__ import annotations

import copy
import secrets
import uuid
from typing import Any

ENTRY_NODE = "Spreaders entry"
ENTRY_REPLY_NODE = "Spreaders entry reply"
PLATFORM_NODES = frozenset({ENTRY_NODE, ENTRY_REPLY_NODE})

_MANUAL_TRIGGERS = {"n8n-nodes-base.manualTrigger", "n8n-nodes-base.start"}
# Settings keys n8n's public API accepts on create; anything else is refused with a 400.
_ALLOWED_SETTINGS = {
    "executionOrder",
    "saveDataErrorExecution",
    "saveDataSuccessExecution",
    "saveManualExecutions",
    "saveExecutionProgress",
    "executionTimeout",
    "timezone",
    "callerPolicy",
}


def new_entry_path() -> str:
    return f"spreaders-{secrets.token_urlsafe(24)}"


def _is_trigger(node: dict[str, Any]) -> bool:
    node_type = str(node.get("type", ""))
    return node_type.lower().endswith("trigger") or node_type == "n8n-nodes-base.webhook"


def _entry_targets(workflow: dict[str, Any]) -> list[str]:
    """Nodes the entry should feed: what followed the manual trigger, else what followed any trigger."""
    nodes = workflow.get("nodes", [])
    connections = workflow.get("connections", {})
    manual = [n["name"] for n in nodes if n.get("type") in _MANUAL_TRIGGERS and not n.get("disabled")]
    triggers = manual or [n["name"] for n in nodes if _is_trigger(n) and not n.get("disabled")]
    targets: list[str] = []
    for trigger in triggers:
        for branch in connections.get(trigger, {}).get("main", []) or []:
            for link in branch or []:
                if link.get("node") not in targets:
                    targets.append(link["node"])
    return targets


def build_deployable(workflow: dict[str, Any], *, name: str, entry_path: str) -> dict[str, Any]:
    """Return the body for n8n's `POST /workflows`: the template plus the platform's entry."""
    nodes = copy.deepcopy(workflow.get("nodes", []))
    connections = copy.deepcopy(workflow.get("connections", {}))
    targets = _entry_targets(workflow)
    min_x = min((n.get("position", [0, 0])[0] for n in nodes), default=0)
    min_y = min((n.get("position", [0, 0])[1] for n in nodes), default=0)
    nodes.append(
        {
            "id": str(uuid.uuid4()),
            "name": ENTRY_NODE,
            "type": "n8n-nodes-base.webhook",
            "typeVersion": 2,
            "position": [min_x - 440, min_y - 240],
            "webhookId": str(uuid.uuid4()),
            "parameters": {
                "httpMethod": "POST",
                "path": entry_path,
                "responseMode": "responseNode",
                "options": {},
            },
        }
    )
    nodes.append(
        {
            "id": str(uuid.uuid4()),
            "name": ENTRY_REPLY_NODE,
            "type": "n8n-nodes-base.respondToWebhook",
            "typeVersion": 1.1,
            "position": [min_x - 220, min_y - 240],
            "parameters": {
                "respondWith": "json",
                "responseBody": '={{ { "executionId": $execution.id } }}',
                "options": {},
            },
        }
    )
    connections[ENTRY_NODE] = {"main": [[{"node": ENTRY_REPLY_NODE, "type": "main", "index": 0}]]}
    connections[ENTRY_REPLY_NODE] = {"main": [[{"node": t, "type": "main", "index": 0} for t in targets]]}
    settings = {k: v for k, v in (workflow.get("settings") or {}).items() if k in _ALLOWED_SETTINGS}
    settings.setdefault("executionOrder", "v1")
    settings["saveDataSuccessExecution"] = "all"
    settings["saveDataErrorExecution"] = "all"
    return {"name": name[:128], "nodes": nodes, "connections": connections, "settings": settings}
