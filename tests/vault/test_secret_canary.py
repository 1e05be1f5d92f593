"""A canary secret goes through a whole connect -> deploy -> run -> disconnect cycle over the real front
doors (web connect page, REST, MCP) and the real n8n; afterwards it is searched for everywhere the platform
writes: logs, every database row, and every API and MCP answer. It must appear nowhere.

The outside API is a header-checking server on loopback (it stands in for a SaaS that takes an API key).
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
import pytest_asyncio
from mcp import Client
from sqlalchemy import select

from spreaders.accounts import service as accounts
from spreaders.accounts.schemas import Principal
from spreaders.api.app import create_app
from spreaders.bootstrap import AppContext
from spreaders.db.base import Base
from spreaders.mcp.server import build_server
from spreaders.registry import service as registry
from spreaders.settings import Settings

from .test_n8n_credentials import HEADER, _header_auth_workflow, _KeyServer, key_server  # noqa: F401

pytestmark = pytest.mark.e2e


@pytest_asyncio.fixture(loop_scope="session")
async def rest(app: AppContext, settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    api = create_app(settings)
    api.state.ctx = app
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=api), base_url="http://test") as http:
        yield http


async def _database_text(app: AppContext) -> str:
    chunks: list[str] = []
    async with app.sessionmaker() as session:
        for table in Base.metadata.sorted_tables:
            rows = (await session.execute(select(table))).all()
            chunks += [repr(tuple(row)) for row in rows]
    return "\n".join(chunks)


async def test_a_canary_secret_never_leaves_the_vault(
    app: AppContext,
    e2e_principal: Principal,
    rest: httpx.AsyncClient,
    key_server: _KeyServer,  # noqa: F811
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    canary = f"CANARY-{uuid.uuid4().hex}"
    key_server.expected = canary
    async with app.unit_of_work() as session:
        api_key = (await accounts.create_api_key(session, principal=e2e_principal, label="canary")).key
        template = await registry.import_workflow(
            session,
            tenant_id=e2e_principal.tenant_id,
            document=_header_auth_workflow(f"http://127.0.0.1:{key_server.server_port}/me"),
        )
    auth = {"Authorization": f"Bearer {api_key}"}
    answers: list[str] = []
    server = build_server(lambda: app, principal_resolver=lambda _app: e2e_principal)

    async with Client(server) as mcp:
        link = await mcp.call_tool("credential.connect", {"platform": "http_header"})
        answers.append(repr(link))
        assert link.structured_content is not None
        path = re.sub(r"^https?://[^/]+", "", link.structured_content["url"])
        page = await rest.get(path)
        submitted = await rest.post(
            path, data={"field_name": HEADER, "field_value": canary, "label": "Canary API"}
        )
        answers += [page.text, submitted.text]
        assert submitted.status_code == 200

        run = await mcp.call_tool("workflow.execute", {"workflowId": template.id, "timeoutSeconds": 60})
        answers.append(repr(run))
        assert run.structured_content is not None and run.structured_content["status"] == "success"
        assert key_server.seen[-1] == canary  # the secret did reach the outside API, through n8n
        execution_id = run.structured_content["id"]
        for tool, arguments in [
            ("credential.list", {}),
            ("execution.getStatus", {"executionId": execution_id}),
            ("execution.logs", {"executionId": execution_id}),
            ("workflow.get", {"workflowId": template.id}),
        ]:
            answers.append(repr(await mcp.call_tool(tool, arguments)))
        credentials = await rest.get("/api/v1/credentials", headers=auth)
        answers.append(credentials.text)
        [credential] = [c for c in credentials.json() if c["label"] == "Canary API"]
        for url in [f"/api/v1/executions/{execution_id}", f"/api/v1/executions/{execution_id}/logs"]:
            answers.append((await rest.get(url, headers=auth)).text)
        deleted = await mcp.call_tool("credential.delete", {"credentialId": credential["id"]})
        answers.append(repr(deleted))
        assert not deleted.is_error

    database = await _database_text(app)
    places = {"API and MCP answers": "\n".join(answers), "logs": caplog.text, "database rows": database}
    assert {where: canary in text for where, text in places.items()} == dict.fromkeys(places, False)
    assert "Canary API" not in database  # the account and its n8n copy are gone, not orphaned
    assert "Local workspace" in database  # the dump did read the rows
