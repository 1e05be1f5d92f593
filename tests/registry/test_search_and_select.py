from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from spreaders.accounts.schemas import Principal
from spreaders.errors import Invalid
from spreaders.registry import selection
from spreaders.registry import service as registry
from spreaders.registry.schemas import TemplateSearch
from spreaders.registry.search import DEFAULT_RANKING, search_templates

from .runs import finish_runs


def workflow(name: str, *kinds: str, tags: tuple[str, ...] = (), note: str = "") -> dict[str, Any]:
    nodes: list[dict[str, Any]] = [
        {"name": kind, "type": kind if "." in kind else f"n8n-nodes-base.{kind}", "parameters": {}}
        for kind in kinds
    ]
    if note:
        nodes.append({"name": "Note", "type": "n8n-nodes-base.stickyNote", "parameters": {"content": note}})
    return {"name": name, "nodes": nodes, "connections": {}, "tags": list(tags)}


async def add(session: AsyncSession, principal: Principal, document: dict[str, Any]) -> str:
    row = await registry.import_workflow(session, tenant_id=principal.tenant_id, document=document)
    return row.id


async def find(session: AsyncSession, principal: Principal, **query: Any) -> list[str]:
    page = await search_templates(session, tenant_id=principal.tenant_id, query=TemplateSearch(**query))
    return [item.name for item in page.items]


@pytest.fixture
async def library(session: AsyncSession, principal: Principal) -> dict[str, str]:
    documents = [
        workflow("Tweet new blog posts", "scheduleTrigger", "rssFeedRead", "twitter"),
        workflow("LinkedIn and Twitter announcer", "manualTrigger", "linkedIn", "twitter"),
        workflow(
            "Weekly newsletter", "scheduleTrigger", "mailchimp", note="Sends the weekly digest to subscribers"
        ),
        workflow("Lead form to HubSpot", "formTrigger", "hubspot"),
        workflow("AI caption writer", "webhook", "@n8n/n8n-nodes-langchain.openAi"),
        workflow(
            "Offline helper", "manualTrigger", "code", tags=("spreaders:capability=content_generation_text",)
        ),
    ]
    return {document["name"]: await add(session, principal, document) for document in documents}


async def test_templates_matching_every_keyword_come_first_case_insensitively(
    session: AsyncSession, principal: Principal, library: dict[str, str]
) -> None:
    assert await find(session, principal, query="TWITTER") == [
        "LinkedIn and Twitter announcer",
        "Tweet new blog posts",
    ]
    assert await find(session, principal, query="twitter linkedin") == [
        "LinkedIn and Twitter announcer",
        "Tweet new blog posts",
    ]
    assert await find(session, principal, query="subscribers digest") == ["Weekly newsletter"]
    # No template has both: each word still finds its own.
    assert set(await find(session, principal, query="twitter mailchimp")) == {
        "LinkedIn and Twitter announcer",
        "Tweet new blog posts",
        "Weekly newsletter",
    }


async def test_like_wildcards_in_a_query_are_taken_literally(
    session: AsyncSession, principal: Principal, library: dict[str, str]
) -> None:
    assert await find(session, principal, query="%") == []
    assert await find(session, principal, query="tw_tter") == []
    assert await find(session, principal, query="lead_capture") == ["Lead form to HubSpot"]


async def test_filters_narrow_the_results(
    session: AsyncSession, principal: Principal, library: dict[str, str]
) -> None:
    assert await find(session, principal, platforms=["hubspot", "email"]) == [
        "Lead form to HubSpot",
        "Weekly newsletter",
    ]
    assert await find(session, principal, capabilities=["crm_sync"]) == ["Lead form to HubSpot"]
    assert await find(session, principal, trigger_type="webhook") == ["AI caption writer"]
    assert await find(session, principal, self_contained=True) == ["Offline helper"]
    assert await find(session, principal, category="Social Media Management") == [
        "LinkedIn and Twitter announcer",
        "Tweet new blog posts",
    ]


async def test_platform_filter_accepts_everyday_names(
    session: AsyncSession, principal: Principal, library: dict[str, str]
) -> None:
    assert await find(session, principal, platforms=["X"]) == await find(
        session, principal, platforms=["twitter"]
    )
    assert await find(session, principal, platforms=["Mailchimp"]) == ["Weekly newsletter"]


async def test_more_matching_platforms_rank_higher(
    session: AsyncSession, principal: Principal, library: dict[str, str]
) -> None:
    page = await search_templates(
        session, tenant_id=principal.tenant_id, query=TemplateSearch(platforms=["twitter", "linkedin"])
    )
    assert [(item.name, item.score) for item in page.items] == [
        ("LinkedIn and Twitter announcer", 40.0),
        ("Tweet new blog posts", 20.0),
    ]


async def test_success_rate_and_popularity_raise_the_rank(
    session: AsyncSession, principal: Principal, library: dict[str, str]
) -> None:
    assert await find(session, principal, platforms=["twitter"]) == [
        "LinkedIn and Twitter announcer",
        "Tweet new blog posts",
    ]
    tweet_id = library["Tweet new blog posts"]
    await finish_runs(
        session, tenant_id=principal.tenant_id, template_id=tweet_id, succeeded=(True, True, True, False)
    )
    page = await search_templates(
        session, tenant_id=principal.tenant_id, query=TemplateSearch(platforms=["twitter"])
    )
    assert [(item.name, item.score) for item in page.items] == [
        ("Tweet new blog posts", 40 + 15 + 10),
        ("LinkedIn and Twitter announcer", 40),
    ]
    # With words, text relevance (0..1, times DEFAULT_RANKING.text) is added to the same points.
    page = await search_templates(
        session, tenant_id=principal.tenant_id, query=TemplateSearch(query="twitter")
    )
    scores = {item.name: item.score for item in page.items}
    assert 25 < scores["Tweet new blog posts"] <= 25 + DEFAULT_RANKING.text
    assert scores["LinkedIn and Twitter announcer"] == DEFAULT_RANKING.text


async def test_keyword_in_the_name_outranks_keyword_in_the_body(
    session: AsyncSession, principal: Principal, library: dict[str, str]
) -> None:
    await add(session, principal, workflow("Digest mailer", "manualTrigger", "emailSend"))
    assert await find(session, principal, query="digest") == ["Digest mailer", "Weekly newsletter"]


async def test_equal_scores_are_ordered_by_name(
    session: AsyncSession, principal: Principal, library: dict[str, str]
) -> None:
    names = await find(session, principal, limit=100)
    assert names == sorted(names)


async def test_pages_share_one_total(
    session: AsyncSession, principal: Principal, library: dict[str, str]
) -> None:
    everything = await find(session, principal)
    first = await search_templates(session, tenant_id=principal.tenant_id, query=TemplateSearch(limit=2))
    second = await search_templates(
        session, tenant_id=principal.tenant_id, query=TemplateSearch(limit=2, offset=2)
    )
    assert first.total == second.total == len(everything) == 6
    assert [item.name for item in first.items + second.items] == everything[:4]


@pytest.mark.parametrize("bad", [{"limit": 0}, {"limit": 101}, {"offset": -1}])
def test_search_limits_are_validated(bad: dict[str, int]) -> None:
    with pytest.raises(ValidationError):
        TemplateSearch(**bad)


async def test_select_covers_required_capabilities_without_redundancy(
    session: AsyncSession, principal: Principal
) -> None:
    for document in [
        workflow("Both", "scheduleTrigger", "twitter", "@n8n/n8n-nodes-langchain.agent"),
        workflow("Social only", "manualTrigger", "twitter"),
        workflow("Writer only", "manualTrigger", "@n8n/n8n-nodes-langchain.chainLlm"),
        workflow("Mailer", "manualTrigger", "sendGrid"),
        workflow("Unrelated", "manualTrigger", "set"),
    ]:
        await add(session, principal, document)
    chosen = await selection.select_for_requirements(
        session,
        tenant_id=principal.tenant_id,
        capabilities=["social_publishing", "content_generation_text", "email_campaign", "ad_campaign"],
        platforms=["twitter"],
    )
    assert [item.name for item in chosen] == ["Both", "Mailer"]
    assert chosen[0].score > 0


async def test_select_takes_more_than_one_per_capability_when_asked(
    session: AsyncSession, principal: Principal
) -> None:
    for document in [
        workflow("Social A", "manualTrigger", "twitter"),
        workflow("Social B", "manualTrigger", "linkedIn"),
        workflow("Social C", "manualTrigger", "reddit"),
    ]:
        await add(session, principal, document)
    chosen = await selection.select_for_requirements(
        session,
        tenant_id=principal.tenant_id,
        capabilities=["social_publishing"],
        platforms=["linkedin"],
        limit_per_capability=2,
    )
    assert [item.name for item in chosen] == ["Social B", "Social A"]


async def test_select_can_insist_on_self_contained_templates(
    session: AsyncSession, principal: Principal, library: dict[str, str]
) -> None:
    chosen = await selection.select_for_requirements(
        session,
        tenant_id=principal.tenant_id,
        capabilities=["content_generation_text"],
        platforms=[],
        self_contained_only=True,
    )
    assert [item.name for item in chosen] == ["Offline helper"]


async def test_select_rejects_a_zero_limit(session: AsyncSession, principal: Principal) -> None:
    with pytest.raises(Invalid):
        await selection.select_for_requirements(
            session,
            tenant_id=principal.tenant_id,
            capabilities=["scheduling"],
            platforms=[],
            limit_per_capability=0,
        )
