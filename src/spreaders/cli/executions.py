"""`spreaders executions ...`: list executions, show one (refreshed from n8n) and its per-node logs."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from spreaders.bootstrap import open_app
from spreaders.cli import render
from spreaders.cli.output import JsonOpt, console, print_json, run
from spreaders.monitor import service as monitor
from spreaders.monitor.logs import execution_logs
from spreaders.monitor.schemas import ExecutionLogs, ExecutionRead, ExecutionStatus
from spreaders.orchestrator import service as orchestrator
from spreaders.settings import Settings

executions_app = typer.Typer(
    no_args_is_help=True, help="Workflow executions: list them, show one, read its per-node logs."
)


def _ms(value: int | None) -> str:
    return f"{value} ms" if value is not None else "-"


def _table(items: list[ExecutionRead]) -> None:
    table = Table(title=f"{len(items)} executions", title_justify="left")
    for column in ("id", "status", "template", "campaign", "started", "duration", "error"):
        table.add_column(column, overflow="fold" if column == "id" else "ellipsis")
    for item in items:
        started = item.started_at.strftime("%Y-%m-%d %H:%M:%S") if item.started_at else "-"
        table.add_row(
            item.id,
            item.status,
            item.template_id,
            item.campaign_id or "-",
            started,
            _ms(item.duration_ms),
            item.error[:60],
        )
    console.print(table)


def _logs_table(logs: ExecutionLogs) -> None:
    console.print(
        f"[bold]{logs.execution_id}[/] {logs.status} (n8n execution {logs.n8n_execution_id or '-'})"
    )
    if logs.error:
        where = f" at node '{logs.error_node}'" if logs.error_node else ""
        console.print(f"error{where}: {logs.error}", highlight=False)
    table = Table(show_header=True)
    for column in ("node", "run", "status", "items out", "started", "duration", "error"):
        table.add_column(column)
    for node in logs.nodes:
        started = node.started_at.strftime("%H:%M:%S.%f")[:-3] if node.started_at else "-"
        table.add_row(
            node.node,
            str(node.run),
            node.status,
            str(node.items_out),
            started,
            _ms(node.duration_ms),
            node.error,
        )
    console.print(table)


@executions_app.command("ls")
def executions_ls(
    campaign: Annotated[str | None, typer.Option(help="Only this campaign's executions (cmp_...).")] = None,
    status: Annotated[ExecutionStatus | None, typer.Option(help="Only executions in this status.")] = None,
    template: Annotated[str | None, typer.Option(help="Only runs of this template (wft_...).")] = None,
    limit: Annotated[int, typer.Option(min=1, max=100)] = 20,
    as_json: JsonOpt = False,
) -> None:
    """List executions, newest first."""

    async def go(settings: Settings) -> Any:
        async with open_app(settings) as ctx, ctx.sessionmaker() as session:
            return await monitor.list_executions(
                session,
                tenant_id=ctx.local_principal.tenant_id,
                campaign_id=campaign,
                status=status,
                template_id=template,
                limit=limit,
            )

    items = run(go, as_json=as_json)
    if as_json:
        print_json(items)
    else:
        _table(items)


@executions_app.command("show")
def executions_show(execution_id: str, as_json: JsonOpt = False) -> None:
    """Show one execution, refreshed from n8n while it runs."""

    async def go(settings: Settings) -> Any:
        async with open_app(settings) as ctx:
            return await orchestrator.get_status(
                ctx, principal=ctx.local_principal, execution_id=execution_id
            )

    execution = run(go, as_json=as_json)
    if as_json:
        print_json(execution)
    else:
        render.executions([execution])


@executions_app.command("logs")
def executions_logs(execution_id: str, as_json: JsonOpt = False) -> None:
    """Show what each node did: status, items out, start, duration, error (read from n8n)."""

    async def go(settings: Settings) -> Any:
        async with open_app(settings) as ctx:
            return await execution_logs(ctx, principal=ctx.local_principal, execution_id=execution_id)

    logs = run(go, as_json=as_json)
    if as_json:
        print_json(logs)
    else:
        _logs_table(logs)
