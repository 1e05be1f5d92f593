"""Small n8n workflow documents the end-to-end tests import (core nodes only: no account, no network)."""

from __future__ import annotations

from typing import Any


def code_workflow(name: str, js: str) -> dict[str, Any]:
    """Manual trigger -> one Code node running `js` (which must return items)."""
    return {
        "name": name,
        "nodes": [
            {
                "id": "trigger",
                "name": "When clicking Execute",
                "type": "n8n-nodes-base.manualTrigger",
                "typeVersion": 1,
                "position": [0, 0],
                "parameters": {},
            },
            {
                "id": "code",
                "name": "Work",
                "type": "n8n-nodes-base.code",
                "typeVersion": 2,
                "position": [220, 0],
                "parameters": {"jsCode": js},
            },
        ],
        "connections": {"When clicking Execute": {"main": [[{"node": "Work", "type": "main", "index": 0}]]}},
        "settings": {"executionOrder": "v1"},
    }
