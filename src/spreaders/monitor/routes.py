from __future__ import annotations

from fastapi import APIRouter, Query

from spreaders.api.deps import Ctx, CurrentPrincipal, Session, require
from spreaders.monitor import service as monitor
from spreaders.monitor.logs import execution_logs
from spreaders.monitor.schemas import ExecutionLogs, ExecutionRead, ExecutionStatus
from spreaders.orchestrator import service as orchestrator

router = APIRouter(prefix="/executions", tags=["executions"])


@router.get("", dependencies=[require("executions:read")])
async def list_executions(
    session: Session,
    principal: CurrentPrincipal,
    campaign_id: str | None = None,
    status: ExecutionStatus | None = None,
    template_id: str | None = None,
    limit: int = Query(default=20, ge=1, le=100),
) -> list[ExecutionRead]:
    """The workspace's executions, newest first; filters combine with AND."""
    return await monitor.list_executions(
        session,
        tenant_id=principal.tenant_id,
        campaign_id=campaign_id,
        status=status,
        template_id=template_id,
        limit=limit,
    )


@router.get("/{execution_id}", dependencies=[require("executions:read")])
async def get_execution(execution_id: str, ctx: Ctx, principal: CurrentPrincipal) -> ExecutionRead:
    """The execution's status, refreshed from n8n while it runs."""
    return await orchestrator.get_status(ctx, principal=principal, execution_id=execution_id)


@router.get("/{execution_id}/logs", dependencies=[require("executions:read")])
async def get_execution_logs(execution_id: str, ctx: Ctx, principal: CurrentPrincipal) -> ExecutionLogs:
    """Per-node runs of the execution from n8n: status, items out, start, duration, error."""
    return await execution_logs(ctx, principal=principal, execution_id=execution_id)
