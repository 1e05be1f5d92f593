"""`spreaders credentials ...`: connect links, the list of connected accounts, delete (revoking OAuth)."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from spreaders.bootstrap import open_app
from spreaders.cli.output import JsonOpt, console, print_json, run
from spreaders.settings import Settings
from spreaders.vault import n8n_sync
from spreaders.vault import service as vault
from spreaders.vault.schemas import CredentialRead

credentials_app = typer.Typer(
    no_args_is_help=True, help="Platform accounts: connect links, list (never values), delete."
)


def _table(items: list[CredentialRead]) -> None:
    table = Table(title=f"{len(items)} credentials", title_justify="left")
    for column in ("id", "platform", "kind", "status", "expires", "scopes", "message"):
        table.add_column(column, overflow="fold")
    for item in items:
        expires = item.expires_at.strftime("%Y-%m-%d %H:%M UTC") if item.expires_at else "-"
        table.add_row(
            item.id,
            item.platform,
            item.kind,
            item.status,
            expires,
            " ".join(item.scopes),
            item.status_message,
        )
    console.print(table)


@credentials_app.command("ls")
def credentials_ls(as_json: JsonOpt = False) -> None:
    """List the workspace's credentials: status, OAuth scopes and expiry."""

    async def go(settings: Settings) -> list[CredentialRead]:
        async with open_app(settings) as ctx, ctx.sessionmaker() as session:
            return await vault.list_credentials(session, tenant_id=ctx.local_principal.tenant_id)

    items = run(go, as_json=as_json)
    if as_json:
        print_json(items)
    else:
        _table(items)


@credentials_app.command("connect")
def credentials_connect(
    platform: str,
    as_json: JsonOpt = False,
    capability: Annotated[
        list[str] | None, typer.Option("--capability", "-c", help="OAuth: scopes for these only. Repeatable.")
    ] = None,
    credential: Annotated[
        str | None, typer.Option("--credential", help="OAuth: reconnect this credential in place.")
    ] = None,
) -> None:
    """Print a single-use link to the page where you enter the secret or sign in at the platform."""

    async def go(settings: Settings) -> Any:
        async with open_app(settings) as ctx, ctx.unit_of_work() as session:
            return await vault.request_connect(
                session,
                principal=ctx.local_principal,
                platform=platform,
                base_url=settings.api.base_url(),
                oauth=settings.oauth,
                capabilities=capability,
                credential_id=credential,
            )

    link = run(go, as_json=as_json)
    if as_json:
        print_json(link)
    else:
        console.print(f"Open {link.url} (works once, until {link.expires_at:%H:%M UTC}).", highlight=False)


@credentials_app.command("delete")
def credentials_delete(credential_id: str, as_json: JsonOpt = False) -> None:
    """Delete a credential; OAuth tokens are revoked at the platform where it supports that."""

    async def go(settings: Settings) -> Any:
        async with open_app(settings) as ctx:
            return await n8n_sync.disconnect(
                ctx, tenant_id=ctx.local_principal.tenant_id, credential_id=credential_id
            )

    deleted = run(go, as_json=as_json)
    if as_json:
        print_json(deleted)
    else:
        console.print(deleted.summary())
