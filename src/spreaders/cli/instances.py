"""`spreaders instances ...`: this workspace's n8n instances: list, show, scale, deprovision, restore.

Without an id, a command acts on the workspace's instance (the local backend gives it one).
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from spreaders.bootstrap import AppContext, open_app
from spreaders.cli.output import JsonOpt, console, print_json, progress_line, run
from spreaders.errors import NotFound
from spreaders.provisioning import lifecycle
from spreaders.provisioning import service as provisioning
from spreaders.provisioning.lifecycle import InstanceStatus
from spreaders.settings import Settings

instances_app = typer.Typer(
    no_args_is_help=True, help="Your n8n instances: status and quotas, scale, deprovision, restore."
)
IdArg = Annotated[str | None, typer.Argument(help="Instance id (default: this workspace's instance).")]


async def _resolve(ctx: AppContext, instance_id: str | None) -> str:
    if instance_id:
        return instance_id
    found = await provisioning.status(ctx, tenant_id=ctx.local_principal.tenant_id)
    if found is None:
        raise NotFound("This workspace has no n8n instance yet.", hint="`spreaders n8n start` creates one.")
    return found.id


def _show(status: InstanceStatus) -> None:
    instance, used, limits = status.instance, status.quota.usage, status.quota.quotas
    health = "healthy" if status.healthy else instance.status
    console.print(f"{instance.id}: {health} at {instance.base_url} (n8n {instance.version})", highlight=False)
    resources = status.resources
    console.print(
        f"  tier {instance.tier}: cpu {resources.cpu_request}-{resources.cpu_limit}, memory "
        f"{resources.memory_request}-{resources.memory_limit} (heap {instance.heap_mb} MB), "
        f"storage {resources.storage}",
        highlight=False,
    )
    console.print(
        f"  workflows {used.workflows}/{limits.workflows}, runs today {used.executions_today}/"
        f"{limits.executions_per_day}, running {used.concurrent_runs}/{limits.concurrent_runs}",
        highlight=False,
    )
    for backup in status.backups:
        restored = " (restored)" if backup.restored else ""
        console.print(
            f"  backup {backup.id} {backup.created_at}: {backup.workflows} workflows, "
            f"{backup.credentials} credentials at {backup.path}{restored}",
            highlight=False,
        )


def _print(status: InstanceStatus, *, as_json: bool) -> None:
    if as_json:
        print_json(status)
    else:
        _show(status)


@instances_app.command("ls")
def list_instances(as_json: JsonOpt = False) -> None:
    """List this workspace's instances with tier, health and quota usage."""

    async def go(settings: Settings) -> Any:
        async with open_app(settings) as ctx:
            return await lifecycle.list_instances(ctx, tenant_id=ctx.local_principal.tenant_id)

    items = run(go, as_json=as_json)
    if as_json:
        print_json(items)
        return
    if not items:
        console.print("no n8n instance yet: `spreaders n8n start` creates one")
    for item in items:
        _show(item)


@instances_app.command("show")
def show(instance_id: IdArg = None, as_json: JsonOpt = False) -> None:
    """One instance: tier, resources, health, usage against the tier's quotas, backups."""

    async def go(settings: Settings) -> Any:
        async with open_app(settings) as ctx:
            tenant_id = ctx.local_principal.tenant_id
            return await lifecycle.describe(
                ctx, tenant_id=tenant_id, instance_id=await _resolve(ctx, instance_id)
            )

    _print(run(go, as_json=as_json), as_json=as_json)


@instances_app.command("scale")
def scale(
    tier: Annotated[str, typer.Argument(help="free, pro or enterprise.")],
    instance_id: IdArg = None,
    as_json: JsonOpt = False,
) -> None:
    """Move the workspace to another tier: free -> pro/enterprise moves its workflows and credentials
    to an instance of its own; a dedicated instance restarts with the new limits."""

    async def go(settings: Settings) -> Any:
        async with open_app(settings) as ctx:
            target = await _resolve(ctx, instance_id)
            with progress_line() as say:
                return await lifecycle.scale(
                    ctx,
                    tenant_id=ctx.local_principal.tenant_id,
                    instance_id=target,
                    tier_name=tier,
                    progress=say,
                )

    _print(run(go, as_json=as_json), as_json=as_json)


@instances_app.command("deprovision")
def deprovision(instance_id: IdArg = None, as_json: JsonOpt = False) -> None:
    """Back up workflows and credentials, then stop the instance and remove its data."""

    async def go(settings: Settings) -> Any:
        async with open_app(settings) as ctx:
            target = await _resolve(ctx, instance_id)
            with progress_line() as say:
                return await lifecycle.deprovision(
                    ctx, tenant_id=ctx.local_principal.tenant_id, instance_id=target, progress=say
                )

    backup = run(go, as_json=as_json)
    if as_json:
        print_json(backup)
    else:
        console.print(
            f"deprovisioned {backup.instance_id}; backup {backup.id} ({backup.workflows} workflows, "
            f"{backup.credentials} credentials) at {backup.path}",
            highlight=False,
        )


@instances_app.command("restore")
def restore(instance_id: IdArg = None, as_json: JsonOpt = False) -> None:
    """Bring a deprovisioned instance back from its latest backup."""

    async def go(settings: Settings) -> Any:
        async with open_app(settings) as ctx:
            target = await _resolve(ctx, instance_id)
            with progress_line() as say:
                return await lifecycle.restore(
                    ctx, tenant_id=ctx.local_principal.tenant_id, instance_id=target, progress=say
                )

    _print(run(go, as_json=as_json), as_json=as_json)
