"""Execution records: created when the platform starts a run, kept in step with n8n's own record."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import CursorResult, Table, bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from spreaders.db.base import inline_strings, utcnow
from spreaders.db.inline import InlineWriter
from spreaders.errors import NotFound
from spreaders.monitor.metrics import note_finished
from spreaders.monitor.models import WorkflowExecution
from spreaders.monitor.schemas import ACTIVE_STATUSES, FINISHED_STATUSES, ExecutionRead, NodeRun
from spreaders.orchestrator.entry import is_platform_node

OUTPUT_ITEMS_CAP = 5
OUTPUT_CHARS_CAP = 4000
EMPTY_OUTPUT: dict[str, Any] = {"node": None, "item_count": 0, "items": [], "truncated": False}

_EXECUTIONS = cast(Table, WorkflowExecution.__table__)
# Built once: every run ends with it, and building the statement cost a third as much as running it.
# The SET clause comes from the values each call passes.
_SET_IF_UNFINISHED = _EXECUTIONS.update().where(
    _EXECUTIONS.c.id == bindparam("b_execution_id"),
    _EXECUTIONS.c.status.not_in(inline_strings(FINISHED_STATUSES)),
)


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
    session: AsyncSession,
    *,
    tenant_id: str,
    campaign_id: str | None = None,
    status: str | None = None,
    template_id: str | None = None,
    limit: int = 20,
) -> list[ExecutionRead]:
    """List the tenant's executions, newest first; the filters combine with AND."""
    query = select(WorkflowExecution).where(WorkflowExecution.tenant_id == tenant_id)
    if campaign_id is not None:
        query = query.where(WorkflowExecution.campaign_id == campaign_id)
    if status is not None:
        query = query.where(WorkflowExecution.status == status)
    if template_id is not None:
        query = query.where(WorkflowExecution.template_id == template_id)
    order = (WorkflowExecution.created_at.desc(), WorkflowExecution.id.desc())
    rows = (await session.execute(query.order_by(*order).limit(limit))).scalars()
    return [to_read(row) for row in rows]


@dataclass(frozen=True)
class ActiveExecution:
    """What the monitor needs of an unfinished execution, detached from any session."""

    id: str
    tenant_id: str
    instance_id: str
    status: str
    n8n_execution_id: str | None
    created_at: datetime
    started_at: datetime | None


async def active_executions(session: AsyncSession) -> list[ActiveExecution]:
    """Every tenant's executions that have not finished, oldest first."""
    query = (
        select(WorkflowExecution)
        .where(WorkflowExecution.status.in_(sorted(ACTIVE_STATUSES)))
        .order_by(WorkflowExecution.created_at)
    )
    return [
        ActiveExecution(
            id=row.id,
            tenant_id=row.tenant_id,
            instance_id=row.instance_id,
            status=row.status,
            n8n_execution_id=row.n8n_execution_id,
            created_at=row.created_at,
            started_at=row.started_at,
        )
        for row in (await session.execute(query)).scalars()
    ]


async def tenants_with_executions(session: AsyncSession) -> list[str]:
    """Tenants that ever ran an execution: the ones whose n8n the monitor watches."""
    query = select(WorkflowExecution.tenant_id).distinct()
    return sorted((await session.execute(query)).scalars())


async def set_if_status(
    session: AsyncSession, *, execution_id: str, expected: str, values: dict[str, Any]
) -> bool:
    """Update the row only if its status is still `expected`; True when this call made the change.

    The status guard in the WHERE clause is what makes concurrent monitors (a `serve` and a `worker`,
    or two workers) safe: of two processes that saw the same status, exactly one wins.
    """
    statement = (
        update(WorkflowExecution)
        .where(WorkflowExecution.id == execution_id, WorkflowExecution.status == expected)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    result = cast(CursorResult[Any], await session.execute(statement))
    return result.rowcount == 1


async def set_if_unfinished(session: AsyncSession, *, execution_id: str, values: dict[str, Any]) -> bool:
    """Update the row unless it already finished; True when this call made the change.

    The writer that moves a run to a finished status wins once: a monitor that crashed the run, or
    another waiter that recorded it, makes this a no-op.
    """
    parameters = {"b_execution_id": execution_id, **values}
    result = cast(CursorResult[Any], await session.execute(_SET_IF_UNFINISHED, parameters))
    return result.rowcount == 1


def set_if_unfinished_inline(
    writer: InlineWriter, *, execution_id: str, values: dict[str, Any]
) -> bool | None:
    """`set_if_unfinished` in a transaction of its own on the loop's thread (SQLite); None when the
    database was locked and nothing was written (then use `set_if_unfinished`)."""
    count = writer.write(_SET_IF_UNFINISHED, {"b_execution_id": execution_id, **values})
    return None if count is None else count == 1


async def recorded_n8n_ids(
    session: AsyncSession, *, tenant_id: str, instance_id: str, n8n_workflow_id: str
) -> set[str]:
    """The n8n execution ids of one deployed workflow that platform runs already recorded."""
    query = select(WorkflowExecution.n8n_execution_id).where(
        WorkflowExecution.tenant_id == tenant_id,
        WorkflowExecution.instance_id == instance_id,
        WorkflowExecution.n8n_workflow_id == n8n_workflow_id,
        WorkflowExecution.n8n_execution_id.is_not(None),
    )
    return {str(value) for value in (await session.execute(query)).scalars()}


async def attach_n8n_id(session: AsyncSession, *, execution_id: str, n8n_execution_id: str) -> bool:
    """Record the n8n execution id of a run that has none yet; True when this call recorded it."""
    statement = (
        update(WorkflowExecution)
        .where(
            WorkflowExecution.id == execution_id,
            WorkflowExecution.n8n_execution_id.is_(None),
            WorkflowExecution.status.not_in(sorted(FINISHED_STATUSES)),
        )
        .values(n8n_execution_id=n8n_execution_id, status="running")
        .execution_options(synchronize_session=False)
    )
    result = cast(CursorResult[Any], await session.execute(statement))
    return result.rowcount == 1


async def mark_crashed(session: AsyncSession, *, execution: ActiveExecution, reason: str) -> bool:
    """Mark the execution `crashed` with `reason`, unless it moved on since it was read."""
    now = utcnow()
    won = await set_if_status(
        session,
        execution_id=execution.id,
        expected=execution.status,
        values={"status": "crashed", "error": reason[:2000], "error_node": "", "finished_at": now},
    )
    if won:
        started = execution.started_at
        duration = (now - started).total_seconds() if started is not None else None
        note_finished(session, status="crashed", duration_s=duration)
    return won


def _epoch_ms(value: Any) -> datetime | None:
    if not isinstance(value, int | float) or isinstance(value, bool) or value <= 0:
        return None
    return datetime.fromtimestamp(value / 1000, tz=UTC)


def _items_out(run: dict[str, Any]) -> int:
    outputs = (run.get("data") or {}).get("main") or []
    return sum(len(branch or []) for branch in outputs)


def node_runs(n8n_execution: dict[str, Any]) -> list[NodeRun]:
    """Summarize n8n's run data per node run: status, items out, start, duration, error."""
    result = (n8n_execution.get("data") or {}).get("resultData") or {}
    run_data: dict[str, Any] = result.get("runData") or {}
    runs: list[NodeRun] = []
    for node, node_runs_ in run_data.items():
        if is_platform_node(node):
            continue
        for index, run in enumerate(node_runs_ or []):
            error = run.get("error")
            message = ""
            if isinstance(error, dict):
                message = str(error.get("message") or error.get("description") or "failed")[:2000]
            elapsed = run.get("executionTime")
            runs.append(
                NodeRun(
                    node=node,
                    run=index,
                    status=str(run.get("executionStatus") or ("error" if message else "success")),
                    items_out=_items_out(run),
                    started_at=_epoch_ms(run.get("startTime")),
                    duration_ms=int(elapsed) if isinstance(elapsed, int | float) else None,
                    error=message,
                )
            )
    epoch = datetime.min.replace(tzinfo=UTC)
    return sorted(runs, key=lambda item: (item.started_at or epoch, item.run))


def _parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def compact_output(node: str, items: list[Any], item_count: int) -> dict[str, Any]:
    """The stored output summary: a node's first items, capped in count and size, NULs dropped."""
    kept = items[:OUTPUT_ITEMS_CAP]
    text = json.dumps(kept, default=str)
    truncated = item_count > OUTPUT_ITEMS_CAP or len(text) > OUTPUT_CHARS_CAP
    if len(text) > OUTPUT_CHARS_CAP:
        kept = [{"preview": text[:OUTPUT_CHARS_CAP]}]
    summary = {"node": node, "item_count": item_count, "items": kept, "truncated": truncated}
    return dict(_without_nul(summary))


def summarize_output(n8n_execution: dict[str, Any]) -> dict[str, Any]:
    """Keep what an agent needs: the last template node's first items, capped in count and size."""
    result = (n8n_execution.get("data") or {}).get("resultData") or {}
    run_data: dict[str, Any] = result.get("runData") or {}
    node = result.get("lastNodeExecuted")
    if node is None or is_platform_node(node) or node not in run_data:
        template_nodes = [name for name in run_data if not is_platform_node(name)]
        node = template_nodes[-1] if template_nodes else None
    if node is None:
        return dict(EMPTY_OUTPUT)
    runs = run_data[node] or [{}]
    main = ((runs[-1].get("data") or {}).get("main") or [[]])[0] or []
    return compact_output(node, [item.get("json", {}) for item in main[:OUTPUT_ITEMS_CAP]], len(main))


def _without_nul(value: Any) -> Any:
    """Drop NUL characters (binary leaking into output): PostgreSQL cannot store them in text or JSON."""
    if isinstance(value, str):
        return value.replace("\x00", "")
    if isinstance(value, list):
        return [_without_nul(item) for item in value]
    if isinstance(value, dict):
        return {_without_nul(key): _without_nul(item) for key, item in value.items()}
    return value


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
        message = str(error.get("message") or error.get("description") or "failed")
        row.error = message.replace("\x00", "")[:2000]
        node = error.get("node")
        # Code-node errors carry no node; the node that ran last is the one that failed.
        name = node.get("name") if isinstance(node, dict) else node
        row.error_node = str(name or result.get("lastNodeExecuted") or "")[:300]
