"""Keep the n8n credentials made from connected accounts in step with the vault.

A deploy asks for the n8n credentials its nodes need (`credentials_for`): each comes from the tenant's
newest connected account offering that n8n type, is created in the instance once per secret version
(checked against the instance's schema first) and recorded in `n8n_credential_links`. After a refresh
(`resync`) the instance gets a new credential, the deployed workflows are re-pointed at it, and only then
is the old one deleted, so no run ever sees a missing credential. A disconnect (`forget`) deletes the
copies; one in an instance that cannot be reached is kept as an orphan row and deleted later.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from spreaders.bootstrap import AppContext
from spreaders.db.base import new_id
from spreaders.errors import Invalid, NotFound, SpreadersError, Unavailable
from spreaders.orchestrator.models import Deployment
from spreaders.orchestrator.n8n_client import N8nClient
from spreaders.provisioning import service as provisioning
from spreaders.provisioning.schemas import InstanceConnection
from spreaders.vault import service as vault
from spreaders.vault.audit import audit_credential
from spreaders.vault.catalogue import load_catalogue
from spreaders.vault.models import Credential, N8nCredentialLink
from spreaders.vault.n8n_data import OAuthClient, credential_data
from spreaders.vault.oauth import OAuthContext, oauth_app
from spreaders.vault.refresh import refresh_due, refresh_if_needed
from spreaders.vault.schemas import CredentialDeleted

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class N8nCredentialRef:
    id: str
    name: str


async def running_connections(ctx: AppContext, *, tenant_id: str) -> dict[str, InstanceConnection]:
    """The tenant's instances that are up now, by instance id (none when its n8n is stopped)."""
    try:
        conn = await provisioning.connect(ctx, tenant_id=tenant_id)
    except Unavailable:
        return {}
    return {conn.instance_id: conn}


def credential_types(workflow: Mapping[str, Any]) -> set[str]:
    """The n8n credential types a workflow's nodes ask for."""
    found: set[str] = set()
    for node in workflow.get("nodes") or []:
        credentials = node.get("credentials") if isinstance(node, dict) else None
        if isinstance(credentials, dict):
            found.update(str(cred_type) for cred_type in credentials)
    return found


def bind(workflow: Mapping[str, Any], refs: Mapping[str, N8nCredentialRef]) -> dict[str, Any]:
    """A copy of `workflow` whose nodes point at the given n8n credentials, by type."""
    bound = dict(workflow)
    nodes = []
    for node in workflow.get("nodes") or []:
        credentials = node.get("credentials") if isinstance(node, dict) else None
        if isinstance(credentials, dict) and any(cred_type in refs for cred_type in credentials):
            node = {
                **node,
                "credentials": {
                    cred_type: {"id": refs[cred_type].id, "name": refs[cred_type].name}
                    if cred_type in refs
                    else ref
                    for cred_type, ref in credentials.items()
                },
            }
        nodes.append(node)
    bound["nodes"] = nodes
    return bound


def _n8n_name(credential: Credential, n8n_type: str) -> str:
    return f"{credential.label} ({n8n_type}) [spreaders {credential.id[-8:]}]"


async def _accounts_by_type(
    ctx: AppContext, tenant_id: str, n8n_types: Iterable[str]
) -> dict[str, Credential]:
    """For each n8n type, the tenant's newest connected account whose provider offers it."""
    platforms_by_type: dict[str, set[str]] = {}
    for provider in load_catalogue().providers:
        for cred_type in provider.n8n_credential_types:
            platforms_by_type.setdefault(cred_type, set()).add(provider.platform)
    wanted = {t: platforms_by_type[t] for t in n8n_types if t in platforms_by_type}
    if not wanted:
        return {}
    async with ctx.sessionmaker() as session:
        rows = (
            await session.scalars(
                select(Credential)
                .where(Credential.tenant_id == tenant_id, Credential.status == "connected")
                .order_by(Credential.created_at.desc(), Credential.id.desc())
            )
        ).all()
    chosen: dict[str, Credential] = {}
    for cred_type, platforms in wanted.items():
        newest = next((row for row in rows if row.platform in platforms), None)
        if newest is not None:
            chosen[cred_type] = newest
    return chosen


async def _push(
    ctx: AppContext,
    client: N8nClient,
    conn: InstanceConnection,
    credential: Credential,
    n8n_type: str,
    *,
    reason: str,
) -> N8nCredentialRef:
    """Create one n8n credential of `n8n_type` from the account's current secret."""
    oauth = OAuthContext.of(ctx.cipher, ctx.settings)
    if credential.kind == "oauth2":
        # On demand: n8n gets a token that outlives the refresh margin, never one about to expire.
        async with ctx.unit_of_work() as session:
            fresh = await refresh_if_needed(
                session, oauth, tenant_id=credential.tenant_id, credential_id=credential.id
            )
        if fresh.status == "broken":
            raise Invalid(fresh.status_message, hint="Reconnect the account, then run the workflow again.")
    async with ctx.unit_of_work() as session:
        values = await vault.read_secret(
            session,
            ctx.cipher,
            tenant_id=credential.tenant_id,
            credential_id=credential.id,
            reason=f"push into n8n instance {conn.instance_id} as {n8n_type} ({reason})",
        )
    schema = await client.credential_schema(n8n_type)
    data = credential_data(
        n8n_type,
        schema,
        kind=credential.kind,
        values=values,
        oauth_client=_oauth_client(oauth, credential) if credential.kind == "oauth2" else None,
    )
    name = _n8n_name(credential, n8n_type)
    n8n_id = await client.create_credential(name=name, credential_type=n8n_type, data=data)
    async with ctx.unit_of_work() as session:
        await audit_credential(
            session,
            credential,
            "push",
            reason=f"created n8n credential {n8n_id} ({n8n_type}) in instance {conn.instance_id} ({reason})",
        )
    logger.info("Pushed credential %s as n8n %s %s (%s)", credential.id, n8n_type, n8n_id, reason)
    return N8nCredentialRef(id=n8n_id, name=name)


def _oauth_client(oauth: OAuthContext, credential: Credential) -> OAuthClient:
    """What n8n's generic OAuth2 type names besides the token (platform-specific types ignore it)."""
    app = oauth_app(oauth.settings, credential.platform, base_url=oauth.base_url)
    return OAuthClient(
        authorization_url=app.authorize_url,
        token_url=app.token_url,
        client_id=app.client.client_id,
        scope=" ".join(credential.scopes),
    )


async def _link(
    ctx: AppContext, instance_id: str, credential_id: str, n8n_type: str
) -> N8nCredentialLink | None:
    async with ctx.sessionmaker() as session:
        link: N8nCredentialLink | None = await session.scalar(
            select(N8nCredentialLink).where(
                N8nCredentialLink.instance_id == instance_id,
                N8nCredentialLink.credential_id == credential_id,
                N8nCredentialLink.n8n_type == n8n_type,
            )
        )
    return link


async def credentials_for(
    ctx: AppContext, *, tenant_id: str, conn: InstanceConnection, client: N8nClient, n8n_types: Iterable[str]
) -> dict[str, N8nCredentialRef]:
    """The instance's n8n credential for each of `n8n_types` the tenant has connected, made if needed."""
    refs: dict[str, N8nCredentialRef] = {}
    for n8n_type, credential in (await _accounts_by_type(ctx, tenant_id, n8n_types)).items():
        link = await _link(ctx, conn.instance_id, credential.id, n8n_type)
        if link is not None and link.secret_version == credential.secret_version:
            refs[n8n_type] = N8nCredentialRef(id=link.n8n_credential_id, name=link.n8n_name)
            continue
        refs[n8n_type] = await _replace(ctx, client, conn, credential, n8n_type, link, reason="deploy")
    return refs


async def _replace(
    ctx: AppContext,
    client: N8nClient,
    conn: InstanceConnection,
    credential: Credential,
    n8n_type: str,
    link: N8nCredentialLink | None,
    *,
    reason: str,
) -> N8nCredentialRef:
    """Make a fresh n8n copy, re-point the deployments that used the old one, then delete the old one."""
    ref = await _push(ctx, client, conn, credential, n8n_type, reason=reason)
    try:
        async with ctx.unit_of_work() as session:
            if link is None:
                session.add(
                    N8nCredentialLink(
                        id=new_id("ncl"),
                        tenant_id=credential.tenant_id,
                        credential_id=credential.id,
                        instance_id=conn.instance_id,
                        n8n_type=n8n_type,
                        n8n_credential_id=ref.id,
                        n8n_name=ref.name,
                        secret_version=credential.secret_version,
                    )
                )
            else:
                row = await session.get_one(N8nCredentialLink, link.id)
                row.n8n_credential_id, row.n8n_name = ref.id, ref.name
                row.secret_version = credential.secret_version
    except IntegrityError:
        # Another deploy made the same copy first: use theirs and take ours back.
        await client.delete_credential(ref.id)
        theirs = await _link(ctx, conn.instance_id, credential.id, n8n_type)
        assert theirs is not None
        return N8nCredentialRef(id=theirs.n8n_credential_id, name=theirs.n8n_name)
    if link is not None and link.n8n_credential_id != ref.id:
        await _repoint(ctx, client, conn, n8n_type, old_id=link.n8n_credential_id, new=ref)
        await _delete_quietly(client, link.n8n_credential_id)
    return ref


async def _repoint(
    ctx: AppContext,
    client: N8nClient,
    conn: InstanceConnection,
    n8n_type: str,
    *,
    old_id: str,
    new: N8nCredentialRef,
) -> None:
    """Point every deployed workflow that used `old_id` at `new`, in n8n and in the deployment records."""
    async with ctx.sessionmaker() as session:
        deployments = (
            await session.scalars(select(Deployment).where(Deployment.instance_id == conn.instance_id))
        ).all()
    for deployment in deployments:
        if (deployment.credential_refs or {}).get(n8n_type) != old_id:
            continue
        try:
            workflow = await client.get_workflow(deployment.n8n_workflow_id)
            await client.update_workflow(deployment.n8n_workflow_id, bind(workflow, {n8n_type: new}))
        except NotFound:
            continue  # deleted in n8n: the next run redeploys it with the new credential
        async with ctx.unit_of_work() as session:
            row = await session.get_one(Deployment, deployment.id)
            row.credential_refs = {**(row.credential_refs or {}), n8n_type: new.id}


async def _delete_quietly(client: N8nClient, n8n_credential_id: str) -> None:
    with contextlib.suppress(NotFound):
        await client.delete_credential(n8n_credential_id)


async def resync(
    ctx: AppContext, *, tenant_id: str, credential_id: str, connections: Mapping[str, InstanceConnection]
) -> int:
    """After the account's secret changed, replace its n8n copies in the given running instances.

    Returns how many copies were replaced; an unreachable instance keeps its stale copy, which the next
    deploy there replaces (the link's secret_version tells).
    """
    async with ctx.sessionmaker() as session:
        credential = await session.scalar(
            select(Credential).where(Credential.id == credential_id, Credential.tenant_id == tenant_id)
        )
        links = (
            await session.scalars(
                select(N8nCredentialLink).where(
                    N8nCredentialLink.tenant_id == tenant_id, N8nCredentialLink.credential_id == credential_id
                )
            )
        ).all()
    if credential is None:
        raise NotFound(f"Credential {credential_id} not found.")
    replaced = 0
    for link in links:
        conn = connections.get(link.instance_id)
        if conn is None or link.secret_version == credential.secret_version:
            continue
        client = N8nClient(ctx.http, base_url=conn.base_url, api_key=conn.api_key)
        try:
            await _replace(ctx, client, conn, credential, link.n8n_type, link, reason="refresh")
            replaced += 1
        except SpreadersError as exc:
            logger.warning("Could not update n8n copy of credential %s: %s", credential_id, exc.message)
    return replaced


async def forget(
    ctx: AppContext, *, tenant_id: str, credential_id: str, connections: Mapping[str, InstanceConnection]
) -> int:
    """Delete the account's n8n copies before the account itself goes; return how many were deleted.

    A copy in an instance not in `connections` (or not answering) is left as an orphan row
    (credential_id NULL once the account is deleted) for `delete_orphans`.
    """
    async with ctx.sessionmaker() as session:
        links = (
            await session.scalars(
                select(N8nCredentialLink).where(
                    N8nCredentialLink.tenant_id == tenant_id, N8nCredentialLink.credential_id == credential_id
                )
            )
        ).all()
    return await _delete_links(ctx, links, connections)


async def disconnect(
    ctx: AppContext, *, tenant_id: str, credential_id: str, user_id: str | None = None
) -> CredentialDeleted:
    """Delete a connected account: its n8n credentials first (unreachable ones later, as orphans), then
    the account itself, revoking OAuth tokens at the provider where it supports that."""
    async with ctx.sessionmaker() as session:
        await vault.get_credential(session, tenant_id=tenant_id, credential_id=credential_id)
    connections = await running_connections(ctx, tenant_id=tenant_id)
    await forget(ctx, tenant_id=tenant_id, credential_id=credential_id, connections=connections)
    async with ctx.unit_of_work() as session:
        return await vault.delete_credential(
            session,
            tenant_id=tenant_id,
            credential_id=credential_id,
            oauth=OAuthContext.of(ctx.cipher, ctx.settings),
            user_id=user_id,
            reason="disconnected",
        )


async def keep_in_step(ctx: AppContext) -> None:
    """One background round: refresh OAuth tokens about to expire, replace their n8n copies in running
    instances, and delete n8n copies of accounts disconnected while their instance was down.

    Never raises (it runs beside the monitor); what fails is logged and tried again next round.
    """
    try:
        report = await refresh_due(ctx.sessionmaker, OAuthContext.of(ctx.cipher, ctx.settings))
        tenants = {tenant_id for tenant_id, _ in report.refreshed} | await _tenants_with_orphans(ctx)
        connections = {
            tenant_id: await running_connections(ctx, tenant_id=tenant_id) for tenant_id in tenants
        }
        for tenant_id, credential_id in report.refreshed:
            await resync(
                ctx, tenant_id=tenant_id, credential_id=credential_id, connections=connections[tenant_id]
            )
        for tenant_id in tenants:
            await delete_orphans(ctx, tenant_id=tenant_id, connections=connections[tenant_id])
    except Exception:  # the outermost wrapper of a job: log it, the next round tries again
        logger.exception("keeping credentials in step failed")
        return
    if report.refreshed or report.broken or report.failed:
        logger.info("OAuth refresh round: %s", report)


async def _tenants_with_orphans(ctx: AppContext) -> set[str]:
    async with ctx.sessionmaker() as session:
        found = await session.scalars(
            select(N8nCredentialLink.tenant_id).where(N8nCredentialLink.credential_id.is_(None)).distinct()
        )
        return set(found)


async def delete_orphans(
    ctx: AppContext, *, tenant_id: str, connections: Mapping[str, InstanceConnection]
) -> int:
    """Delete n8n copies of accounts that were disconnected while their instance was down."""
    async with ctx.sessionmaker() as session:
        links = (
            await session.scalars(
                select(N8nCredentialLink).where(
                    N8nCredentialLink.tenant_id == tenant_id, N8nCredentialLink.credential_id.is_(None)
                )
            )
        ).all()
    return await _delete_links(ctx, links, connections)


async def _delete_links(
    ctx: AppContext, links: Iterable[N8nCredentialLink], connections: Mapping[str, InstanceConnection]
) -> int:
    deleted = 0
    for link in links:
        conn = connections.get(link.instance_id)
        if conn is None:
            continue
        client = N8nClient(ctx.http, base_url=conn.base_url, api_key=conn.api_key)
        try:
            await _delete_quietly(client, link.n8n_credential_id)
        except Unavailable:
            continue
        async with ctx.unit_of_work() as session:
            row = await session.get(N8nCredentialLink, link.id)
            if row is not None:
                await session.delete(row)
        deleted += 1
    return deleted
