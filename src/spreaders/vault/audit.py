"""The credential audit log: every store, read for use, refresh, push to n8n, delete and rotation.

`record_audit` inserts the event in the caller's transaction and flushes it at once, so a caller that
records before acting (as `read_secret` does) is refused when the log cannot be written. Events hold
ids, the platform, the action and a reason; never a secret value.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import get_args

from sqlalchemy import insert, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from spreaders.db.base import new_id, utcnow
from spreaders.errors import Invalid, NotFound
from spreaders.vault.errors import AuditUnavailable
from spreaders.vault.models import AuditEvent, Credential
from spreaders.vault.schemas import AuditAction, AuditEventRead

logger = logging.getLogger(__name__)

ACTIONS: tuple[str, ...] = get_args(AuditAction)
MAX_REASON_CHARS = 500
MAX_PAGE = 1000


def audit_event(
    *, tenant_id: str, credential_id: str, platform: str, action: str, reason: str, user_id: str | None
) -> dict[str, object]:
    """A validated audit event ready for `record_audit_many`."""
    if action not in ACTIONS:
        raise Invalid(f"Unknown audit action {action!r}.", hint=f"Use one of: {', '.join(ACTIONS)}.")
    reason = reason.strip()
    if not reason or len(reason) > MAX_REASON_CHARS:
        raise Invalid(f"An audit reason is required, at most {MAX_REASON_CHARS} characters.")
    return {
        "id": new_id("aud"),
        "tenant_id": tenant_id,
        "user_id": user_id,
        "credential_id": credential_id,
        "platform": platform,
        "action": action,
        "reason": reason,
        "created_at": utcnow(),
    }


async def record_audit(
    session: AsyncSession,
    *,
    tenant_id: str,
    credential_id: str,
    platform: str,
    action: AuditAction,
    reason: str,
    user_id: str | None = None,
) -> None:
    """Write one audit event now, in the caller's transaction; raise AuditUnavailable if it cannot be."""
    await record_audit_many(
        session,
        [
            audit_event(
                tenant_id=tenant_id,
                credential_id=credential_id,
                platform=platform,
                action=action,
                reason=reason,
                user_id=user_id,
            )
        ],
    )


async def audit_credential(
    session: AsyncSession,
    credential: Credential,
    action: AuditAction,
    *,
    reason: str,
    user_id: str | None = None,
) -> None:
    """`record_audit` for a credential row at hand."""
    await record_audit(
        session,
        tenant_id=credential.tenant_id,
        credential_id=credential.id,
        platform=credential.platform,
        action=action,
        reason=reason,
        user_id=user_id,
    )


async def record_audit_many(
    session: AsyncSession | AsyncConnection, events: Sequence[dict[str, object]]
) -> None:
    """Insert prepared events (see `audit_event`) in one statement."""
    if not events:
        return
    try:
        await session.execute(insert(AuditEvent), list(events))
    except SQLAlchemyError as exc:
        logger.error("Audit log write failed: %s", exc.__class__.__name__)
        raise AuditUnavailable(
            "The audit log cannot be written, so the action was refused.",
            hint="Check the database (the vault_audit table and the role's INSERT permission) and retry.",
        ) from exc


async def list_audit(
    session: AsyncSession, *, tenant_id: str, credential_id: str | None = None, limit: int = 100
) -> list[AuditEventRead]:
    """The tenant's audit events, newest first; for one credential, NotFound if the tenant never had it."""
    if not 0 < limit <= MAX_PAGE:
        raise Invalid(f"limit must be between 1 and {MAX_PAGE}, not {limit}.")
    query = select(AuditEvent).where(AuditEvent.tenant_id == tenant_id)
    if credential_id is not None:
        query = query.where(AuditEvent.credential_id == credential_id)
    rows = (
        await session.execute(query.order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc()).limit(limit))
    ).scalars()
    events = [AuditEventRead.model_validate(row) for row in rows]
    if credential_id is not None and not events:
        exists = await session.scalar(
            select(Credential.id).where(Credential.id == credential_id, Credential.tenant_id == tenant_id)
        )
        if exists is None:
            raise NotFound(
                f"Credential {credential_id} not found.", hint="List credentials to see their ids."
            )
    return events
