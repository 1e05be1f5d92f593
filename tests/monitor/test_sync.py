"""The monitor pass: unfinished executions are synced from n8n or marked crashed, exactly once."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from spreaders.accounts.schemas import Principal
from spreaders.bootstrap import AppContext
from spreaders.db.base import utcnow
from spreaders.monitor import jobs
from spreaders.monitor import service as monitor
from spreaders.monitor.models import WorkflowExecution
from spreaders.orchestrator import service as orchestrator
from spreaders.orchestrator.models import Deployment
from spreaders.settings import MonitorSettings

from .helpers import (
    ECHO_JS,
    code_workflow,
    import_template,
    seed_execution,
    seed_stopped_instance,
    stored,
    wait_until,
    wait_workflow,
)

# Tests other than the dead-instance one never restart n8n: a restart they caused would outlive them.
OBSERVE = MonitorSettings(restart_dead_instances=False, start_grace_s=30)


async def test_new_run_never_confirmed_by_n8n_is_crashed_after_the_grace_period(
    app: AppContext, principal: Principal
) -> None:
    deployment = await seed_stopped_instance(app, principal)
    old = utcnow() - timedelta(seconds=OBSERVE.start_grace_s + 5)
    stale = await seed_execution(app, deployment, status="new", n8n_execution_id=None, created_at=old)
    fresh = await seed_execution(app, deployment, status="new", n8n_execution_id=None)

    report = await jobs.monitor_pass(app, config=OBSERVE)

    row = await stored(app, stale)
    assert row.status == "crashed"
    assert row.error == jobs.NOT_CONFIRMED
    assert row.finished_at is not None
    assert stale in report.crashed
    assert (await stored(app, fresh)).status == "new"


async def test_running_execution_on_a_stopped_instance_is_crashed_and_the_instance_stays_stopped(
    app: AppContext, principal: Principal
) -> None:
    deployment = await seed_stopped_instance(app, principal)
    running = await seed_execution(app, deployment, status="running", n8n_execution_id="41")
    waiting = await seed_execution(app, deployment, status="waiting", n8n_execution_id="42")

    report = await jobs.monitor_pass(app, config=OBSERVE)

    row = await stored(app, running)
    assert row.status == "crashed"
    assert row.error.startswith(jobs.INSTANCE_DOWN)
    # n8n keeps waiting executions in its database and resumes them after a restart.
    assert (await stored(app, waiting)).status == "waiting"
    assert deployment.instance_id not in report.instances_down  # stopped on purpose: not "down"
    assert deployment.instance_id not in report.restarted


async def test_update_guarded_by_status_lets_exactly_one_of_two_monitors_win(
    app: AppContext, principal: Principal
) -> None:
    deployment = await seed_stopped_instance(app, principal)
    execution_id = await seed_execution(app, deployment, status="running")
    async with app.sessionmaker() as session:
        (snapshot,) = [e for e in await monitor.active_executions(session) if e.id == execution_id]

    async def mark(reason: str) -> bool:
        async with app.unit_of_work() as session:
            return await monitor.mark_crashed(session, execution=snapshot, reason=reason)

    wins = await asyncio.gather(mark("first"), mark("second"))

    assert sorted(wins) == [False, True]
    row = await stored(app, execution_id)
    assert row.status == "crashed"
    assert row.error == ("first" if wins[0] else "second")
    async with app.unit_of_work() as session:  # a stale writer cannot overwrite the end
        late = await monitor.set_if_status(
            session, execution_id=execution_id, expected="running", values={"status": "success"}
        )
    assert late is False
    assert (await stored(app, execution_id)).status == "crashed"


async def test_two_concurrent_passes_crash_a_stale_run_once(app: AppContext, principal: Principal) -> None:
    deployment = await seed_stopped_instance(app, principal)
    old = utcnow() - timedelta(seconds=OBSERVE.start_grace_s + 5)
    stale = await seed_execution(app, deployment, status="new", n8n_execution_id=None, created_at=old)

    first, second = await asyncio.gather(
        jobs.monitor_pass(app, config=OBSERVE), jobs.monitor_pass(app, config=OBSERVE)
    )

    assert (first.crashed + second.crashed).count(stale) == 1
    assert (await stored(app, stale)).status == "crashed"


@pytest.mark.e2e
async def test_run_nobody_polls_is_brought_to_its_end_by_the_monitor(
    app: AppContext, e2e_principal: Principal
) -> None:
    template_id = await import_template(app, e2e_principal, wait_workflow("short wait", seconds=1))
    started = await orchestrator.execute(app, principal=e2e_principal, template_id=template_id, wait=False)
    assert started.status == "running"
    reports = []

    async def finished() -> bool:
        reports.append(await jobs.monitor_pass(app, config=OBSERVE))
        return (await stored(app, started.id)).status == "success"

    await wait_until(finished, what="the monitor to record the end of the run")

    row = await stored(app, started.id)
    assert row.finished_at is not None
    assert row.output["node"] == "Work"
    assert row.output["items"] == [{"waited": True}]
    assert any(started.id in report.finished for report in reports)


@pytest.mark.e2e
async def test_execution_n8n_no_longer_knows_is_crashed_with_the_reason(
    app: AppContext, e2e_principal: Principal
) -> None:
    template_id = await import_template(app, e2e_principal, code_workflow("echo", ECHO_JS))
    real = await orchestrator.execute(app, principal=e2e_principal, template_id=template_id)
    async with app.sessionmaker() as session:
        deployment = await session.get_one(Deployment, (await stored(app, real.id)).deployment_id)
    lost = await seed_execution(app, deployment, status="running", n8n_execution_id="987654321")

    report = await jobs.monitor_pass(app, config=OBSERVE)

    row = await stored(app, lost)
    assert row.status == "crashed"
    assert "no longer knows execution 987654321" in row.error
    assert lost in report.crashed
    assert deployment.instance_id not in report.instances_down


def test_nul_characters_in_n8n_output_are_dropped_before_storing() -> None:
    row = WorkflowExecution(id="exe_nul", status="running")
    n8n_execution = {
        "status": "success",
        "data": {
            "resultData": {
                "lastNodeExecuted": "Read file",
                "runData": {"Read file": [{"data": {"main": [[{"json": {"bytes": "PNG\x00\x01"}}]]}}]},
            }
        },
    }

    monitor.apply_n8n_state(row, n8n_execution)

    assert row.output["items"] == [{"bytes": "PNG\x01"}]
