"""`spreaders registry ...`: import, search, show, select and rate workflow templates."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from spreaders.accounts.schemas import Principal
from spreaders.bootstrap import open_app
from spreaders.cli import render
from spreaders.cli.output import JsonOpt, console, print_json, run
from spreaders.registry import details, ratings, selection
from spreaders.registry import service as registry
from spreaders.registry.schemas import RatingCreate, SelectRequest, TemplateSearch
from spreaders.registry.search import search_templates
from spreaders.settings import Settings
from spreaders.vault import service as vault

registry_app = typer.Typer(
    no_args_is_help=True, help="Import, search, inspect and rate n8n workflow templates."
)


@registry_app.command("import")
def registry_import(
    paths: Annotated[list[Path], typer.Argument(help="Files or folders of n8n workflow JSON.")],
    as_json: JsonOpt = False,
) -> None:
    """Import n8n workflow exports; bad files are reported with reasons, never fatal."""

    async def go(settings: Settings) -> Any:
        async with open_app(settings) as ctx, ctx.unit_of_work() as session:
            return await registry.import_paths(
                session, tenant_id=ctx.local_principal.tenant_id, paths=paths, catalog=ctx.node_catalog()
            )

    report = run(go, as_json=as_json)
    if as_json:
        print_json(report)
        return
    console.print(
        f"imported {report.imported}, new versions {report.new_versions}, unchanged {report.unchanged}, "
        f"failed {len(report.failed)}"
    )
    for failure in report.failed:
        console.print(f"  [red]failed[/] {failure.path}: {failure.reason}", highlight=False)


@registry_app.command("search")
def registry_search(
    query: Annotated[str, typer.Argument(help="Words to look for.")] = "",
    platform: Annotated[list[str] | None, typer.Option("--platform", "-p", help="Repeatable.")] = None,
    capability: Annotated[list[str] | None, typer.Option("--capability", "-c", help="Repeatable.")] = None,
    category: Annotated[str | None, typer.Option(help="Category name.")] = None,
    trigger: Annotated[str | None, typer.Option(help="manual, webhook, schedule, form, app, chat...")] = None,
    connected_only: Annotated[bool, typer.Option(help="Only what your connected accounts can run.")] = False,
    limit: Annotated[int, typer.Option(min=1, max=100)] = 10,
    as_json: JsonOpt = False,
) -> None:
    """Search imported templates by words, platforms, capabilities and category."""
    search = TemplateSearch(
        query=query,
        platforms=platform or [],
        capabilities=capability or [],
        category=category,
        trigger_type=trigger,
        connected_only=connected_only,
        limit=limit,
    )

    async def go(settings: Settings) -> Any:
        async with open_app(settings) as ctx, ctx.sessionmaker() as session:
            tenant_id = ctx.local_principal.tenant_id
            connected = await vault.connected_credential_types(session, tenant_id=tenant_id)
            return await search_templates(
                session, tenant_id=tenant_id, query=search, connected_credential_types=connected
            )

    page = run(go, as_json=as_json)
    if as_json:
        print_json(page)
    else:
        render.templates(page.items, title=f"{page.total_text()} templates match")


@registry_app.command("show")
def registry_show(template_id: str, as_json: JsonOpt = False) -> None:
    """Show one template: what it needs, its validation issues, version, usage and rating."""

    async def go(settings: Settings) -> Any:
        async with open_app(settings) as ctx, ctx.sessionmaker() as session:
            return await details.read_template(
                session, tenant_id=ctx.local_principal.tenant_id, template_id=template_id
            )

    template = run(go, as_json=as_json)
    if as_json:
        print_json(template)
    else:
        render.template_details(template)


@registry_app.command("select")
def registry_select(
    capability: Annotated[list[str], typer.Option("--capability", "-c", help="Repeatable; required.")],
    platform: Annotated[list[str] | None, typer.Option("--platform", "-p", help="Repeatable.")] = None,
    self_contained: Annotated[bool, typer.Option(help="Only templates that need no account.")] = False,
    connected_only: Annotated[bool, typer.Option(help="Only what your connected accounts can run.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Choose templates covering capabilities and platforms; prerequisites first; gaps named."""
    request = SelectRequest(
        capabilities=capability,
        platforms=platform or [],
        self_contained_only=self_contained,
        connected_only=connected_only,
    )

    async def go(settings: Settings) -> Any:
        async with open_app(settings) as ctx, ctx.sessionmaker() as session:
            tenant_id = ctx.local_principal.tenant_id
            connected = await vault.connected_credential_types(session, tenant_id=tenant_id)
            return await selection.select_templates(
                session, tenant_id=tenant_id, request=request, connected_credential_types=connected
            )

    chosen = run(go, as_json=as_json)
    if as_json:
        print_json(chosen)
        return
    if chosen.prerequisites:
        render.templates(chosen.prerequisites, title="Prerequisites (deploy first)")
    render.templates(chosen.templates, title="Selected")
    for label, gaps in (
        ("capabilities", chosen.uncovered_capabilities),
        ("platforms", chosen.uncovered_platforms),
        ("sub-workflows", chosen.unresolved_subworkflows),
    ):
        if gaps:
            console.print(f"[yellow]not covered[/] {label}: {', '.join(gaps)}")


@registry_app.command("rate")
def registry_rate(
    template_id: str,
    stars: Annotated[int, typer.Argument(min=1, max=5, help="1 to 5.")],
    feedback: Annotated[str, typer.Option(help="What worked or did not.")] = "",
    as_json: JsonOpt = False,
) -> None:
    """Rate a template for your workspace (a new rating replaces your earlier one)."""

    async def go(settings: Settings) -> Any:
        async with open_app(settings) as ctx, ctx.unit_of_work() as session:
            principal: Principal = ctx.local_principal
            return await ratings.rate(
                session,
                principal=principal,
                template_id=template_id,
                data=RatingCreate(rating=stars, feedback=feedback),
            )

    rated = run(go, as_json=as_json)
    if as_json:
        print_json(rated)
    else:
        console.print(f"rated {template_id}: {rated.rating}/5")
