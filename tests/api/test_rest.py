"""The REST API through the real FastAPI app (ASGI transport), on the suite's real database."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
import pytest_asyncio

from spreaders.accounts import service as accounts
from spreaders.accounts.schemas import Principal
from spreaders.api.app import create_app
from spreaders.bootstrap import AppContext
from spreaders.settings import Settings

PROMPT = "Launch our spring sneaker drop on Instagram next Monday with an email to our list, $2k budget"


async def _key(app: AppContext, principal: Principal) -> str:
    async with app.unit_of_work() as session:
        return (await accounts.create_api_key(session, principal=principal, label="test")).key


@pytest_asyncio.fixture(loop_scope="session")
async def client(app: AppContext, settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    api = create_app(settings)
    api.state.ctx = app  # the suite's context stands in for the one the lifespan would open
    transport = httpx.ASGITransport(app=api)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        yield http


@pytest_asyncio.fixture(loop_scope="session")
async def auth(app: AppContext, principal: Principal) -> dict[str, str]:
    return {"Authorization": f"Bearer {await _key(app, principal)}"}


async def test_request_without_api_key_is_refused_with_a_hint(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/v1/workflows/search", json={})
    assert response.status_code == 401
    assert response.json()["error"] == "unauthorized"
    assert "spreaders keys create" in response.json()["hint"]


async def test_wrong_api_key_is_refused(client: httpx.AsyncClient) -> None:
    response = await client.get(
        "/api/v1/campaigns", headers={"X-API-Key": "spr_not-a-real-key-at-all-000000"}
    )
    assert response.status_code == 401


async def test_planner_analyze_returns_every_plan_field(
    client: httpx.AsyncClient, auth: dict[str, str]
) -> None:
    response = await client.post(
        "/api/v1/planner/analyze",
        json={"prompt": PROMPT, "now": "2026-03-05T10:00:00+01:00", "timezone": "Europe/Berlin"},
        headers=auth,
    )
    assert response.status_code == 200
    plan = response.json()
    for field in (
        "campaign_type",
        "objectives",
        "platforms",
        "content_requirements",
        "timeline",
        "budget",
        "target_audience",
        "required_workflows",
        "confidence",
    ):
        assert field in plan
    assert plan["timeline"]["start"] == "2026-03-09"
    assert plan["budget"] == {"amount": 2000.0, "currency": "USD", "split": {}}


async def test_empty_prompt_is_a_422_with_a_message(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    response = await client.post("/api/v1/planner/analyze", json={"prompt": " "}, headers=auth)
    assert response.status_code == 422
    assert response.json()["error"] == "invalid"
    assert response.json()["message"]


async def test_campaign_is_created_and_invisible_to_another_tenant(
    app: AppContext, client: httpx.AsyncClient, auth: dict[str, str]
) -> None:
    created = await client.post("/api/v1/campaigns", json={"prompt": PROMPT}, headers=auth)
    assert created.status_code == 201
    campaign_id = created.json()["id"]
    assert created.json()["plan"]["platforms"] == ["instagram", "email"]

    mine = await client.get(f"/api/v1/campaigns/{campaign_id}", headers=auth)
    assert mine.status_code == 200

    async with app.unit_of_work() as session:
        tenant = await accounts.create_tenant(session, name="other")
        user = await accounts.create_user(session, tenant_id=tenant.id, email="other@example.test")
    other = {"Authorization": f"Bearer {await _key(app, Principal(tenant_id=tenant.id, user_id=user.id))}"}
    theirs = await client.get(f"/api/v1/campaigns/{campaign_id}", headers=other)
    assert theirs.status_code == 404


async def test_unknown_workflow_is_a_404_naming_the_id(
    client: httpx.AsyncClient, auth: dict[str, str]
) -> None:
    response = await client.get("/api/v1/workflows/wft_nope", headers=auth)
    assert response.status_code == 404
    assert "wft_nope" in response.json()["message"]


async def test_malformed_workflow_import_is_refused_and_stores_nothing(
    client: httpx.AsyncClient, auth: dict[str, str]
) -> None:
    response = await client.post("/api/v1/workflows/import", json={"name": "no nodes"}, headers=auth)
    assert response.status_code == 422
    listing = await client.post("/api/v1/workflows/search", json={"query": "no nodes"}, headers=auth)
    assert listing.json()["total"] == 0


async def test_imported_workflow_is_found_by_search(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    document = {
        "name": "Slack standup digest",
        "nodes": [
            {
                "name": "Start",
                "type": "n8n-nodes-base.manualTrigger",
                "typeVersion": 1,
                "position": [0, 0],
                "parameters": {},
            }
        ],
        "connections": {},
    }
    imported = await client.post("/api/v1/workflows/import", json=document, headers=auth)
    assert imported.status_code == 201
    found = await client.post("/api/v1/workflows/search", json={"query": "standup digest"}, headers=auth)
    assert [item["id"] for item in found.json()["items"]] == [imported.json()["id"]]


async def test_credential_connect_answers_a_link_and_never_a_secret_field(
    client: httpx.AsyncClient, auth: dict[str, str], settings: Settings
) -> None:
    response = await client.post("/api/v1/credentials/connect", json={"platform": "mailchimp"}, headers=auth)
    assert response.status_code == 201
    body = response.json()
    assert body["url"].startswith(settings.api.base_url() + "/connect/")
    assert not {"apiKey", "value", "secret", "token"} & set(body)


@pytest.mark.e2e
async def test_workflow_executes_over_rest_and_its_status_is_readable(
    app: AppContext, client: httpx.AsyncClient, e2e_principal: Principal
) -> None:
    headers = {"Authorization": f"Bearer {await _key(app, e2e_principal)}"}
    found = await client.post(
        "/api/v1/workflows/search", json={"query": "email campaign draft"}, headers=headers
    )
    template_id = found.json()["items"][0]["id"]

    run = await client.post(
        f"/api/v1/workflows/{template_id}/execute",
        json={"parameters": {"campaign_name": "Autumn sale"}},
        headers=headers,
        timeout=120,
    )
    assert run.status_code == 200, run.text
    assert run.json()["status"] == "success"
    assert run.json()["output"]["items"][0]["campaign_name"] == "Autumn sale"

    status = await client.get(f"/api/v1/executions/{run.json()['id']}", headers=headers)
    assert status.json()["n8n_execution_id"] == run.json()["n8n_execution_id"]


async def test_openapi_document_lists_the_original_endpoints(client: httpx.AsyncClient) -> None:
    paths = (await client.get("/openapi.json")).json()["paths"]
    for path in (
        "/api/v1/planner/analyze",
        "/api/v1/workflows/search",
        "/api/v1/workflows/{template_id}",
        "/api/v1/workflows/{template_id}/execute",
        "/api/v1/executions/{execution_id}",
        "/api/v1/credentials/connect",
        "/api/v1/campaigns",
    ):
        assert path in paths


async def test_select_and_ratings_over_rest(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    document = {
        "name": "Weekly newsletter sender",
        "tags": [{"name": "spreaders:capability=email_campaign"}, {"name": "spreaders:platform=email"}],
        "nodes": [
            {"name": "Go", "type": "n8n-nodes-base.manualTrigger", "typeVersion": 1, "position": [0, 0]},
        ],
        "connections": {},
    }
    imported = (await client.post("/api/v1/workflows/import", json=document, headers=auth)).json()

    chosen = await client.post(
        "/api/v1/workflows/select",
        json={"capabilities": ["email_campaign", "ad_campaign"], "platforms": ["email"]},
        headers=auth,
    )
    assert chosen.status_code == 200
    assert [t["id"] for t in chosen.json()["templates"]] == [imported["id"]]
    assert chosen.json()["uncovered_capabilities"] == ["ad_campaign"]

    rated = await client.post(
        f"/api/v1/workflows/{imported['id']}/ratings", json={"rating": 4, "feedback": "good"}, headers=auth
    )
    assert rated.status_code == 201
    bad = await client.post(f"/api/v1/workflows/{imported['id']}/ratings", json={"rating": 9}, headers=auth)
    assert bad.status_code == 422
    shown = (await client.get(f"/api/v1/workflows/{imported['id']}", headers=auth)).json()
    assert shown["rating"] == {"average": 4.0, "count": 1}
