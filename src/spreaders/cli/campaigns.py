"""`spreaders campaigns ...`: create from a prompt, list, show, launch and resume campaigns."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import typer

from spreaders.bootstrap import open_app
from spreaders.campaigns import service as campaigns
from spreaders.cli import render
from spreaders.cli.output import JsonOpt, console, print_json, progress_line, run
from spreaders.settings import Settings

campaigns_app = typer.Typer(no_args_is_help=True, help="Create, launch and follow campaigns.")


@campaigns_app.command("create")
def create(
    prompt: str,
    now: Annotated[datetime | None, typer.Option(help="Reference time for relative dates (ISO).")] = None,
    tz: Annotated[str, typer.Option(help="Time zone for relative dates.")] = "UTC",
    self_contained: Annotated[bool, typer.Option(help="Only templates that need no account.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Plan a campaign from a prompt and choose its workflows (nothing runs yet)."""

    async def go(settings: Settings) -> Any:
        async with open_app(settings) as ctx, ctx.unit_of_work() as session:
            return await campaigns.create_from_prompt(
                session,
                principal=ctx.local_principal,
                prompt=prompt,
                now=now,
                tz=tz,
                self_contained_only=self_contained,
            )

    created = run(go, as_json=as_json)
    if as_json:
        print_json(created)
    else:
        render.campaign_created(created)


@campaigns_app.command("ls")
def list_campaigns(
    limit: Annotated[int, typer.Option(min=1, max=100)] = 20, as_json: JsonOpt = False
) -> None:
    """List this workspace's campaigns, newest first."""

    async def go(settings: Settings) -> Any:
        async with open_app(settings) as ctx, ctx.sessionmaker() as session:
            return await campaigns.list_campaigns(
                session, tenant_id=ctx.local_principal.tenant_id, limit=limit
            )

    items = run(go, as_json=as_json)
    if as_json:
        print_json(items)
        return
    for item in items:
        console.print(f"{item.id}  {item.status:<10} {item.name}  ({len(item.workflows)} workflows)")


@campaigns_app.command("show")
def show(campaign_id: str, as_json: JsonOpt = False) -> None:
    """Show a campaign: its plan and its workflows."""

    async def go(settings: Settings) -> Any:
        async with open_app(settings) as ctx, ctx.sessionmaker() as session:
            return await campaigns.get_campaign(
                session, tenant_id=ctx.local_principal.tenant_id, campaign_id=campaign_id
            )

    campaign = run(go, as_json=as_json)
    if as_json:
        print_json(campaign)
    else:
        console.print(f"[bold]{campaign.name}[/] {campaign.id} ({campaign.status})")
        render.plan(campaign.plan)
        render.templates(campaign.workflows, title="Workflows")


@campaigns_app.command("launch")
def launch(
    campaign_id: str,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for each workflow.")] = 120.0,
    as_json: JsonOpt = False,
) -> None:
    """Deploy and run the campaign's workflows in order; a relaunch skips the steps already done."""

    async def go(settings: Settings) -> Any:
        async with open_app(settings) as ctx:
            with progress_line() as say:

                async def step(_done: float, _total: float | None, message: str) -> None:
                    say(message)

                return await campaigns.launch(
                    ctx,
                    principal=ctx.local_principal,
                    campaign_id=campaign_id,
                    timeout_s=timeout,
                    provisioning_progress=say,
                    run_progress=step,
                )

    report = run(go, as_json=as_json)
    if as_json:
        print_json(report)
    else:
        render.run_report(report, {})
    if report.status != "success":
        raise typer.Exit(code=1)


@campaigns_app.command("resume")
def resume(
    stale_after: Annotated[
        float, typer.Option(help="Seconds without a heartbeat before a run counts as dead.")
    ] = 30.0,
    as_json: JsonOpt = False,
) -> None:
    """Finish every campaign whose running process died (finished steps are not run again)."""

    async def go(settings: Settings) -> Any:
        async with open_app(settings) as ctx:
            return await campaigns.resume_stalled(ctx, stale_after_s=stale_after)

    reports = run(go, as_json=as_json)
    if as_json:
        print_json(reports)
        return
    if not reports:
        console.print("no stalled campaign")
    for report in reports:
        console.print(f"{report.campaign_id}: {report.status} ({report.completed}/{report.total})")
