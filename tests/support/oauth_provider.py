"""A real OAuth 2.0 / OpenID Connect provider for tests, and a browser that signs in at it.

The provider is the npm package `oidc-provider` (pinned in the Makefile's `node-tools` target, installed
into ~/.cache/spreaders/node-tools; the fixture installs it the same way when it is missing), run by
`tests/oauth_provider/provider.mjs` on a free loopback port: one confidential client whose only redirect
URI is Spreaders' callback for the `custom_oauth2` platform, PKCE (S256) required, short-lived access
tokens, rotating refresh tokens (issued only with `prompt=consent` and `offline_access`), revocation,
userinfo and a protected resource `GET /resource`.

Spreaders itself is served in process (ASGI) at http://spreaders.test; `Browser` is one httpx client whose
cookie jar spans both hosts, as a real browser's would, and walks the provider's own login and consent
pages.

Fixtures for other test folders: import `oauth_provider`, `oauth_ctx` and `connected_oauth_credential` into
a conftest (tests/vault/conftest.py does).
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import re
import shutil
import socket
import subprocess
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urljoin

import httpx
import pytest
import pytest_asyncio
from fastapi import FastAPI

from spreaders.accounts.schemas import Principal
from spreaders.bootstrap import AppContext
from spreaders.settings import OAuthClientSettings, OAuthSettings
from spreaders.vault import service as vault
from spreaders.vault.schemas import CredentialRead
from spreaders.web.routes import router as web_router

OIDC_PROVIDER_VERSION = "8.8.1"  # keep in step with the Makefile
SPREADERS_URL = "http://spreaders.test"
PLATFORM = "custom_oauth2"
CLIENT_ID = "spreaders-test-client"
CLIENT_SECRET = "test-client-secret-4f1d9c"
ACCESS_TOKEN_TTL_S = 120
SCRIPT = Path(__file__).resolve().parents[1] / "oauth_provider" / "provider.mjs"


@dataclass(frozen=True)
class OAuthProvider:
    """A running oidc-provider: its endpoints and the client registered for Spreaders."""

    issuer: str
    client_id: str
    client_secret: str
    redirect_uri: str

    @property
    def authorize_url(self) -> str:
        return f"{self.issuer}/auth"

    @property
    def token_url(self) -> str:
        return f"{self.issuer}/token"

    @property
    def revoke_url(self) -> str:
        return f"{self.issuer}/token/revocation"

    @property
    def userinfo_url(self) -> str:
        return f"{self.issuer}/me"

    @property
    def resource_url(self) -> str:
        return f"{self.issuer}/resource"

    def client_settings(self, **changes: object) -> OAuthClientSettings:
        """The operator's settings for this client (`SPREADERS_OAUTH__CLIENTS__CUSTOM_OAUTH2__*`)."""
        base = OAuthClientSettings.model_validate(
            {
                "client_id": self.client_id,
                "client_secret": self.client_secret,
                "authorize_url": self.authorize_url,
                "token_url": self.token_url,
                "revoke_url": self.revoke_url,
                "scopes": ["openid", "offline_access", "api:read"],
            }
        )
        return base.model_copy(update=changes)


def node_tools_dir() -> Path:
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "spreaders" / "node-tools"


def _ensure_installed() -> Path:
    """The oidc-provider package, installed like `make node-tools` does when it is missing."""
    prefix = node_tools_dir()
    package = prefix / "node_modules" / "oidc-provider" / "package.json"
    if package.is_file() and json.loads(package.read_text())["version"] == OIDC_PROVIDER_VERSION:
        return package.parent
    prefix.mkdir(parents=True, exist_ok=True)
    command = [
        "npm", "install", "--prefix", str(prefix), "--save-exact", "--no-audit", "--no-fund",
        "--loglevel=error", f"oidc-provider@{OIDC_PROVIDER_VERSION}",
    ]  # fmt: skip
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        pytest.fail(f"Cannot install oidc-provider with {' '.join(command)}: {exc}")
    if done.returncode != 0 or not package.is_file():
        pytest.fail(f"Installing oidc-provider failed ({done.returncode}): {done.stderr[-2000:]}")
    return package.parent


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def start_provider(redirect_uris: list[str], log: Path) -> tuple[subprocess.Popen[str], str]:
    """Start oidc-provider on a free loopback port; return the process and its issuer URL."""
    node = shutil.which("node")
    if node is None:
        pytest.fail("Node.js 20+ is needed for the test OAuth provider.")
    module = _ensure_installed() / "lib" / "index.js"
    config = {
        "modulePath": str(module),
        "port": _free_port(),
        "clientId": CLIENT_ID,
        "clientSecret": CLIENT_SECRET,
        "redirectUris": redirect_uris,
        "accessTokenTtl": ACCESS_TOKEN_TTL_S,
        "refreshTokenTtl": 3600,
    }
    with log.open("w") as stderr:
        process = subprocess.Popen(
            [node, str(SCRIPT), json.dumps(config)], stdout=subprocess.PIPE, stderr=stderr, text=True
        )
    assert process.stdout is not None
    line = process.stdout.readline()  # blocks until READY or the process ends (its stdout closes)
    if not line.startswith("READY "):
        process.kill()
        process.wait(timeout=10)
        pytest.fail(f"oidc-provider did not start: {line!r} {log.read_text()[-2000:]}")
    return process, line.split(" ", 1)[1].strip()


@pytest.fixture(scope="session")
def oauth_provider(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OAuthProvider]:
    """A real oidc-provider for the whole session, registered for Spreaders' custom_oauth2 callback."""
    redirect_uri = f"{SPREADERS_URL}/connect/oauth/{PLATFORM}/callback"
    log = tmp_path_factory.mktemp("oidc-provider") / "provider.log"
    process, issuer = start_provider([redirect_uri], log)
    try:
        yield OAuthProvider(
            issuer=issuer, client_id=CLIENT_ID, client_secret=CLIENT_SECRET, redirect_uri=redirect_uri
        )
    finally:
        process.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=10)
        if process.poll() is None:
            process.kill()
        if process.stdout is not None:
            process.stdout.close()


def with_oauth(app: AppContext, oauth: OAuthSettings, *, public_url: str = SPREADERS_URL) -> AppContext:
    """The shared app context with other OAuth settings and public URL (same database and cipher)."""
    api = app.settings.api.model_copy(update={"public_url": public_url})
    settings = app.settings.model_copy(update={"oauth": oauth, "api": api})
    return dataclasses.replace(app, settings=settings)


@pytest.fixture
def oauth_ctx(app: AppContext, oauth_provider: OAuthProvider) -> AppContext:
    """The app context with the test provider configured as the `custom_oauth2` platform."""
    return with_oauth(app, OAuthSettings(clients={PLATFORM: oauth_provider.client_settings()}))


def spreaders_web(ctx: AppContext) -> FastAPI:
    web = FastAPI()
    web.include_router(web_router)
    web.state.ctx = ctx
    return web


class Browser:
    """One cookie jar across Spreaders (in process) and the provider (real HTTP), like a browser."""

    def __init__(self, ctx: AppContext) -> None:
        transport = httpx.ASGITransport(app=spreaders_web(ctx))
        self.http = httpx.AsyncClient(mounts={"all://spreaders.test": transport}, timeout=15)

    async def __aenter__(self) -> Browser:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.http.aclose()

    async def authorize(self, connect_url: str) -> str:
        """Open the connect page, press Continue, sign in and consent; return the callback URL the
        provider redirects to (not followed, so a test can replay or tamper with it)."""
        page = await self.http.get(connect_url)
        assert page.status_code == 200, page.text
        response = await self.http.post(connect_url)
        assert response.status_code == 303, response.text
        return await self.consent(response.headers["location"])

    async def consent(self, url: str) -> str:
        """Walk the provider's login and consent pages from `url` until it redirects back to Spreaders."""
        for _ in range(12):
            response = await self.http.get(url)
            while response.status_code in (302, 303):
                url = urljoin(url, response.headers["location"])
                if url.startswith(SPREADERS_URL):
                    return url
                response = await self.http.get(url)
            assert response.status_code == 200, f"{url}: {response.status_code} {response.text[:500]}"
            action = re.search(r'<form[^>]*action="([^"]+)"', response.text)
            assert action is not None, f"no form on {url}: {response.text[:500]}"
            fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', response.text))
            if 'name="login"' in response.text:
                fields |= {"login": "marketer", "password": "any"}
            posted = await self.http.post(urljoin(url, action.group(1)), data=fields)
            assert posted.status_code in (302, 303), f"{posted.status_code} {posted.text[:500]}"
            url = urljoin(url, posted.headers["location"])
            if url.startswith(SPREADERS_URL):
                return url
        pytest.fail("the provider never redirected back to Spreaders")

    async def finish(self, callback_url: str) -> httpx.Response:
        return await self.http.get(callback_url)

    def verifier_cookie(self) -> tuple[str, str, str]:
        """The (name, value, path) of the PKCE verifier cookie Spreaders set in this browser."""
        [cookie] = [c for c in self.http.cookies.jar if c.name.startswith("spr_pkce_")]
        assert cookie.value is not None
        return cookie.name, cookie.value, cookie.path

    def set_verifier_cookie(self, name: str, value: str, path: str) -> None:
        self.http.cookies.set(name, value, domain="spreaders.test", path=path)


async def connect_link(ctx: AppContext, principal: Principal, **options: object) -> str:
    async with ctx.unit_of_work() as session:
        link = await vault.request_connect(
            session,
            principal=principal,
            platform=PLATFORM,
            base_url=ctx.settings.api.base_url(),
            oauth=ctx.settings.oauth,
            **options,  # type: ignore[arg-type]
        )
    return link.url


async def connect(ctx: AppContext, principal: Principal) -> CredentialRead:
    """The whole connect flow through the real provider; returns the new credential."""
    url = await connect_link(ctx, principal)
    async with Browser(ctx) as browser:
        done = await browser.finish(await browser.authorize(url))
    assert done.status_code == 200, done.text
    async with ctx.sessionmaker() as session:
        items = await vault.list_credentials(session, tenant_id=principal.tenant_id)
    return items[-1]


@dataclass(frozen=True)
class ConnectedOAuth:
    """A connected OAuth2 credential of the test provider, for the n8n end-to-end test."""

    ctx: AppContext
    principal: Principal
    credential: CredentialRead
    provider: OAuthProvider


@pytest_asyncio.fixture(loop_scope="session")
async def connected_oauth_credential(
    oauth_ctx: AppContext, principal: Principal, oauth_provider: OAuthProvider
) -> AsyncIterator[ConnectedOAuth]:
    """A `custom_oauth2` credential connected through the real provider's login and consent pages.

    `vault.read_secret` opens its token set (access_token, refresh_token, token_type, expires_at, scope);
    `provider` has the token, authorize, userinfo and resource URLs and the client id and secret.
    """
    credential = await connect(oauth_ctx, principal)
    yield ConnectedOAuth(ctx=oauth_ctx, principal=principal, credential=credential, provider=oauth_provider)
