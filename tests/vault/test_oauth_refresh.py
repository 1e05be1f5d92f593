"""Token refresh against the real provider (oidc-provider rotates refresh tokens): on demand, by the
background job, concurrently, and after the user revoked access (the connection turns `broken`)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import httpx
from sqlalchemy import select, update

from spreaders.db.base import utcnow
from spreaders.vault import service as vault
from spreaders.vault.models import Credential
from spreaders.vault.oauth import OAuthContext
from spreaders.vault.refresh import refresh_due, refresh_if_needed
from spreaders.vault.schemas import CredentialRead

from ..support.oauth_provider import Browser, ConnectedOAuth, connect_link, with_oauth


async def _tokens(found: ConnectedOAuth) -> dict[str, str]:
    async with found.ctx.sessionmaker() as session:
        return await vault.read_secret(
            session,
            found.ctx.cipher,
            tenant_id=found.principal.tenant_id,
            credential_id=found.credential.id,
            reason="the test checks what was stored",
        )


async def _resource_status(found: ConnectedOAuth, access_token: str) -> int:
    async with httpx.AsyncClient() as http:
        response = await http.get(
            found.provider.resource_url, headers={"Authorization": f"Bearer {access_token}"}
        )
    return response.status_code


async def _refresh(found: ConnectedOAuth, **options: object) -> CredentialRead:
    ctx = found.ctx
    async with ctx.unit_of_work() as session:
        return await refresh_if_needed(
            session,
            OAuthContext.of(ctx.cipher, ctx.settings),
            tenant_id=found.principal.tenant_id,
            credential_id=found.credential.id,
            **options,  # type: ignore[arg-type]
        )


async def _secret_version(found: ConnectedOAuth) -> int:
    """Bumped once per change of the tokens: what tells the n8n copies to follow."""
    async with found.ctx.sessionmaker() as session:
        version = await session.scalar(
            select(Credential.secret_version).where(Credential.id == found.credential.id)
        )
    assert version is not None
    return version


async def test_token_expiring_within_the_margin_is_refreshed_on_demand_and_the_hook_is_told(
    connected_oauth_credential: ConnectedOAuth,
) -> None:
    found = connected_oauth_credential
    before = await _tokens(found)
    refreshed = await _refresh(found, margin_s=3600)
    after = await _tokens(found)
    assert await _secret_version(found) == 2
    assert after["access_token"] != before["access_token"]
    assert after["refresh_token"] != before["refresh_token"]  # rotated by the provider
    assert refreshed.status == "connected"
    assert refreshed.expires_at is not None and refreshed.expires_at > utcnow()
    assert await _resource_status(found, after["access_token"]) == 200


async def test_token_not_near_expiry_is_left_alone(connected_oauth_credential: ConnectedOAuth) -> None:
    found = connected_oauth_credential
    before = await _tokens(found)
    same = await _refresh(found, margin_s=1)
    assert await _secret_version(found) == 1
    assert same.expires_at == found.credential.expires_at
    assert (await _tokens(found))["access_token"] == before["access_token"]


async def test_background_job_refreshes_tokens_expiring_within_the_margin(
    connected_oauth_credential: ConnectedOAuth,
) -> None:
    found = connected_oauth_credential
    before = await _tokens(found)
    eager = with_oauth(found.ctx, found.ctx.settings.oauth.model_copy(update={"refresh_margin_s": 3600}))
    report = await refresh_due(eager.sessionmaker, OAuthContext.of(eager.cipher, eager.settings))
    after = await _tokens(found)
    assert (found.principal.tenant_id, found.credential.id) in report.refreshed
    assert await _secret_version(found) == 2
    assert after["access_token"] != before["access_token"]
    assert await _resource_status(found, after["access_token"]) == 200


async def test_concurrent_refreshes_of_one_credential_call_the_provider_once(
    connected_oauth_credential: ConnectedOAuth,
) -> None:
    """With rotating refresh tokens a second use of the old one would revoke the grant (broken)."""
    found = connected_oauth_credential
    async with found.ctx.unit_of_work() as session:
        await session.execute(
            update(Credential)
            .where(Credential.id == found.credential.id)
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
    results = await asyncio.gather(*(_refresh(found, margin_s=60) for _ in range(3)))
    assert await _secret_version(found) == 2  # one provider call, not three
    assert {r.status for r in results} == {"connected"}
    assert len({r.expires_at for r in results}) == 1
    later = await _refresh(found, force=True)
    assert later.status == "connected"
    assert await _resource_status(found, (await _tokens(found))["access_token"]) == 200


async def test_revoked_refresh_token_marks_the_connection_broken_with_a_reconnect_link(
    connected_oauth_credential: ConnectedOAuth,
) -> None:
    found = connected_oauth_credential
    tokens = await _tokens(found)
    async with httpx.AsyncClient() as http:
        revoked = await http.post(
            found.provider.revoke_url,
            data={"token": tokens["refresh_token"], "token_type_hint": "refresh_token"},
            auth=(found.provider.client_id, found.provider.client_secret),
        )
    assert revoked.status_code == 200
    broken = await _refresh(found, force=True)
    async with found.ctx.sessionmaker() as session:
        [listed] = await vault.list_credentials(session, tenant_id=found.principal.tenant_id)
        connected = await vault.find_connected(
            session, tenant_id=found.principal.tenant_id, platforms=["custom_oauth2"]
        )
    assert await _secret_version(found) == 1
    assert broken.status == listed.status == "broken"
    assert "invalid_grant" in listed.status_message
    assert f"credentialId {found.credential.id}" in listed.status_message
    assert connected == {}
    # Reconnecting in place repairs the same credential (its n8n credentials stay bound to its id).
    async with Browser(found.ctx) as browser:
        url = await connect_link(found.ctx, found.principal, credential_id=found.credential.id)
        done = await browser.finish(await browser.authorize(url))
    async with found.ctx.sessionmaker() as session:
        [repaired] = await vault.list_credentials(session, tenant_id=found.principal.tenant_id)
    assert done.status_code == 200
    assert (repaired.id, repaired.status, repaired.status_message) == (found.credential.id, "connected", "")
    assert await _resource_status(found, (await _tokens(found))["access_token"]) == 200
