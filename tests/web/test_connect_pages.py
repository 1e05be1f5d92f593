from __future__ import annotations

import logging
import re
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest
import pytest_asyncio
from fastapi import FastAPI
from sqlalchemy import update

from spreaders.accounts import service as accounts
from spreaders.accounts.schemas import Principal
from spreaders.bootstrap import AppContext
from spreaders.db.base import utcnow
from spreaders.errors import Invalid, NotFound, Unavailable
from spreaders.vault import service as vault
from spreaders.vault.models import ConnectRequest
from spreaders.web.routes import router

SECRET = "sk-live-very-secret-openai-key-000111"


@pytest_asyncio.fixture(loop_scope="session")
async def client(app: AppContext) -> AsyncIterator[httpx.AsyncClient]:
    web = FastAPI()
    web.include_router(router)
    web.state.ctx = app
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=web), base_url="http://test") as http:
        yield http


async def _link_path(app: AppContext, principal: Principal, platform: str = "openai") -> str:
    async with app.unit_of_work() as session:
        link = await vault.request_connect(
            session, principal=principal, platform=platform, base_url="http://test"
        )
    return link.url.removeprefix("http://test")


async def _credentials(app: AppContext, principal: Principal) -> list[str]:
    async with app.sessionmaker() as session:
        return [c.id for c in await vault.list_credentials(session, tenant_id=principal.tenant_id)]


async def test_connect_page_shows_the_fields_as_an_empty_form(
    app: AppContext, principal: Principal, client: httpx.AsyncClient
) -> None:
    response = await client.get(await _link_path(app, principal))
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["referrer-policy"] == "no-referrer"
    assert response.headers["cache-control"] == "no-store"
    assert "Connect OpenAI" in response.text
    assert re.search(r'<input id="field_apiKey" name="field_apiKey" type="password" value=""', response.text)
    assert 'name="field_organizationId" type="text" value=""' in response.text
    assert '<form method="post"' in response.text


async def test_submitted_form_stores_the_credential_and_never_echoes_the_secret(
    app: AppContext, principal: Principal, client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    path = await _link_path(app, principal)
    response = await client.post(path, data={"field_apiKey": SECRET, "label": "Marketing <bot>"})
    assert response.status_code == 200
    assert "Connected. You can close this tab and go back to your assistant." in response.text
    assert SECRET not in response.text
    assert SECRET not in caplog.text
    async with app.sessionmaker() as session:
        [credential] = await vault.list_credentials(session, tenant_id=principal.tenant_id)
        opened = await vault.read_secret(
            session, app.cipher, tenant_id=principal.tenant_id, credential_id=credential.id, reason="test"
        )
    assert credential.platform == "openai"
    assert credential.label == "Marketing <bot>"
    assert opened == {"apiKey": SECRET}


async def test_second_submit_of_the_same_link_is_refused_as_used(
    app: AppContext, principal: Principal, client: httpx.AsyncClient
) -> None:
    path = await _link_path(app, principal)
    await client.post(path, data={"field_apiKey": SECRET})
    again = await client.post(path, data={"field_apiKey": "sk-another"})
    page = await client.get(path)
    assert again.status_code == 409
    assert "already used" in again.text
    assert "ask it to connect the platform again" in again.text
    assert page.status_code == 409
    assert "<form" not in page.text
    assert len(await _credentials(app, principal)) == 1


async def test_expired_link_shows_an_expired_page_and_stores_nothing(
    app: AppContext, principal: Principal, client: httpx.AsyncClient
) -> None:
    path = await _link_path(app, principal)
    async with app.unit_of_work() as session:
        await session.execute(
            update(ConnectRequest)
            .where(ConnectRequest.tenant_id == principal.tenant_id)
            .values(expires_at=utcnow() - timedelta(minutes=1))
        )
    page = await client.get(path)
    submit = await client.post(path, data={"field_apiKey": SECRET})
    assert page.status_code == 410
    assert "This link has expired" in page.text
    assert "<form" not in page.text
    assert submit.status_code == 410
    assert await _credentials(app, principal) == []


async def test_unknown_link_is_a_friendly_404(client: httpx.AsyncClient) -> None:
    page = await client.get("/connect/not-a-real-token")
    submit = await client.post("/connect/not-a-real-token", data={"field_apiKey": SECRET})
    assert page.status_code == 404
    assert "This link is not valid" in page.text
    assert "Go back to your assistant" in page.text
    assert submit.status_code == 404


async def test_missing_required_field_rerenders_the_form_with_422_and_stores_nothing(
    app: AppContext, principal: Principal, client: httpx.AsyncClient
) -> None:
    path = await _link_path(app, principal, "shopify")
    response = await client.post(
        path,
        data={"field_shopSubdomain": "acme<script>", "field_accessToken": SECRET, "field_appSecretKey": ""},
    )
    assert response.status_code == 422
    assert "Please fill in: API secret key." in response.text
    assert 'value="acme&lt;script&gt;"' in response.text
    assert "<script>" not in response.text
    assert SECRET not in response.text
    assert await _credentials(app, principal) == []
    retry = await client.post(
        path,
        data={"field_shopSubdomain": "acme", "field_accessToken": SECRET, "field_appSecretKey": "shpss_x"},
    )
    assert retry.status_code == 200
    assert len(await _credentials(app, principal)) == 1


async def test_listed_credentials_carry_no_secret_and_delete_empties_the_list(
    app: AppContext, principal: Principal, client: httpx.AsyncClient
) -> None:
    await client.post(await _link_path(app, principal), data={"field_apiKey": SECRET})
    async with app.sessionmaker() as session:
        listed = await vault.list_credentials(session, tenant_id=principal.tenant_id)
    assert all(SECRET not in c.model_dump_json() for c in listed)
    async with app.unit_of_work() as session:
        await vault.delete_credential(session, tenant_id=principal.tenant_id, credential_id=listed[0].id)
    assert await _credentials(app, principal) == []


async def test_tenant_b_cannot_delete_a_credential_connected_through_tenant_a_link(
    app: AppContext, principal: Principal, client: httpx.AsyncClient
) -> None:
    async with app.unit_of_work() as session:
        tenant_b = await accounts.create_tenant(session, name="tenant b")
        await accounts.create_user(session, tenant_id=tenant_b.id, email=f"{uuid.uuid4().hex}@example.test")
    await client.post(await _link_path(app, principal), data={"field_apiKey": SECRET})
    [credential_id] = await _credentials(app, principal)
    async with app.unit_of_work() as session:
        with pytest.raises(NotFound):
            await vault.delete_credential(session, tenant_id=tenant_b.id, credential_id=credential_id)
    assert await _credentials(app, principal) == [credential_id]


async def test_oauth_platform_without_an_app_is_refused_with_the_operator_steps(
    app: AppContext, principal: Principal
) -> None:
    with pytest.raises(Invalid, match="no OAuth app is configured") as caught:
        await _link_path(app, principal, "linkedin")
    assert "SPREADERS_OAUTH__CLIENTS__LINKEDIN__CLIENT_ID" in str(caught.value)
    assert "/connect/oauth/linkedin/callback" in str(caught.value)


async def test_page_without_app_context_fails_loudly() -> None:
    bare = FastAPI()
    bare.include_router(router)
    transport = httpx.ASGITransport(app=bare, raise_app_exceptions=True)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        with pytest.raises(Unavailable, match="application context"):
            await http.get("/connect/anything")
