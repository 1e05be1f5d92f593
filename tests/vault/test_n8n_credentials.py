"""Connected accounts become n8n credentials in the real n8n the suite starts, bound at deploy.

The outside service is a header-checking HTTP server started here on loopback (the stand-in for a
platform API that takes an API key); n8n, the database and the vault are real.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from sqlalchemy import select

from spreaders.accounts.schemas import Principal
from spreaders.bootstrap import AppContext
from spreaders.errors import NotFound
from spreaders.orchestrator import service as orchestrator
from spreaders.orchestrator.n8n_client import N8nClient
from spreaders.provisioning import service as provisioning
from spreaders.registry import service as registry
from spreaders.vault import n8n_sync
from spreaders.vault import service as vault
from spreaders.vault.models import Credential, N8nCredentialLink
from spreaders.vault.schemas import CredentialRead

from .helpers import protected_call_workflow

pytestmark = pytest.mark.e2e

HEADER = "X-Api-Key"


class _KeyServer(ThreadingHTTPServer):
    """Answers 200 with what it saw when the request carries the expected key, 401 otherwise."""

    expected = ""
    seen: list[str]


class _KeyHandler(BaseHTTPRequestHandler):
    server: _KeyServer

    def do_GET(self) -> None:
        got = self.headers.get(HEADER, "")
        self.server.seen.append(got)
        ok = bool(got) and got == self.server.expected
        body = json.dumps({"authorized": ok}).encode()
        self.send_response(200 if ok else 401)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        return


@pytest.fixture
def key_server() -> Iterator[_KeyServer]:
    server = _KeyServer(("127.0.0.1", 0), _KeyHandler)
    server.seen = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def _header_auth_workflow(url: str) -> dict[str, Any]:
    return protected_call_workflow(
        url, auth_type="httpHeaderAuth", credential={"id": "foreign-17", "name": "My API key"}
    )


async def _connect_header_key(app: AppContext, principal: Principal, key: str) -> CredentialRead:
    async with app.unit_of_work() as session:
        link = await vault.request_connect(
            session, principal=principal, platform="http_header", base_url="http://spreaders.test"
        )
    token = link.url.rsplit("/connect/", 1)[1]
    async with app.unit_of_work() as session:
        return await vault.complete_api_key_connect(
            session, app.cipher, token=token, values={"name": HEADER, "value": key}, label="Partner API"
        )


async def _disconnect(
    app: AppContext, principal: Principal, credential_id: str, *, connections: dict[str, Any] | None = None
) -> int:
    if connections is None:
        connections = await n8n_sync.running_connections(app, tenant_id=principal.tenant_id)
    deleted = await n8n_sync.forget(
        app, tenant_id=principal.tenant_id, credential_id=credential_id, connections=connections
    )
    async with app.unit_of_work() as session:
        await vault.delete_credential(session, tenant_id=principal.tenant_id, credential_id=credential_id)
    return deleted


async def _replace_secret(app: AppContext, credential_id: str, values: dict[str, str]) -> None:
    """What a refresh does to a credential's row (OAuth refresh itself is tested in test_n8n_oauth.py)."""
    async with app.unit_of_work() as session:
        row = await session.get_one(Credential, credential_id)
        row.secret = app.cipher.seal(
            json.dumps(values).encode(), aad=vault.credential_aad(row.tenant_id, credential_id)
        )
        row.secret_version += 1


async def _links(app: AppContext, credential_id: str) -> list[N8nCredentialLink]:
    async with app.sessionmaker() as session:
        rows = await session.scalars(
            select(N8nCredentialLink).where(N8nCredentialLink.credential_id == credential_id)
        )
        return list(rows)


async def test_api_key_connection_is_created_in_n8n_bound_at_deploy_and_kept_in_step(
    app: AppContext, e2e_principal: Principal, key_server: _KeyServer
) -> None:
    first_key, second_key = f"key-{uuid.uuid4().hex}", f"key-{uuid.uuid4().hex}"
    key_server.expected = first_key
    credential = await _connect_header_key(app, e2e_principal, first_key)
    async with app.unit_of_work() as session:
        template = await registry.import_workflow(
            session,
            tenant_id=e2e_principal.tenant_id,
            document=_header_auth_workflow(f"http://127.0.0.1:{key_server.server_port}/me"),
        )
    try:
        result = await orchestrator.execute(
            app, principal=e2e_principal, template_id=template.id, timeout_s=60
        )
        assert result.status == "success", result.error
        assert result.output["items"] == [{"authorized": True}]
        assert key_server.seen == [first_key]
        [link] = await _links(app, credential.id)
        assert link.n8n_type == "httpHeaderAuth" and link.secret_version == 1

        # A new secret (what a refresh does) reaches the deployed workflow without a redeploy.
        await _replace_secret(app, credential.id, {"name": HEADER, "value": second_key})
        connections = await n8n_sync.running_connections(app, tenant_id=e2e_principal.tenant_id)
        replaced = await n8n_sync.resync(
            app, tenant_id=e2e_principal.tenant_id, credential_id=credential.id, connections=connections
        )
        assert replaced == 1
        [relinked] = await _links(app, credential.id)
        assert relinked.secret_version == 2 and relinked.n8n_credential_id != link.n8n_credential_id
        conn = await provisioning.connect(app, tenant_id=e2e_principal.tenant_id)
        client = N8nClient(app.http, base_url=conn.base_url, api_key=conn.api_key)
        with pytest.raises(NotFound):  # the old copy is gone from n8n
            await client.delete_credential(link.n8n_credential_id)

        key_server.expected = second_key
        again = await orchestrator.execute(
            app, principal=e2e_principal, template_id=template.id, timeout_s=60
        )
        assert again.status == "success", again.error
        assert again.n8n_workflow_id == result.n8n_workflow_id  # re-pointed in place, not redeployed
        assert key_server.seen[-1] == second_key
    finally:
        deleted = await _disconnect(app, e2e_principal, credential.id)
    assert deleted == 1
    assert await _links(app, credential.id) == []
    with pytest.raises(NotFound):
        await client.delete_credential(relinked.n8n_credential_id)


async def test_a_new_connection_rebinds_a_live_deployment(
    app: AppContext, e2e_principal: Principal, key_server: _KeyServer
) -> None:
    """Deployed before the account was connected, the workflow fails; after connecting, it runs."""
    async with app.unit_of_work() as session:
        template = await registry.import_workflow(
            session,
            tenant_id=e2e_principal.tenant_id,
            document=_header_auth_workflow(f"http://127.0.0.1:{key_server.server_port}/me"),
        )
    before = await orchestrator.execute(app, principal=e2e_principal, template_id=template.id, timeout_s=60)
    assert before.status == "error"

    key_server.expected = f"key-{uuid.uuid4().hex}"
    credential = await _connect_header_key(app, e2e_principal, key_server.expected)
    try:
        after = await orchestrator.execute(
            app, principal=e2e_principal, template_id=template.id, timeout_s=60
        )
        assert after.status == "success", after.error
        assert after.n8n_workflow_id == before.n8n_workflow_id
        assert key_server.seen[-1] == key_server.expected
    finally:
        await _disconnect(app, e2e_principal, credential.id)


async def test_another_tenant_never_gets_the_connection(
    app: AppContext, e2e_principal: Principal, principal: Principal
) -> None:
    credential = await _connect_header_key(app, e2e_principal, f"key-{uuid.uuid4().hex}")
    try:
        conn = await provisioning.connect(app, tenant_id=e2e_principal.tenant_id)
        client = N8nClient(app.http, base_url=conn.base_url, api_key=conn.api_key)
        refs = await n8n_sync.credentials_for(
            app, tenant_id=principal.tenant_id, conn=conn, client=client, n8n_types=["httpHeaderAuth"]
        )
        assert refs == {}
        with pytest.raises(NotFound):
            await n8n_sync.resync(
                app, tenant_id=principal.tenant_id, credential_id=credential.id, connections={}
            )
    finally:
        await _disconnect(app, e2e_principal, credential.id)


async def test_disconnect_while_n8n_is_unreachable_leaves_an_orphan_deleted_later(
    app: AppContext, e2e_principal: Principal
) -> None:
    credential = await _connect_header_key(app, e2e_principal, f"key-{uuid.uuid4().hex}")
    conn = await provisioning.connect(app, tenant_id=e2e_principal.tenant_id)
    client = N8nClient(app.http, base_url=conn.base_url, api_key=conn.api_key)
    [ref] = (
        await n8n_sync.credentials_for(
            app, tenant_id=e2e_principal.tenant_id, conn=conn, client=client, n8n_types=["httpHeaderAuth"]
        )
    ).values()

    assert await _disconnect(app, e2e_principal, credential.id, connections={}) == 0
    async with app.sessionmaker() as session:
        orphans = list(
            await session.scalars(
                select(N8nCredentialLink).where(
                    N8nCredentialLink.tenant_id == e2e_principal.tenant_id,
                    N8nCredentialLink.credential_id.is_(None),
                )
            )
        )
    assert [o.n8n_credential_id for o in orphans] == [ref.id]

    deleted = await n8n_sync.delete_orphans(
        app, tenant_id=e2e_principal.tenant_id, connections={conn.instance_id: conn}
    )
    assert deleted == 1
    with pytest.raises(NotFound):
        await client.delete_credential(ref.id)
