from __future__ import annotations

import re
import uuid
from typing import Any
from urllib.parse import quote

import pytest

from spreaders.accounts.schemas import Principal
from spreaders.bootstrap import AppContext
from spreaders.orchestrator import service as orchestrator
from spreaders.orchestrator.entry import (
    ENTRY_NODE,
    ENTRY_REPLY_NODE,
    INPUT_NODE,
    PLATFORM_NODES,
    RENAMED_TRIGGER_SUFFIX,
    RESULT_MARK,
    WAIT_ENTRY_NODE,
    build_deployable,
    is_platform_node,
    takes_wait_entry,
    trigger_shape,
)
from spreaders.registry import service as registry

ECHO_JS = "return [{ json: { json: $json, viaName: $('In').item.json } }];"


def _node(name: str, node_type: str, **extra: Any) -> dict[str, Any]:
    full = node_type if "." in node_type else f"n8n-nodes-base.{node_type}"
    return {"name": name, "type": full, "parameters": {}, "position": [0, 0], **extra}


def _link(*names: str) -> dict[str, Any]:
    return {"main": [[{"node": name, "type": "main", "index": 0} for name in names]]}


def _wf(trigger_type: str, **trigger: Any) -> dict[str, Any]:
    return {
        "name": "t",
        "nodes": [
            _node("In", trigger_type, **trigger),
            _node("Work", "set", position=[200, 0]),
        ],
        "connections": {"In": _link("Work")},
        "settings": {"executionOrder": "v1", "saveExecutionProgress": True, "someEditorThing": 1},
    }


def _by_name(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {node["name"]: node for node in body["nodes"]}


def _fed_by_entry(body: dict[str, Any]) -> list[str]:
    return [link["node"] for link in body["connections"][ENTRY_REPLY_NODE]["main"][0]]


def _followers(body: dict[str, Any], name: str) -> list[str]:
    return [link["node"] for link in body["connections"][name]["main"][0]]


def _shaping(body: dict[str, Any], name: str = "In") -> str:
    expression: str = _by_name(body)[name]["parameters"]["jsonOutput"]
    return expression


def test_entry_reply_feeds_a_stand_in_that_takes_the_triggers_name() -> None:
    body = build_deployable(_wf("telegramTrigger"), name="x", entry_path="p")
    nodes = _by_name(body)

    assert _fed_by_entry(body) == ["In"]
    assert nodes["In"]["type"] == "n8n-nodes-base.set"
    assert nodes["In" + RENAMED_TRIGGER_SUFFIX]["type"] == "n8n-nodes-base.telegramTrigger"
    assert _followers(body, "In" + RENAMED_TRIGGER_SUFFIX) == ["In"]
    assert _followers(body, "In") == ["Work"]
    assert body["connections"][ENTRY_NODE]["main"][0][0]["node"] == ENTRY_REPLY_NODE


def test_stand_in_passes_the_templates_own_trigger_items_through() -> None:
    expression = _shaping(build_deployable(_wf("formTrigger"), name="x", entry_path="p", wait_path="w"))
    alone = _shaping(build_deployable(_wf("formTrigger"), name="x", entry_path="p"))

    started = "$('Spreaders entry').isExecuted || $('Spreaders wait entry').isExecuted"
    assert expression.startswith(f"={{{{ ({started}) ? (() => {{")
    # n8n fails an expression that names a node the workflow lacks
    assert alone.startswith("={{ ($('Spreaders entry').isExecuted) ? (() => {")
    assert expression.endswith("})() : $json }}")
    assert expression.count("{{") == 1 and expression.count("}}") == 1


@pytest.mark.parametrize(
    ("trigger_type", "shape"),
    [
        ("webhook", "webhook"),
        ("formTrigger", "form"),
        ("@n8n/n8n-nodes-langchain.chatTrigger", "chat"),
        ("@n8n/n8n-nodes-langchain.manualChatTrigger", "chat"),
        ("scheduleTrigger", "schedule"),
        ("cron", "schedule"),
        ("interval", "schedule"),
        ("manualTrigger", "manual"),
        ("start", "manual"),
        ("executeWorkflowTrigger", "subworkflow"),
        ("telegramTrigger", "app"),
        ("emailReadImap", "app"),
        ("set", None),
    ],
)
def test_each_trigger_type_has_its_shape(trigger_type: str, shape: str | None) -> None:
    assert trigger_shape(_node("T", trigger_type)) == shape


@pytest.mark.parametrize(
    ("trigger_type", "fragments"),
    [
        ("formTrigger", ["...p,", "submittedAt:", "formMode: p.formMode ?? 'production'"]),
        ("@n8n/n8n-nodes-langchain.chatTrigger", ["action: 'sendMessage'", "chatInput", "sessionId"]),
        ("scheduleTrigger", ["timestamp:", "'Readable date':", "'Day of week':", "Timezone:", "...p }"]),
        ("cron", ["timestamp:", "'Readable time':"]),
        ("interval", ["timestamp:"]),
        ("manualTrigger", ["return { body: p, ...p };"]),
        ("start", ["return { body: p, ...p };"]),
        ("telegramTrigger", ["return { ...p };"]),
        ("executeWorkflowTrigger", ["return { ...p };"]),
    ],
)
def test_stand_in_reshapes_the_entry_item_like_the_trigger(trigger_type: str, fragments: list[str]) -> None:
    expression = _shaping(build_deployable(_wf(trigger_type), name="x", entry_path="p"))

    for fragment in fragments:
        assert fragment in expression


def test_chat_input_leaves_the_previous_output_out_of_the_message() -> None:
    expression = _shaping(
        build_deployable(_wf("@n8n/n8n-nodes-langchain.chatTrigger"), name="x", entry_path="p")
    )

    assert "k !== '_previousOutput'" in expression


def test_get_webhook_also_gets_the_parameters_as_its_query() -> None:
    get = _shaping(build_deployable(_wf("webhook", parameters={"path": "hook"}), name="x", entry_path="p"))
    post = _shaping(
        build_deployable(
            _wf("webhook", parameters={"path": "hook", "httpMethod": "POST"}), name="x", entry_path="p"
        )
    )

    assert "query: { ...$json.query, ...p }" in get
    assert "query: $json.query," in post
    assert '"hook"' in get  # webhookUrl names the template's own path, not the secret entry path


def test_manual_trigger_is_fed_before_other_triggers() -> None:
    workflow = _wf("webhook")
    workflow["nodes"] += [_node("Manual", "manualTrigger"), _node("Other", "noOp")]
    workflow["connections"]["Manual"] = _link("Other")

    body = build_deployable(workflow, name="x", entry_path="p")

    assert _fed_by_entry(body) == ["Manual"]
    assert _by_name(body)["In"]["type"] == "n8n-nodes-base.webhook"  # not fed: left as it was


def test_enabled_trigger_is_fed_before_a_disabled_one() -> None:
    workflow = _wf("scheduleTrigger")
    workflow["nodes"] += [_node("Manual", "manualTrigger", disabled=True), _node("Other", "noOp")]
    workflow["connections"]["Manual"] = _link("Other")

    assert _fed_by_entry(build_deployable(workflow, name="x", entry_path="p")) == ["In"]


def test_disabled_trigger_is_fed_when_no_trigger_is_enabled() -> None:
    body = build_deployable(_wf("manualTrigger", disabled=True), name="x", entry_path="p")
    nodes = _by_name(body)

    assert _fed_by_entry(body) == ["In"]
    assert nodes["In"].get("disabled") is None
    assert nodes["In" + RENAMED_TRIGGER_SUFFIX]["disabled"] is True


def test_two_triggers_starting_the_same_nodes_feed_them_once() -> None:
    workflow = _wf("webhook")
    workflow["nodes"].append(_node("Tick", "scheduleTrigger"))
    workflow["connections"]["Tick"] = _link("Work")

    assert _fed_by_entry(build_deployable(workflow, name="x", entry_path="p")) == ["In"]


def test_sub_node_attached_to_a_trigger_stays_on_the_renamed_trigger() -> None:
    workflow = _wf("@n8n/n8n-nodes-langchain.chatTrigger")
    workflow["nodes"].append(_node("Memory", "@n8n/n8n-nodes-langchain.memoryBufferWindow"))
    workflow["connections"]["Memory"] = {"ai_memory": [[{"node": "In", "type": "ai_memory", "index": 0}]]}

    body = build_deployable(workflow, name="x", entry_path="p")

    assert body["connections"]["Memory"]["ai_memory"][0][0]["node"] == "In" + RENAMED_TRIGGER_SUFFIX


def test_renamed_trigger_gets_a_name_no_other_node_has() -> None:
    workflow = _wf("manualTrigger")
    workflow["nodes"].append(_node("In" + RENAMED_TRIGGER_SUFFIX, "noOp"))

    names = [node["name"] for node in build_deployable(workflow, name="x", entry_path="p")["nodes"]]

    assert len(names) == len(set(names))
    assert "In" + RENAMED_TRIGGER_SUFFIX + " 2" in names


def test_workflow_without_trigger_is_fed_at_its_first_nodes() -> None:
    workflow = {
        "name": "t",
        "nodes": [_node("Mock", "function"), _node("Shape", "function"), _node("Note", "stickyNote")],
        "connections": {"Mock": _link("Shape")},
    }

    body = build_deployable(workflow, name="x", entry_path="p")

    assert _fed_by_entry(body) == [INPUT_NODE]
    assert _followers(body, INPUT_NODE) == ["Mock"]
    assert INPUT_NODE in PLATFORM_NODES


def test_trigger_without_followers_gets_no_stand_in() -> None:
    workflow = {"name": "t", "nodes": [_node("In", "manualTrigger")], "connections": {}}

    body = build_deployable(workflow, name="x", entry_path="p")

    assert _fed_by_entry(body) == []
    assert _by_name(body)["In"]["type"] == "n8n-nodes-base.manualTrigger"


def test_entry_streams_and_its_reply_streams_the_execution_id() -> None:
    nodes = _by_name(build_deployable(_wf("manualTrigger"), name="x", entry_path="p"))

    assert nodes[ENTRY_NODE]["parameters"]["responseMode"] == "streaming"
    assert nodes[ENTRY_NODE]["typeVersion"] == 2.1  # the first webhook version offering streaming
    assert nodes[ENTRY_REPLY_NODE]["typeVersion"] == 1.5  # the first reply version that streams
    assert "$execution.id" in nodes[ENTRY_REPLY_NODE]["parameters"]["responseBody"]


def test_wait_entry_answers_with_the_last_node_and_feeds_what_the_entry_feeds() -> None:
    body = build_deployable(_wf("manualTrigger"), name="x", entry_path="p", wait_path="w")
    nodes = _by_name(body)

    assert nodes[WAIT_ENTRY_NODE]["parameters"] == {
        "httpMethod": "POST",
        "path": "w",
        "responseMode": "lastNode",
        "responseData": "firstEntryJson",
        "options": {},
    }
    assert _followers(body, WAIT_ENTRY_NODE) == _fed_by_entry(body) == ["In"]
    assert is_platform_node(WAIT_ENTRY_NODE)
    assert WAIT_ENTRY_NODE not in _by_name(build_deployable(_wf("manualTrigger"), name="x", entry_path="p"))


def test_each_branch_end_gets_a_result_node_that_knows_how_many_there_are() -> None:
    workflow = _wf("manualTrigger")
    workflow["nodes"] += [_node("Left", "noOp"), _node("Right", "noOp"), _node("Unreached", "noOp")]
    workflow["connections"]["Work"] = _link("Left", "Right")

    body = build_deployable(workflow, name="x", entry_path="p")
    nodes = _by_name(body)

    assert _followers(body, "Left") == ["Spreaders result"]
    assert _followers(body, "Right") == ["Spreaders result 2"]
    assert "Unreached" not in body["connections"]  # not reached from the entry: left alone
    for name, end in (("Spreaders result", "Left"), ("Spreaders result 2", "Right")):
        summary = nodes[name]["parameters"]["jsonOutput"]
        assert nodes[name]["type"] == "n8n-nodes-base.set"
        assert nodes[name]["executeOnce"] is True  # one summary, whatever the number of items
        assert f'$("{end}").all()' in summary  # all of the end's items, though it runs once
        assert '"ends": 2' in summary and f'"{RESULT_MARK}": true' in summary
        assert "$execution.id" in summary
        assert is_platform_node(name)
    assert not is_platform_node("Left")
    assert takes_wait_entry(workflow)


def test_branch_end_whose_name_would_cut_the_expression_is_read_as_the_input() -> None:
    workflow = _wf("manualTrigger")
    workflow["nodes"][1]["name"] = "Work }} done"
    workflow["connections"] = {"In": _link("Work }} done")}

    result = _by_name(build_deployable(workflow, name="x", entry_path="p"))["Spreaders result"]

    assert result["executeOnce"] is False
    assert "$input.all()" in result["parameters"]["jsonOutput"]
    assert result["parameters"]["jsonOutput"].count("}}") == 1


@pytest.mark.parametrize(
    ("node_type", "parameters"),
    [
        ("webhook", {}),
        ("formTrigger", {}),
        ("respondToWebhook", {}),
        ("wait", {"resume": "webhook"}),
    ],
)
def test_template_answering_http_itself_gets_no_result_nodes(
    node_type: str, parameters: dict[str, Any]
) -> None:
    workflow = _wf("manualTrigger")
    workflow["nodes"].append(_node("Answers", node_type, parameters=parameters))

    names = [node["name"] for node in build_deployable(workflow, name="x", entry_path="p")["nodes"]]

    assert not any(name.startswith("Spreaders result") for name in names)
    assert not takes_wait_entry(workflow)  # its last node says nothing reliable about the run


def test_template_is_not_changed_by_building_its_deployable() -> None:
    workflow = _wf("formTrigger")
    before = repr(workflow)

    build_deployable(workflow, name="x", entry_path="p")

    assert repr(workflow) == before


def test_only_settings_the_public_api_accepts_are_sent() -> None:
    body = build_deployable(_wf("manualTrigger"), name="x", entry_path="p")
    assert "someEditorThing" not in body["settings"]
    assert body["settings"]["saveExecutionProgress"] is True
    assert body["settings"]["saveDataSuccessExecution"] == "all"


PARAMETERS = {"Email": "ada@example.com", "chatInput": "hi", "_previousOutput": {"items": [{"a": 1}]}}


def _echo_template(trigger_type: str, version: float, parameters: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": f"shape {trigger_type} {uuid.uuid4().hex[:8]}",
        "nodes": [
            {
                **_node("In", trigger_type, parameters=parameters),
                "typeVersion": version,
                "webhookId": str(uuid.uuid4()),
            },
            {**_node("Echo", "code", parameters={"jsCode": ECHO_JS}), "typeVersion": 2},
        ],
        "connections": {"In": _link("Echo")},
        "settings": {"executionOrder": "v1"},
    }


async def _run_shape(app: AppContext, principal: Principal, document: dict[str, Any]) -> dict[str, Any]:
    async with app.unit_of_work() as session:
        template = await registry.import_workflow(session, tenant_id=principal.tenant_id, document=document)
    result = await orchestrator.execute(
        app, principal=principal, template_id=template.id, parameters=PARAMETERS, timeout_s=60
    )
    assert result.status == "success", result.error
    item: dict[str, Any] = result.output["items"][0]
    assert item["json"] == item["viaName"]  # `$('In')` reads the stand-in
    json_item: dict[str, Any] = item["json"]
    return json_item


@pytest.mark.e2e
async def test_n8n_runs_each_shape_as_its_trigger_would_emit_it(
    app: AppContext, e2e_principal: Principal
) -> None:
    form = await _run_shape(
        app, e2e_principal, _echo_template("formTrigger", 2.2, {"formTitle": "f", "path": uuid.uuid4().hex})
    )
    chat = await _run_shape(
        app, e2e_principal, _echo_template("@n8n/n8n-nodes-langchain.chatTrigger", 1.1, {})
    )
    tick = await _run_shape(
        app,
        e2e_principal,
        _echo_template("scheduleTrigger", 1.2, {"rule": {"interval": [{"field": "hours"}]}}),
    )
    manual = await _run_shape(app, e2e_principal, _echo_template("manualTrigger", 1, {}))
    called = await _run_shape(app, e2e_principal, _echo_template("executeWorkflowTrigger", 1.1, {}))
    hook = await _run_shape(app, e2e_principal, _echo_template("webhook", 2, {"path": uuid.uuid4().hex}))

    assert form == {**PARAMETERS, "submittedAt": form["submittedAt"], "formMode": "production"}
    assert chat == {**PARAMETERS, "sessionId": chat["sessionId"], "action": "sendMessage"}
    assert chat["sessionId"].startswith("spreaders-")
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00", tick["timestamp"])
    assert re.fullmatch(
        r"[A-Z][a-z]+ \d{1,2}(st|nd|rd|th) \d{4}, \d{1,2}:\d\d:\d\d [ap]m", tick["Readable date"]
    )
    assert tick["Timezone"] == "UTC (UTC+00:00)"
    assert tick["_previousOutput"] == PARAMETERS["_previousOutput"]
    assert manual == {"body": PARAMETERS, **PARAMETERS}
    assert called == PARAMETERS
    assert hook["body"] == hook["query"] == PARAMETERS
    assert "spreaders-" not in hook["webhookUrl"]


@pytest.mark.e2e
async def test_templates_own_webhook_still_runs_with_its_own_data(
    app: AppContext, e2e_principal: Principal
) -> None:
    path = f"own-{uuid.uuid4().hex[:8]}"
    document = _echo_template("webhook", 2, {"path": path, "responseMode": "lastNode", "options": {}})
    async with app.unit_of_work() as session:
        template = await registry.import_workflow(
            session, tenant_id=e2e_principal.tenant_id, document=document
        )
    result = await orchestrator.execute(app, principal=e2e_principal, template_id=template.id, timeout_s=60)
    conn = await orchestrator.provisioning.connect(app, tenant_id=e2e_principal.tenant_id)
    # The registry strips webhook ids, so n8n serves the template's webhook under its workflow and node.
    own = f"{result.n8n_workflow_id}/{quote(('In' + RENAMED_TRIGGER_SUFFIX).lower(), safe='')}/{path}"
    assert result.output["items"][0]["json"]["webhookUrl"] == f"{conn.base_url}/webhook/{own}"

    answer = await app.http.get(f"{conn.base_url}/webhook/{own}", params={"q": "own"})

    assert answer.status_code == 200, answer.text
    echoed = answer.json()
    assert echoed["json"]["query"] == {"q": "own"}
    assert echoed["viaName"] == echoed["json"]
