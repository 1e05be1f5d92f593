"""The credential audit log: written for every store, read and delete, never holding a secret, and a read
refused when its audit record cannot be written (a real database trigger makes the insert fail)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
import pytest_asyncio
from sqlalchemy import select, text

from spreaders.accounts import service as accounts
from spreaders.accounts.schemas import Principal
from spreaders.api.app import create_app
from spreaders.bootstrap import AppContext
from spreaders.errors import Invalid, NotFound
from spreaders.settings import Settings
from spreaders.vault import audit
from spreaders.vault import service as vault
from spreaders.vault.errors import AuditUnavailable
from spreaders.vault.models import AuditEvent, Credential

from .helpers import connect, new_principal, read

CANARY = "SG.audit-canary-91b2e0"


async def _refuse_audit_inserts(app: AppContext) -> None:
    """Make every insert into vault_audit fail inside the database itself."""
    async with app.engine.begin() as conn:
        if app.engine.dialect.name == "postgresql":
            await conn.execute(
                text(
                    "CREATE FUNCTION refuse_audit() RETURNS trigger LANGUAGE plpgsql AS "
                    "$$ BEGIN RAISE EXCEPTION 'audit log is read-only'; END $$"
                )
            )
            await conn.execute(
                text(
                    "CREATE TRIGGER refuse_audit BEFORE INSERT ON vault_audit "
                    "FOR EACH ROW EXECUTE FUNCTION refuse_audit()"
                )
            )
        else:
            await conn.execute(
                text(
                    "CREATE TRIGGER refuse_audit BEFORE INSERT ON vault_audit "
                    "BEGIN SELECT RAISE(ABORT, 'audit log is read-only'); END"
                )
            )


async def test_store_read_and_delete_each_leave_an_event_with_who_and_why(
    app: AppContext, principal: Principal
) -> None:
    credential_id = await connect(app, principal, CANARY)
    assert await read(app, principal, credential_id) == {"apiKey": CANARY}
    async with app.unit_of_work() as session:
        await vault.delete_credential(
            session, tenant_id=principal.tenant_id, credential_id=credential_id, user_id=principal.user_id
        )
    async with app.sessionmaker() as session:
        events = await audit.list_audit(session, tenant_id=principal.tenant_id, credential_id=credential_id)
    assert [(e.action, e.user_id, e.platform) for e in events] == [
        ("delete", principal.user_id, "sendgrid"),
        ("read", principal.user_id, "sendgrid"),
        ("store", principal.user_id, "sendgrid"),
    ]
    assert [e.reason for e in events] == [
        "deleted on request",
        "test reads the value back",
        "connected on the connect page",
    ]


async def test_read_is_refused_when_its_audit_record_cannot_be_written(own_app: AppContext) -> None:
    principal = await new_principal(own_app)
    credential_id = await connect(own_app, principal, CANARY)
    await _refuse_audit_inserts(own_app)

    with pytest.raises(AuditUnavailable, match="audit log cannot be written") as caught:
        await read(own_app, principal, credential_id)
    async with own_app.unit_of_work() as session:
        with pytest.raises(AuditUnavailable):
            await vault.delete_credential(session, tenant_id=principal.tenant_id, credential_id=credential_id)

    assert "INSERT permission" in (caught.value.hint or "")
    assert CANARY not in str(caught.value)
    async with own_app.sessionmaker() as session:
        actions = (await session.execute(select(AuditEvent.action))).scalars().all()
        still_there = await session.scalar(select(Credential.id).where(Credential.id == credential_id))
    assert actions == ["store"]
    assert still_there == credential_id


async def test_read_without_a_reason_is_refused_before_anything_is_opened(
    app: AppContext, principal: Principal
) -> None:
    credential_id = await connect(app, principal, CANARY)
    async with app.unit_of_work() as session:
        with pytest.raises(Invalid, match="reason is required"):
            await vault.read_secret(
                session, app.cipher, tenant_id=principal.tenant_id, credential_id=credential_id, reason="  "
            )


async def test_record_audit_refuses_an_unknown_action_naming_the_known_ones(
    app: AppContext, principal: Principal
) -> None:
    async with app.unit_of_work() as session:
        with pytest.raises(Invalid, match="'peek'") as caught:
            await audit.record_audit(
                session,
                tenant_id=principal.tenant_id,
                credential_id="crd_x",
                platform="sendgrid",
                action="peek",  # type: ignore[arg-type]
                reason="testing",
            )
    assert "store, read, refresh, push, delete, rotate" in (caught.value.hint or "")


async def test_refresh_and_push_events_recorded_by_other_domains_are_listed(
    app: AppContext, principal: Principal
) -> None:
    credential_id = await connect(app, principal, CANARY)
    async with app.unit_of_work() as session:
        for action in ("refresh", "push"):
            await audit.record_audit(
                session,
                tenant_id=principal.tenant_id,
                credential_id=credential_id,
                platform="sendgrid",
                action=action,  # type: ignore[arg-type]
                reason=f"{action} for workflow wf_1",
            )
    async with app.sessionmaker() as session:
        events = await audit.list_audit(session, tenant_id=principal.tenant_id, limit=2)
    assert [e.action for e in events] == ["push", "refresh"]


async def test_audit_rows_never_hold_the_secret(app: AppContext, principal: Principal) -> None:
    credential_id = await connect(app, principal, CANARY)
    await read(app, principal, credential_id)
    async with app.sessionmaker() as session:
        rows = (
            await session.execute(
                text("SELECT * FROM vault_audit WHERE tenant_id = :t"), {"t": principal.tenant_id}
            )
        ).all()
    assert len(rows) == 2
    assert all(CANARY not in str(value) for row in rows for value in row)


@pytest_asyncio.fixture(loop_scope="session")
async def client(app: AppContext, settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    api = create_app(settings)
    api.state.ctx = app
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=api), base_url="http://test") as http:
        yield http


async def _bearer(app: AppContext, principal: Principal) -> dict[str, str]:
    async with app.unit_of_work() as session:
        key = await accounts.create_api_key(session, principal=principal, label="audit test")
    return {"Authorization": f"Bearer {key.key}"}


async def test_rest_audit_lists_a_credentials_events_for_its_tenant_only(
    app: AppContext, principal: Principal, client: httpx.AsyncClient
) -> None:
    credential_id = await connect(app, principal, CANARY)
    await read(app, principal, credential_id)
    other = await new_principal(app, "other")

    mine = await client.get(
        f"/api/v1/credentials/{credential_id}/audit", headers=await _bearer(app, principal)
    )
    theirs = await client.get(f"/api/v1/credentials/{credential_id}/audit", headers=await _bearer(app, other))
    bad_limit = await client.get(
        f"/api/v1/credentials/{credential_id}/audit?limit=0", headers=await _bearer(app, principal)
    )

    assert mine.status_code == 200
    assert [e["action"] for e in mine.json()] == ["read", "store"]
    assert CANARY not in mine.text
    assert theirs.status_code == 404
    assert theirs.json()["error"] == "not_found"
    assert bad_limit.status_code == 422
    async with app.sessionmaker() as session:
        with pytest.raises(NotFound):
            await audit.list_audit(session, tenant_id=other.tenant_id, credential_id=credential_id)
