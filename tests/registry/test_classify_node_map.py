from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from spreaders.registry.classify import CAPABILITIES, classify, platform_for_credential, read_node
from spreaders.registry.node_map import node_map, node_spec
from spreaders.registry.parsing import parse_text

LC = "@n8n/n8n-nodes-langchain."
TOP_TYPES = 150


def corpus_type_counts(corpus_dir: Path) -> tuple[Counter[str], Counter[str]]:
    """Files containing each node type, and node occurrences of each type, over the corpus."""
    files: Counter[str] = Counter()
    occurrences: Counter[str] = Counter()
    for path in sorted((corpus_dir / "workflows").rglob("*.json")):
        types: set[str] = set()
        for document in parse_text(path.read_text(encoding="utf-8")).workflows:
            for node in document["nodes"]:
                types.add(node["type"])
                occurrences[node["type"]] += 1
        files.update(types)
    return files, occurrences


@pytest.fixture(scope="module")
def type_counts(corpus_dir: Path) -> tuple[Counter[str], Counter[str]]:
    return corpus_type_counts(corpus_dir)


def test_the_most_used_corpus_node_types_are_all_in_the_mapping(
    type_counts: tuple[Counter[str], Counter[str]],
) -> None:
    files, _ = type_counts
    threshold = files.most_common(TOP_TYPES)[-1][1]
    # Types tied with the 150th count too, so the check does not depend on tie order.
    top = sorted(kind for kind, count in files.items() if count >= threshold)
    assert len(top) >= TOP_TYPES
    assert [kind for kind in top if node_spec(kind) is None] == []


def test_the_mapping_covers_nearly_every_node_in_the_corpus(
    type_counts: tuple[Counter[str], Counter[str]],
) -> None:
    _, occurrences = type_counts
    covered = sum(count for kind, count in occurrences.items() if node_spec(kind) is not None)
    assert covered / sum(occurrences.values()) > 0.99


def test_every_credential_the_mapping_names_has_a_platform_entry() -> None:
    mapping = node_map()
    named = {
        credential
        for spec in mapping.nodes.values()
        if spec.credentials is not None
        for credential in spec.credentials.possible()
    }
    assert named - set(mapping.credential_platforms) == set()


def test_mapped_capabilities_are_in_the_planner_vocabulary() -> None:
    used = {
        capability
        for spec in node_map().nodes.values()
        for capability in (*spec.capabilities, *(c for rule in spec.rules for c in rule.capabilities))
    }
    assert used <= set(CAPABILITIES)


@pytest.mark.parametrize("kind", ["set", "if", "code", "merge", "splitOut", "noOp", "filter", "switch"])
def test_core_utility_nodes_are_listed_as_core_without_a_platform(kind: str) -> None:
    spec = node_spec(f"n8n-nodes-base.{kind}")
    assert spec is not None
    assert spec.platform is None
    assert not spec.external
    assert spec.credentials is None


@pytest.mark.parametrize(
    ("short", "platform", "credential"),
    [
        ("lmChatOpenAi", "openai", "openAiApi"),
        ("lmChatAnthropic", "anthropic", "anthropicApi"),
        ("lmChatGoogleGemini", "google_gemini", "googlePalmApi"),
        ("lmChatMistralCloud", "mistral", "mistralCloudApi"),
        ("lmChatOllama", "ollama", "ollamaApi"),
        ("lmChatGroq", "groq", "groqApi"),
        ("lmChatOpenRouter", "openrouter", "openRouterApi"),
        ("lmChatDeepSeek", "deepseek", "deepSeekApi"),
        ("embeddingsOpenAi", "openai", "openAiApi"),
        ("vectorStoreQdrant", "qdrant", "qdrantApi"),
        ("vectorStorePinecone", "pinecone", "pineconeApi"),
        ("memoryPostgresChat", "postgres", "postgres"),
        ("toolSerpApi", "serpapi", "serpApi"),
    ],
)
def test_langchain_models_stores_and_tools_name_their_provider(
    short: str, platform: str, credential: str
) -> None:
    spec = node_spec(LC + short)
    assert spec is not None and spec.credentials is not None
    assert spec.platform == platform
    assert spec.credentials.default == credential
    assert platform_for_credential(credential) == platform


@pytest.mark.parametrize(
    "short", ["agent", "chainLlm", "memoryBufferWindow", "outputParserStructured", "toolCode"]
)
def test_langchain_roots_and_helpers_run_inside_n8n(short: str) -> None:
    spec = node_spec(LC + short)
    assert spec is not None
    assert spec.platform is None
    assert not spec.external


def reading(kind: str, **parameters: Any) -> tuple[list[str], str]:
    found = read_node({"name": kind, "type": kind, "parameters": parameters})
    return sorted(found.capabilities), found.kind


def test_gmail_sending_is_an_email_campaign_but_reading_and_the_trigger_are_not() -> None:
    assert reading("n8n-nodes-base.gmail") == (["email_campaign"], "api")
    assert reading("n8n-nodes-base.gmail", operation="send") == (["email_campaign"], "api")
    assert reading("n8n-nodes-base.gmail", operation="getAll") == ([], "api")
    assert reading("n8n-nodes-base.gmailTrigger") == ([], "trigger")


def test_an_inbox_trigger_named_for_leads_is_lead_capture() -> None:
    found = read_node({"name": "New lead email", "type": "n8n-nodes-base.gmailTrigger", "parameters": {}})
    assert found.capabilities == {"lead_capture"}


def test_openai_resources_decide_between_text_image_and_analysis() -> None:
    assert reading(LC + "openAi") == (["content_generation_text"], "llm")
    assert reading(LC + "openAi", resource="image") == (["content_generation_image"], "image")
    assert reading(LC + "openAi", resource="image", operation="analyze") == (
        ["content_generation_text"],
        "llm",
    )
    assert reading(LC + "openAi", resource="audio", operation="transcribe") == ([], "llm")


def test_http_calls_to_image_apis_run_as_image_generation() -> None:
    assert reading("n8n-nodes-base.httpRequest", url="https://api.replicate.com/v1/predictions") == (
        ["content_generation_image"],
        "image",
    )


def test_a_tool_variant_missing_from_the_mapping_reads_as_its_base_node() -> None:
    assert node_spec("n8n-nodes-base.hackerNewsTool") is None
    found = read_node({"name": "HN", "type": "n8n-nodes-base.hackerNewsTool", "parameters": {}})
    assert found.platforms == {"hacker_news"}


def test_unmapped_community_nodes_fall_back_to_the_platform_table() -> None:
    found = read_node({"name": "x", "type": "@acme/n8n-nodes-x.twitter", "parameters": {}})
    assert found.spec is None
    assert found.platforms == {"twitter"}
    assert found.kind == "api"


def test_gemini_is_filed_under_google_gemini_and_credentials_add_platforms() -> None:
    result = classify(
        {
            "nodes": [
                {
                    "name": "Chat",
                    "type": LC + "lmChatGoogleGemini",
                    "credentials": {"googlePalmApi": {"name": "g"}},
                },
                {"name": "Sheet", "type": "n8n-nodes-base.code", "credentials": {"gitlabApi": {"name": "g"}}},
            ],
            "connections": {},
        }
    )
    assert result.platforms == ["gitlab", "google_gemini"]
