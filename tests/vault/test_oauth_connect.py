"""OAuth connect against a real provider (oidc-provider, started by the suite): the happy path."""

from __future__ import annotations

import httpx

from spreaders.accounts.schemas import Principal
from spreaders.bootstrap import AppContext
from spreaders.vault import service as vault

from ..support.oauth_provider import Browser, ConnectedOAuth, OAuthProvider, connect_link


async def test_full_connect_seals_a_token_set_that_calls_the_protected_resource(
    connected_oauth_credential: ConnectedOAuth,
) -> None:
    found = connected_oauth_credential
    async with found.ctx.sessionmaker() as session:
        values = await vault.read_secret(
            session,
            found.ctx.cipher,
            tenant_id=found.principal.tenant_id,
            credential_id=found.credential.id,
            reason="the test checks what was stored",
        )
    async with httpx.AsyncClient() as http:
        resource = await http.get(
            found.provider.resource_url, headers={"Authorization": f"Bearer {values['access_token']}"}
        )
        userinfo = await http.get(
            found.provider.userinfo_url, headers={"Authorization": f"Bearer {values['access_token']}"}
        )
    assert found.credential.kind == "oauth2"
    assert found.credential.status == "connected"
    assert set(found.credential.scopes) == {"openid", "offline_access", "api:read"}
    assert found.credential.expires_at is not None
    assert values["refresh_token"]
    assert resource.status_code == 200
    assert resource.json()["sub"] == "marketer"
    assert userinfo.json()["sub"] == "marketer"


async def test_connect_page_sends_the_browser_to_the_provider_with_state_and_pkce_s256(
    oauth_ctx: AppContext, principal: Principal, oauth_provider: OAuthProvider
) -> None:
    url = await connect_link(oauth_ctx, principal)
    async with Browser(oauth_ctx) as browser:
        page = await browser.http.get(url)
        leave = await browser.http.post(url)
    location = httpx.URL(leave.headers["location"])
    assert "Continue to Custom OAuth2" in page.text
    assert oauth_provider.issuer in page.headers["content-security-policy"]
    assert str(location).startswith(oauth_provider.authorize_url)
    assert location.params["code_challenge_method"] == "S256"
    assert len(location.params["code_challenge"]) == 43
    assert location.params["redirect_uri"] == oauth_provider.redirect_uri
    assert location.params["prompt"] == "consent"
    assert len(location.params["state"]) >= 43
    [cookie] = [c for c in leave.headers.get_list("set-cookie") if c.startswith("spr_pkce_")]
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie
