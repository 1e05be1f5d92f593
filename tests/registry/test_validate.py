from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from spreaders.registry.node_catalog import NodeCatalog, NodeTypeInfo, load_node_catalog
from spreaders.registry.validate import ValidationIssue, has_errors, validate
from spreaders.settings import Settings

BASE = "n8n-nodes-base"


def info(
    name: str,
    versions: tuple[float, ...] = (1,),
    *,
    versioned: bool = False,
    trigger: bool = False,
    credentials: tuple[str, ...] = (),
    required: tuple[str, ...] = (),
    tool: tuple[float, ...] = (),
) -> NodeTypeInfo:
    return NodeTypeInfo(
        type=f"{BASE}.{name}",
        versions=frozenset(versions),
        versioned=versioned,
        trigger=trigger,
        credentials=frozenset(credentials),
        required_credentials=frozenset(required),
        tool_versions=frozenset(tool),
    )


# A hand-made catalog, so these tests pin the rules rather than one n8n release's node list.
CATALOG = NodeCatalog(
    n8n_version="test",
    nodes={
        item.type: item
        for item in (
            info("webhook", (1, 2), trigger=True, credentials=("httpBasicAuth",)),
            info("manualTrigger", trigger=True),
            info("scheduleTrigger", (1, 1.2), trigger=True),
            info("slackTrigger", trigger=True, credentials=("slackApi",), required=("slackApi",)),
            info("set", (1, 2, 3.4), versioned=True),
            info("noOp"),
            info("stickyNote"),
            info("gmail", (1, 2.1), versioned=True, credentials=("gmailOAuth2",), tool=(2.1,)),
            info("telegram", (1.2,), credentials=("telegramApi",), required=("telegramApi",)),
            info("executeWorkflow", (1, 1.2)),
            info("executeWorkflowTrigger", (1, 1.1), trigger=True),
        )
    },
)


def node(name: str, kind: str, version: float = 1, **extra: Any) -> dict[str, Any]:
    return {
        "id": name,
        "name": name,
        "type": f"{BASE}.{kind}",
        "typeVersion": version,
        "position": [0, 0],
        "parameters": {},
        **extra,
    }


def link(target: str) -> dict[str, Any]:
    return {"main": [[{"node": target, "type": "main", "index": 0}]]}


def flow(*nodes: dict[str, Any], connections: Any = None, settings: Any = None) -> dict[str, Any]:
    return {
        "name": "Test",
        "nodes": list(nodes),
        "connections": connections if connections is not None else {},
        "settings": settings if settings is not None else {"executionOrder": "v1"},
    }


def hook_to(target: dict[str, Any], *more: dict[str, Any]) -> dict[str, Any]:
    """A webhook feeding `target`: the smallest workflow with nothing to complain about."""
    return flow(node("Hook", "webhook", 2), target, *more, connections={"Hook": link(target["name"])})


def codes(issues: list[ValidationIssue], level: str | None = None) -> list[str]:
    return [issue.code for issue in issues if level is None or issue.level == level]


def check(workflow: dict[str, Any], **kwargs: Any) -> list[ValidationIssue]:
    kwargs.setdefault("catalog", CATALOG)
    return validate(workflow, **kwargs)


# The catalog read from the pinned release


def test_catalog_from_the_installed_n8n_knows_its_core_and_ai_nodes(settings: Settings) -> None:
    catalog = load_node_catalog(settings.n8n.install_dir, settings.n8n.version)
    if catalog is None:
        pytest.fail(f"n8n {settings.n8n.version} is not installed; run `make n8n` first.")
    assert catalog.knows("n8n-nodes-base.webhook")
    assert catalog.knows("n8n-nodes-base.code")
    assert catalog.knows("@n8n/n8n-nodes-langchain.agent")
    assert not catalog.knows("n8n-nodes-base.doesNotExist")
    webhook = catalog.get("n8n-nodes-base.webhook")
    assert webhook is not None and webhook.trigger and not webhook.versioned
    set_node = catalog.get("n8n-nodes-base.set")
    assert set_node is not None and set_node.versioned and 3.4 in set_node.versions
    assert "gmailOAuth2" in (catalog.get("n8n-nodes-base.gmail") or info("x")).credentials


def test_catalog_knows_ai_tool_wrappers_only_for_nodes_usable_as_tools(settings: Settings) -> None:
    catalog = load_node_catalog(settings.n8n.install_dir, settings.n8n.version)
    assert catalog is not None
    assert catalog.knows("n8n-nodes-base.gmailTool")
    assert not catalog.knows("n8n-nodes-base.codeTool")
    assert catalog.knows("@n8n/n8n-nodes-langchain.agentTool")


def test_catalog_of_a_missing_install_is_none(tmp_path: Path) -> None:
    assert load_node_catalog(tmp_path, "1.123.81") is None


def test_without_a_catalog_only_the_node_type_check_is_skipped_and_that_is_said_once() -> None:
    issues = check(hook_to(node("Mystery", "doesNotExist")), catalog=None)
    assert codes(issues) == ["catalog-unavailable"]
    assert not has_errors(issues)


# Clean workflows


def test_a_webhook_feeding_a_set_node_has_no_issues() -> None:
    assert check(hook_to(node("Set", "set", 3.4))) == []


def test_has_errors_is_true_only_for_error_level_issues() -> None:
    warning = ValidationIssue(level="warning", code="orphan-node", message="m", node="A")
    error = ValidationIssue(level="error", code="unknown-node-type", message="m", node="A")
    assert not has_errors([warning])
    assert has_errors([warning, error])


# Errors: what n8n refuses


def test_unknown_node_type_is_an_error_even_on_a_disabled_node() -> None:
    issues = check(hook_to(node("Mystery", "doesNotExist", disabled=True)))
    assert codes(issues, "error") == ["unknown-node-type"]
    assert issues[0].node == "Mystery"


def test_community_node_type_is_an_error_naming_its_package() -> None:
    workflow = hook_to({**node("Kt", "x"), "type": "n8n-nodes-klicktipp.klicktipp"})
    [issue] = check(workflow)
    assert issue.code == "unknown-node-type" and "n8n-nodes-klicktipp" in issue.message


def test_ai_tool_wrapper_is_an_error_for_a_node_version_not_usable_as_a_tool() -> None:
    assert check(hook_to(node("Mail tool", "gmailTool", 2.1))) == []
    assert codes(check(hook_to(node("Mail tool", "gmailTool", 1)))) == ["unsupported-type-version"]
    assert codes(check(hook_to(node("Code tool", "noOpTool")))) == ["unknown-node-type"]


def test_missing_type_version_of_a_versioned_node_is_an_error() -> None:
    [issue] = check(hook_to(node("Set", "set", 3.35)))
    assert (issue.level, issue.code) == ("error", "unsupported-type-version")
    assert "3.4" in issue.message


def test_unlisted_type_version_of_a_plain_node_is_only_a_warning() -> None:
    [issue] = check(hook_to(node("Nothing", "noOp", 5)))
    assert (issue.level, issue.code) == ("warning", "unlisted-type-version")


def test_type_version_zero_means_latest_to_n8n_and_passes() -> None:
    assert check(hook_to(node("Set", "set", 0))) == []


def test_webhook_without_a_name_is_an_error_as_n8n_fails_activating_it() -> None:
    nameless = node("X", "webhook", 2, parameters={"path": "in"})
    del nameless["name"]
    issues = check(flow(node("Start", "manualTrigger"), nameless))
    assert codes(issues, "error") == ["node-missing-key"]


def test_node_without_a_type_is_an_error() -> None:
    typeless = node("X", "noOp")
    del typeless["type"]
    assert "node-missing-key" in codes(check(hook_to(typeless)), "error")


def test_other_node_without_a_name_is_a_warning() -> None:
    nameless = node("X", "noOp")
    del nameless["name"]
    issues = check(flow(node("Hook", "webhook", 2), nameless))
    assert codes(issues) == ["node-unnamed"]


def test_node_field_the_public_api_does_not_accept_is_an_error() -> None:
    [issue] = check(hook_to(node("Set", "set", 3.4, color=3)))
    assert (issue.level, issue.code, issue.node) == ("error", "node-field-unknown", "Set")


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("typeVersion", "3.4"),
        ("position", ["a", 1]),
        ("parameters", []),
        ("credentials", "x"),
        ("notes", None),
    ],
)
def test_node_field_of_the_wrong_kind_is_an_error(field: str, value: object) -> None:
    issues = check(hook_to(node("Set", "set", 3.4, **{field: value})))
    assert "node-field-type" in codes(issues, "error")


def test_setting_the_public_api_refuses_is_an_error_and_unknown_settings_are_ignored() -> None:
    bad = hook_to(node("Set", "set", 3.4))
    bad["settings"] = {"saveExecutionProgress": "DEFAULT", "callerPolicy": "everyone"}
    assert codes(check(bad)) == ["settings-invalid", "settings-invalid"]
    fine = hook_to(node("Set", "set", 3.4))
    fine["settings"] = {"executionOrder": "v1", "somethingNew": {"x": 1}}
    assert check(fine) == []


# Warnings: what n8n accepts but makes the template less useful


def test_node_missing_a_key_n8n_defaults_is_a_warning() -> None:
    set_node = node("Set", "set", 3.4)
    del set_node["position"]
    [issue] = check(hook_to(set_node))
    assert (issue.level, issue.code) == ("warning", "node-key-defaulted")


def test_duplicate_node_names_are_a_warning() -> None:
    issues = check(hook_to(node("Set", "set", 3.4), node("Set", "set", 3.4)))
    assert codes(issues) == ["duplicate-node-name"]
    assert issues[0].level == "warning" and issues[0].node == "Set"


def test_connection_to_a_missing_node_is_a_warning() -> None:
    workflow = hook_to(node("Set", "set", 3.4))
    workflow["connections"]["Set"] = link("Gone")
    workflow["connections"]["Ghost"] = link("Set")
    issues = check(workflow)
    assert codes(issues) == ["connection-to-missing-node", "connection-to-missing-node"]
    assert {issue.level for issue in issues} == {"warning"}


def test_malformed_connections_are_a_warning() -> None:
    workflow = hook_to(node("Set", "set", 3.4))
    workflow["connections"]["Set"] = {"main": "x"}
    assert codes(check(workflow)) == ["connection-malformed"]


def test_workflow_without_any_trigger_is_a_warning_because_the_platform_adds_its_entry() -> None:
    issues = check(flow(node("A", "set", 3.4), node("B", "noOp"), connections={"A": link("B")}))
    assert codes(issues) == ["no-trigger"]
    assert not has_errors(issues)


def test_manual_trigger_counts_as_a_trigger() -> None:
    workflow = flow(node("Start", "manualTrigger"), node("A", "noOp"), connections={"Start": link("A")})
    assert check(workflow) == []


def test_disabled_trigger_does_not_count() -> None:
    workflow = flow(node("Start", "manualTrigger", disabled=True), node("A", "noOp"))
    workflow["connections"] = {"Start": link("A")}
    assert codes(check(workflow)) == ["no-trigger"]


def test_unconnected_node_is_an_orphan_but_sticky_notes_and_triggers_are_not() -> None:
    workflow = hook_to(node("Set", "set", 3.4), node("Lost", "noOp"), node("Note", "stickyNote"))
    workflow["nodes"].append(node("Cron", "scheduleTrigger", 1.2))
    issues = check(workflow)
    assert [(issue.code, issue.node) for issue in issues] == [("orphan-node", "Lost")]


@pytest.mark.parametrize(
    "expression",
    ["={{ $('Gone').item.json.x }}", '={{ $node["Gone"].json.x }}', '={{ $items("Gone")[0].json.x }}'],
)
def test_expression_reading_a_missing_node_is_a_warning(expression: str) -> None:
    issues = check(hook_to(node("Set", "set", 3.4, parameters={"value": expression})))
    assert [(issue.level, issue.code, issue.node) for issue in issues] == [
        ("warning", "expression-missing-node", "Set")
    ]
    assert "'Gone'" in issues[0].message


def test_expressions_reading_present_nodes_or_css_selectors_pass() -> None:
    parameters = {"value": "={{ $('Hook').item.json.body }}", "jsCode": "const a = $('#id'); $('.x')"}
    assert check(hook_to(node("Set", "set", 3.4, parameters=parameters))) == []


def subworkflow_call(workflow_id: object, **parameters: Any) -> dict[str, Any]:
    return node("Call", "executeWorkflow", 1.2, parameters={"workflowId": workflow_id, **parameters})


def test_sub_workflow_the_resolver_does_not_know_is_a_warning() -> None:
    call = subworkflow_call({"__rl": True, "mode": "list", "value": "abc123", "cachedResultName": "Sub"})
    [issue] = check(hook_to(call), resolve_subworkflow=lambda workflow_id: workflow_id == "other")
    assert (issue.level, issue.code, issue.node) == ("warning", "subworkflow-unresolved", "Call")
    assert check(hook_to(call), resolve_subworkflow=lambda workflow_id: workflow_id == "abc123") == []


def test_sub_workflow_ids_are_read_from_every_parameter_shape() -> None:
    seen: list[str] = []

    def resolver(workflow_id: str) -> bool:
        seen.append(workflow_id)
        return True

    shapes = ["plain1", {"__rl": True, "mode": "id", "value": "rl2"}]
    shapes.append({"__rl": True, "mode": "url", "value": "https://x.app.n8n.cloud/workflow/url3?x=1"})
    for shape in shapes:
        assert check(hook_to(subworkflow_call(shape)), resolve_subworkflow=resolver) == []
    assert seen == ["plain1", "rl2", "url3"]


def test_sub_workflow_that_cannot_be_checked_statically_is_a_warning() -> None:
    dynamic = subworkflow_call("={{ $json.target }}")
    from_url = subworkflow_call(None, source="url", workflowUrl="https://example.com/wf.json")
    assert codes(check(hook_to(dynamic), resolve_subworkflow=lambda _: True)) == ["subworkflow-unchecked"]
    assert codes(check(hook_to(from_url))) == ["subworkflow-unchecked"]
    assert codes(check(hook_to(subworkflow_call("abc123")))) == ["subworkflow-unchecked"]


def test_sub_workflow_from_a_local_file_or_broken_inline_json_is_unresolved() -> None:
    local = subworkflow_call(None, source="localFile", workflowPath="/home/me/wf.json")
    broken = subworkflow_call(None, source="parameter", workflowJson="{not json")
    inline = subworkflow_call(None, source="parameter", workflowJson='{"nodes": [{"name": "A"}]}')
    assert codes(check(hook_to(local))) == ["subworkflow-unresolved"]
    assert codes(check(hook_to(broken))) == ["subworkflow-unresolved"]
    assert check(hook_to(inline)) == []


def test_sub_workflow_calling_itself_needs_an_execute_workflow_trigger() -> None:
    call = subworkflow_call({"__rl": True, "mode": "id", "value": "={{ $workflow.id }}"})
    assert codes(check(hook_to(call))) == ["subworkflow-unresolved"]
    workflow = hook_to(call, node("Called", "executeWorkflowTrigger", 1.1), node("Then", "noOp"))
    workflow["connections"]["Called"] = link("Then")
    assert check(workflow) == []


def test_referenced_credential_is_a_needed_credential_warning() -> None:
    mail = node("Mail", "gmail", 2.1, credentials={"gmailOAuth2": {"name": "Gmail account"}})
    [issue] = check(hook_to(mail))
    assert (issue.level, issue.code, issue.node) == ("warning", "credential-needed", "Mail")
    assert "gmailOAuth2" in issue.message


def test_credential_the_node_type_requires_but_the_node_lacks_is_a_warning() -> None:
    [issue] = check(hook_to(node("Tell", "telegram", 1.2)))
    assert (issue.level, issue.code) == ("warning", "credential-missing")


def test_trigger_that_needs_a_credential_to_activate_is_a_warning() -> None:
    slack = node("Slack in", "slackTrigger", credentials={"slackApi": {"name": "Slack"}})
    workflow = flow(slack, node("A", "noOp"), connections={"Slack in": link("A")})
    issues = check(workflow)
    assert codes(issues) == ["credential-needed", "activation-needs-credential"]
    assert not has_errors(issues)


def test_webhook_credentials_check_callers_and_do_not_block_activation() -> None:
    hook = node("Hook", "webhook", 2, credentials={"httpBasicAuth": {"name": "Basic"}})
    workflow = flow(hook, node("A", "noOp"), connections={"Hook": link("A")})
    assert codes(check(workflow)) == ["credential-needed"]
