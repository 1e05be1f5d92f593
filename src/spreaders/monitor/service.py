"""Execution records: created when the platform starts a run, kept in step with n8n's own record."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from spreaders.errors import NotFound
from spreaders.monitor.models import WorkflowExecution
from spreaders.monitor.schemas import FINISHED_STATUSES, ExecutionRead
from spreaders.orchestrator.entry import PLATFORM_NODES

OUTPUT_ITEMS_CAP = 5
OUTPUT_CHARS_CAP = 4000


def to_read(row: WorkflowExecution) -> ExecutionRead:
    read = ExecutionRead.model_validate(row)
    if row.started_at and row.finished_at:
        read.duration_ms = int((row.finished_at - row.started_at).total_seconds() * 1000)
    return read


async def get_execution_row(session: AsyncSession, *, tenant_id: str, execution_id: str) -> WorkflowExecution:
    row = await session.get(WorkflowExecution, execution_id)
    if row is None or row.tenant_id != tenant_id:
        raise NotFound(
            f"No execution {execution_id!r} in this workspace.",
            hint="Execution ids look like exe_...; list recent ones with execution.list.",
        )
    return row


async def find_by_idempotency_key(
    session: AsyncSession, *, tenant_id: str, key: str
) -> WorkflowExecution | None:
    query = select(WorkflowExecution).where(
        WorkflowExecution.tenant_id == tenant_id, WorkflowExecution.idempotency_key == key
    )
    return (await session.execute(query)).scalar_one_or_none()


async def list_executions(
    session: AsyncSession, *, tenant_id: str, campaign_id: str | None = None, limit: int = 20
) -> list[ExecutionRead]:
    query = select(WorkflowExecution).where(WorkflowExecution.tenant_id == tenant_id)
    if campaign_id is not None:
        query = query.where(WorkflowExecution.campaign_id == campaign_id)
    rows = (await session.execute(query.order_by(WorkflowExecution.created_at.desc()).limit(limit))).scalars()
    return [to_read(row) for row in rows]


def _parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def summarize_output(n8n_execution: dict[str, Any]) -> dict[str, Any]:
    """Keep what an agent needs: the last template node's first items, capped in count and size."""
    result = (n8n_execution.get("data") or {}).get("resultData") or {}
    run_data: dict[str, Any] = result.get("runData") or {}
    node = result.get("lastNodeExecuted")
    if node in PLATFORM_NODES or node not in run_data:
        template_nodes = [name for name in run_data if name not in PLATFORM_NODES]
        node = template_nodes[-1] if template_nodes else None
    if node is None:
        return {"node": None, "item_count": 0, "items": [], "truncated": False}
    runs = run_data[node] or [{}]
    main = ((runs[-1].get("data") or {}).get("main") or [[]])[0] or []
    items = [item.get("json", {}) for item in main[:OUTPUT_ITEMS_CAP]]
    text = json.dumps(items, default=str)
    truncated = len(main) > OUTPUT_ITEMS_CAP or len(text) > OUTPUT_CHARS_CAP
    if len(text) > OUTPUT_CHARS_CAP:
        items = [{"preview": text[:OUTPUT_CHARS_CAP]}]
    return {
        "node": node,
        "item_count": len(main),
        "items": items,
        "truncated": truncated,
        "nodes_run": [name for name in run_data if name not in PLATFORM_NODES],
    }


def apply_n8n_state(row: WorkflowExecution, n8n_execution: dict[str, Any]) -> None:
    """Copy status, timings, output and error from n8n's execution record onto ours."""
    status = str(n8n_execution.get("status") or "unknown")
    row.status = status
    row.started_at = _parse_time(n8n_execution.get("startedAt")) or row.started_at
    if status in FINISHED_STATUSES:
        row.finished_at = _parse_time(n8n_execution.get("stoppedAt")) or row.finished_at
        row.output = summarize_output(n8n_execution)
    result = (n8n_execution.get("data") or {}).get("resultData") or {}
    error = result.get("error")
    if isinstance(error, dict):
        row.error = str(error.get("message") or error.get("description") or "failed")[:2000]
        node = error.get("node")
        # Code-node errors carry no node; the node that ran last is the one that failed.
        name = node.get("name") if isinstance(node, dict) else node
        row.error_node = str(name or result.get("lastNodeExecuted") or "")[:300]
