from __future__ import annotations

import itertools
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from spreaders.registry.classify import Classification, RequiredCredential, classify
from spreaders.registry.classify_duration import DURATION_MS, LOOP_FACTOR, WAIT_CAP_MS, wait_ms
from spreaders.registry.normalize import normalize, tag_names

LC = "@n8n/n8n-nodes-langchain."


def node(kind: str, name: str | None = None, **extra: Any) -> dict[str, Any]:
    full_type = kind if "." in kind else f"n8n-nodes-base.{kind}"
    return {"name": name or kind, "type": full_type, "parameters": extra.pop("parameters", {}), **extra}


def chain(*nodes: dict[str, Any], attach: Sequence[tuple[dict[str, Any], str, str]] = ()) -> dict[str, Any]:
    """A workflow whose nodes run one after another, plus (sub-node, link kind, root name) attachments."""
    connections: dict[str, Any] = {}

    def link(source: str, kind: str, target: str) -> None:
        connections.setdefault(source, {}).setdefault(kind, [[]])[0].append(
            {"node": target, "type": kind, "index": 0}
        )

    for source, target in itertools.pairwise(nodes):
        link(source["name"], "main", target["name"])
    for sub_node, kind, root in attach:
        link(sub_node["name"], kind, root)
    return {"name": "test", "nodes": [*nodes, *(sub for sub, _, _ in attach)], "connections": connections}


def credentials(result: Classification) -> list[tuple[str, str | None, list[str]]]:
    return [(c.type, c.platform, c.nodes) for c in result.required_credentials]


# Required credentials


def test_credentials_blocks_are_listed_with_their_platform_and_nodes() -> None:
    result = classify(
        chain(
            node("manualTrigger"),
            node("gmail", "Send", credentials={"gmailOAuth2": {"name": "me"}}),
            node("telegram", "Tell", credentials={"telegramApi": {"name": "bot"}}),
            node("gmail", "Reply", credentials={"gmailOAuth2": {"name": "me"}}),
        )
    )
    assert credentials(result) == [
        ("gmailOAuth2", "email", ["Send", "Reply"]),
        ("telegramApi", "telegram", ["Tell"]),
    ]


@pytest.mark.parametrize(
    ("parameters", "expected"),
    [
        ({}, "slackApi"),
        ({"authentication": "accessToken"}, "slackApi"),
        ({"authentication": "oAuth2"}, "slackOAuth2Api"),
    ],
)
def test_a_slack_node_that_lost_its_credentials_still_needs_one(
    parameters: dict[str, Any], expected: str
) -> None:
    result = classify(chain(node("manualTrigger"), node("slack", "Post", parameters=parameters)))
    assert credentials(result) == [(expected, "slack", ["Post"])]
    assert not result.self_contained


def test_http_request_credentials_come_from_its_authentication_parameters() -> None:
    result = classify(
        chain(
            node("manualTrigger"),
            node(
                "httpRequest",
                "Predefined",
                typeVersion=4.2,
                parameters={"authentication": "predefinedCredentialType", "nodeCredentialType": "notionApi"},
            ),
            node(
                "httpRequest",
                "Generic",
                typeVersion=4.2,
                parameters={"authentication": "genericCredentialType", "genericAuthType": "httpHeaderAuth"},
            ),
            node("httpRequest", "Legacy", parameters={"authentication": "basicAuth"}),
            node("httpRequest", "Open", typeVersion=4.2, parameters={"url": "https://example.com"}),
        )
    )
    assert credentials(result) == [
        ("httpBasicAuth", None, ["Legacy"]),
        ("httpHeaderAuth", None, ["Generic"]),
        ("notionApi", "notion", ["Predefined"]),
    ]


def test_default_credentials_follow_the_node_version() -> None:
    result = classify(
        chain(
            node("manualTrigger"),
            node("googleSheets", "Old", typeVersion=1),
            node("googleSheets", "New", typeVersion=4.5),
            node("discord", "Webhook URL", typeVersion=1),
            node("discord", "Bot", typeVersion=2),
        )
    )
    assert credentials(result) == [
        ("discordBotApi", "discord", ["Bot"]),
        ("googleApi", "google_sheets", ["Old"]),
        ("googleSheetsOAuth2Api", "google_sheets", ["New"]),
    ]


def test_a_stale_credential_of_an_unused_authentication_mode_is_left_out() -> None:
    result = classify(
        chain(
            node(
                "httpRequest",
                "Call",
                typeVersion=4.2,
                parameters={"authentication": "genericCredentialType", "genericAuthType": "httpHeaderAuth"},
                credentials={"httpHeaderAuth": {"name": "h"}, "httpBasicAuth": {"name": "b"}},
            )
        )
    )
    assert credentials(result) == [("httpHeaderAuth", None, ["Call"])]


def test_disabled_nodes_need_no_credentials_and_the_result_serialises() -> None:
    result = classify(
        chain(node("manualTrigger"), node("twitter", "Tweet", disabled=True), node("openAi", "Write"))
    )
    assert result.required_credentials == [
        RequiredCredential(type="openAiApi", platform="openai", nodes=["Write"])
    ]
    assert json.loads(json.dumps(result.required_credentials_json())) == [
        {"type": "openAiApi", "platform": "openai", "nodes": ["Write"]}
    ]


# Required inputs


@pytest.mark.parametrize(
    "expression",
    [
        "={{ $json.body.email }}",
        '={{ $json["body"]["email"] }}',
        "={{ $json.body?.email }}",
        "={{ $json['body'].email.toLowerCase() }}",
        "={{ $input.item.json.body.email }}",
        "={{ $input.first().json.body.email }}",
    ],
)
def test_own_item_expressions_after_a_webhook_are_trigger_inputs(expression: str) -> None:
    result = classify(chain(node("webhook", "Hook"), node("set", "Use", parameters={"value": expression})))
    assert result.required_inputs == ["body.email"]


@pytest.mark.parametrize(
    "expression",
    [
        "$('Hook').item.json.body.email",
        '$("Hook").first().json.body.email',
        "$('Hook').last().json['body']['email']",
        "$('Hook').all()[0].json.body.email",
        '$node["Hook"].json["body"]["email"]',
        "$items('Hook')[0].json.body.email",
    ],
)
def test_expressions_naming_the_trigger_are_inputs_anywhere(expression: str) -> None:
    workflow = chain(
        node("webhook", "Hook"),
        node("set", "Reshape", parameters={"value": "={{ 1 }}"}),
        node("set", "Expression", parameters={"value": "={{ " + expression + " }}"}),
        node(
            "code",
            "Code",
            parameters={"jsCode": f"const email = {expression};\nreturn [{{json: {{email}}}}];"},
        ),
    )
    assert classify(workflow).required_inputs == ["body.email"]


def test_own_item_expressions_after_a_reshaping_node_are_not_trigger_inputs() -> None:
    workflow = chain(
        node("webhook", "Hook"),
        node("if", "Check", parameters={"value": "={{ $json.body.plan }}"}),
        node("set", "Reshape", parameters={"value": "={{ $json.body.email }}"}),
        node("slack", "Post", parameters={"text": "={{ $json.total }}"}),
    )
    assert classify(workflow).required_inputs == ["body.email", "body.plan"]


def test_a_manual_trigger_named_in_an_expression_is_read_like_any_trigger() -> None:
    workflow = chain(
        node("manualTrigger", "When clicking 'Execute workflow'"),
        node(
            "set",
            "Use",
            parameters={"v": "={{ $(\"When clicking 'Execute workflow'\").first().json.topic }}"},
        ),
    )
    assert classify(workflow).required_inputs == ["topic"]


def test_paths_stop_at_array_indexes_and_drop_string_members() -> None:
    workflow = chain(
        node("webhook", "Hook"),
        node(
            "set",
            "Use",
            parameters={"a": "={{ $json.body.items[0].name }}", "b": "={{ $json.query.q.length }}"},
        ),
    )
    assert classify(workflow).required_inputs == ["body.items", "query.q"]


def test_form_trigger_fields_are_inputs_by_label() -> None:
    form = node(
        "formTrigger",
        "Form",
        parameters={"formFields": {"values": [{"fieldLabel": "Email"}, {"fieldLabel": "Company name"}]}},
    )
    assert classify(chain(form)).required_inputs == ["Company name", "Email"]


def test_a_chat_trigger_needs_the_chat_input_and_what_its_agent_reads() -> None:
    workflow = chain(
        node(LC + "chatTrigger", "Chat"),
        node(LC + "agent", "Agent", parameters={"text": "={{ $json.chatInput }}"}),
        attach=[
            (
                node(
                    LC + "memoryBufferWindow", "Memory", parameters={"sessionKey": "={{ $json.sessionId }}"}
                ),
                "ai_memory",
                "Agent",
            )
        ],
    )
    assert classify(workflow).required_inputs == ["chatInput", "sessionId"]


@pytest.mark.parametrize(
    ("parameters", "expected"),
    [
        (
            {"workflowInputs": {"values": [{"name": "topic"}, {"name": "tone", "type": "string"}]}},
            ["tone", "topic"],
        ),
        ({"inputSource": "jsonExample", "jsonExample": '{"url": "x", "depth": 2}'}, ["depth", "url"]),
        ({"inputSource": "passthrough"}, []),
    ],
)
def test_sub_workflow_triggers_declare_their_inputs(parameters: dict[str, Any], expected: list[str]) -> None:
    trigger = node("executeWorkflowTrigger", "Start", typeVersion=1.1, parameters=parameters)
    assert classify(chain(trigger)).required_inputs == expected


def assignment(name: str, value: str, kind: str) -> dict[str, Any]:
    return {"id": name, "name": name, "value": value, "type": kind}


def condition(left: str, kind: str) -> dict[str, Any]:
    return {"leftValue": left, "rightValue": "", "operator": {"type": kind, "operation": "exists"}}


def test_set_assignments_and_conditions_declare_the_type_of_the_input_they_read_whole() -> None:
    workflow = chain(
        node("webhook", "Hook"),
        node(
            "if",
            "Check",
            parameters={"conditions": {"conditions": [condition("={{ $json.body.vip }}", "boolean")]}},
        ),
        node(
            "set",
            "Set tries",
            typeVersion=3.4,
            parameters={
                "assignments": {
                    "assignments": [
                        assignment("tries", "={{ $('Hook').item.json.body.tries || 0 }}", "number"),
                        assignment("vectors", "={{ $('Hook').item.json.body.vectors }}", "array"),
                        # Not the input itself (a literal default aside): a method's result, an
                        # operator's, a computed default, a template of several.
                        assignment("upper", "={{ $('Hook').item.json.body.name.toUpperCase() }}", "string"),
                        assignment("sum", "={{ $('Hook').item.json.body.a + 1 }}", "number"),
                        assignment("or", "={{ $('Hook').item.json.body.c || $now.toISO() }}", "string"),
                        assignment("both", "={{ $('Hook').item.json.body.b }} {{ 1 }}", "string"),
                    ]
                }
            },
        ),
    )
    result = classify(workflow)
    assert result.required_inputs == [
        "body.a",
        "body.b",
        "body.c",
        "body.name",
        "body.tries",
        "body.vectors",
        "body.vip",
    ]
    assert result.input_types == {"body.tries": "number", "body.vectors": "array", "body.vip": "boolean"}


def test_own_item_types_count_only_where_the_item_is_still_the_trigger_s() -> None:
    typed = {"assignments": {"assignments": [assignment("plan", "={{ $json.body.plan }}", "string")]}}
    direct = chain(node("webhook", "Hook"), node("set", "Use", parameters=typed))
    later = chain(
        node("webhook", "Hook"),
        node("set", "Use", parameters={"value": "={{ $json.body.plan }}"}),
        node("set", "Reshaped", parameters=typed),
    )
    assert classify(direct).input_types == {"body.plan": "string"}
    assert classify(later).input_types == {}  # `Reshaped` reads the first Set node's item, not the trigger's


def test_an_input_declared_with_two_types_or_a_type_json_lacks_gets_none() -> None:
    workflow = chain(
        node("webhook", "Hook"),
        node(
            "filter",
            "Filter",
            parameters={
                "conditions": {
                    "conditions": [
                        condition("={{ $json.body.when }}", "dateTime"),
                        condition("={{ $json.body.count }}", "number"),
                        condition("={{ $json.body.count }}", "string"),
                    ]
                }
            },
        ),
    )
    result = classify(workflow)
    assert result.required_inputs == ["body.count", "body.when"]
    assert result.input_types == {}


def test_sub_workflow_inputs_carry_their_declared_types() -> None:
    values = [
        {"name": "topic", "type": "string"},
        {"name": "depth", "type": "number"},
        {"name": "any", "type": "any"},
    ]
    trigger = node(
        "executeWorkflowTrigger", "Start", typeVersion=1.1, parameters={"workflowInputs": {"values": values}}
    )
    result = classify(chain(trigger))
    assert result.required_inputs == ["any", "depth", "topic"]
    assert result.input_types == {"depth": "number", "topic": "string"}


# Estimated duration


def test_an_llm_workflow_takes_longer_than_a_set_only_one() -> None:
    set_only = classify(chain(node("manualTrigger"), node("set")))
    llm = classify(
        chain(
            node("manualTrigger"),
            node(LC + "chainLlm", "Write"),
            attach=[(node(LC + "lmChatOpenAi", "Model"), "ai_languageModel", "Write")],
        )
    )
    assert set_only.estimated_duration_ms == DURATION_MS["core"]
    assert llm.estimated_duration_ms == DURATION_MS["llm"]
    assert llm.estimated_duration_ms > set_only.estimated_duration_ms


def test_durations_order_core_code_api_llm_image() -> None:
    def run(*nodes: dict[str, Any]) -> int:
        return classify(chain(node("manualTrigger"), *nodes)).estimated_duration_ms

    image = run(node(LC + "openAi", "Draw", parameters={"resource": "image"}))
    assert run(node("set")) < run(node("code")) < run(node("httpRequest")) < run(node("openAi")) < image


def test_an_agent_with_tools_pays_for_the_tool_round() -> None:
    workflow = chain(
        node(LC + "chatTrigger", "Chat"),
        node(LC + "agent", "Agent"),
        attach=[
            (node(LC + "lmChatOpenAi", "Model"), "ai_languageModel", "Agent"),
            (node(LC + "toolHttpRequest", "Search"), "ai_tool", "Agent"),
        ],
    )
    assert classify(workflow).estimated_duration_ms == 2 * DURATION_MS["llm"] + DURATION_MS["api"]


@pytest.mark.parametrize(
    ("parameters", "version", "expected"),
    [
        ({"amount": 30, "unit": "seconds"}, 1.1, 30_000),
        ({"amount": 2, "unit": "minutes"}, 1.1, 120_000),
        ({}, 1.1, 5_000),
        ({}, 1, 3_600_000),
        ({"amount": "={{ $json.delay }}"}, 1.1, 5_000),
        ({"amount": 3, "unit": "days"}, 1.1, WAIT_CAP_MS),
        ({"resume": "webhook"}, 1.1, WAIT_CAP_MS),
        (
            {"resume": "webhook", "limitWaitTime": True, "resumeAmount": 10, "resumeUnit": "minutes"},
            1.1,
            600_000,
        ),
    ],
)
def test_wait_nodes_cost_their_configured_interval_capped(
    parameters: dict[str, Any], version: float, expected: int
) -> None:
    assert wait_ms(node("wait", parameters=parameters, typeVersion=version)) == expected


def test_nodes_inside_a_loop_cost_more_than_nodes_after_it() -> None:
    workflow = chain(node("manualTrigger"), node("splitInBatches", "Loop"), node("httpRequest", "Call"))
    workflow["connections"]["Call"] = {"main": [[{"node": "Loop", "type": "main", "index": 0}]]}
    looped = classify(workflow).estimated_duration_ms
    straight = classify(
        chain(node("manualTrigger"), node("splitInBatches", "Loop"), node("httpRequest", "Call"))
    )
    assert looped == DURATION_MS["loop"] + LOOP_FACTOR * DURATION_MS["api"]
    assert straight.estimated_duration_ms == DURATION_MS["loop"] + DURATION_MS["api"]


def test_unreachable_and_disabled_nodes_cost_nothing() -> None:
    workflow = chain(node("manualTrigger"), node("openAi", "Off", disabled=True), node("set", "After"))
    workflow["nodes"].append(node("openAi", "Orphan"))
    assert classify(workflow).estimated_duration_ms == DURATION_MS["core"]


def test_when_no_trigger_is_wired_every_enabled_node_counts() -> None:
    workflow = chain(node("httpRequest", "Call"), node("set", "Shape"))
    workflow["nodes"].append(node("manualTrigger", "Start"))
    assert classify(workflow).estimated_duration_ms == DURATION_MS["api"] + DURATION_MS["core"]


def test_the_estimate_is_deterministic() -> None:
    workflow = chain(node("webhook"), node("code"), node("httpRequest"), node(LC + "agent"))
    assert len({classify(workflow).estimated_duration_ms for _ in range(3)}) == 1


# Hand-checked corpus templates


def corpus_classification(corpus_dir: Path, file_name: str) -> Classification:
    path = next((corpus_dir / "workflows").rglob(file_name))
    document = json.loads(path.read_text(encoding="utf-8"))
    return classify(normalize(document, file_name=path.name).workflow, tags=tag_names(document.get("tags")))


def test_corpus_strapi_webhook_to_medium_and_dev_to(corpus_dir: Path) -> None:
    result = corpus_classification(corpus_dir, "0952_HTTP_Medium_Automation_Webhook.json")
    assert credentials(result) == [
        ("httpHeaderAuth", None, ["Webhook", "HTTP Request"]),
        ("mediumApi", "blog", ["Medium"]),
    ]
    assert result.required_inputs == ["body.entry.PostContent", "body.entry.Tag", "body.entry.Title"]
    assert result.estimated_duration_ms == 2 * DURATION_MS["api"]
    assert "social_publishing" in result.capabilities


def test_corpus_contact_form_to_whatsapp_and_asana_needs_credentials_it_lost(corpus_dir: Path) -> None:
    result = corpus_classification(corpus_dir, "1908_Form_Asana_Automate_Triggered.json")
    assert result.credential_types == []
    assert credentials(result) == [
        ("asanaApi", "asana", ["Asana"]),
        ("whatsAppApi", "whatsapp", ["WhatsApp Business Cloud"]),
    ]
    assert result.required_inputs == [
        "What is your Phone Number?",
        "What is your problem?",
        "Whats is your Name?",
        "submittedAt",
    ]


def test_corpus_telegram_journal_infers_a_sheets_service_account(corpus_dir: Path) -> None:
    result = corpus_classification(corpus_dir, "0974_GoogleSheets_Telegram_Export_Triggered.json")
    assert credentials(result) == [
        ("googleApi", "google_sheets", ["Add entry to sheet"]),
        ("telegramApi", "telegram", ["Get journal reply"]),
    ]
    assert result.required_inputs == []  # the Function Item node reads `item.message`, not an expression
    assert result.estimated_duration_ms == DURATION_MS["code"] + DURATION_MS["api"]


def test_corpus_chat_assistant_reads_chat_input_and_session(corpus_dir: Path) -> None:
    result = corpus_classification(corpus_dir, "0407_Stickynote_Send_Triggered.json")
    assert result.trigger_type == "chat"
    assert result.required_inputs == ["chatInput", "sessionId"]
    assert credentials(result) == [("openAiApi", "openai", ["OpenAI"])]
    # assistant call + one tool round (calculator attached) + calculator + memory
    assert result.estimated_duration_ms == 2 * DURATION_MS["llm"] + 2 * DURATION_MS["core"]


def test_corpus_sub_workflow_declares_inputs_by_json_example(corpus_dir: Path) -> None:
    result = corpus_classification(corpus_dir, "1846_Stickynote_Executeworkflow_Automate_Triggered.json")
    assert result.trigger_type == "execute_workflow"
    assert result.required_inputs == ["audience", "name"]
    assert credentials(result) == [("openRouterApi", "openrouter", ["OpenRouter Chat Model"])]
    assert result.estimated_duration_ms == DURATION_MS["llm"] + DURATION_MS["core"] + DURATION_MS["code"]
