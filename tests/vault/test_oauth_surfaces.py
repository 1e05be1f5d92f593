"""The OAuth connect flow's front doors: MCP (URL-mode elicitation), the CLI, and the monitor loop that
runs the refresh job. The MCP client is the SDK's in-memory `Client`; its elicitation callback plays the
user ("legacy" negotiates 2025-11-25, where URL elicitation is sent mid-call; "auto" 2026-07-28)."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from typing import Any, Literal

import pytest
from mcp import Client
from mcp.client import ClientRequestContext
from mcp_types import ElicitRequestParams, ElicitRequestURLParams, ElicitResult

from spreaders.accounts.schemas import Principal
from spreaders.bootstrap import AppContext
from spreaders.mcp.server import build_server
from spreaders.monitor.jobs import run_monitor
from spreaders.vault import service as vault

from ..support.oauth_provider import PLATFORM, ConnectedOAuth, OAuthProvider, with_oauth


class User:
    """Answers every URL elicitation with `action`, remembering what it was asked to open."""

    def __init__(self, action: Literal["accept", "decline", "cancel"]) -> None:
        self.action = action
        self.asked: list[ElicitRequestParams] = []

    async def __call__(self, context: ClientRequestContext, params: ElicitRequestParams) -> ElicitResult:
        self.asked.append(params)
        return ElicitResult(action=self.action)


@pytest.mark.parametrize("action", ["accept", "decline"])
async def test_connect_asks_a_client_that_opens_urls_to_offer_the_page(
    oauth_ctx: AppContext, principal: Principal, action: Literal["accept", "decline"]
) -> None:
    user = User(action)
    server = build_server(lambda: oauth_ctx, principal_resolver=lambda _app: principal)
    async with Client(server, mode="legacy", elicitation_callback=user) as client:
        result = await client.call_tool("credential.connect", {"platform": PLATFORM, "capabilities": []})
    offer: dict[str, Any] = result.structured_content or {}
    [asked] = user.asked
    assert isinstance(asked, ElicitRequestURLParams)
    assert asked.url == offer["url"]
    assert offer["url"].startswith("http://spreaders.test/connect/")
    assert offer["elicitation"] == action
    assert offer["scopes"] == ["openid", "offline_access", "api:read"]
    assert "client_secret" not in json.dumps(offer) and "test-client-secret" not in json.dumps(offer)


async def test_connect_returns_the_link_when_the_client_cannot_be_asked_mid_call(
    oauth_ctx: AppContext, principal: Principal
) -> None:
    user = User("accept")
    server = build_server(lambda: oauth_ctx, principal_resolver=lambda _app: principal)
    async with Client(server, elicitation_callback=user) as client:
        result = await client.call_tool("credential.connect", {"platform": PLATFORM})
    offer: dict[str, Any] = result.structured_content or {}
    assert user.asked == []
    assert offer["elicitation"] == "not_supported"
    assert offer["url"] in str(result.content)


async def test_unconfigured_oauth_platform_is_a_tool_error_naming_the_settings(
    oauth_ctx: AppContext, principal: Principal
) -> None:
    server = build_server(lambda: oauth_ctx, principal_resolver=lambda _app: principal)
    async with Client(server) as client:
        result = await client.call_tool("credential.connect", {"platform": "twitter"})
    assert result.is_error
    assert "SPREADERS_OAUTH__CLIENTS__TWITTER__CLIENT_ID" in str(result.content)


async def test_monitor_loop_refreshes_expiring_tokens(connected_oauth_credential: ConnectedOAuth) -> None:
    found = connected_oauth_credential
    eager = with_oauth(found.ctx, found.ctx.settings.oauth.model_copy(update={"refresh_margin_s": 3600}))
    config = eager.settings.monitor.model_copy(update={"interval_s": 0.2, "resume_chains": False})
    stop = asyncio.Event()
    loop = asyncio.create_task(run_monitor(eager, stop=stop, config=config))
    deadline = time.monotonic() + 20
    try:
        while time.monotonic() < deadline:
            async with eager.sessionmaker() as session:
                [now] = await vault.list_credentials(session, tenant_id=found.principal.tenant_id)
            if now.updated_at is not None:
                break
            await asyncio.sleep(0.1)
    finally:
        stop.set()
        await asyncio.wait_for(loop, timeout=30)
    assert now.updated_at is not None, "the monitor loop did not refresh the token within 20 s"
    assert now.expires_at is not None and found.credential.expires_at is not None
    assert now.expires_at >= found.credential.expires_at
    assert now.status == "connected"


def _cli(app: AppContext, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    environment = {
        **os.environ,
        "SPREADERS_DATA_DIR": str(app.settings.data_dir),
        "SPREADERS_DATABASE_URL": app.settings.database_url,
        **env,
    }
    return subprocess.run(
        [sys.executable, "-m", "spreaders.cli.main", "credentials", *args],
        capture_output=True,
        text=True,
        env=environment,
        timeout=120,
        check=False,
    )


def test_cli_connects_lists_and_refuses_unconfigured_platforms(
    app: AppContext, oauth_provider: OAuthProvider
) -> None:
    client = "SPREADERS_OAUTH__CLIENTS__CUSTOM_OAUTH2__"
    env = {
        "SPREADERS_API__PUBLIC_URL": "http://spreaders.test",
        client + "CLIENT_ID": oauth_provider.client_id,
        client + "CLIENT_SECRET": oauth_provider.client_secret,
        client + "AUTHORIZE_URL": oauth_provider.authorize_url,
        client + "TOKEN_URL": oauth_provider.token_url,
        client + "SCOPES": '["openid", "offline_access"]',
    }
    link = _cli(app, "connect", PLATFORM, "--json", env=env)
    refused = _cli(app, "connect", "linkedin", "--json", env=env)
    listed = _cli(app, "ls", "--json", env=env)
    assert link.returncode == 0, link.stderr
    assert json.loads(link.stdout)["scopes"] == ["openid", "offline_access"]
    assert json.loads(link.stdout)["url"].startswith("http://spreaders.test/connect/")
    assert refused.returncode == 1
    assert "SPREADERS_OAUTH__CLIENTS__LINKEDIN__CLIENT_ID" in json.loads(refused.stdout)["hint"]
    assert listed.returncode == 0, listed.stderr
    assert isinstance(json.loads(listed.stdout), list)
    assert oauth_provider.client_secret not in link.stdout + listed.stdout + link.stderr
