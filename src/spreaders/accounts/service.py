"""Tenants, users and API keys. Services flush; the caller commits."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from spreaders.accounts.models import ApiKey, Tenant, User
from spreaders.accounts.schemas import ApiKeyCreated, Principal, Tier
from spreaders.db.base import new_id, utcnow
from spreaders.errors import Unauthorized

LOCAL_EMAIL = "you@localhost"
_KEY_PREFIX = "spr_"
_PREFIX_LEN = 12


def _hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


async def create_tenant(
    session: AsyncSession, *, name: str, tier: Tier = "free", is_local: bool = False
) -> Tenant:
    tenant = Tenant(id=new_id("ten"), name=name, tier=tier, is_local=is_local)
    session.add(tenant)
    await session.flush()
    return tenant


async def create_user(session: AsyncSession, *, tenant_id: str, email: str, name: str = "") -> User:
    user = User(id=new_id("usr"), tenant_id=tenant_id, email=email.lower(), name=name)
    session.add(user)
    await session.flush()
    return user


async def ensure_local_principal(session: AsyncSession) -> Principal:
    """Return the embedded mode's own tenant and user, creating them on first run."""
    tenant = (await session.execute(select(Tenant).where(Tenant.is_local.is_(True)))).scalar_one_or_none()
    if tenant is None:
        tenant = await create_tenant(session, name="Local workspace", is_local=True)
        user = await create_user(session, tenant_id=tenant.id, email=LOCAL_EMAIL, name="Local user")
    else:
        user = (await session.execute(select(User).where(User.tenant_id == tenant.id).limit(1))).scalar_one()
    return Principal(tenant_id=tenant.id, user_id=user.id)


async def create_api_key(
    session: AsyncSession, *, principal: Principal, label: str = "", scopes: str = "*"
) -> ApiKeyCreated:
    """Mint an API key; the plain key is in the result only, the database keeps its hash."""
    key = _KEY_PREFIX + secrets.token_urlsafe(32)
    row = ApiKey(
        id=new_id("key"),
        tenant_id=principal.tenant_id,
        user_id=principal.user_id,
        label=label,
        prefix=key[:_PREFIX_LEN],
        key_hash=_hash_key(key),
        scopes=scopes,
    )
    session.add(row)
    await session.flush()
    return ApiKeyCreated(id=row.id, label=label, key=key)


async def authenticate_api_key(session: AsyncSession, *, key: str) -> Principal:
    """Resolve an API key to its principal or raise Unauthorized."""
    refusal = Unauthorized("Invalid or revoked API key.", hint="Create one with `spreaders keys create`.")
    if not key.startswith(_KEY_PREFIX) or len(key) < _PREFIX_LEN:
        raise refusal
    row = (
        await session.execute(select(ApiKey).where(ApiKey.prefix == key[:_PREFIX_LEN]))
    ).scalar_one_or_none()
    if row is None or row.revoked_at is not None or not hmac.compare_digest(row.key_hash, _hash_key(key)):
        raise refusal
    row.last_used_at = utcnow()
    await session.flush()
    return Principal(
        tenant_id=row.tenant_id, user_id=row.user_id, scopes=frozenset(s for s in row.scopes.split() if s)
    )
