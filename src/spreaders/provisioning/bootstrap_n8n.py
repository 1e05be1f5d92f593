"""Headless first-run set-up of an n8n instance: owner account and a public-API key, no browser."""

from __future__ import annotations

import secrets
import string
from typing import Any

import httpx

from spreaders.errors import UpstreamError


def new_owner_password() -> str:
    # n8n wants 8-64 characters with a digit and an upper-case letter.
    alphabet = string.ascii_letters + string.digits
    body = "".join(secrets.choice(alphabet) for _ in range(28))
    return f"Sp{body}7"


def check(response: httpx.Response, step: str) -> Any:
    if response.status_code >= 400:
        raise UpstreamError(f"n8n refused {step}: {response.status_code} {response.text[:300]}")
    return response.json()


async def _owner_logged_in(session: httpx.AsyncClient, *, email: str, password: str) -> None:
    """Create the owner, or log in when one exists already (a resumed bootstrap)."""
    setup = await session.post(
        "/rest/owner/setup",
        json={"email": email, "firstName": "Spreaders", "lastName": "Platform", "password": password},
    )
    if setup.status_code == 400:
        check(
            await session.post("/rest/login", json={"emailOrLdapLoginId": email, "password": password}),
            "login",
        )
    else:
        check(setup, "owner set-up")


async def bootstrap_owner_and_key(*, base_url: str, email: str, password: str, timeout_s: float) -> str:
    """Create the owner (or log in if one exists) and mint an API key with every scope; return the key."""
    # A client of its own: the owner's session cookie must not leak into the shared client.
    async with httpx.AsyncClient(base_url=base_url, timeout=timeout_s) as session:
        await _owner_logged_in(session, email=email, password=password)
        scopes = check(await session.get("/rest/api-keys/scopes"), "listing API-key scopes")["data"]
        created = check(
            await session.post(
                "/rest/api-keys",
                json={"label": f"spreaders-{secrets.token_hex(4)}", "scopes": scopes, "expiresAt": None},
            ),
            "API-key creation",
        )
        key: str = created["data"]["rawApiKey"]
        return key
