"""The `spreaders` command line: every command takes `--json`; errors are one line and exit 1."""

from __future__ import annotations

import json
import sys
from datetime import datetime
from typing import Annotated, Any, Literal

import httpx
import typer

from spreaders.accounts import service as accounts
from spreaders.bootstrap import open_app
from spreaders.campaigns import service as campaigns
from spreaders.cli import render
from spreaders.cli.campaigns import campaigns_app
from spreaders.cli.credentials import credentials_app
from spreaders.cli.executions import executions_app
from spreaders.cli.instances import instances_app
from spreaders.cli.output import JsonOpt, console, print_json, progress_line, run
from spreaders.cli.registry import registry_app
from spreaders.cli.vault import vault_app
from spreaders.planner import service as planner
from spreaders.provisioning import installer
from spreaders.provisioning import service as provisioning
from spreaders.registry import service as registry
from spreaders.settings import Settings

app = typer.Typer(
    no_args_is_help=True, add_completion=False, help="Spreaders: marketing prompts to running n8n."
)
n8n_app = typer.Typer(no_args_is_help=True, help="Install, start, stop and inspect your local n8n.")
keys_app = typer.Typer(no_args_is_help=True, help="API keys for the REST API and MCP over HTTP.")
app.add_typer(registry_app, name="registry")
app.add_typer(campaigns_app, name="campaigns")
app.add_typer(n8n_app, name="n8n")
app.add_typer(keys_app, name="keys")
app.add_typer(executions_app, name="executions")
app.add_typer(credentials_app, name="credentials")
app.add_typer(vault_app, name="vault")
app.add_typer(instances_app, name="instances")

NowOpt = Annotated[
    datetime | None,
    typer.Option("--now", help="Reference time for relative dates (ISO), for reproducible plans."),
]
TzOpt = Annotated[str, typer.Option("--tz", help="Time zone that relative dates are resolved in.")]


@app.command()
def demo(
    prompt: Annotated[str, typer.Argument(help="A marketing request in plain words.")],
    as_json: JsonOpt = False,
    now: NowOpt = None,
    tz: TzOpt = "UTC",
    timeout: Annotated[float, typer.Option(help="Seconds to wait for each workflow.")] = 120.0,
) -> None:
    """Run the whole path: plan -> templates -> deploy into n8n -> execute -> report."""

    async def go(settings: Settings) -> dict[str, Any]:
        async with open_app(settings) as ctx:
            principal = ctx.local_principal
            with progress_line() as say:
                await provisioning.ensure_running(ctx, tenant_id=principal.tenant_id, progress=say)
                async with ctx.unit_of_work() as session:
                    await registry.load_starter(
                        session, tenant_id=principal.tenant_id, catalog=ctx.node_catalog()
                    )
                async with ctx.unit_of_work() as session:
                    created = await campaigns.create_from_prompt(
                        session, principal=principal, prompt=prompt, now=now, tz=tz, self_contained_only=True
                    )

                async def step(done: float, total: float | None, message: str) -> None:
                    say(message)

                report = await campaigns.launch(
                    ctx, principal=principal, campaign_id=created.id, timeout_s=timeout, run_progress=step
                )
        return {"campaign": created, "run": report}

    result = run(go, as_json=as_json)
    created, report = result["campaign"], result["run"]
    if as_json:
        print_json({"campaign": created, "run": report})
    else:
        render.campaign_created(created, show_next_step=False)
        render.run_report(report, {w.id: w.name for w in created.workflows})
    if report.status != "success" or not report.results:
        raise typer.Exit(code=1)


@app.command()
def plan(
    prompt: str,
    as_json: JsonOpt = False,
    now: NowOpt = None,
    tz: TzOpt = "UTC",
    backend: Annotated[
        Literal["offline", "llm"] | None,
        typer.Option(help="offline (deterministic) or llm (SPREADERS_PLANNER__LLM_*); default: settings."),
    ] = None,
) -> None:
    """Turn a prompt into a campaign plan (offline by default; llm falls back to offline on failure)."""

    async def go(settings: Settings) -> Any:
        async with httpx.AsyncClient() as http:
            chosen = planner.select_backend(settings.planner, http, backend)
            return await planner.analyze_prompt(prompt, now=now, tz=tz, backend=chosen)

    result = run(go, as_json=as_json)
    if as_json:
        print_json(result)
    else:
        render.plan(result)


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Interface to bind (default from settings).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default from settings).")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Serve the REST API (/api/v1), MCP over Streamable HTTP (/mcp) and the web pages."""
    import uvicorn  # imported here: only this command needs the server

    from spreaders.api.app import create_app

    settings = Settings()
    if host:
        settings.api.host = host
    if port:
        settings.api.port = port
    if as_json:
        print_json({"url": settings.api.base_url(), "mcp": settings.api.base_url() + "/mcp"})
    else:
        console.print(f"Spreaders on {settings.api.base_url()} (MCP at /mcp, API docs at /docs)")
    uvicorn.run(create_app(settings), host=settings.api.host, port=settings.api.port, log_level="warning")


@app.command()
def mcp() -> None:
    """Serve MCP over stdio (for Claude Desktop, Cursor and other MCP clients)."""
    from spreaders.mcp.stdio import run_stdio

    run(run_stdio, as_json=False)


@app.command()
def worker(
    interval: Annotated[
        float | None, typer.Option(min=0.1, help="Seconds between monitor passes (default from settings).")
    ] = None,
    once: Annotated[bool, typer.Option("--once", help="Run one monitor pass, report it and exit.")] = False,
    metrics_port: Annotated[
        int | None, typer.Option(help="Serve Prometheus metrics at http://<api host>:<port>/metrics.")
    ] = None,
    restart: Annotated[
        bool, typer.Option(help="Restart dead n8n instances (--no-restart: only report).")
    ] = True,
    as_json: JsonOpt = False,
) -> None:
    """Run the background jobs: the execution monitor (status sync, dead n8n detection and restart)."""
    from spreaders.worker.monitor import run_worker

    def ready(every: float, where: str | None) -> None:
        if as_json:  # one line: a program reading the pipe knows the worker is up
            sys.stdout.write(json.dumps({"worker": "running", "interval_s": every, "metrics": where}) + "\n")
        else:
            console.print(
                f"worker running: monitor every {every:g}s" + (f", metrics at {where}" if where else "")
            )
        sys.stdout.flush()

    async def go(settings: Settings) -> Any:
        return await run_worker(
            settings,
            interval_s=interval,
            once=once,
            metrics_port=metrics_port,
            restart=restart,
            on_ready=ready,
        )

    report = run(go, as_json=as_json)
    if report is None:
        return
    if as_json:
        print_json(report)
    else:
        console.print(
            f"{report.active} unfinished, {report.synced} synced, {len(report.crashed)} crashed; "
            f"n8n up {report.instances_up}/{report.instances_checked}, restarted {len(report.restarted)}"
        )


@n8n_app.command("install")
def n8n_install(as_json: JsonOpt = False) -> None:
    """Install the pinned n8n release into the cache directory (once per machine)."""

    async def go(settings: Settings) -> dict[str, str]:
        with progress_line() as say:
            binary = await installer.ensure_installed(settings.n8n.install_dir, settings.n8n.version, say)
        return {"version": settings.n8n.version, "binary": str(binary)}

    result = run(go, as_json=as_json)
    if as_json:
        print_json(result)
    else:
        console.print(f"n8n {result['version']} installed at {result['binary']}")


@n8n_app.command("start")
def n8n_start(as_json: JsonOpt = False) -> None:
    """Start (installing and bootstrapping if needed) this workspace's n8n."""

    async def go(settings: Settings) -> Any:
        async with open_app(settings) as ctx:
            with progress_line() as say:
                await provisioning.ensure_running(ctx, tenant_id=ctx.local_principal.tenant_id, progress=say)
            return await provisioning.status(ctx, tenant_id=ctx.local_principal.tenant_id)

    status = run(go, as_json=as_json)
    if as_json:
        print_json(status)
    else:
        console.print(f"n8n {status.version} running at {status.base_url} (pid {status.pid})")


@n8n_app.command("stop")
def n8n_stop(as_json: JsonOpt = False) -> None:
    """Stop this workspace's n8n (its data stays for the next start)."""

    async def go(settings: Settings) -> Any:
        async with open_app(settings) as ctx:
            return await provisioning.stop(ctx, tenant_id=ctx.local_principal.tenant_id)

    status = run(go, as_json=as_json)
    if as_json:
        print_json(status)
    else:
        console.print("n8n stopped" if status else "no n8n instance to stop")


@n8n_app.command("status")
def n8n_status(as_json: JsonOpt = False) -> None:
    """Show this workspace's n8n instance (never its secrets)."""

    async def go(settings: Settings) -> Any:
        async with open_app(settings) as ctx:
            return await provisioning.status(ctx, tenant_id=ctx.local_principal.tenant_id)

    status = run(go, as_json=as_json)
    if as_json:
        print_json(status)
    elif status is None:
        console.print("no n8n instance yet: `spreaders n8n start` creates one")
    else:
        console.print(
            f"{status.id}: {status.status} at {status.base_url} (n8n {status.version}, pid {status.pid})"
        )


@keys_app.command("create")
def keys_create(
    label: Annotated[str, typer.Option(help="A name to recognise the key by.")] = "", as_json: JsonOpt = False
) -> None:
    """Create an API key for the local workspace. It is shown once; only its hash is stored."""

    async def go(settings: Settings) -> Any:
        async with open_app(settings) as ctx, ctx.unit_of_work() as session:
            return await accounts.create_api_key(session, principal=ctx.local_principal, label=label)

    created = run(go, as_json=as_json)
    if as_json:
        print_json(created)
    else:
        console.print(f"API key (shown once, keep it safe): {created.key}")


def main() -> None:
    app()


if __name__ == "__main__":
    main()
