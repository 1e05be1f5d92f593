from __future__ import annotations

import copy
import uuid
from typing import Any

from spreaders.registry.normalize import name_from_file, normalize
from spreaders.registry.validate import validate


def node(name: str, kind: str, **extra: Any) -> dict[str, Any]:
    return {"name": name, "type": f"n8n-nodes-base.{kind}", "parameters": {}, **extra}


def link(target: str) -> dict[str, Any]:
    return {"node": target, "type": "main", "index": 0}


def exported() -> dict[str, Any]:
    """An export carrying every instance leftover the corpus shows."""
    return {
        "id": "17",
        "name": "Post to X",
        "active": True,
        "versionId": "b1c2",
        "meta": {"instanceId": "abc123", "templateCredsSetupCompleted": True},
        "settings": {"executionOrder": "v1", "errorWorkflow": "42"},
        "tags": [{"id": "9", "name": "social", "createdAt": "2024-01-01"}],
        "pinData": {"Start": [{"json": {"email": "someone@example.com"}}]},
        "nodes": [
            node("Start", "manualTrigger", id="n1"),
            node("Hook", "webhook", id="n2", webhookId="f00d"),
            node("Tweet", "twitter", id="n3", credentials={"twitterOAuth1Api": {"id": "5", "name": "My X"}}),
        ],
        "connections": {"Start": {"main": [[link("Tweet")]]}},
    }


def test_name_is_derived_from_the_file_name_when_missing() -> None:
    assert name_from_file("0005_Manual_Twitter_Create_Triggered.json") == "Manual Twitter Create Triggered"
    document = {"nodes": [node("Start", "manualTrigger")], "connections": {}}
    assert normalize(document, file_name="0005_Manual_Twitter_Create_Triggered.json").workflow["name"] == (
        "Manual Twitter Create Triggered"
    )


def test_name_is_derived_from_node_types_without_a_file_name() -> None:
    document = {"name": "  ", "nodes": [node("Start", "manualTrigger"), node("Sheet", "googleSheets")]}
    assert normalize(document).workflow["name"] == "Workflow using Manual Trigger, Google Sheets"


def test_existing_name_is_kept() -> None:
    assert normalize(exported(), file_name="0001_Other.json").workflow["name"] == "Post to X"


def test_nodes_without_ids_or_with_duplicate_ids_get_fresh_uuids() -> None:
    document = {
        "nodes": [node("A", "manualTrigger"), node("B", "set", id="same"), node("C", "set", id="same")],
        "connections": {},
    }
    result = normalize(document)
    ids = [n["id"] for n in result.workflow["nodes"]]
    assert len(set(ids)) == 3
    assert ids[1] == "same"
    uuid.UUID(ids[0])
    uuid.UUID(ids[2])
    assert any("repeated the id 'same'" in warning for warning in result.warnings)


def test_assigned_ids_are_stable_so_a_reimport_hashes_the_same() -> None:
    document = {"nodes": [node("A", "manualTrigger"), node("B", "set")], "connections": {}}
    first, second = normalize(document), normalize(copy.deepcopy(document))
    assert first.workflow == second.workflow
    assert first.content_hash == second.content_hash


def test_all_credential_shapes_become_name_only_references() -> None:
    document = {
        "nodes": [
            node("Start", "manualTrigger"),
            node("A", "twitter", credentials={"twitterOAuth1Api": {"id": "5", "name": "My X"}}),
            node("B", "slack", credentials={"slackApi": {"name": "Team Slack"}}),
            node("C", "telegram", credentials={"telegramApi": "Bot"}),
            node("D", "emailSend", credentials={"smtp": {"user": "me", "password": "hunter2"}}),
        ],
        "connections": {},
    }
    result = normalize(document)
    credentials = [n.get("credentials") for n in result.workflow["nodes"]]
    assert credentials == [
        None,
        {"twitterOAuth1Api": {"name": "My X"}},
        {"slackApi": {"name": "Team Slack"}},
        {"telegramApi": {"name": "Bot"}},
        {"smtp": {"name": "smtp"}},
    ]
    assert any("'smtp' carried inline values" in warning for warning in result.warnings)
    assert "hunter2" not in str(result.workflow)


def test_instance_leftovers_are_dropped() -> None:
    workflow = normalize(exported()).workflow
    assert not {"id", "active", "versionId", "pinData"} & set(workflow)
    assert workflow["meta"] == {"templateCredsSetupCompleted": True}
    assert workflow["settings"] == {"executionOrder": "v1"}
    assert workflow["tags"] == [{"name": "social"}]
    assert all("webhookId" not in n for n in workflow["nodes"])


def test_pin_data_is_stripped_by_default_and_kept_on_request() -> None:
    assert "pinData" not in normalize(exported()).workflow
    assert normalize(exported(), keep_pin_data=True).workflow["pinData"] == exported()["pinData"]


def test_original_is_kept_unchanged() -> None:
    document = exported()
    before = copy.deepcopy(document)
    result = normalize(document)
    assert result.original == before
    assert document == before
    assert result.original is not document


def test_instance_leftovers_do_not_change_the_content_hash() -> None:
    other = exported()
    other["meta"]["instanceId"] = "another-instance"
    other["versionId"] = "zzz"
    other["pinData"] = {}
    other["nodes"][1]["webhookId"] = "beef"
    assert normalize(other).content_hash == normalize(exported()).content_hash


def test_graph_repairs_are_reported_and_observations_left_to_the_validator() -> None:
    document = {
        "nodes": [
            node("Set", "set"),
            node("Set", "set"),
            node("Code", "code", parameters={"jsCode": "return $('Gone').all(); // $(\"Set\")"}),
        ],
        "connections": {
            "Set": {"main": [[link("Nowhere"), link("Code")], None]},
            "Ghost": {"main": [[link("Set")]]},
        },
    }
    result = normalize(document)
    assert "connections named the missing node 'Nowhere'; they were dropped" in result.warnings
    assert "connections named the missing node 'Ghost'; they were dropped" in result.warnings
    codes = {issue.code for issue in validate(result.workflow, catalog=None)}
    assert {"duplicate-node-name", "expression-missing-node", "no-trigger"} <= codes
    assert result.workflow["connections"] == {"Set": {"main": [[link("Code")], []]}}


def test_escaped_quotes_in_node_references_are_understood() -> None:
    document = {
        "nodes": [
            node("Start", "manualTrigger"),
            node("Get user's email", "set"),
            node("Use", "set", parameters={"value": "={{ $('Get user\\'s email').item.json.email }}"}),
        ],
        "connections": {},
    }
    assert not [w for w in normalize(document).warnings if "missing node" in w]
