"""Execute-and-wait on one request to a real n8n: outcome, timeout, idempotent retries, crash recovery."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import uuid
from typing import Any

import pytest
from sqlalchemy import select

from spreaders.accounts.schemas import Principal
from spreaders.bootstrap import AppContext
from spreaders.db.base import new_id
from spreaders.monitor import jobs
from spreaders.monitor.models import WorkflowExecution
from spreaders.orchestrator import runner
from spreaders.orchestrator import service as orchestrator
from spreaders.orchestrator.entry import ENTRY_NODE, WAIT_ENTRY_NODE
from spreaders.orchestrator.n8n_client import WebhookAnswer
from spreaders.provisioning import service as provisioning
from spreaders.settings import MonitorSettings, Settings

from ..monitor.helpers import ECHO_JS, code_workflow, import_template, stored, wait_until, wait_workflow

pytestmark = pytest.mark.e2e

# Follow-ups only: never restart n8n from these tests, and look up runs without an id at once.
RECOVER_NOW = MonitorSettings(restart_dead_instances=False, start_grace_s=0.001)


def _two_branches(failing_js: str) -> dict[str, Any]:
    """Manual trigger -> two Code nodes side by side; the second runs `failing_js`."""
    document = code_workflow("two branches", "return [{ json: { fine: true } }];")
    document["nodes"].append(
        {
            "id": "other",
            "name": "Other branch",
            "type": "n8n-nodes-base.code",
            "typeVersion": 2,
            "position": [220, 200],
            "parameters": {"jsCode": failing_js},
        }
    )
    document["connections"] = {
        "When clicking Execute": {
            "main": [
                [
                    {"node": "Work", "type": "main", "index": 0},
                    {"node": "Other branch", "type": "main", "index": 0},
                ]
            ]
        }
    }
    return document


async def _n8n_runs(app: AppContext, principal: Principal, n8n_workflow_id: str) -> list[dict[str, Any]]:
    conn = await provisioning.connect(app, tenant_id=principal.tenant_id)
    return await orchestrator.client_for(app, conn).list_executions(workflow_id=n8n_workflow_id)


async def test_run_is_recorded_with_its_n8n_id_and_the_output_n8n_answered(
    app: AppContext, e2e_principal: Principal
) -> None:
    template_id = await import_template(app, e2e_principal, code_workflow("echo", ECHO_JS))

    result = await orchestrator.execute(
        app, principal=e2e_principal, template_id=template_id, parameters={"n": 4}
    )

    assert result.status == "success"
    assert result.output == {
        "node": "Work",
        "item_count": 1,
        "items": [{"received": {"n": 4}, "doubled": 8}],
        "truncated": False,
    }
    row = await stored(app, result.id)
    assert row.status == "success" and row.n8n_execution_id == result.n8n_execution_id
    assert row.started_at is not None and row.finished_at is not None
    (n8n_run,) = await _n8n_runs(app, e2e_principal, result.n8n_workflow_id)
    assert str(n8n_run["id"]) == result.n8n_execution_id
    assert n8n_run["status"] == "success"
    conn = await provisioning.connect(app, tenant_id=e2e_principal.tenant_id)
    ran = await orchestrator.client_for(app, conn).get_execution(str(n8n_run["id"]))
    ran_nodes = ran["data"]["resultData"]["runData"]
    assert WAIT_ENTRY_NODE in ran_nodes and ENTRY_NODE not in ran_nodes  # one answer, no stream


async def test_a_branch_end_with_many_items_is_summed_up_once(
    app: AppContext, e2e_principal: Principal
) -> None:
    many = "return Array.from({ length: 12 }, (_, i) => ({ json: { i } }));"
    template_id = await import_template(app, e2e_principal, code_workflow("many", many))

    result = await orchestrator.execute(app, principal=e2e_principal, template_id=template_id)

    assert result.status == "success"
    assert result.output["item_count"] == 12
    assert result.output["items"] == [{"i": i} for i in range(5)]
    assert result.output["truncated"] is True
    conn = await provisioning.connect(app, tenant_id=e2e_principal.tenant_id)
    ran = await orchestrator.client_for(app, conn).get_execution(str(result.n8n_execution_id))
    (summary_run,) = ran["data"]["resultData"]["runData"]["Spreaders result"]
    assert len(summary_run["data"]["main"][0]) == 1  # one summary, not one per item


async def test_node_failing_beside_a_finished_branch_is_reported_with_its_message(
    app: AppContext, e2e_principal: Principal
) -> None:
    failing = "throw new Error('the printer is out of toner');"
    template_id = await import_template(app, e2e_principal, _two_branches(failing))

    result = await orchestrator.execute(app, principal=e2e_principal, template_id=template_id)

    assert result.status == "error"
    assert result.error_node == "Other branch"
    assert "out of toner" in result.error
    assert result.n8n_execution_id is not None


async def test_run_outlasting_the_timeout_is_returned_running_with_its_n8n_id_then_finishes(
    app: AppContext, e2e_principal: Principal
) -> None:
    template_id = await import_template(app, e2e_principal, wait_workflow("slow", seconds=3))

    early = await orchestrator.execute(app, principal=e2e_principal, template_id=template_id, timeout_s=1.5)

    assert early.status == "running"
    assert early.n8n_execution_id is not None
    finished = await orchestrator.wait_for(app, principal=e2e_principal, execution_id=early.id, timeout_s=30)
    assert finished.status == "success"
    assert finished.n8n_execution_id == early.n8n_execution_id
    assert finished.output["items"] == [{"waited": True}]


async def test_long_wait_reports_progress_and_records_the_n8n_id_while_it_runs(
    app: AppContext, e2e_principal: Principal
) -> None:
    template_id = await import_template(app, e2e_principal, wait_workflow("slow", seconds=2))
    seen: list[tuple[str, str | None]] = []

    async def progress(_done: float, _total: float | None, message: str) -> None:
        async with app.sessionmaker() as session:
            query = select(WorkflowExecution).where(WorkflowExecution.template_id == template_id)
            row = (await session.execute(query)).scalar_one()
        seen.append((message, row.n8n_execution_id))

    result = await orchestrator.execute(
        app, principal=e2e_principal, template_id=template_id, timeout_s=30, run_progress=progress
    )

    assert result.status == "success"
    assert seen, "no progress was reported during a two-second run"
    message, recorded_id = seen[0]
    assert message == f"execution {result.id} is running"
    assert recorded_id == result.n8n_execution_id


async def test_failing_progress_reporter_does_not_lose_the_run(
    app: AppContext, e2e_principal: Principal, caplog: pytest.LogCaptureFixture
) -> None:
    template_id = await import_template(app, e2e_principal, wait_workflow("slow", seconds=2))

    async def broken(_done: float, _total: float | None, _message: str) -> None:
        raise RuntimeError("the client went away")

    result = await orchestrator.execute(
        app, principal=e2e_principal, template_id=template_id, timeout_s=30, run_progress=broken
    )

    assert result.status == "success"
    assert (await stored(app, result.id)).status == "success"
    assert "progress of execution" in caplog.text


async def test_retry_with_the_same_key_while_the_first_call_waits_returns_the_same_run(
    app: AppContext, e2e_principal: Principal
) -> None:
    template_id = await import_template(app, e2e_principal, wait_workflow("slow", seconds=2))
    key = uuid.uuid4().hex

    def call() -> Any:
        return orchestrator.execute(
            app, principal=e2e_principal, template_id=template_id, idempotency_key=key, timeout_s=30
        )

    first = asyncio.create_task(call())

    async def claimed() -> bool:
        async with app.sessionmaker() as session:
            query = select(WorkflowExecution.id).where(WorkflowExecution.idempotency_key == key)
            return (await session.execute(query)).first() is not None

    await wait_until(claimed, timeout_s=30, what="the first call to record its run")
    again = await call()
    original = await first

    assert again.id == original.id
    assert again.status == original.status == "success"
    assert again.n8n_execution_id == original.n8n_execution_id
    assert len(await _n8n_runs(app, e2e_principal, original.n8n_workflow_id)) == 1


_RUN_ONE = """
import asyncio, sys
from spreaders.accounts.schemas import Principal
from spreaders.bootstrap import open_app
from spreaders.orchestrator import runner, service as orchestrator

# The kill must land before the caller records the n8n id; on a loaded machine the default 1 s can pass
# between n8n starting the run and the test seeing it, so the window is widened here.
runner.ID_RECORD_AFTER_S = 120.0

async def main() -> None:
    async with open_app() as ctx:
        principal = Principal(tenant_id=sys.argv[1], user_id=sys.argv[2])
        await orchestrator.execute(ctx, principal=principal, template_id=sys.argv[3], timeout_s=60)

asyncio.run(main())
"""


async def test_platform_killed_before_it_learns_the_n8n_id_loses_nothing(
    app: AppContext, e2e_principal: Principal, settings: Settings
) -> None:
    """SIGKILL the process waiting on a run before it recorded the n8n id; the monitor finds the run."""
    template_id = await import_template(app, e2e_principal, wait_workflow("slow", seconds=3))
    await orchestrator.execute(app, principal=e2e_principal, template_id=template_id, wait=False)
    async with app.sessionmaker() as session:
        first = (
            await session.execute(
                select(WorkflowExecution).where(WorkflowExecution.template_id == template_id)
            )
        ).scalar_one()
    n8n_workflow_id = first.n8n_workflow_id
    env = {
        **os.environ,
        "SPREADERS_DATA_DIR": str(settings.data_dir),
        "SPREADERS_DATABASE_URL": settings.database_url,
    }
    args = [sys.executable, "-c", _RUN_ONE, e2e_principal.tenant_id, e2e_principal.user_id, template_id]
    caller = subprocess.Popen(args, env=env)  # noqa: ASYNC220 - a real separate process is the point: it gets SIGKILLed
    try:

        async def started_in_n8n() -> bool:
            assert caller.poll() is None, "the caller ended before it could be killed"
            return len(await _n8n_runs(app, e2e_principal, n8n_workflow_id)) == 2

        await wait_until(started_in_n8n, timeout_s=60, what="n8n to start the caller's run")
        os.kill(caller.pid, signal.SIGKILL)
        caller.wait(timeout=10)
    finally:
        if caller.poll() is None:
            caller.kill()
    async with app.sessionmaker() as session:
        query = select(WorkflowExecution).where(
            WorkflowExecution.template_id == template_id, WorkflowExecution.id != first.id
        )
        orphan = (await session.execute(query)).scalar_one()
    assert orphan.n8n_execution_id is None, "the caller recorded the id before it was killed"
    assert orphan.status == "new"

    report = await jobs.monitor_pass(app, config=RECOVER_NOW)

    assert orphan.id in report.recovered
    recovered = await stored(app, orphan.id)
    assert recovered.n8n_execution_id is not None and recovered.n8n_execution_id != first.n8n_execution_id

    async def finished() -> bool:
        await jobs.monitor_pass(app, config=RECOVER_NOW)
        return (await stored(app, orphan.id)).status == "success"

    await wait_until(finished, timeout_s=30, what="the monitor to record the run's end")
    assert (await stored(app, orphan.id)).output["items"] == [{"waited": True}]
    assert len(await _n8n_runs(app, e2e_principal, n8n_workflow_id)) == 2  # nothing ran twice


async def test_run_n8n_never_received_is_crashed_with_the_reason(
    app: AppContext, e2e_principal: Principal
) -> None:
    """The record as a caller killed between its commit and its request to n8n leaves it."""
    template_id = await import_template(app, e2e_principal, code_workflow("never sent", ECHO_JS))
    done = await stored(
        app, (await orchestrator.execute(app, principal=e2e_principal, template_id=template_id)).id
    )
    never_sent = WorkflowExecution(
        id=new_id("exe"),
        tenant_id=e2e_principal.tenant_id,
        template_id=template_id,
        deployment_id=done.deployment_id,
        instance_id=done.instance_id,
        n8n_workflow_id=done.n8n_workflow_id,
        status="new",
        input={},
    )
    async with app.unit_of_work() as session:
        session.add(never_sent)

    report = await jobs.monitor_pass(app, config=RECOVER_NOW)

    row = await stored(app, never_sent.id)
    assert row.status == "crashed"
    assert row.error == jobs.NOT_IN_N8N
    assert never_sent.id in report.crashed


async def test_run_n8n_refuses_to_start_is_recorded_with_n8ns_reason(
    app: AppContext, e2e_principal: Principal
) -> None:
    document = code_workflow("refused", "return [];")
    document["nodes"][1] = {
        "id": "fetch",
        "name": "Work",
        "type": "n8n-nodes-base.httpRequest",
        "typeVersion": 4.2,
        "position": [220, 0],
        "parameters": {},  # no URL: n8n refuses to start the run ("the workflow has issues")
    }
    template_id = await import_template(app, e2e_principal, document)

    result = await orchestrator.execute(app, principal=e2e_principal, template_id=template_id, timeout_s=30)

    assert result.status == "error"
    assert "workflow has issues" in result.error
    assert result.n8n_execution_id is not None
    (n8n_run,) = await _n8n_runs(app, e2e_principal, result.n8n_workflow_id)
    assert str(n8n_run["id"]) == result.n8n_execution_id


async def test_only_a_result_summary_of_the_only_branch_end_proves_success() -> None:
    summary = {"spreaders_result": True, "executionId": "7", "node": "Work", "item_count": 0, "items": []}
    for answer, proves in (
        (WebhookAnswer(200, {**summary, "ends": 1}), True),
        (WebhookAnswer(200, {**summary, "ends": 2}), False),  # another branch may have failed after it
        (WebhookAnswer(500, {**summary, "ends": 1}), False),
        (WebhookAnswer(200, {"message": "Error in workflow"}), False),
        (WebhookAnswer(200, {**summary, "spreaders_result": "yes", "ends": 1}), False),
        (WebhookAnswer(200, {**summary, "executionId": None, "ends": 1}), False),
        (WebhookAnswer(200, [summary]), False),
        (None, False),
    ):
        found = runner.result_summary(answer)
        assert (found is not None and runner.proves_success(found)) is proves, answer


async def test_stream_names_the_run_from_the_entry_reply_only() -> None:
    def chunk(kind: str, node: str, content: str = "") -> dict[str, Any]:
        return {"type": kind, "content": content, "metadata": {"nodeName": node, "timestamp": 1}}

    stream = runner.RunStream()
    stream.add(chunk("item", "Work", '{"executionId": "99"}'))
    assert stream.execution_id is None
    stream.add(chunk("item", "Spreaders entry reply", '{"executionId": 7}'))
    stream.add(chunk("error", "Work"))
    assert stream.execution_id == "7" and stream.first_ms == 1
