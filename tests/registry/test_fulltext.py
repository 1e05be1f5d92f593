"""Full-text search on SQLite FTS5 and PostgreSQL tsvector (run the suite with each database)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import delete, inspect, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from spreaders.accounts import service as accounts
from spreaders.accounts.schemas import Principal
from spreaders.registry import service as registry
from spreaders.registry.fulltext import terms
from spreaders.registry.models import WorkflowTemplate
from spreaders.registry.schemas import TemplateSearch
from spreaders.registry.search import CANDIDATES, search_templates

from .runs import finish_runs


def workflow(name: str, *kinds: str, note: str = "", description: str = "") -> dict[str, Any]:
    nodes: list[dict[str, Any]] = [
        {"name": kind, "type": f"n8n-nodes-base.{kind}", "parameters": {}} for kind in kinds
    ]
    if note:
        nodes.append({"name": "Note", "type": "n8n-nodes-base.stickyNote", "parameters": {"content": note}})
    document: dict[str, Any] = {"name": name, "nodes": nodes, "connections": {}}
    if description:
        document["description"] = description
    return document


async def add(session: AsyncSession, tenant_id: str, document: dict[str, Any], key: str | None = None) -> str:
    row = await registry.import_workflow(session, tenant_id=tenant_id, document=document, lineage_key=key)
    return row.id


async def names(
    session: AsyncSession, tenant_id: str, connected: list[str] | None = None, **query: Any
) -> list[str]:
    page = await search_templates(
        session, tenant_id=tenant_id, query=TemplateSearch(**query), connected_credential_types=connected
    )
    return [item.name for item in page.items]


def dialect(session: AsyncSession) -> str:
    return session.get_bind().dialect.name


_FACET_COLUMNS = (
    "id, tenant_id, is_active, name, category, trigger_type, self_contained, usage_count, success_count"
)


async def assert_index_in_step(session: AsyncSession) -> None:
    """The full-text index and the facets hold exactly the templates' current values."""
    if dialect(session) == "sqlite":
        check = (
            "INSERT INTO workflow_templates_fts(workflow_templates_fts, rank) VALUES ('integrity-check', 1)"
        )
        await session.execute(text(check))
        facets = f"SELECT {_FACET_COLUMNS}, platforms, capabilities, required_credentials"
    else:
        facets = (
            f"SELECT {_FACET_COLUMNS}, platforms::text, capabilities::text, required_credentials::text, "
            "search_vector::text"
        )
    templates = facets.replace(
        "search_vector::text", "workflow_templates_search_vector(name, description, search_text)::text"
    )
    facets, templates = f"{facets} FROM workflow_templates_fts_facets", f"{templates} FROM workflow_templates"
    for one, other in ((facets, templates), (templates, facets)):
        only_here = f"SELECT count(*) FROM ({one} EXCEPT {other}) AS d"
        assert (await session.execute(text(only_here))).scalar_one() == 0


async def test_the_migration_creates_the_full_text_objects_of_the_database(session: AsyncSession) -> None:
    version = (await session.execute(text("SELECT version_num FROM alembic_version"))).scalar_one()
    assert version >= "0002"  # later revisions build on it
    conn = await session.connection()
    if dialect(session) == "sqlite":
        found = set(
            (
                await session.execute(
                    text("SELECT name FROM sqlite_master WHERE name LIKE 'workflow_templates_fts%'")
                )
            )
            .scalars()
            .all()
        )
        assert {
            "workflow_templates_fts",
            "workflow_templates_fts_insert",
            "workflow_templates_fts_update",
            "workflow_templates_fts_delete",
            "workflow_templates_fts_facets",
            "workflow_templates_fts_facets_insert",
            "workflow_templates_fts_facets_update",
            "workflow_templates_fts_facets_delete",
        } <= found
    else:
        columns = await conn.run_sync(
            lambda c: {col["name"] for col in inspect(c).get_columns("workflow_templates_fts_facets")}
        )
        indexes = await conn.run_sync(
            lambda c: {ix["name"] for ix in inspect(c).get_indexes("workflow_templates_fts_facets")}
        )
        triggers = set(
            (
                await session.execute(
                    text("SELECT tgname FROM pg_trigger WHERE tgrelid = 'workflow_templates'::regclass")
                )
            )
            .scalars()
            .all()
        )
        assert {"id", "tenant_id", "is_active", "search_vector"} <= columns
        assert {
            "ix_workflow_templates_fts_facets_search_vector",
            "ix_workflow_templates_fts_facets_head_vector",  # migration 0015, for pruned searches
        } <= indexes
        assert {
            "workflow_templates_fts_facets_insert",
            "workflow_templates_fts_facets_update",
            "workflow_templates_fts_facets_delete",
        } <= triggers


async def test_inserted_updated_and_deleted_rows_stay_in_step(
    session: AsyncSession, principal: Principal
) -> None:
    tenant = principal.tenant_id
    first = await add(session, tenant, workflow("Pelican digest", "emailSend"), key="bird")
    assert await names(session, tenant, query="pelican") == ["Pelican digest"]

    # A new version deactivates the old one: only the active row is searched.
    await add(session, tenant, workflow("Albatross digest", "emailSend"), key="bird")
    assert await names(session, tenant, query="pelican") == []
    assert await names(session, tenant, query="albatross") == ["Albatross digest"]

    await session.execute(
        update(WorkflowTemplate).where(WorkflowTemplate.id == first).values(is_active=True, name="Cormorant")
    )
    await session.execute(
        update(WorkflowTemplate)
        .where(WorkflowTemplate.tenant_id == tenant, WorkflowTemplate.name == "Albatross digest")
        .values(is_active=False)
    )
    assert await names(session, tenant, query="cormorant") == ["Cormorant"]
    assert await names(session, tenant, query="albatross") == []

    await finish_runs(session, tenant_id=tenant, template_id=first, succeeded=(True,))
    await assert_index_in_step(session)
    await session.execute(delete(WorkflowTemplate).where(WorkflowTemplate.id == first))
    assert await names(session, tenant, query="cormorant") == []
    await assert_index_in_step(session)


async def test_a_name_match_ranks_above_a_body_only_match(
    session: AsyncSession, principal: Principal
) -> None:
    tenant = principal.tenant_id
    await add(session, tenant, workflow("Weekly report", "emailSend", note="Builds a flamingo overview"))
    await add(session, tenant, workflow("Flamingo counter", "emailSend"))
    assert await names(session, tenant, query="flamingo") == ["Flamingo counter", "Weekly report"]


async def test_stemming_finds_other_forms_of_a_word(session: AsyncSession, principal: Principal) -> None:
    tenant = principal.tenant_id
    await add(session, tenant, workflow("Post to the wombat channel", "slack"))
    assert await names(session, tenant, query="posting wombats") == ["Post to the wombat channel"]


async def test_templates_with_every_word_come_first(session: AsyncSession, principal: Principal) -> None:
    tenant = principal.tenant_id
    await add(session, tenant, workflow("Heron heron heron alerts", "slack"))
    await add(session, tenant, workflow("Heron and ibis sync", "slack"))
    await add(session, tenant, workflow("Ibis only", "slack"))
    found = await names(session, tenant, query="heron ibis")
    assert found[0] == "Heron and ibis sync"
    assert set(found) == {"Heron heron heron alerts", "Heron and ibis sync", "Ibis only"}


@pytest.mark.parametrize(
    "user_text",
    [
        'toucan"',
        '"toucan',
        "toucan AND OR NOT",
        "NEAR(toucan parrot)",
        "toucan*",
        "name:toucan",
        "^toucan",
        "-toucan",
        "toucan & | ! <-> :*",
        "'; DROP TABLE workflow_templates; --",
        "(((",
        "e-mail lead_capture",
        "toucán",
    ],
)
async def test_operators_and_punctuation_in_user_text_are_taken_as_words(
    session: AsyncSession, principal: Principal, user_text: str
) -> None:
    tenant = principal.tenant_id
    await add(session, tenant, workflow("Toucan mailer", "emailSend"))
    found = await names(session, tenant, query=user_text)
    if "toucan" in terms(user_text) or "toucán" in user_text:
        assert found == ["Toucan mailer"]


def test_terms_keep_joined_words_as_one_phrase_and_drop_stop_words() -> None:
    assert terms("Send the E-mail to my lead_capture list, NOW!") == [
        "send",
        "e mail",
        "lead capture",
        "list",
    ]
    assert terms('"" %% ') == []


async def test_filters_combine_with_text(session: AsyncSession, principal: Principal) -> None:
    tenant = principal.tenant_id
    await add(session, tenant, workflow("Puffin tweets", "scheduleTrigger", "twitter"))
    await add(session, tenant, workflow("Puffin mails", "scheduleTrigger", "emailSend"))
    await add(session, tenant, workflow("Puffin webhook mails", "webhook", "emailSend"))
    assert await names(session, tenant, query="puffin", platforms=["email"]) == [
        "Puffin mails",
        "Puffin webhook mails",
    ]
    assert await names(session, tenant, query="puffin", platforms=["email"], trigger_type="webhook") == [
        "Puffin webhook mails"
    ]
    assert await names(session, tenant, query="puffin", capabilities=["social_publishing"]) == [
        "Puffin tweets"
    ]


async def test_connected_only_keeps_what_the_connected_credential_types_can_run(
    session: AsyncSession, principal: Principal
) -> None:
    tenant = principal.tenant_id
    needs = {
        "Kiwi offline": [],
        "Kiwi tweets": [{"type": "twitterOAuth2Api", "platform": "twitter", "nodes": ["twitter"]}],
        "Kiwi both": [
            {"type": "twitterOAuth2Api", "platform": "twitter", "nodes": ["twitter"]},
            {"type": "slackApi", "platform": "slack", "nodes": ["slack"]},
        ],
        "Kiwi unknown": [{"type": "httpBasicAuth", "platform": None, "nodes": ["HTTP"]}],
    }
    for name, credentials in needs.items():
        template_id = await add(session, tenant, workflow(name, "manualTrigger"))
        await session.execute(
            update(WorkflowTemplate)
            .where(WorkflowTemplate.id == template_id)
            .values(required_credentials=credentials)
        )
    assert await names(
        session, tenant, query="kiwi", connected_only=True, connected=["twitterOAuth2Api"]
    ) == [
        "Kiwi offline",
        "Kiwi tweets",
    ]
    assert await names(
        session, tenant, query="kiwi", connected_only=True, connected=["twitterOAuth2Api", "slackApi"]
    ) == ["Kiwi both", "Kiwi offline", "Kiwi tweets"]
    assert await names(session, tenant, query="kiwi", connected_only=True) == ["Kiwi offline"]
    assert len(await names(session, tenant, query="kiwi", connected=["twitterOAuth2Api"])) == 4


async def test_a_tenant_never_finds_another_tenants_templates(
    session: AsyncSession, principal: Principal
) -> None:
    other = await accounts.create_tenant(session, name="other tenant")
    await add(session, other.id, workflow("Narwhal secret plan", "emailSend"))
    await add(session, principal.tenant_id, workflow("Narwhal public plan", "emailSend"))
    assert await names(session, principal.tenant_id, query="narwhal") == ["Narwhal public plan"]
    assert await names(session, other.id, query="narwhal plan") == ["Narwhal secret plan"]


async def test_text_pages_share_one_total_and_do_not_overlap(
    session: AsyncSession, principal: Principal
) -> None:
    tenant = principal.tenant_id
    for index in range(7):
        await add(session, tenant, workflow(f"Okapi report {index}", "emailSend"))
    await add(session, tenant, workflow("Unrelated", "emailSend"))
    pages = [
        await search_templates(
            session, tenant_id=tenant, query=TemplateSearch(query="okapi", limit=3, offset=offset)
        )
        for offset in (0, 3, 6, 9)
    ]
    assert [page.total for page in pages] == [7, 7, 7, 7]
    seen = [item.name for page in pages for item in page.items]
    assert sorted(seen) == [f"Okapi report {index}" for index in range(7)]
    assert seen == sorted(seen)  # equal relevance: ordered by name


async def test_text_that_cannot_match_finds_nothing(session: AsyncSession, principal: Principal) -> None:
    tenant = principal.tenant_id
    await add(session, tenant, workflow("The best of the week", "emailSend"))
    assert await names(session, tenant, query="%%%") == []
    assert await names(session, tenant, query="the of") == []


async def test_a_tenant_finds_its_match_below_another_tenants_many_better_ones(
    session: AsyncSession, principal: Principal
) -> None:
    other = await accounts.create_tenant(session, name="busy tenant")
    for index in range(2 * CANDIDATES + 5):
        await add(session, other.id, workflow(f"Zebra zebra zebra {index}", "emailSend"))
    await add(session, principal.tenant_id, workflow("Report", "emailSend", note="one zebra here"))
    page = await search_templates(session, tenant_id=principal.tenant_id, query=TemplateSearch(query="zebra"))
    assert [item.name for item in page.items] == ["Report"]
    assert (page.total, page.total_is_estimate) == (1, False)


async def test_pages_past_the_first_block_of_candidates_neither_overlap_nor_skip(
    session: AsyncSession, principal: Principal
) -> None:
    tenant = principal.tenant_id
    for index in range(CANDIDATES + 15):
        note = "gecko " * (1 + index % 7)
        await add(session, tenant, workflow(f"Lizard {index:03}", "emailSend", note=note))
    seen: list[str] = []
    for offset in range(0, CANDIDATES + 15, 40):
        page = await search_templates(
            session, tenant_id=tenant, query=TemplateSearch(query="gecko", limit=40, offset=offset)
        )
        assert page.total == CANDIDATES + 15
        seen += [item.name for item in page.items]
    assert sorted(seen) == [f"Lizard {index:03}" for index in range(CANDIDATES + 15)]


async def test_totals_leave_out_old_versions_and_other_tenants_templates(
    session: AsyncSession, principal: Principal
) -> None:
    tenant = principal.tenant_id
    await add(session, tenant, workflow("Quokka digest", "emailSend"), key="quokka")
    await add(session, tenant, workflow("Quokka report", "slack"))

    async def total() -> tuple[int, bool]:
        page = await search_templates(session, tenant_id=tenant, query=TemplateSearch(query="quokka digest"))
        return page.total, page.total_is_estimate

    # Only the tenant's active templates exist: the engine alone counts the hits.
    assert await total() == (2, False)
    await add(session, tenant, workflow("Quokka digest, second edition", "emailSend"), key="quokka")
    assert await total() == (2, False)
    other = await accounts.create_tenant(session, name="marsupials")
    await add(session, other.id, workflow("Quokka digest elsewhere", "emailSend"))
    assert await total() == (2, False)
