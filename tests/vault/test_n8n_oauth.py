"""An OAuth2 connection made through a real provider (oidc-provider, started by the suite) runs in the
real n8n: a workflow calls the provider's protected resource with it, before and after a token refresh.

To prove that n8n uses the refreshed token (the old one stays valid until it expires), the old access
token is revoked at the provider after the refresh; the second run succeeds only with the new one.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from spreaders.accounts.schemas import Principal
from spreaders.bootstrap import AppContext
from spreaders.db.base import utcnow
from spreaders.errors import Invalid
from spreaders.orchestrator import service as orchestrator
from spreaders.registry import service as registry
from spreaders.vault import n8n_sync
from spreaders.vault.models import Credential, N8nCredentialLink
from spreaders.vault.oauth import OAuthContext
from spreaders.vault.refresh import refresh_if_needed

from ..support.oauth_provider import OAuthProvider, connect
from .helpers import protected_call_workflow, read

pytestmark = pytest.mark.e2e


def _resource_workflow(url: str) -> dict[str, Any]:
    return protected_call_workflow(url, auth_type="oAuth2Api", credential={"name": "Test provider"})


async def test_oauth2_connection_runs_in_n8n_before_and_after_a_refresh(
    oauth_ctx: AppContext,
    e2e_principal: Principal,
    oauth_provider: OAuthProvider,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    ctx = oauth_ctx
    credential = await connect(ctx, e2e_principal)
    async with ctx.unit_of_work() as session:
        template = await registry.import_workflow(
            session,
            tenant_id=e2e_principal.tenant_id,
            document=_resource_workflow(oauth_provider.resource_url),
        )
    first_tokens = await read(ctx, e2e_principal, credential.id)
    try:
        before = await orchestrator.execute(
            ctx, principal=e2e_principal, template_id=template.id, timeout_s=60
        )
        assert before.status == "success", before.error
        [answer] = before.output["items"]
        assert answer["clientId"] == oauth_provider.client_id and answer["sub"]

        async with ctx.unit_of_work() as session:
            await refresh_if_needed(
                session,
                OAuthContext.of(ctx.cipher, ctx.settings),
                tenant_id=e2e_principal.tenant_id,
                credential_id=credential.id,
                force=True,
            )
        connections = await n8n_sync.running_connections(ctx, tenant_id=e2e_principal.tenant_id)
        assert (
            await n8n_sync.resync(
                ctx, tenant_id=e2e_principal.tenant_id, credential_id=credential.id, connections=connections
            )
            == 1
        )
        second_tokens = await read(ctx, e2e_principal, credential.id)
        assert second_tokens["access_token"] != first_tokens["access_token"]
        async with httpx.AsyncClient() as http:
            revoked = await http.post(
                oauth_provider.revoke_url,
                data={"token": first_tokens["access_token"], "token_type_hint": "access_token"},
                auth=(oauth_provider.client_id, oauth_provider.client_secret),
            )
            assert revoked.status_code == 200
            stale = await http.get(
                oauth_provider.resource_url,
                headers={"Authorization": f"Bearer {first_tokens['access_token']}"},
            )
            assert stale.status_code == 401

        after = await orchestrator.execute(
            ctx, principal=e2e_principal, template_id=template.id, timeout_s=60
        )
        assert after.status == "success", after.error
        assert after.n8n_workflow_id == before.n8n_workflow_id
        assert after.output["items"] == before.output["items"]
    finally:
        await n8n_sync.disconnect(ctx, tenant_id=e2e_principal.tenant_id, credential_id=credential.id)

    tokens = [first_tokens[k] for k in ("access_token", "refresh_token")] + [second_tokens["access_token"]]
    assert not [t for t in tokens if t in caplog.text]


async def test_a_connection_whose_refresh_is_refused_is_not_pushed_and_says_how_to_reconnect(
    oauth_ctx: AppContext, e2e_principal: Principal, oauth_provider: OAuthProvider
) -> None:
    ctx = oauth_ctx
    credential = await connect(ctx, e2e_principal)
    tokens = await read(ctx, e2e_principal, credential.id)
    async with httpx.AsyncClient() as http:
        revoked = await http.post(
            oauth_provider.revoke_url,
            data={"token": tokens["refresh_token"], "token_type_hint": "refresh_token"},
            auth=(oauth_provider.client_id, oauth_provider.client_secret),
        )
    assert revoked.status_code == 200
    async with ctx.unit_of_work() as session:  # the access token is about to lapse: a push refreshes first
        row = await session.get_one(Credential, credential.id)
        row.expires_at = utcnow() + timedelta(seconds=5)
    async with ctx.unit_of_work() as session:
        template = await registry.import_workflow(
            session,
            tenant_id=e2e_principal.tenant_id,
            document=_resource_workflow(oauth_provider.resource_url),
        )
    try:
        with pytest.raises(Invalid) as refused:
            await orchestrator.execute(ctx, principal=e2e_principal, template_id=template.id, timeout_s=60)
        assert "Reconnect" in refused.value.message
        assert str(credential.id) in refused.value.message
        async with ctx.sessionmaker() as session:
            links = await session.scalars(
                select(N8nCredentialLink).where(N8nCredentialLink.credential_id == credential.id)
            )
            assert list(links) == []  # nothing was pushed into n8n
    finally:
        await n8n_sync.disconnect(ctx, tenant_id=e2e_principal.tenant_id, credential_id=credential.id)
