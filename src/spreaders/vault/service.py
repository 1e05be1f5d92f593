"""Connect platform accounts without secrets passing through the AI conversation.

The agent asks for a connect link; the user opens it in a browser and, on the platform's own page, types
the secret (API key, basic auth) or signs in at the provider (OAuth2, see `oauth.py`); the vault seals it.
Services flush; the caller commits.
"""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
from collections.abc import Mapping, Sequence
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from spreaders.accounts.schemas import Principal
from spreaders.db.base import new_id, utcnow
from spreaders.errors import Invalid, NotFound
from spreaders.settings import OAuthSettings
from spreaders.vault.audit import audit_credential
from spreaders.vault.catalogue import Provider, load_catalogue
from spreaders.vault.cipher import Cipher
from spreaders.vault.errors import ConnectLinkExpired, ConnectLinkUsed
from spreaders.vault.models import ConnectRequest, Credential, credential_aad
from spreaders.vault.oauth import OAuthContext, claim_once, oauth_app, revoke
from spreaders.vault.schemas import (
    ConnectLink,
    ConnectRequestView,
    CredentialDeleted,
    CredentialRead,
)

logger = logging.getLogger(__name__)

MAX_TTL_SECONDS = 24 * 3600
MAX_VALUE_CHARS = 8192
_ASK_AGAIN = "Ask your assistant for a new connect link."


def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _require_form_provider(platform: str) -> Provider:
    provider = load_catalogue().get(platform)
    if provider.kind == "oauth2":
        raise Invalid(
            f"{provider.display_name} connects by signing in at {provider.display_name}, not a form."
        )
    return provider


async def _oauth_scopes(
    session: AsyncSession,
    *,
    tenant_id: str,
    provider: Provider,
    settings: OAuthSettings,
    base_url: str,
    capabilities: Sequence[str] | None,
    credential_id: str | None,
) -> list[str]:
    """Check the platform can be connected (an OAuth app is configured) and choose the scopes to ask for."""
    app = oauth_app(settings, provider.platform, base_url=base_url)
    if credential_id is not None:
        existing = await _get_credential(session, tenant_id, credential_id)
        if existing.platform != provider.platform:
            raise Invalid(
                f"Credential {credential_id} belongs to {existing.platform}, not {provider.platform}.",
                hint=f"Ask for a {existing.platform} connect link to reconnect it.",
            )
        return list(existing.scopes) or app.scopes(None if capabilities is None else list(capabilities))
    return app.scopes(None if capabilities is None else list(capabilities))


async def request_connect(
    session: AsyncSession,
    *,
    principal: Principal,
    platform: str,
    base_url: str,
    ttl_seconds: int = 900,
    oauth: OAuthSettings | None = None,
    capabilities: Sequence[str] | None = None,
    credential_id: str | None = None,
) -> ConnectLink:
    """Create a single-use connect link for `platform`; only the token's hash is stored.

    For OAuth2 platforms the link leads to a page that sends the user to sign in at the provider, asking
    for the scopes of `capabilities` (all the catalogue knows when None); `credential_id` reconnects an
    existing (for example broken) credential in place.
    """
    provider = load_catalogue().get(platform)
    if not 0 < ttl_seconds <= MAX_TTL_SECONDS:
        raise Invalid(f"ttl_seconds must be between 1 and {MAX_TTL_SECONDS}, not {ttl_seconds}.")
    scopes: list[str] = []
    if provider.kind == "oauth2":
        scopes = await _oauth_scopes(
            session,
            tenant_id=principal.tenant_id,
            provider=provider,
            settings=oauth or OAuthSettings(),
            base_url=base_url,
            capabilities=capabilities,
            credential_id=credential_id,
        )
    elif credential_id is not None:
        raise Invalid(
            "Only OAuth connections can be reconnected in place.", hint="Connect the platform anew."
        )
    token = secrets.token_urlsafe(32)
    expires_at = utcnow() + timedelta(seconds=ttl_seconds)
    session.add(
        ConnectRequest(
            id=new_id("cnr"),
            tenant_id=principal.tenant_id,
            user_id=principal.user_id,
            platform=provider.platform,
            token_hash=_hash_token(token),
            expires_at=expires_at,
            scopes=scopes,
            credential_id=credential_id,
        )
    )
    await session.flush()
    url = f"{base_url.rstrip('/')}/connect/{token}"
    if provider.kind == "oauth2":
        step = f"they sign in at {provider.display_name} and allow access"
    else:
        step = "they enter " + ", ".join(f.label for f in provider.fields if f.required)
    minutes = max(1, ttl_seconds // 60)
    return ConnectLink(
        platform=provider.platform,
        kind=provider.kind,
        url=url,
        expires_at=expires_at,
        scopes=scopes,
        instructions=(
            f"Send the user this link to connect {provider.display_name}: {url} . On that page {step}. "
            f"The link works once and expires in {minutes} minutes. Never ask the user to paste "
            "secrets into this conversation."
        ),
    )


async def pending_request(session: AsyncSession, token: str) -> ConnectRequest:
    """The connect request of an unused, unexpired link token; NotFound, used or expired otherwise."""
    row = (
        await session.execute(select(ConnectRequest).where(ConnectRequest.token_hash == _hash_token(token)))
    ).scalar_one_or_none()
    if row is None:
        raise NotFound("This connect link is not valid.", hint=_ASK_AGAIN)
    if row.used_at is not None:
        raise ConnectLinkUsed("This connect link was already used.", hint=_ASK_AGAIN)
    if row.expires_at <= utcnow():
        raise ConnectLinkExpired("This connect link has expired, ask your assistant for a new link.")
    return row


async def open_connect_request(session: AsyncSession, *, token: str) -> ConnectRequestView:
    """Describe a pending connect request for its page; refuse unknown, used or expired tokens."""
    row = await pending_request(session, token)
    provider = load_catalogue().get(row.platform)
    return ConnectRequestView(
        platform=provider.platform,
        display_name=provider.display_name,
        kind=provider.kind,
        help=provider.help,
        fields=list(provider.fields),
        scopes=list(row.scopes),
        expires_at=row.expires_at,
    )


def _clean_values(provider: Provider, values: Mapping[str, str]) -> dict[str, str]:
    """Keep the provider's own fields, trimmed; refuse missing required ones and oversized ones."""
    clean: dict[str, str] = {}
    missing: list[str] = []
    for field in provider.fields:
        value = values.get(field.name, "").strip()
        if len(value) > MAX_VALUE_CHARS:
            raise Invalid(f"{field.label} is too long (at most {MAX_VALUE_CHARS} characters).")
        if value:
            clean[field.name] = value
        elif field.required:
            missing.append(field.label)
    if missing:
        raise Invalid(f"Please fill in: {', '.join(missing)}.")
    return clean


async def complete_api_key_connect(
    session: AsyncSession, cipher: Cipher, *, token: str, values: Mapping[str, str], label: str = ""
) -> CredentialRead:
    """Seal the submitted values as a connected credential and use up the connect link."""
    request = await pending_request(session, token)
    provider = _require_form_provider(request.platform)
    clean = _clean_values(provider, values)
    label = label.strip() or provider.display_name
    if len(label) > 200:
        raise Invalid("The label is too long (at most 200 characters).")
    now = utcnow()
    if not await claim_once(session, request, "used_at", {"used_at": now}):
        raise ConnectLinkUsed("This connect link was already used.", hint=_ASK_AGAIN)
    credential_id = new_id("crd")
    row = Credential(
        id=credential_id,
        tenant_id=request.tenant_id,
        user_id=request.user_id,
        platform=provider.platform,
        kind=provider.kind,
        label=label,
        status="connected",
        secret=cipher.seal(
            json.dumps(clean, sort_keys=True).encode(), aad=credential_aad(request.tenant_id, credential_id)
        ),
        created_at=now,
    )
    session.add(row)
    await session.flush()
    await audit_credential(
        session, row, "store", reason="connected on the connect page", user_id=request.user_id
    )
    logger.info("Connected %s as credential %s for tenant %s", provider.platform, row.id, row.tenant_id)
    return CredentialRead.model_validate(row)


async def _get_credential(session: AsyncSession, tenant_id: str, credential_id: str) -> Credential:
    row = (
        await session.execute(
            select(Credential).where(Credential.id == credential_id, Credential.tenant_id == tenant_id)
        )
    ).scalar_one_or_none()
    if row is None:
        raise NotFound(f"Credential {credential_id} not found.", hint="List credentials to see their ids.")
    return row


async def get_credential(session: AsyncSession, *, tenant_id: str, credential_id: str) -> CredentialRead:
    """One of the tenant's credentials (metadata only); another tenant's id is NotFound."""
    return CredentialRead.model_validate(await _get_credential(session, tenant_id, credential_id))


async def list_credentials(session: AsyncSession, *, tenant_id: str) -> list[CredentialRead]:
    """List the tenant's credentials (metadata only, never values)."""
    rows = (
        await session.execute(
            select(Credential)
            .where(Credential.tenant_id == tenant_id)
            .order_by(Credential.created_at, Credential.id)
        )
    ).scalars()
    return [CredentialRead.model_validate(row) for row in rows]


async def delete_credential(
    session: AsyncSession,
    *,
    tenant_id: str,
    credential_id: str,
    oauth: OAuthContext | None = None,
    user_id: str | None = None,
    reason: str = "deleted on request",
) -> CredentialDeleted:
    """Delete one of the tenant's credentials (audited), revoking OAuth tokens at the provider when `oauth`
    is given.

    A provider that cannot be reached does not stop the delete (`revoked` is then False). Another
    tenant's id is NotFound.
    """
    row = await _get_credential(session, tenant_id, credential_id)
    revoked: bool | None = None
    if row.kind == "oauth2" and oauth is not None:
        values = await read_secret(
            session,
            oauth.cipher,
            tenant_id=tenant_id,
            credential_id=credential_id,
            reason="revoke at the provider before deleting",
            user_id=user_id,
        )
        revoked = await revoke(oauth, platform=row.platform, values=values)
    await audit_credential(session, row, "delete", reason=reason, user_id=user_id)
    await session.delete(row)
    await session.flush()
    logger.info(
        "Deleted credential %s for tenant %s (revoked at the provider: %s)", credential_id, tenant_id, revoked
    )
    return CredentialDeleted(id=credential_id, deleted=True, revoked=revoked)


async def read_secret(
    session: AsyncSession,
    cipher: Cipher,
    *,
    tenant_id: str,
    credential_id: str,
    reason: str,
    user_id: str | None = None,
) -> dict[str, str]:
    """Open a credential's values for use (deploying into n8n), never to show a caller.

    The audit event is written first, in the caller's transaction: if it cannot be written, the read
    is refused (AuditUnavailable) and the secret is never opened.
    """
    row = await _get_credential(session, tenant_id, credential_id)
    await audit_credential(session, row, "read", reason=reason, user_id=user_id)
    opened = json.loads(cipher.open(row.secret, aad=credential_aad(tenant_id, credential_id)))
    if not isinstance(opened, dict) or not all(isinstance(v, str) for v in opened.values()):
        raise Invalid(f"Credential {credential_id} holds malformed values.", hint="Connect it again.")
    return {str(k): v for k, v in opened.items()}


async def find_connected(
    session: AsyncSession, *, tenant_id: str, platforms: Sequence[str]
) -> dict[str, CredentialRead]:
    """Map each of `platforms` the tenant has connected to its most recent credential."""
    if not platforms:
        return {}
    rows = (
        await session.execute(
            select(Credential)
            .where(
                Credential.tenant_id == tenant_id,
                Credential.platform.in_(list(platforms)),
                Credential.status == "connected",
            )
            .order_by(Credential.created_at, Credential.id)
        )
    ).scalars()
    # Ordered oldest first, so the newest credential per platform wins.
    return {row.platform: CredentialRead.model_validate(row) for row in rows}


async def connected_credential_types(session: AsyncSession, *, tenant_id: str) -> set[str]:
    """The n8n credential types the tenant's connected accounts can provide."""
    platforms = await session.scalars(
        select(Credential.platform).where(Credential.tenant_id == tenant_id, Credential.status == "connected")
    )
    catalogue = load_catalogue()
    known = set(catalogue.platforms())
    return {
        t
        for platform in set(platforms)
        if platform in known
        for t in catalogue.get(platform).n8n_credential_types
    }
