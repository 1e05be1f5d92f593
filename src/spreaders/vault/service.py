"""Connect platform accounts without secrets passing through the AI conversation.

The agent asks for a connect link; the user opens it in a browser and types the secret into the
platform's own page; the vault seals it. Services flush; the caller commits.
"""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from spreaders.accounts.schemas import Principal
from spreaders.db.base import new_id, utcnow
from spreaders.errors import Invalid, NotFound
from spreaders.vault.audit import record_audit
from spreaders.vault.catalogue import Provider, load_catalogue
from spreaders.vault.cipher import Cipher
from spreaders.vault.errors import ConnectLinkExpired, ConnectLinkUsed
from spreaders.vault.models import ConnectRequest, Credential
from spreaders.vault.schemas import AuditAction, ConnectLink, ConnectRequestView, CredentialRead
from spreaders.vault.sealed import row_aad

logger = logging.getLogger(__name__)

MAX_TTL_SECONDS = 24 * 3600
MAX_VALUE_CHARS = 8192
_ASK_AGAIN = "Ask your assistant for a new connect link."


def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def credential_aad(tenant_id: str, credential_id: str) -> str:
    """Associated data that binds a sealed credential to its tenant and row."""
    return row_aad(tenant_id, Credential.__tablename__, credential_id)


def _form_platforms() -> str:
    catalogue = load_catalogue()
    return ", ".join(sorted(catalogue.platforms(kind="api_key") + catalogue.platforms(kind="basic")))


def _require_form_provider(platform: str) -> Provider:
    provider = load_catalogue().get(platform)
    if provider.kind == "oauth2":
        raise Invalid(
            f"{provider.display_name} connects with OAuth; OAuth connections are not available yet.",
            hint=f"API-key platforms you can connect now: {_form_platforms()}.",
        )
    return provider


async def request_connect(
    session: AsyncSession, *, principal: Principal, platform: str, base_url: str, ttl_seconds: int = 900
) -> ConnectLink:
    """Create a single-use connect link for `platform`; only the token's hash is stored."""
    provider = _require_form_provider(platform)
    if not 0 < ttl_seconds <= MAX_TTL_SECONDS:
        raise Invalid(f"ttl_seconds must be between 1 and {MAX_TTL_SECONDS}, not {ttl_seconds}.")
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
        )
    )
    await session.flush()
    url = f"{base_url.rstrip('/')}/connect/{token}"
    labels = ", ".join(f.label for f in provider.fields if f.required)
    minutes = max(1, ttl_seconds // 60)
    return ConnectLink(
        platform=provider.platform,
        kind=provider.kind,
        url=url,
        expires_at=expires_at,
        instructions=(
            f"Send the user this link to connect {provider.display_name}: {url} . On that page they enter "
            f"{labels}. The link works once and expires in {minutes} minutes. Never ask the user to paste "
            "secrets into this conversation."
        ),
    )


async def _pending_request(session: AsyncSession, token: str) -> ConnectRequest:
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
    row = await _pending_request(session, token)
    provider = _require_form_provider(row.platform)
    return ConnectRequestView(
        platform=provider.platform,
        display_name=provider.display_name,
        kind=provider.kind,
        help=provider.help,
        fields=list(provider.fields),
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


async def _claim(session: AsyncSession, request: ConnectRequest, now: datetime) -> None:
    # Conditional update: of two concurrent submits of one token, only one sees used_at still empty.
    claimed = (
        await session.execute(
            update(ConnectRequest)
            .where(ConnectRequest.id == request.id, ConnectRequest.used_at.is_(None))
            .values(used_at=now)
            .returning(ConnectRequest.id)
            .execution_options(synchronize_session=False)
        )
    ).scalar_one_or_none()
    if claimed is None:
        raise ConnectLinkUsed("This connect link was already used.", hint=_ASK_AGAIN)
    set_committed_value(request, "used_at", now)


async def complete_api_key_connect(
    session: AsyncSession, cipher: Cipher, *, token: str, values: Mapping[str, str], label: str = ""
) -> CredentialRead:
    """Seal the submitted values as a connected credential and use up the connect link."""
    request = await _pending_request(session, token)
    provider = _require_form_provider(request.platform)
    clean = _clean_values(provider, values)
    label = label.strip() or provider.display_name
    if len(label) > 200:
        raise Invalid("The label is too long (at most 200 characters).")
    now = utcnow()
    await _claim(session, request, now)
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
    await _audit(session, row, "store", reason="connected on the connect page", user_id=request.user_id)
    logger.info("Connected %s as credential %s for tenant %s", provider.platform, row.id, row.tenant_id)
    return CredentialRead.model_validate(row)


async def _audit(
    session: AsyncSession, row: Credential, action: AuditAction, *, reason: str, user_id: str | None
) -> None:
    await record_audit(
        session,
        tenant_id=row.tenant_id,
        credential_id=row.id,
        platform=row.platform,
        action=action,
        reason=reason,
        user_id=user_id,
    )


async def _get_credential(session: AsyncSession, tenant_id: str, credential_id: str) -> Credential:
    row = (
        await session.execute(
            select(Credential).where(Credential.id == credential_id, Credential.tenant_id == tenant_id)
        )
    ).scalar_one_or_none()
    if row is None:
        raise NotFound(f"Credential {credential_id} not found.", hint="List credentials to see their ids.")
    return row


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
    user_id: str | None = None,
    reason: str = "deleted on request",
) -> None:
    """Delete one of the tenant's credentials (audited); another tenant's id is NotFound."""
    row = await _get_credential(session, tenant_id, credential_id)
    await _audit(session, row, "delete", reason=reason, user_id=user_id)
    await session.delete(row)
    await session.flush()
    logger.info("Deleted credential %s for tenant %s", credential_id, tenant_id)


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
    await _audit(session, row, "read", reason=reason, user_id=user_id)
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
