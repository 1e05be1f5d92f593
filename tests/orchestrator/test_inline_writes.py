"""A run's record and outcome on SQLite: written on the loop's thread when the database is free, through
the pool (waiting its turn, the loop running on) when another connection is writing; either way
written and counted once. Each test opens its own SQLite app, so these run whatever database the
rest of the suite uses."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest_asyncio
from sqlalchemy import event, func, select

from spreaders.accounts import service as accounts
from spreaders.accounts.schemas import Principal
from spreaders.bootstrap import AppContext, open_app
from spreaders.db.base import utcnow
from spreaders.monitor.metrics import MonitorMetrics
from spreaders.monitor.models import WorkflowExecution
from spreaders.orchestrator import records
from spreaders.orchestrator import service as orchestrator
from spreaders.orchestrator.models import Deployment
from spreaders.settings import Settings

from ..monitor.helpers import claim_values, instrumented, seed_execution, seed_stopped_instance, stored


@pytest_asyncio.fixture(loop_scope="session")
async def sqlite_app(tmp_path: Path) -> AsyncIterator[AppContext]:
    async with open_app(Settings(data_dir=tmp_path)) as ctx:
        assert ctx.inline is not None
        yield ctx


@pytest_asyncio.fixture(loop_scope="session")
async def metrics(sqlite_app: AppContext) -> AsyncIterator[MonitorMetrics]:
    found, undo = instrumented(sqlite_app)
    yield found
    undo()


async def _deployment(app: AppContext) -> Deployment:
    async with app.unit_of_work() as session:
        tenant = await accounts.create_tenant(session, name="inline", tier="pro")
        user = await accounts.create_user(session, tenant_id=tenant.id, email="inline@example.test")
    return await seed_stopped_instance(app, Principal(tenant_id=tenant.id, user_id=user.id))


def _lock(app: AppContext) -> sqlite3.Connection:
    """Another connection holding SQLite's write lock until it commits."""
    database = app.engine.url.database
    assert database is not None
    other = sqlite3.connect(database, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    return other


def _count(metrics: MonitorMetrics, name: str, **labels: str) -> float:
    return metrics.registry.get_sample_value(name, labels) or 0.0


async def _rows(app: AppContext, execution_id: str) -> int:
    async with app.sessionmaker() as session:
        query = select(func.count()).where(WorkflowExecution.id == execution_id)
        return (await session.execute(query)).scalar_one()


async def test_a_free_database_takes_the_run_record_and_outcome_without_the_pool(
    sqlite_app: AppContext, metrics: MonitorMetrics
) -> None:
    deployment = await _deployment(sqlite_app)
    checkouts: list[object] = []

    def _checkout(*args: object) -> None:
        checkouts.append(args)

    event.listen(sqlite_app.engine.sync_engine, "checkout", _checkout)
    try:
        values = claim_values(deployment, input={"name": "x"})
        assert await orchestrator._admit(sqlite_app, values) is True
        row = WorkflowExecution(**values, started_at=None, finished_at=None)
        outcome = {"status": "success", "started_at": utcnow(), "finished_at": utcnow()}
        read = await records.write(sqlite_app, row, outcome)
        assert checkouts == []
    finally:
        event.remove(sqlite_app.engine.sync_engine, "checkout", _checkout)
    assert read.status == "success"
    assert (await stored(sqlite_app, values["id"])).status == "success"
    assert _count(metrics, "spreaders_executions_started_total") == 1
    assert _count(metrics, "spreaders_executions_finished_total", status="success") == 1


async def test_a_run_recorded_while_another_connection_writes_waits_its_turn_and_counts_once(
    sqlite_app: AppContext, metrics: MonitorMetrics
) -> None:
    deployment = await _deployment(sqlite_app)
    values = claim_values(deployment, input={"name": "x"})
    other = _lock(sqlite_app)
    try:
        claim = asyncio.create_task(orchestrator._admit(sqlite_app, values))
        await asyncio.sleep(0.3)  # the loop runs on: the claim waits in the pool, not on this thread
        assert not claim.done()
        other.execute("COMMIT")
        assert await asyncio.wait_for(claim, timeout=30) is True
    finally:
        other.close()
    assert await _rows(sqlite_app, values["id"]) == 1
    assert _count(metrics, "spreaders_executions_started_total") == 1


async def test_an_outcome_written_while_another_connection_writes_lands_once(
    sqlite_app: AppContext, metrics: MonitorMetrics
) -> None:
    deployment = await _deployment(sqlite_app)
    execution_id = await seed_execution(sqlite_app, deployment, status="running")
    row = await stored(sqlite_app, execution_id)
    outcome = {"status": "error", "error": "boom", "error_node": "Work", "finished_at": utcnow()}
    other = _lock(sqlite_app)
    try:
        write = asyncio.create_task(records.write(sqlite_app, row, outcome))
        await asyncio.sleep(0.3)
        assert not write.done()
        other.execute("COMMIT")
        read = await asyncio.wait_for(write, timeout=30)
    finally:
        other.close()
    assert (read.status, read.error_node) == ("error", "Work")
    # A second writer (the monitor, a retried call) finds the run finished: no change, no second count.
    late = await records.write(sqlite_app, row, {"status": "success", "finished_at": utcnow()})
    assert late.status == "error"
    assert (await stored(sqlite_app, execution_id)).status == "error"
    assert _count(metrics, "spreaders_executions_finished_total", status="error") == 1
    assert _count(metrics, "spreaders_executions_finished_total", status="success") == 0
