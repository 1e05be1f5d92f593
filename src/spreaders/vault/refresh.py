"""Keep OAuth2 tokens fresh: on demand before a token is used, and by a background job for those expiring.

Concurrent refreshes of one credential must not race: providers that rotate refresh tokens (X, the
suite's oidc-provider) treat a second use of the old refresh token as theft and revoke the whole grant.
So a refresh first locks the credential's row (PostgreSQL `SELECT ... FOR UPDATE`; on SQLite a no-op
UPDATE, which takes the database's write lock), re-reads it, and only then decides whether to call the
provider; a second caller waits for the first to commit and finds the token fresh. The lock is held for
the token request (bounded by `oauth.timeout_s`), so callers commit right after.

A refresh the provider refuses (revoked grant, expired refresh token, deleted app) marks the connection
`broken` with a message saying how to reconnect; a provider that cannot be reached leaves it as it was
(UpstreamError), for the next try.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import timedelta

import httpx2
from authlib.integrations.base_client import OAuthError
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from spreaders.db.base import utcnow
from spreaders.errors import Invalid, NotFound, SpreadersError, UpstreamError
from spreaders.vault.audit import audit_credential
from spreaders.vault.catalogue import load_catalogue
from spreaders.vault.models import Credential, credential_aad
from spreaders.vault.oauth import (
    OAuthContext,
    oauth_app,
    provider_refused,
    seal_tokens,
    secret_expiry,
    secret_scopes,
    token_secret,
)
from spreaders.vault.schemas import CredentialRead

logger = logging.getLogger(__name__)


def reconnect_message(display_name: str, credential_id: str, reason: str) -> str:
    return (
        f"{reason}. Reconnect {display_name}: ask your assistant for credential.connect with "
        f"credentialId {credential_id} (or run `spreaders credentials connect PLATFORM --credential "
        f"{credential_id}`); workflows using it fail until then."
    )


async def _lock(session: AsyncSession, *, tenant_id: str, credential_id: str) -> Credential:
    """Lock the credential's row for this transaction and read its current state."""
    scoped = (Credential.id == credential_id, Credential.tenant_id == tenant_id)
    if (await session.connection()).dialect.name == "sqlite":
        # SQLite has no row locks: a write as the transaction's first statement takes the database's.
        await session.execute(
            update(Credential)
            .where(*scoped)
            .values(status=Credential.status)
            .execution_options(synchronize_session=False)
        )
    row = (
        await session.execute(
            select(Credential).where(*scoped).with_for_update().execution_options(populate_existing=True)
        )
    ).scalar_one_or_none()
    if row is None:
        raise NotFound(f"Credential {credential_id} not found.", hint="List credentials to see their ids.")
    return row


def _open(oauth: OAuthContext, row: Credential) -> dict[str, str]:
    opened = json.loads(oauth.cipher.open(row.secret, aad=credential_aad(row.tenant_id, row.id)))
    if not isinstance(opened, dict) or "access_token" not in opened:
        raise Invalid(f"Credential {row.id} holds no OAuth token set.", hint="Connect it again.")
    return {str(k): str(v) for k, v in opened.items()}


async def _mark_broken(session: AsyncSession, row: Credential, reason: str) -> CredentialRead:
    display = load_catalogue().get(row.platform).display_name
    row.status = "broken"
    row.status_message = reconnect_message(display, row.id, reason)
    row.updated_at = utcnow()
    await session.flush()
    logger.warning(
        "OAuth credential %s (%s, tenant %s) is broken: %s", row.id, row.platform, row.tenant_id, reason
    )
    return CredentialRead.model_validate(row)


async def refresh_if_needed(
    session: AsyncSession,
    oauth: OAuthContext,
    *,
    tenant_id: str,
    credential_id: str,
    margin_s: float | None = None,
    force: bool = False,
) -> CredentialRead:
    """Refresh the credential's access token if it expires within the margin (or `force`); return it.

    Use before a token is used. API-key credentials are returned unchanged. Another tenant's id is NotFound.
    """
    row = await _lock(session, tenant_id=tenant_id, credential_id=credential_id)
    if row.kind != "oauth2" or row.status != "connected":
        return CredentialRead.model_validate(row)
    margin = timedelta(seconds=oauth.settings.refresh_margin_s if margin_s is None else margin_s)
    now = utcnow()
    if not force and (row.expires_at is None or row.expires_at > now + margin):
        return CredentialRead.model_validate(row)
    values = _open(oauth, row)
    refresh_token = values.get("refresh_token")
    if not refresh_token:
        if row.expires_at is not None and row.expires_at <= now:
            return await _mark_broken(
                session, row, "The access token expired and the provider gave no refresh token"
            )
        return CredentialRead.model_validate(row)
    app = oauth_app(oauth.settings, row.platform, base_url=oauth.base_url)
    try:
        async with app.session(timeout_s=oauth.settings.timeout_s) as client:
            token = await client.refresh_token(
                app.token_url, refresh_token=refresh_token, **app.client_id_params()
            )
    except OAuthError as exc:
        return await _mark_broken(session, row, provider_refused(app, exc) + " to refresh the access token")
    except httpx2.HTTPError as exc:
        raise UpstreamError(
            f"{app.provider.display_name} could not be reached to refresh credential {row.id} "
            f"({exc.__class__.__name__}).",
            hint="It is tried again shortly; the connection stays as it was.",
        ) from exc
    fresh = token_secret(token, previous_refresh_token=refresh_token)
    row.secret = seal_tokens(oauth.cipher, tenant_id=row.tenant_id, credential_id=row.id, values=fresh)
    row.secret_version += 1  # tells vault.n8n_sync that the n8n copies are stale
    row.expires_at = secret_expiry(fresh)
    row.scopes = secret_scopes(fresh, list(row.scopes))
    row.updated_at = utcnow()
    await session.flush()
    await audit_credential(
        session, row, "refresh", reason="forced refresh" if force else "access token near expiry"
    )
    refreshed = CredentialRead.model_validate(row)
    logger.info("Refreshed OAuth credential %s (%s, tenant %s)", row.id, row.platform, row.tenant_id)
    return refreshed


@dataclass
class RefreshReport:
    """What one background refresh round did (credential ids)."""

    refreshed: list[tuple[str, str]] = field(default_factory=list)  # (tenant id, credential id)
    broken: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)


async def refresh_due(
    sessionmaker: async_sessionmaker[AsyncSession],
    oauth: OAuthContext,
) -> RefreshReport:
    """Refresh every connected OAuth2 credential (all tenants) expiring within the margin, one at a time."""
    report = RefreshReport()
    horizon = utcnow() + timedelta(seconds=oauth.settings.refresh_margin_s)
    async with sessionmaker() as session:
        due = (
            await session.execute(
                select(Credential.tenant_id, Credential.id)
                .where(
                    Credential.kind == "oauth2",
                    Credential.status == "connected",
                    Credential.expires_at.is_not(None),
                    Credential.expires_at <= horizon,
                )
                .order_by(Credential.expires_at)
            )
        ).all()
    for tenant_id, credential_id in due:
        try:
            async with sessionmaker() as session:
                done = await refresh_if_needed(
                    session,
                    oauth,
                    tenant_id=tenant_id,
                    credential_id=credential_id,
                )
                await session.commit()
        except SpreadersError as exc:
            logger.warning("Refreshing credential %s failed: %s", credential_id, exc)
            report.failed.append(credential_id)
            continue
        if done.status == "broken":
            report.broken.append(credential_id)
        else:
            report.refreshed.append((tenant_id, credential_id))
    return report
