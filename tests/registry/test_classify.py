from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from spreaders.registry.classify import canonical_platform, classify, derive_category, detect_trigger
from spreaders.registry.normalize import normalize, tag_names


def node(kind: str, name: str | None = None, **extra: Any) -> dict[str, Any]:
    full_type = kind if "." in kind else f"n8n-nodes-base.{kind}"
    return {"name": name or kind, "type": full_type, "parameters": extra.pop("parameters", {}), **extra}


def workflow(*nodes: dict[str, Any], tags: list[Any] | None = None) -> dict[str, Any]:
    document: dict[str, Any] = {"name": "test", "nodes": list(nodes), "connections": {}}
    if tags is not None:
        document["tags"] = tags
    return document


@pytest.mark.parametrize(
    ("kinds", "expected"),
    [
        (["manualTrigger", "set"], "manual"),
        (["webhook", "respondToWebhook"], "webhook"),
        (["scheduleTrigger"], "schedule"),
        (["cron"], "schedule"),
        (["formTrigger", "form"], "form"),
        (["telegramTrigger"], "app"),
        (["@n8n/n8n-nodes-langchain.chatTrigger"], "chat"),
        (["executeWorkflowTrigger"], "execute_workflow"),
        (["set", "code"], "none"),
        (["manualTrigger", "scheduleTrigger"], "schedule"),
    ],
)
def test_trigger_type_comes_from_the_trigger_nodes(kinds: list[str], expected: str) -> None:
    assert detect_trigger([node(kind) for kind in kinds]) == expected


def test_disabled_triggers_do_not_count() -> None:
    assert detect_trigger([node("manualTrigger"), node("webhook", disabled=True)]) == "manual"


def test_social_post_on_a_schedule_is_social_publishing_and_scheduling() -> None:
    result = classify(workflow(node("scheduleTrigger"), node("twitter"), node("linkedIn")))
    assert result.trigger_type == "schedule"
    assert result.platforms == ["linkedin", "twitter"]
    assert result.capabilities == ["social_publishing", "scheduling"]
    assert derive_category(result) == "Social Media Management"


def test_reading_a_social_platform_is_not_publishing() -> None:
    result = classify(workflow(node("manualTrigger"), node("twitter", parameters={"operation": "search"})))
    assert result.platforms == ["twitter"]
    assert "social_publishing" not in result.capabilities


def test_email_sending_and_llm_text_are_recognised() -> None:
    result = classify(
        workflow(
            node("webhook"),
            node("@n8n/n8n-nodes-langchain.lmChatOpenAi"),
            node("@n8n/n8n-nodes-langchain.agent"),
            node("gmail", parameters={"operation": "send"}),
            node("mailchimp"),
        )
    )
    assert result.platforms == ["email", "openai"]
    assert result.capabilities == ["content_generation_text", "email_campaign"]
    assert derive_category(result) == "Marketing & Advertising Automation"


def test_openai_image_generation_is_image_content() -> None:
    result = classify(workflow(node("manualTrigger"), node("openAi", parameters={"resource": "image"})))
    assert result.capabilities == ["content_generation_image"]
    assert derive_category(result) == "Creative Content & Video Automation"


def test_platforms_also_come_from_credential_types() -> None:
    result = classify(
        workflow(
            node("manualTrigger"),
            node("httpRequest", credentials={"facebookGraphApi": {"name": "fb"}}),
            node("httpRequest", "Two", credentials={"googleSheetsOAuth2Api": {"name": "g"}}),
        )
    )
    assert result.platforms == ["facebook", "google_sheets"]
    assert result.credential_types == ["facebookGraphApi", "googleSheetsOAuth2Api"]


def test_http_calls_to_known_apis_name_their_platform() -> None:
    result = classify(
        workflow(
            node("manualTrigger"),
            node(
                "httpRequest",
                parameters={"url": "https://open.tiktokapis.com/v2/post/publish/", "method": "POST"},
            ),
            node("httpRequest", "Video", parameters={"url": "https://api.heygen.com/v2/video/generate"}),
        )
    )
    assert result.platforms == ["tiktok"]
    assert result.capabilities == ["content_generation_video", "social_publishing"]


@pytest.mark.parametrize(
    ("kind", "platform", "capability"),
    [
        ("hubspot", "hubspot", "crm_sync"),
        ("salesforce", "salesforce", "crm_sync"),
        ("pipedrive", "pipedrive", "crm_sync"),
        ("googleAds", "google_ads", "ad_campaign"),
        ("googleAnalytics", "google_analytics", "analytics_tracking"),
        ("typeformTrigger", "forms", "lead_capture"),
        ("formTrigger", "forms", "lead_capture"),
    ],
)
def test_marketing_nodes_map_to_platform_and_capability(kind: str, platform: str, capability: str) -> None:
    result = classify(workflow(node(kind)))
    assert platform in result.platforms
    assert capability in result.capabilities


def test_webhook_named_for_leads_is_lead_capture() -> None:
    plain = classify(workflow(node("webhook", parameters={"path": "github-events"})))
    leads = classify(workflow(node("webhook", "New signup", parameters={"path": "x"})))
    assert "lead_capture" not in plain.capabilities
    assert "lead_capture" in leads.capabilities


@pytest.mark.parametrize(
    "tags",
    [
        ["spreaders:capability=ad_campaign", "spreaders:platform=Instagram", "other"],
        [{"id": "1", "name": "spreaders:capability=ad_campaign"}, {"name": "spreaders:platform=instagram"}],
    ],
)
def test_spreaders_tags_add_capabilities_and_platforms(tags: list[Any]) -> None:
    result = classify(workflow(node("manualTrigger"), node("code")), tags=tag_names(tags))
    assert result.capabilities == ["ad_campaign"]
    assert result.platforms == ["instagram"]


def test_unknown_capability_tag_is_a_warning() -> None:
    result = classify(workflow(node("manualTrigger")), tags=["spreaders:capability=telepathy"])
    assert result.capabilities == []
    assert "telepathy" in result.warnings[0]


def test_core_nodes_without_credentials_are_self_contained() -> None:
    assert classify(
        workflow(node("manualTrigger"), node("set"), node("code"), node("stickyNote"))
    ).self_contained


@pytest.mark.parametrize(
    "extra",
    [
        node("httpRequest"),
        node("code", "Keyed", credentials={"httpHeaderAuth": {"name": "k"}}),
        node("twitter"),
        node("@acme/n8n-nodes-tools.set"),
    ],
)
def test_network_credential_or_community_nodes_are_not_self_contained(extra: dict[str, Any]) -> None:
    assert not classify(workflow(node("manualTrigger"), extra)).self_contained


def test_node_count_leaves_out_sticky_notes() -> None:
    result = classify(workflow(node("manualTrigger"), node("set"), node("stickyNote")))
    assert result.node_count == 2
    assert result.node_types == [
        "n8n-nodes-base.manualTrigger",
        "n8n-nodes-base.set",
        "n8n-nodes-base.stickyNote",
    ]


def test_nothing_recognised_is_uncategorized() -> None:
    assert derive_category(classify(workflow(node("manualTrigger"), node("set")))) == "Uncategorized"


def corpus_classification(corpus_dir: Path, file_name: str) -> Any:
    path = next((corpus_dir / "workflows").rglob(file_name))
    document = json.loads(path.read_text(encoding="utf-8"))
    normalized = normalize(document, file_name=path.name)
    return classify(normalized.workflow, tags=tag_names(document.get("tags")))


def test_corpus_twitter_search_workflow_is_manual_and_reads_twitter(corpus_dir: Path) -> None:
    result = corpus_classification(corpus_dir, "0005_Manual_Twitter_Create_Triggered.json")
    assert result.trigger_type == "manual"
    assert result.platforms == ["airtable", "twitter"]
    assert "social_publishing" not in result.capabilities


def test_corpus_typeform_workflow_captures_leads_into_sheets(corpus_dir: Path) -> None:
    result = corpus_classification(corpus_dir, "0004_GoogleSheets_Typeform_Automate_Triggered.json")
    assert result.trigger_type == "app"
    assert result.platforms == ["forms", "google_sheets"]
    assert "lead_capture" in result.capabilities


def test_corpus_scheduled_ai_report_sends_email_and_telegram(corpus_dir: Path) -> None:
    result = corpus_classification(corpus_dir, "0001_Telegram_Schedule_Automation_Scheduled.json")
    assert result.trigger_type == "schedule"
    assert {"email", "telegram"} <= set(result.platforms)
    assert {"content_generation_text", "email_campaign", "scheduling"} <= set(result.capabilities)
    assert not result.self_contained


@pytest.mark.parametrize(
    ("written", "canonical"),
    [
        ("X", "twitter"),
        ("Google Sheets", "google_sheets"),
        ("google-sheets", "google_sheets"),
        ("Mailchimp", "email"),
        ("LinkedIn", "linkedin"),
        ("facebook_ads", "facebook_ads"),
        ("Mastodon", "mastodon"),
        ("Some New App", "some_new_app"),
    ],
)
def test_platform_names_as_people_write_them_are_canonicalised(written: str, canonical: str) -> None:
    assert canonical_platform(written) == canonical
