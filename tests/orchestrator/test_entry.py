from __future__ import annotations

from typing import Any

from spreaders.orchestrator.entry import ENTRY_NODE, ENTRY_REPLY_NODE, build_deployable


def _wf(trigger_type: str) -> dict[str, Any]:
    return {
        "name": "t",
        "nodes": [
            {"name": "In", "type": trigger_type, "parameters": {}, "position": [0, 0]},
            {"name": "Work", "type": "n8n-nodes-base.set", "parameters": {}, "position": [200, 0]},
        ],
        "connections": {"In": {"main": [[{"node": "Work", "type": "main", "index": 0}]]}},
        "settings": {"executionOrder": "v1", "saveExecutionProgress": True, "someEditorThing": 1},
    }


def _fed_by_entry(body: dict[str, Any]) -> list[str]:
    return [link["node"] for link in body["connections"][ENTRY_REPLY_NODE]["main"][0]]


def test_entry_feeds_what_followed_a_webhook_trigger() -> None:
    body = build_deployable(_wf("n8n-nodes-base.webhook"), name="x", entry_path="p")
    assert _fed_by_entry(body) == ["Work"]


def test_entry_feeds_what_followed_an_app_trigger_and_keeps_it() -> None:
    body = build_deployable(_wf("n8n-nodes-base.telegramTrigger"), name="x", entry_path="p")
    assert _fed_by_entry(body) == ["Work"]
    assert "In" in body["connections"]
    assert body["connections"][ENTRY_NODE]["main"][0][0]["node"] == ENTRY_REPLY_NODE


def test_only_settings_the_public_api_accepts_are_sent() -> None:
    body = build_deployable(_wf("n8n-nodes-base.manualTrigger"), name="x", entry_path="p")
    assert "someEditorThing" not in body["settings"]
    assert body["settings"]["saveExecutionProgress"] is True
    assert body["settings"]["saveDataSuccessExecution"] == "all"
