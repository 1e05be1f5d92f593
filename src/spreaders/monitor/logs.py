"""Per-node logs of one execution, read from n8n's run data (Spreaders stores only a summary)."""

from __future__ import annotations

from spreaders.accounts.schemas import Principal
from spreaders.bootstrap import AppContext
from spreaders.errors import NotFound, Unavailable
from spreaders.monitor import service as monitor
from spreaders.monitor.schemas import ExecutionLogs
from spreaders.orchestrator import service as orchestrator
from spreaders.provisioning import service as provisioning


async def execution_logs(ctx: AppContext, *, principal: Principal, execution_id: str) -> ExecutionLogs:
    """Return the execution's node runs (name, status, items out, start, duration, error)."""
    async with ctx.sessionmaker() as session:
        row = await monitor.get_execution_row(
            session, tenant_id=principal.tenant_id, execution_id=execution_id
        )
    logs = ExecutionLogs(
        execution_id=row.id,
        n8n_execution_id=row.n8n_execution_id,
        status=monitor.to_read(row).status,
        nodes=[],
        error=row.error,
        error_node=row.error_node,
    )
    if row.n8n_execution_id is None:  # n8n never confirmed the start: there is nothing to read
        return logs
    try:
        conn = await provisioning.connect(ctx, tenant_id=principal.tenant_id)
    except Unavailable as exc:
        raise Unavailable(
            f"The node logs of {execution_id} live in this workspace's n8n, which is not running.",
            hint="Start it with `spreaders n8n start` (or run any workflow), then ask again.",
        ) from exc
    if conn.instance_id != row.instance_id:
        # Run on an instance the workspace has left (a move to a dedicated one): n8n's record of it
        # went with the old seat, and the same n8n id here names another run.
        raise NotFound(
            f"The node logs of {execution_id} stayed in the n8n instance this workspace moved away from.",
            hint="execution.getStatus still shows the stored status, error and output summary.",
        )
    try:
        n8n_execution = await orchestrator.client_for(ctx, conn).get_execution(row.n8n_execution_id)
    except NotFound as exc:
        raise NotFound(
            f"n8n no longer has execution {row.n8n_execution_id} (of {execution_id}); "
            "its node logs are gone.",
            hint="execution.getStatus still shows the stored status, error and output summary.",
        ) from exc
    logs.nodes = monitor.node_runs(n8n_execution)
    return logs
