"""Helpers for vault tests: a database of the test's own (rotation touches every row), seeded secrets."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import insert, text
from sqlalchemy.ext.asyncio import create_async_engine

from spreaders.accounts import service as accounts
from spreaders.accounts.schemas import Principal
from spreaders.bootstrap import AppContext
from spreaders.db.base import new_id, utcnow
from spreaders.provisioning import process as provisioning
from spreaders.provisioning.models import N8nInstance
from spreaders.vault import service as vault
from spreaders.vault.models import Credential

BASE_URL = "https://spreaders.example"


@asynccontextmanager
async def own_database(folder: Path) -> AsyncIterator[str]:
    """A SQLite file in `folder`, or a throw-away PostgreSQL database when the suite runs on one."""
    admin = os.environ.get("SPREADERS_TEST_DATABASE_URL", "")
    if not admin:
        yield f"sqlite+aiosqlite:///{folder / 'vault.db'}"
        return
    admin = admin.replace("postgresql://", "postgresql+asyncpg://", 1)
    name = f"spreaders_vault_{uuid.uuid4().hex[:10]}"
    engine = create_async_engine(admin, isolation_level="AUTOCOMMIT")
    async with engine.connect() as conn:
        await conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield admin.rsplit("/", 1)[0] + "/" + name
    finally:
        async with engine.connect() as conn:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await engine.dispose()


async def new_principal(app: AppContext, name: str = "vault tenant") -> Principal:
    async with app.unit_of_work() as session:
        tenant = await accounts.create_tenant(session, name=name)
        email = f"{uuid.uuid4().hex}@example.test"
        user = await accounts.create_user(session, tenant_id=tenant.id, email=email)
    return Principal(tenant_id=tenant.id, user_id=user.id)


async def connect(app: AppContext, principal: Principal, secret: str, platform: str = "sendgrid") -> str:
    """Connect an API-key account through the real connect-link flow; return the credential id."""
    async with app.unit_of_work() as session:
        link = await vault.request_connect(session, principal=principal, platform=platform, base_url=BASE_URL)
    token = link.url.rsplit("/connect/", 1)[1]
    async with app.unit_of_work() as session:
        created = await vault.complete_api_key_connect(
            session, app.cipher, token=token, values={"apiKey": secret}
        )
    return created.id


async def bulk_credentials(app: AppContext, principal: Principal, count: int) -> list[str]:
    """Seal `count` credentials (value `secret-<n>`) in one insert, as many connects would have."""
    rows = []
    for n in range(count):
        credential_id = new_id("crd")
        sealed = app.cipher.seal(
            json.dumps({"apiKey": f"secret-{n}"}).encode(),
            aad=vault.credential_aad(principal.tenant_id, credential_id),
        )
        rows.append(
            {
                "id": credential_id,
                "tenant_id": principal.tenant_id,
                "user_id": principal.user_id,
                "platform": "sendgrid",
                "kind": "api_key",
                "label": f"bulk {n}",
                "status": "connected",
                "secret": sealed,
                "created_at": utcnow(),
            }
        )
    async with app.unit_of_work() as session:
        await session.execute(insert(Credential), rows)
    return [row["id"] for row in rows]


async def sealed_instance(app: AppContext, principal: Principal | None, values: dict[str, str]) -> str:
    """An n8n instance row whose secrets are sealed by the provisioning domain's own code; without a
    principal, a platform-owned row (a shared process of the free pool)."""
    async with app.unit_of_work() as session:
        tenant_id, kind = (principal.tenant_id, "dedicated") if principal else (None, "shared")
        instance = N8nInstance(id=new_id("n8n"), tenant_id=tenant_id, kind=kind, version="test")
        session.add(instance)
        await session.flush()
        provisioning.seal(app, instance, values)
    return instance.id


async def instance_secrets(app: AppContext, instance_id: str) -> dict[str, str]:
    async with app.sessionmaker() as session:
        instance = await session.get_one(N8nInstance, instance_id)
        return provisioning.opened(app, instance)


async def read(app: AppContext, principal: Principal, credential_id: str) -> dict[str, str]:
    async with app.unit_of_work() as session:
        return await vault.read_secret(
            session,
            app.cipher,
            tenant_id=principal.tenant_id,
            credential_id=credential_id,
            reason="test reads the value back",
            user_id=principal.user_id,
        )


def protected_call_workflow(url: str, *, auth_type: str, credential: dict[str, str]) -> dict[str, Any]:
    """Manual trigger -> HTTP Request authenticated by an n8n credential of `auth_type`, named as an export
    names it (a foreign id, or a name only)."""
    return {
        "name": f"protected call {uuid.uuid4().hex[:8]}",
        "nodes": [
            {
                "id": "t",
                "name": "Start",
                "type": "n8n-nodes-base.manualTrigger",
                "typeVersion": 1,
                "position": [0, 0],
                "parameters": {},
            },
            {
                "id": "c",
                "name": "Call API",
                "type": "n8n-nodes-base.httpRequest",
                "typeVersion": 4.2,
                "position": [220, 0],
                "parameters": {
                    "url": url,
                    "authentication": "genericCredentialType",
                    "genericAuthType": auth_type,
                    "options": {},
                },
                "credentials": {auth_type: credential},
            },
        ],
        "connections": {"Start": {"main": [[{"node": "Call API", "type": "main", "index": 0}]]}},
        "settings": {"executionOrder": "v1"},
    }
