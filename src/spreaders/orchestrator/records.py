"""Write what the platform learns about a run onto its execution record, one guarded UPDATE each.

Several writers may follow one run (the caller waiting on it, a retried call with the same
idempotency key, the execution monitor): every write is an UPDATE guarded by the record's status,
so of two writers only one moves a run to a finished status, and the run is counted in its
template's usage exactly once, by that move (a database trigger, migration 0014).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from spreaders.bootstrap import AppContext
from spreaders.monitor import service as monitor
from spreaders.monitor.metrics import ExecutionEvent, note_finished
from spreaders.monitor.models import WorkflowExecution
from spreaders.monitor.schemas import FINISHED_STATUSES, ExecutionRead

_STATE_COLUMNS = ("status", "started_at", "finished_at", "output", "error", "error_node")


async def write(ctx: AppContext, row: WorkflowExecution, values: dict[str, Any]) -> ExecutionRead:
    """Apply `values` to the (detached) record unless the run already finished; return the result.

    When `values` finish the run, the same statement counts it in the template's usage (trigger).
    On SQLite the write runs on the loop's thread when the database is free (`db.inline`).
    """
    inline = ctx.inline
    if inline is None:
        return await _write_in_session(ctx, row, values)
    changed = monitor.set_if_unfinished_inline(inline, execution_id=row.id, values=values)
    if changed is None:  # another connection is writing: wait for the database through the pool
        return await _write_in_session(ctx, row, values)
    if not changed:
        async with ctx.sessionmaker() as session:
            return monitor.to_read(await session.get_one(WorkflowExecution, row.id))
    read = _applied(row, values)
    if read.status in FINISHED_STATUSES:
        inline.committed([ExecutionEvent("finished", status=read.status, duration_s=_duration_s(read))])
    return read


async def _write_in_session(ctx: AppContext, row: WorkflowExecution, values: dict[str, Any]) -> ExecutionRead:
    async with ctx.unit_of_work() as session:
        if not await monitor.set_if_unfinished(session, execution_id=row.id, values=values):
            stored = await session.get_one(WorkflowExecution, row.id, populate_existing=True)
            return monitor.to_read(stored)
        read = _applied(row, values)
        if read.status in FINISHED_STATUSES:
            note_finished(session, status=read.status, duration_s=_duration_s(read))
        return read


def _applied(row: WorkflowExecution, values: dict[str, Any]) -> ExecutionRead:
    for name, value in values.items():
        setattr(row, name, value)
    return monitor.to_read(row)


def _duration_s(read: ExecutionRead) -> float | None:
    return read.duration_ms / 1000 if read.duration_ms is not None else None


async def write_started(
    ctx: AppContext, row: WorkflowExecution, *, n8n_execution_id: str, started_at: datetime
) -> ExecutionRead:
    """Record that n8n runs it, under which id (so others can follow it while it runs)."""
    values = {"n8n_execution_id": n8n_execution_id, "status": "running", "started_at": started_at}
    return await write(ctx, row, values)


def state_values(row: WorkflowExecution, n8n_execution: dict[str, Any]) -> dict[str, Any]:
    """The columns n8n's execution record sets on ours (status, timings, output, error)."""
    probe = WorkflowExecution(**{name: getattr(row, name) for name in (*_STATE_COLUMNS, "n8n_execution_id")})
    monitor.apply_n8n_state(probe, n8n_execution)
    return {name: getattr(probe, name) for name in _STATE_COLUMNS}


async def write_state(ctx: AppContext, execution_id: str, n8n_execution: dict[str, Any]) -> ExecutionRead:
    """Store n8n's view of the run (read from n8n's API)."""
    async with ctx.sessionmaker() as session:
        row = await session.get_one(WorkflowExecution, execution_id)
    if row.status in FINISHED_STATUSES:
        return monitor.to_read(row)
    return await write(ctx, row, state_values(row, n8n_execution))
