"""Connect an OAuth2 account: authorization code + PKCE (S256) through Authlib, tokens sealed in the vault.

The flow, all on Spreaders' own pages:
1. `credential.connect` made a single-use connect link (service.request_connect).
2. The user presses "Continue" on it: `begin_authorization` uses the link up, records a fresh `state`
   (only its hash; single-use; expires) bound to the tenant and user who asked, and returns the provider's
   authorization URL plus the PKCE code verifier, which the page keeps in a cookie of the user's browser
   (never in the database): a callback from another browser has no verifier and is refused.
3. The provider sends the browser back to `/connect/oauth/<platform>/callback`: `complete_authorization`
   checks the state (known, unused, unexpired, same platform, same redirect URI), exchanges the code with
   the verifier and seals the token set into `credentials.secret`.
Services flush; the caller commits.
"""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx2
from authlib.common.security import generate_token
from authlib.integrations.base_client import OAuthError
from authlib.integrations.httpx_client import AsyncOAuth2Client
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from spreaders.db.base import new_id, utcnow
from spreaders.errors import Forbidden, Invalid, NotFound, UpstreamError
from spreaders.settings import OAuthClientSettings, OAuthSettings, Settings
from spreaders.vault.audit import audit_credential
from spreaders.vault.catalogue import OAuthSpec, Provider, load_catalogue
from spreaders.vault.cipher import Cipher
from spreaders.vault.errors import ConnectLinkExpired, ConnectLinkUsed
from spreaders.vault.models import ConnectRequest, Credential, credential_aad
from spreaders.vault.schemas import CredentialRead

logger = logging.getLogger(__name__)

CALLBACK_PATH = "/connect/oauth/{platform}/callback"
VERIFIER_COOKIE_PREFIX = "spr_pkce_"
_START_AGAIN = "Ask your assistant to connect the platform again for a fresh link."


@dataclass(frozen=True)
class OAuthContext:
    """What the OAuth flow needs from the app: the cipher, the operator's OAuth apps, the public URL."""

    cipher: Cipher
    settings: OAuthSettings
    base_url: str

    @classmethod
    def of(cls, cipher: Cipher, settings: Settings) -> OAuthContext:
        """The context of an app: its cipher, `SPREADERS_OAUTH__*` and its public URL."""
        return cls(cipher=cipher, settings=settings.oauth, base_url=settings.api.base_url())


@dataclass(frozen=True)
class OAuthApp:
    """A provider's catalogue entry joined with the operator's app registration (settings win)."""

    provider: Provider
    spec: OAuthSpec
    client: OAuthClientSettings
    authorize_url: str
    token_url: str
    revoke_url: str

    def scopes(self, capabilities: list[str] | None) -> list[str]:
        return (
            list(self.client.scopes) if self.client.scopes is not None else self.spec.scopes_for(capabilities)
        )

    def authorize_params(self) -> dict[str, str]:
        params = self.client.authorize_params
        return dict(params) if params is not None else dict(self.spec.authorize_params)

    def client_id_params(self) -> dict[str, str]:
        """Extra request parameters for providers that name the client id differently (TikTok)."""
        name = self.spec.client_id_param
        return {} if name == "client_id" else {name: self.client.client_id}

    def session(self, *, timeout_s: float, redirect_uri: str | None = None) -> AsyncOAuth2Client:
        """An Authlib client for one exchange with the provider (a timeout on every call)."""
        secret = self.client.client_secret
        return AsyncOAuth2Client(
            client_id=self.client.client_id,
            client_secret=secret.get_secret_value() if secret is not None else None,
            token_endpoint_auth_method=self.spec.token_auth if secret is not None else "none",
            revocation_endpoint_auth_method=self.spec.token_auth if secret is not None else "none",
            redirect_uri=redirect_uri,
            code_challenge_method="S256",
            timeout=timeout_s,
        )


def redirect_uri(base_url: str, platform: str) -> str:
    """The callback URL the operator registers at the provider for `platform`."""
    return base_url.rstrip("/") + CALLBACK_PATH.format(platform=platform)


def verifier_cookie_name(state: str) -> str:
    """The cookie that keeps one authorization's PKCE verifier in the user's browser."""
    return VERIFIER_COOKIE_PREFIX + hashlib.sha256(state.encode()).hexdigest()[:24]


def _hash(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def oauth_app(settings: OAuthSettings, platform: str, *, base_url: str) -> OAuthApp:
    """The platform's OAuth app, or Invalid telling the operator how to configure it."""
    provider = load_catalogue().get(platform)
    if provider.oauth is None:
        raise Invalid(f"{provider.display_name} does not connect with OAuth.")
    spec = provider.oauth
    env = f"SPREADERS_OAUTH__CLIENTS__{platform.upper()}__"
    client = settings.clients.get(platform)
    if client is None:
        console = f" at {spec.app_console}" if spec.app_console else ""
        raise Invalid(
            f"{provider.display_name} cannot be connected yet: no OAuth app is configured for it.",
            hint=(
                f"The operator registers an OAuth app{console} with the redirect URI "
                f"{redirect_uri(base_url, platform)} and sets {env}CLIENT_ID and {env}CLIENT_SECRET."
            ),
        )
    authorize_url = client.authorize_url or spec.authorize_url
    token_url = client.token_url or spec.token_url
    if not authorize_url or not token_url:
        raise Invalid(
            f"{provider.display_name} has no authorization or token endpoint configured.",
            hint=f"Set {env}AUTHORIZE_URL and {env}TOKEN_URL (and {env}REVOKE_URL if it has one).",
        )
    return OAuthApp(
        provider=provider,
        spec=spec,
        client=client,
        authorize_url=authorize_url,
        token_url=token_url,
        revoke_url=client.revoke_url or spec.revoke_url,
    )


async def claim_once(
    session: AsyncSession, request: ConnectRequest, unset: str, values: dict[str, Any]
) -> bool:
    """Set `values` on the request only while its column `unset` is empty; True when this call won.

    A conditional update: of two concurrent uses of one link or state, only one sees it still empty.
    """
    claimed = (
        await session.execute(
            update(ConnectRequest)
            .where(ConnectRequest.id == request.id, getattr(ConnectRequest, unset).is_(None))
            .values(**values)
            .returning(ConnectRequest.id)
            .execution_options(synchronize_session=False)
        )
    ).scalar_one_or_none()
    if claimed is None:
        return False
    for key, value in values.items():
        set_committed_value(request, key, value)
    return True


@dataclass(frozen=True)
class Authorization:
    """Where to send the browser, and the verifier (and its cookie name) it must bring back."""

    url: str
    state: str
    verifier: str
    cookie_name: str
    cookie_path: str


async def begin_authorization(
    session: AsyncSession, oauth: OAuthContext, *, request: ConnectRequest
) -> Authorization:
    """Use up the pending connect link and return the provider's authorization URL (state + PKCE S256)."""
    app = oauth_app(oauth.settings, request.platform, base_url=oauth.base_url)
    now = utcnow()
    state = secrets.token_urlsafe(32)
    verifier = generate_token(64)
    callback = redirect_uri(oauth.base_url, request.platform)
    values = {
        "used_at": now,
        "state_hash": _hash(state),
        "state_expires_at": now + timedelta(seconds=oauth.settings.state_ttl_s),
        "redirect_uri": callback,
    }
    if not await claim_once(session, request, "used_at", values):
        raise ConnectLinkUsed("This connect link was already used.", hint=_START_AGAIN)
    scope = app.spec.scope_separator.join(request.scopes)
    client = app.session(timeout_s=oauth.settings.timeout_s, redirect_uri=callback)
    async with client:
        url, _ = client.create_authorization_url(
            app.authorize_url,
            state=state,
            # Providers without PKCE support ignore the challenge; the custom provider always gets one.
            code_verifier=verifier if app.spec.pkce else None,
            scope=scope,
            **app.authorize_params(),
            **app.client_id_params(),
        )
    logger.info("OAuth authorization started for %s (connect request %s)", request.platform, request.id)
    return Authorization(
        url=url,
        state=state,
        verifier=verifier,
        cookie_name=verifier_cookie_name(state),
        cookie_path=CALLBACK_PATH.format(platform=request.platform),
    )


async def _claim_state(
    session: AsyncSession, platform: str, state: str, oauth: OAuthContext
) -> ConnectRequest:
    row = (
        await session.execute(select(ConnectRequest).where(ConnectRequest.state_hash == _hash(state)))
    ).scalar_one_or_none()
    if row is None or row.platform != platform:
        raise NotFound("This sign-in is not known here.", hint=_START_AGAIN)
    if row.completed_at is not None:
        raise ConnectLinkUsed("This sign-in was already completed or refused.", hint=_START_AGAIN)
    if row.state_expires_at is None or row.state_expires_at <= utcnow():
        raise ConnectLinkExpired("This sign-in took too long and has expired.", hint=_START_AGAIN)
    if row.redirect_uri != redirect_uri(oauth.base_url, platform):
        raise Invalid(
            "This sign-in came back to a different address than it started from.",
            hint="The platform's public URL changed during the sign-in. " + _START_AGAIN,
        )
    if not await claim_once(session, row, "completed_at", {"completed_at": utcnow()}):
        raise ConnectLinkUsed("This sign-in was already completed or refused.", hint=_START_AGAIN)
    return row


def token_secret(token: Mapping[str, Any], *, previous_refresh_token: str | None = None) -> dict[str, str]:
    """The values sealed for an OAuth2 credential (strings only, like every credential's secret)."""
    expires_at = token.get("expires_at")
    if expires_at is None and token.get("expires_in") is not None:
        expires_at = int(time.time()) + int(token["expires_in"])
    values = {
        "access_token": str(token["access_token"]),
        "token_type": str(token.get("token_type") or "Bearer"),
        "scope": str(token.get("scope") or ""),
    }
    refresh_token = token.get("refresh_token") or previous_refresh_token
    if refresh_token:
        values["refresh_token"] = str(refresh_token)
    if expires_at is not None:
        values["expires_at"] = str(int(expires_at))
    return values


def secret_expiry(values: Mapping[str, str]) -> datetime | None:
    raw = values.get("expires_at")
    return datetime.fromtimestamp(int(raw), tz=utcnow().tzinfo) if raw else None


def secret_scopes(values: Mapping[str, str], asked: list[str]) -> list[str]:
    granted = values.get("scope", "").replace(",", " ").split()
    return granted or asked


def seal_tokens(cipher: Cipher, *, tenant_id: str, credential_id: str, values: Mapping[str, str]) -> bytes:
    """Seal a token set into `credentials.secret`, bound to its tenant and row."""
    return cipher.seal(
        json.dumps(dict(values), sort_keys=True).encode(), aad=credential_aad(tenant_id, credential_id)
    )


def provider_refused(app: OAuthApp, exc: OAuthError) -> str:
    """A one-line reason from a provider's OAuth error (its code and description, never a token)."""
    detail = f": {exc.description}" if exc.description else ""
    return f"{app.provider.display_name} refused ({exc.error}{detail})"


async def claim_callback(
    session: AsyncSession, oauth: OAuthContext, *, platform: str, state: str, verifier: str | None
) -> ConnectRequest:
    """Check the callback's state and use it up (commit this before the code exchange, so it stays used)."""
    if not state:
        raise Invalid("The provider sent the browser back without a state.", hint=_START_AGAIN)
    if verifier is None:
        # Checked before the state is used up: a stranger holding someone's state cannot spend it.
        raise Forbidden(
            "This sign-in was started in another browser, so it cannot finish here.",
            hint="Open the connect link and sign in within the same browser.",
        )
    return await _claim_state(session, platform, state, oauth)


async def finish_authorization(
    session: AsyncSession,
    oauth: OAuthContext,
    *,
    request: ConnectRequest,
    code: str | None,
    error: str | None,
    verifier: str,
) -> CredentialRead:
    """Exchange the code with the PKCE verifier and seal the token set as a connected credential."""
    app = oauth_app(oauth.settings, request.platform, base_url=oauth.base_url)
    if error or not code:
        raise Invalid(
            f"{app.provider.display_name} did not grant access ({error or 'no code'}).", hint=_START_AGAIN
        )
    client = app.session(timeout_s=oauth.settings.timeout_s, redirect_uri=request.redirect_uri)
    try:
        async with client:
            token = await client.fetch_token(
                app.token_url,
                code=code,
                code_verifier=verifier if app.spec.pkce else None,
                **app.client_id_params(),
            )
    except OAuthError as exc:
        raise Invalid(provider_refused(app, exc) + " the sign-in.", hint=_START_AGAIN) from exc
    except httpx2.HTTPError as exc:
        raise UpstreamError(
            f"{app.provider.display_name} could not be reached to finish the sign-in "
            f"({exc.__class__.__name__}).",
            hint=_START_AGAIN,
        ) from exc
    return await _store(session, oauth.cipher, request=request, app=app, values=token_secret(token))


async def _store(
    session: AsyncSession, cipher: Cipher, *, request: ConnectRequest, app: OAuthApp, values: dict[str, str]
) -> CredentialRead:
    now = utcnow()
    expires_at = secret_expiry(values)
    scopes = secret_scopes(values, list(request.scopes))
    row = None
    if request.credential_id is not None:
        row = (
            await session.execute(
                select(Credential).where(
                    Credential.id == request.credential_id, Credential.tenant_id == request.tenant_id
                )
            )
        ).scalar_one_or_none()
    if row is None:
        row = Credential(
            id=new_id("crd"),
            tenant_id=request.tenant_id,
            user_id=request.user_id,
            platform=app.provider.platform,
            kind="oauth2",
            label=app.provider.display_name,
            created_at=now,
        )
        session.add(row)
    else:
        row.updated_at = now
        row.secret_version += 1  # the n8n copies of the broken tokens are replaced on next use
    row.secret = seal_tokens(cipher, tenant_id=request.tenant_id, credential_id=row.id, values=values)
    row.status, row.status_message = "connected", ""
    row.scopes, row.expires_at = scopes, expires_at
    await session.flush()
    reason = "reconnected over OAuth" if request.credential_id else "connected over OAuth"
    await audit_credential(session, row, "store", reason=reason, user_id=request.user_id)
    logger.info("Connected %s over OAuth as credential %s for tenant %s", row.platform, row.id, row.tenant_id)
    return CredentialRead.model_validate(row)


async def revoke(oauth: OAuthContext, *, platform: str, values: Mapping[str, str]) -> bool | None:
    """Revoke the tokens at the provider (RFC 7009): True done, False failed, None not supported."""
    try:
        app = oauth_app(oauth.settings, platform, base_url=oauth.base_url)
    except Invalid:
        return None
    if not app.revoke_url:
        return None
    hints = [("refresh_token", values.get("refresh_token")), ("access_token", values.get("access_token"))]
    try:
        async with app.session(timeout_s=oauth.settings.timeout_s) as client:
            for hint, token in hints:
                if token:
                    response = await client.revoke_token(
                        app.revoke_url, token=token, token_type_hint=hint, **app.client_id_params()
                    )
                    response.raise_for_status()
    except httpx2.HTTPError as exc:
        logger.warning("Revoking the %s tokens at the provider failed: %s", platform, exc.__class__.__name__)
        return False
    return True
