"""Where the free pool's shared n8n instances run: the backend-specific half of the pool.

provisioning/pool.py owns seats, reservations and claims, the same on every backend; a runtime only
places a new shared instance, makes it run (bootstrapped, its owner's key sealed), says how to reach it,
whether it runs, and stops it. Locally a shared instance is a supervised process; on Kubernetes it is a
Deployment (with its Secret, ConfigMap, volume claim and Service) in the pool's namespace.
"""

from __future__ import annotations

import secrets as random
from typing import Protocol

from spreaders.bootstrap import AppContext
from spreaders.provisioning import k8s_instances, process
from spreaders.provisioning.backends import local
from spreaders.provisioning.installer import ProgressFn
from spreaders.provisioning.models import N8nInstance


class SharedRuntime(Protocol):
    def place(self, ctx: AppContext, row: N8nInstance) -> None:
        """Fill a new shared record's backend, address and data location (not yet flushed)."""

    async def start(self, ctx: AppContext, row: N8nInstance, progress: ProgressFn | None) -> str:
        """Make the instance run, bootstrapped (its owner's key sealed in the row); return that key."""

    def url(self, ctx: AppContext, row: N8nInstance) -> str:
        """How the platform reaches the instance's n8n (seat making, tenants' connections)."""

    def running(self, row: N8nInstance) -> bool:
        """Whether the instance runs, as far as the platform knows without asking anything."""

    async def stop(self, ctx: AppContext, row: N8nInstance) -> None:
        """Stop it; its data, record and seats stay, and `start` wakes it."""


class LocalRuntime:
    def place(self, ctx: AppContext, row: N8nInstance) -> None:
        host = ctx.settings.n8n.host
        row.backend, row.host = "local", host
        row.port, row.broker_port = local.free_port(host), local.free_port(host)
        row.owner_email = f"owner-{random.token_hex(6)}@pool.spreaders.local"
        row.data_dir = str(ctx.settings.data_dir / "n8n" / row.id)

    async def start(self, ctx: AppContext, row: N8nInstance, progress: ProgressFn | None) -> str:
        # The owner's key only ever invites members; tenants' work goes through their own keys.
        values = await process.ensure_bootstrapped(ctx, row, progress)
        return values["api_key"]

    def url(self, ctx: AppContext, row: N8nInstance) -> str:
        return row.base_url

    def running(self, row: N8nInstance) -> bool:
        return local.pid_alive(row.pid)

    async def stop(self, ctx: AppContext, row: N8nInstance) -> None:
        await process.stop_process(ctx, row.id)


class KubernetesRuntime:
    def place(self, ctx: AppContext, row: N8nInstance) -> None:
        k8s_instances.place(ctx, row)

    async def start(self, ctx: AppContext, row: N8nInstance, progress: ProgressFn | None) -> str:
        connection = await k8s_instances.ensure_running(ctx, row, progress)
        if row.status != "running" or row.bootstrapped_at is None:  # it was just started: as recorded now
            fresh = await k8s_instances.reload(ctx, row.id)
            row.secrets, row.bootstrapped_at, row.status = fresh.secrets, fresh.bootstrapped_at, fresh.status
        return connection.api_key

    def url(self, ctx: AppContext, row: N8nInstance) -> str:
        return k8s_instances.reach_url(ctx, row)

    def running(self, row: N8nInstance) -> bool:
        # The recorded state: as for a dedicated instance, the cluster is asked when a run needs it.
        return row.status == "running" and row.bootstrapped_at is not None

    async def stop(self, ctx: AppContext, row: N8nInstance) -> None:
        await k8s_instances.halt(ctx, row)


RUNTIMES: dict[str, SharedRuntime] = {"local": LocalRuntime(), k8s_instances.BACKEND: KubernetesRuntime()}


def runtime_for(backend: str) -> SharedRuntime:
    return RUNTIMES[backend]
