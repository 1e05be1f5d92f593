"""`spreaders vault ...`: master keys, online rotation and the credential audit log."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from spreaders.bootstrap import open_app
from spreaders.cli.output import JsonOpt, console, err_console, print_json, run
from spreaders.settings import Settings
from spreaders.vault import audit, rotation
from spreaders.vault.schemas import RotationReport, VaultStatus

vault_app = typer.Typer(no_args_is_help=True, help="Master keys, key rotation and the credential audit log.")


@contextmanager
def _progress_bar() -> Iterator[Callable[[int, int], None]]:
    """A bar on stderr (so --json output stays clean); plain lines every 10% when not on a terminal."""
    if not err_console.is_terminal:
        last = {"tenth": -1}

        def line(done: int, total: int) -> None:
            tenth = 10 * done // total if total else 10
            if tenth != last["tenth"]:
                err_console.print(f"re-wrapped {done}/{total}", highlight=False)
                last["tenth"] = tenth

        yield line
        return
    columns = (TextColumn("re-wrapping"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=err_console, transient=True) as bar:
        task = bar.add_task("rotate", total=None)
        yield lambda done, total: bar.update(task, completed=done, total=total)


def _usage_table(status: VaultStatus | RotationReport) -> Table:
    table = Table("column", "master key", "values")
    usage = status.usage if isinstance(status, VaultStatus) else status.usage_after
    for row in usage:
        table.add_row(row.column, row.key, str(row.count))
    return table


@vault_app.command("status")
def status(as_json: JsonOpt = False) -> None:
    """Show the key ring, the key versions the database has seen and how many values each key wraps."""

    async def go(settings: Settings) -> VaultStatus:
        async with open_app(settings) as ctx:
            return await rotation.vault_status(ctx.engine, ctx.cipher)

    result = run(go, as_json=as_json)
    if as_json:
        print_json(result)
        return
    console.print(f"backend {result.backend}, current key {result.current_key}")
    console.print(f"configured: {', '.join(result.configured)}")
    for key in result.keys:
        retired = f", retired {key.retired_at:%Y-%m-%d %H:%M}" if key.retired_at else ""
        console.print(f"  {key.key}: first seen {key.created_at:%Y-%m-%d %H:%M}{retired}")
    console.print(_usage_table(result))
    console.print(
        f"{result.pending} values not under {result.current_key}: run `spreaders vault rotate`"
        if result.pending
        else f"every value is under {result.current_key}"
    )


@vault_app.command("rotate")
def rotate(
    batch_size: Annotated[
        int | None, typer.Option(min=1, max=10_000, help="Values per transaction (default from settings).")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Re-wrap every sealed value under a new master key version, online; rerun to resume."""

    async def go(settings: Settings) -> RotationReport:
        async with open_app(settings) as ctx:
            with _progress_bar() as progress:
                return await rotation.rotate(
                    ctx.engine,
                    ctx.cipher,
                    batch_size=batch_size or settings.vault.rotation_batch_size,
                    progress=progress,
                )

    report = run(go, as_json=as_json)
    if as_json:
        print_json(report)
    else:
        added = " (new version)" if report.added_version else ""
        console.print(
            f"re-wrapped {report.rewrapped} values under {report.target_key}{added} "
            f"in {report.seconds:.2f}s, "
            f"{report.passes} pass(es), {report.skipped_concurrent} changed by writers meanwhile"
        )
        if report.retired:
            console.print(f"retired (no value uses them): {', '.join(report.retired)}")
        for failure in report.failed:
            console.print(f"[red]not re-wrapped[/] {failure.column} {failure.row_id}: {failure.reason}")
        console.print(_usage_table(report))
    if report.remaining:
        raise typer.Exit(code=1)


@vault_app.command("audit")
def audit_log(
    credential: Annotated[str | None, typer.Option(help="Only this credential's events.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=audit.MAX_PAGE, help="How many events.")] = 50,
    as_json: JsonOpt = False,
) -> None:
    """Show who stored, read, refreshed, pushed, rotated or deleted credentials, newest first."""

    async def go(settings: Settings) -> Any:
        async with open_app(settings) as ctx, ctx.sessionmaker() as session:
            return await audit.list_audit(
                session, tenant_id=ctx.local_principal.tenant_id, credential_id=credential, limit=limit
            )

    events = run(go, as_json=as_json)
    if as_json:
        print_json(events)
        return
    if not events:
        console.print("no audit events yet")
        return
    table = Table("time", "action", "credential", "platform", "user", "reason")
    for event in events:
        table.add_row(
            f"{event.created_at:%Y-%m-%d %H:%M:%S}",
            event.action,
            event.credential_id,
            event.platform,
            event.user_id or "-",
            event.reason,
        )
    console.print(table)
