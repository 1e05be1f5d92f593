"""OAuth connect failure and attack cases, against the real provider (oidc-provider started by the suite)."""

from __future__ import annotations

import uuid
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import select, update

from spreaders.accounts import service as accounts
from spreaders.accounts.schemas import Principal
from spreaders.bootstrap import AppContext
from spreaders.db.base import utcnow
from spreaders.errors import NotFound
from spreaders.settings import OAuthSettings
from spreaders.vault import service as vault
from spreaders.vault.models import ConnectRequest
from spreaders.vault.oauth import OAuthContext, verifier_cookie_name
from spreaders.vault.refresh import refresh_if_needed

from ..support.oauth_provider import (
    PLATFORM,
    Browser,
    ConnectedOAuth,
    OAuthProvider,
    connect_link,
    with_oauth,
)


async def _other_principal(app: AppContext) -> Principal:
    async with app.unit_of_work() as session:
        tenant = await accounts.create_tenant(session, name="tenant b")
        user = await accounts.create_user(
            session, tenant_id=tenant.id, email=f"{uuid.uuid4().hex}@example.test"
        )
    return Principal(tenant_id=tenant.id, user_id=user.id)


async def _credentials(app: AppContext, principal: Principal) -> list[str]:
    async with app.sessionmaker() as session:
        return [c.id for c in await vault.list_credentials(session, tenant_id=principal.tenant_id)]


async def test_replayed_callback_is_refused_and_stores_nothing_more(
    oauth_ctx: AppContext, principal: Principal
) -> None:
    async with Browser(oauth_ctx) as browser:
        callback = await browser.authorize(await connect_link(oauth_ctx, principal))
        cookie = browser.verifier_cookie()
        first = await browser.finish(callback)
        browser.set_verifier_cookie(*cookie)  # a replay that captured the verifier too
        replay = await browser.finish(callback)
    assert first.status_code == 200
    assert replay.status_code == 409
    assert "already completed" in replay.text
    assert len(await _credentials(oauth_ctx, principal)) == 1


async def test_callback_in_another_browser_is_refused_without_spending_the_state(
    oauth_ctx: AppContext, principal: Principal
) -> None:
    """Another user or tenant (their own browser, even mid-flow of their own) cannot finish A's sign-in."""
    other = await _other_principal(oauth_ctx)
    async with Browser(oauth_ctx) as victim, Browser(oauth_ctx) as attacker:
        callback = await victim.authorize(await connect_link(oauth_ctx, principal))
        await attacker.authorize(await connect_link(oauth_ctx, other))  # holds a verifier of its own
        foreign = await attacker.finish(callback)
        own = await victim.finish(callback)
    assert foreign.status_code == 403
    assert "another browser" in foreign.text
    assert own.status_code == 200
    assert len(await _credentials(oauth_ctx, principal)) == 1
    assert await _credentials(oauth_ctx, other) == []


async def test_expired_state_is_refused(oauth_ctx: AppContext, principal: Principal) -> None:
    async with Browser(oauth_ctx) as browser:
        callback = await browser.authorize(await connect_link(oauth_ctx, principal))
        async with oauth_ctx.unit_of_work() as session:
            await session.execute(
                update(ConnectRequest)
                .where(ConnectRequest.tenant_id == principal.tenant_id)
                .values(state_expires_at=utcnow() - timedelta(seconds=1))
            )
        late = await browser.finish(callback)
    assert late.status_code == 410
    assert "expired" in late.text
    assert await _credentials(oauth_ctx, principal) == []


async def test_redirect_uri_the_provider_does_not_know_is_refused_by_the_provider(
    app: AppContext, principal: Principal, oauth_provider: OAuthProvider
) -> None:
    moved = with_oauth(
        app,
        OAuthSettings(clients={PLATFORM: oauth_provider.client_settings()}),
        public_url="http://spreaders.test:8080",
    )
    url = await connect_link(moved, principal)
    async with Browser(moved) as browser:
        leave = await browser.http.post(url)
        at_provider = await browser.http.get(leave.headers["location"])
    assert at_provider.status_code == 400
    assert "redirect_uri" in at_provider.text
    assert await _credentials(moved, principal) == []


async def test_callback_at_a_changed_public_url_is_refused(
    oauth_ctx: AppContext, principal: Principal, oauth_provider: OAuthProvider
) -> None:
    async with Browser(oauth_ctx) as browser:
        callback = await browser.authorize(await connect_link(oauth_ctx, principal))
    moved = with_oauth(oauth_ctx, oauth_ctx.settings.oauth, public_url="http://spreaders.test/v2")
    async with Browser(moved) as browser:
        name = verifier_cookie_name(httpx.URL(callback).params["state"])
        browser.set_verifier_cookie(name, "some-verifier", f"/connect/oauth/{PLATFORM}/callback")
        refused = await browser.finish(callback)
    assert refused.status_code == 422
    assert "different address" in refused.text
    assert await _credentials(oauth_ctx, principal) == []


async def test_wrong_pkce_verifier_is_refused_by_the_provider_and_the_state_is_spent(
    oauth_ctx: AppContext, principal: Principal
) -> None:
    async with Browser(oauth_ctx) as browser:
        callback = await browser.authorize(await connect_link(oauth_ctx, principal))
        name, _, path = browser.verifier_cookie()
        browser.set_verifier_cookie(name, "x" * 64, path)
        refused = await browser.finish(callback)
        browser.set_verifier_cookie(name, "x" * 64, path)
        again = await browser.finish(callback)
    assert refused.status_code == 422
    assert "invalid_grant" in refused.text
    assert again.status_code == 409
    assert await _credentials(oauth_ctx, principal) == []


async def test_user_who_denies_access_gets_a_clear_page(oauth_ctx: AppContext, principal: Principal) -> None:
    async with Browser(oauth_ctx) as browser:
        callback = await browser.authorize(await connect_link(oauth_ctx, principal))
        state = httpx.URL(callback).params["state"]
        denied = await browser.finish(
            f"http://spreaders.test/connect/oauth/{PLATFORM}/callback?error=access_denied&state={state}"
        )
    assert denied.status_code == 422
    assert "did not grant access (access_denied)" in denied.text
    assert await _credentials(oauth_ctx, principal) == []


async def test_another_tenant_asking_for_the_credential_gets_not_found(
    connected_oauth_credential: ConnectedOAuth,
) -> None:
    found = connected_oauth_credential
    ctx = found.ctx
    other = await _other_principal(ctx)
    oauth = OAuthContext.of(ctx.cipher, ctx.settings)
    async with ctx.unit_of_work() as session:
        with pytest.raises(NotFound):
            await refresh_if_needed(
                session, oauth, tenant_id=other.tenant_id, credential_id=found.credential.id, force=True
            )
        with pytest.raises(NotFound):
            await vault.read_secret(
                session,
                ctx.cipher,
                tenant_id=other.tenant_id,
                credential_id=found.credential.id,
                reason="the test checks what was stored",
            )
        with pytest.raises(NotFound):
            await vault.request_connect(
                session,
                principal=other,
                platform=PLATFORM,
                base_url=oauth.base_url,
                oauth=oauth.settings,
                credential_id=found.credential.id,
            )
        with pytest.raises(NotFound):
            await vault.delete_credential(
                session, tenant_id=other.tenant_id, credential_id=found.credential.id, oauth=oauth
            )
    assert await _credentials(ctx, found.principal) == [found.credential.id]


async def test_disconnect_revokes_the_tokens_at_the_provider_and_deletes_the_secret(
    connected_oauth_credential: ConnectedOAuth,
) -> None:
    found = connected_oauth_credential
    ctx = found.ctx
    async with ctx.sessionmaker() as session:
        values = await vault.read_secret(
            session,
            ctx.cipher,
            tenant_id=found.principal.tenant_id,
            credential_id=found.credential.id,
            reason="the test checks what was stored",
        )
    async with ctx.unit_of_work() as session:
        deleted = await vault.delete_credential(
            session,
            tenant_id=found.principal.tenant_id,
            credential_id=found.credential.id,
            oauth=OAuthContext.of(ctx.cipher, ctx.settings),
        )
    async with httpx.AsyncClient() as http:
        resource = await http.get(
            found.provider.resource_url, headers={"Authorization": f"Bearer {values['access_token']}"}
        )
        refreshed = await http.post(
            found.provider.token_url,
            data={"grant_type": "refresh_token", "refresh_token": values["refresh_token"]},
            auth=(found.provider.client_id, found.provider.client_secret),
        )
    assert deleted.revoked is True
    assert resource.status_code == 401
    assert refreshed.json()["error"] == "invalid_grant"
    assert await _credentials(ctx, found.principal) == []
    async with ctx.sessionmaker() as session:
        leftover = (
            await session.execute(
                select(ConnectRequest.id).where(ConnectRequest.credential_id == found.credential.id)
            )
        ).all()
    assert leftover == []
