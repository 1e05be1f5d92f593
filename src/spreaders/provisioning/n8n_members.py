"""Member users of a shared n8n, made headless by its owner: invite, accept, mint a scoped API key.

Measured on n8n 1.123.81 community edition (docs/provisioning.md): with no SMTP configured,
`POST /rest/invitations` answers each invitee's id at once (no mail is needed) and the invitee's
`POST /rest/invitations/{id}/accept` sets its password and logs it in. A member sees only its own
personal project through the public API. Its key asks only for the scopes the platform uses, but
n8n CE does not enforce API-key scopes (a licensed feature): the key acts with the member role, which
also lists the instance's users and tags. Seat e-mails are random so the user list names no tenant;
tags are instance-wide and the platform makes none (docs/provisioning.md, residual risks).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field

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
# n8n rate-limits invitations per client; one request invites a whole batch.
MAX_BATCH = 20


@dataclass
class OwnerLogin:
    """The shared instance's owner; `cookie` is updated when a new login was needed."""

    email: str
    password: str = field(repr=False)
    cookie: str = field(default="", repr=False)


@dataclass(frozen=True)
class Member:
    user_id: str
    email: str
    password: str = field(repr=False)
    api_key: str = field(repr=False)


def seat_email() -> str:
    # Random, so nothing about the tenant reaches the shared instance.
    return f"seat-{secrets.token_hex(8)}@pool.spreaders.local"


AUTH_COOKIE = "n8n-auth"


async def _invite(
    base_url: str, owner: OwnerLogin, emails: list[str], timeout_s: float
) -> tuple[str, list[dict[str, object]]]:
    """Invite `emails` as members; return the owner's user id and n8n's answer per invitee.

    n8n allows five logins a minute per client address, and every platform process shares one: the
    owner's session cookie (a JWT that outlives restarts) is kept in the sealed record and reused, and
    a fresh login happens only when n8n no longer accepts it."""
    invitations = [{"email": e, "role": "global:member"} for e in emails]
    async with httpx.AsyncClient(base_url=base_url, timeout=timeout_s) as session:
        if owner.cookie:
            session.cookies.set(AUTH_COOKIE, owner.cookie)
            me = await session.get("/rest/login")
        if not owner.cookie or me.status_code == 401:
            session.cookies.clear()
            me = await session.post(
                "/rest/login", json={"emailOrLdapLoginId": owner.email, "password": owner.password}
            )
        owner_id = str(check(me, "owner login")["data"]["id"])
        owner.cookie = session.cookies.get(AUTH_COOKIE) or owner.cookie
        invited = check(await session.post("/rest/invitations", json=invitations), "inviting members")["data"]
    return owner_id, list(invited)


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


async def create_members(*, base_url: str, owner: OwnerLogin, count: int, timeout_s: float) -> list[Member]:
    """Create `count` member users (at most MAX_BATCH), each with its password and a scoped API key."""
    count = min(count, MAX_BATCH)
    if count <= 0:
        return []
    emails = [seat_email() for _ in range(count)]
    owner_id, invited = await _invite(base_url, owner, emails, timeout_s)
    members: list[Member] = []
    for entry in invited:
        if entry.get("error"):
            raise UpstreamError(f"n8n would not invite a member: {str(entry['error'])[:300]}")
        user = entry["user"]
        assert isinstance(user, dict)
        password, key = await _accept_and_key(
            base_url, owner_id=owner_id, user_id=str(user["id"]), timeout_s=timeout_s
        )
        members.append(
            Member(user_id=str(user["id"]), email=str(user["email"]), password=password, api_key=key)
        )
    return members
