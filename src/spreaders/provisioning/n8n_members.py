"""Member users of a shared n8n, made headless by its owner: invite, accept, mint a scoped API key.

Measured on n8n 1.123.81 community edition (docs/provisioning.md): with no SMTP configured, an
invitation answers each invitee's id and accept link at once (no mail is needed) and the invitee's
`POST /rest/invitations/{id}/accept` sets its password and logs it in. A member sees only its own
personal project through the public API. Its key asks only for the scopes the platform uses, but
n8n CE does not enforce API-key scopes (a licensed feature): the key acts with the member role, which
also lists the instance's users and tags. Seat e-mails are random so the user list names no tenant;
tags are instance-wide and the platform makes none (docs/provisioning.md, residual risks).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

from spreaders.errors import UpstreamError
from spreaders.provisioning.bootstrap_n8n import check, new_owner_password

# What the platform does with a tenant's n8n (orchestrator, vault sync, monitor): workflows,
# executions, credentials in its own project. Nothing instance-wide.
MEMBER_KEY_SCOPES = (
    "workflow:create",
    "workflow:read",
    "workflow:update",
    "workflow:delete",
    "workflow:list",
    "workflow:activate",
    "workflow:deactivate",
    "execution:read",
    "execution:list",
    "execution:delete",
    "execution:retry",
    "credential:create",
    "credential:delete",
)
MAX_BATCH = 20  # invitees per request


@dataclass(frozen=True)
class Member:
    user_id: str
    email: str
    password: str = field(repr=False)
    api_key: str = field(repr=False)


def seat_email() -> str:
    # Random, so nothing about the tenant reaches the shared instance.
    return f"seat-{secrets.token_hex(8)}@pool.spreaders.local"


async def _invite(
    base_url: str, owner_api_key: str, emails: list[str], timeout_s: float
) -> list[dict[str, Any]]:
    """Invite `emails` as members through the public API (`POST /api/v1/users`, the same invitation
    code as the UI's): unlike `/rest/invitations` (10 a minute) and `/rest/login` (5 a minute) per
    client address, which every platform process shares, it is not rate-limited."""
    async with httpx.AsyncClient(base_url=base_url, timeout=timeout_s) as session:
        response = await session.post(
            "/api/v1/users",
            json=[{"email": e, "role": "global:member"} for e in emails],
            headers={"X-N8N-API-KEY": owner_api_key},
        )
    invited: list[dict[str, Any]] = check(response, "inviting members")
    return invited


async def _accept_and_key(base_url: str, *, owner_id: str, user_id: str, timeout_s: float) -> tuple[str, str]:
    password = new_owner_password()
    # The member's own cookie jar: its session must not mix with the owner's.
    async with httpx.AsyncClient(base_url=base_url, timeout=timeout_s) as member:
        check(
            await member.post(
                f"/rest/invitations/{user_id}/accept",
                json={
                    "inviterId": owner_id,
                    "firstName": "Spreaders",
                    "lastName": "Tenant",
                    "password": password,
                },
            ),
            "accepting a member invitation",
        )
        created = check(
            await member.post(
                "/rest/api-keys",
                json={"label": "spreaders", "scopes": list(MEMBER_KEY_SCOPES), "expiresAt": None},
            ),
            "member API-key creation",
        )
    key: str = created["data"]["rawApiKey"]
    return password, key


async def create_members(*, base_url: str, owner_api_key: str, count: int, timeout_s: float) -> list[Member]:
    """Create `count` member users (at most MAX_BATCH), each with its password and a scoped API key."""
    count = min(count, MAX_BATCH)
    if count <= 0:
        return []
    emails = [seat_email() for _ in range(count)]
    invited = await _invite(base_url, owner_api_key, emails, timeout_s)
    members: list[Member] = []
    for entry in invited:
        if entry.get("error"):
            raise UpstreamError(f"n8n would not invite a member: {str(entry['error'])[:300]}")
        user = entry["user"]
        # The accept link names the inviter, whom the accept call must name again.
        owner_id = parse_qs(urlsplit(str(user["inviteAcceptUrl"])).query)["inviterId"][0]
        password, key = await _accept_and_key(
            base_url, owner_id=owner_id, user_id=str(user["id"]), timeout_s=timeout_s
        )
        members.append(
            Member(user_id=str(user["id"]), email=str(user["email"]), password=password, api_key=key)
        )
    return members


async def delete_member(*, base_url: str, owner_api_key: str, user_id: str, timeout_s: float) -> None:
    """Delete a member user and everything its personal project owns (workflows, their executions,
    credentials, its API key): n8n's own user deletion without a transferee. Gone already is done."""
    async with httpx.AsyncClient(base_url=base_url, timeout=timeout_s) as session:
        response = await session.delete(f"/api/v1/users/{user_id}", headers={"X-N8N-API-KEY": owner_api_key})
    if response.status_code not in (204, 404):
        check(response, "deleting a member")
