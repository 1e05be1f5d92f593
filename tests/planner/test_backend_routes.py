"""The planner's REST endpoints through the real FastAPI app (ASGI transport), on the suite's database."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest_asyncio

from spreaders.accounts import service as accounts
from spreaders.accounts.schemas import Principal
from spreaders.api.app import create_app
from spreaders.bootstrap import AppContext
from spreaders.settings import Settings

PROMPT = "Launch our spring sneaker drop on Instagram next Monday, $2k budget"
NOW = "2026-03-05T10:00:00"


@pytest_asyncio.fixture(loop_scope="session")
async def client(app: AppContext, settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    api = create_app(settings)
    api.state.ctx = app  # the suite's context stands in for the one the lifespan would open
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=api), base_url="http://test") as http:
        yield http


@pytest_asyncio.fixture(loop_scope="session")
async def auth(app: AppContext, principal: Principal) -> dict[str, str]:
    async with app.unit_of_work() as session:
        key = (await accounts.create_api_key(session, principal=principal, label="planner test")).key
    return {"Authorization": f"Bearer {key}"}


async def test_analyze_with_the_offline_backend_returns_an_offline_plan(
    client: httpx.AsyncClient, auth: dict[str, str]
) -> None:
    body = {"prompt": PROMPT, "now": NOW, "timezone": "Europe/Berlin", "backend": "offline"}

    response = await client.post("/api/v1/planner/analyze", json=body, headers=auth)

    assert response.status_code == 200, response.text
    assert response.json()["provenance"]["backend"] == "offline"
    assert response.json()["timeline"]["start"] == "2026-03-09"


async def test_analyze_with_an_unconfigured_llm_is_a_422_saying_what_to_set(
    client: httpx.AsyncClient, auth: dict[str, str]
) -> None:
    response = await client.post(
        "/api/v1/planner/analyze", json={"prompt": PROMPT, "backend": "llm"}, headers=auth
    )

    assert response.status_code == 422
    assert "SPREADERS_PLANNER__LLM_BASE_URL" in response.text


async def test_analyze_refuses_an_unknown_backend(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    response = await client.post(
        "/api/v1/planner/analyze", json={"prompt": PROMPT, "backend": "gpt"}, headers=auth
    )

    assert response.status_code == 422


async def test_suggestions_for_a_posted_plan(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    plan = (
        await client.post("/api/v1/planner/analyze", json={"prompt": PROMPT, "now": NOW}, headers=auth)
    ).json()

    response = await client.post("/api/v1/planner/suggest-improvements", json={"plan": plan}, headers=auth)

    assert response.status_code == 200, response.text
    found = response.json()
    assert 3 <= len(found["suggestions"]) <= 5
    assert found["provenance"] == {"backend": "offline", "notes": []}
    assert {"kind", "text", "field"} == set(found["suggestions"][0])


async def test_suggestions_for_a_prompt(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    response = await client.post(
        "/api/v1/planner/suggest-improvements", json={"prompt": "promote our spring sale"}, headers=auth
    )

    assert response.status_code == 200, response.text
    assert response.json()["suggestions"][0]["field"] == "platforms"


async def test_suggestions_need_exactly_one_of_plan_and_prompt(
    client: httpx.AsyncClient, auth: dict[str, str]
) -> None:
    neither = await client.post("/api/v1/planner/suggest-improvements", json={}, headers=auth)

    assert neither.status_code == 422
    assert "exactly one of `plan` and `prompt`" in neither.text


async def test_suggestions_require_an_api_key(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/v1/planner/suggest-improvements", json={"prompt": PROMPT})

    assert response.status_code == 401
