"""A chain survives the death of the process running it: SIGKILL mid-chain, resume, nothing runs twice."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from typing import Any

import pytest
from sqlalchemy import select

from spreaders.bootstrap import AppContext
from spreaders.campaigns import service as campaigns
from spreaders.campaigns.models import Campaign
from spreaders.monitor.models import WorkflowExecution
from spreaders.orchestrator.service import client_for
from spreaders.provisioning import service as provisioning
from spreaders.registry import service as registry
from spreaders.settings import Settings

from ..orchestrator.helpers import code_workflow

pytestmark = pytest.mark.e2e


def _slow_step() -> dict[str, Any]:
    document = code_workflow("chain slow step", "return [{ json: { waited: true } }];")
    document["nodes"].insert(
        1,
        {
            "id": "wait",
            "name": "Pause",
            "type": "n8n-nodes-base.wait",
            "typeVersion": 1.1,
            "position": [110, 0],
            "parameters": {"resume": "timeInterval", "amount": 4, "unit": "seconds"},
        },
    )
    document["connections"] = {
        "When clicking Execute": {"main": [[{"node": "Pause", "type": "main", "index": 0}]]},
        "Pause": {"main": [[{"node": "Work", "type": "main", "index": 0}]]},
    }
    return document


async def _executions(app: AppContext, campaign_id: str) -> list[WorkflowExecution]:
    async with app.sessionmaker() as session:
        rows = await session.scalars(
            select(WorkflowExecution)
            .where(WorkflowExecution.campaign_id == campaign_id)
            .order_by(WorkflowExecution.created_at)
        )
        return list(rows)


async def test_chain_killed_mid_run_resumes_without_running_a_finished_step_again(
    app: AppContext, settings: Settings
) -> None:
    local = app.local_principal
    async with app.unit_of_work() as session:
        first = await registry.import_workflow(
            session,
            tenant_id=local.tenant_id,
            document=code_workflow("chain first", "return [{json:{a:1}}];"),
        )
        slow = await registry.import_workflow(session, tenant_id=local.tenant_id, document=_slow_step())
        last = await registry.import_workflow(
            session, tenant_id=local.tenant_id, document=code_workflow("chain last", "return [{json:{c:3}}];")
        )
        created = await campaigns.create_from_prompt(
            session, principal=local, prompt="Email our list about the winter sale"
        )
        (await session.get_one(Campaign, created.id)).template_ids = [first.id, slow.id, last.id]
    env = {
        **os.environ,
        "SPREADERS_DATA_DIR": str(settings.data_dir),
        "SPREADERS_DATABASE_URL": settings.database_url,
    }
    runner = subprocess.Popen(  # noqa: ASYNC220 - a real separate process is the point: it gets SIGKILLed
        [sys.executable, "-m", "spreaders.cli.main", "campaigns", "launch", created.id, "--json"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 120
        while True:  # until the slow step is running in n8n
            rows = await _executions(app, created.id)
            if len(rows) == 2 and rows[1].n8n_execution_id:
                break
            assert runner.poll() is None, "the launch ended before it could be killed"
            assert time.monotonic() < deadline, "the chain never reached its slow step"
            await asyncio.sleep(0.05)
        runner.send_signal(signal.SIGKILL)
        runner.wait(timeout=10)
        before = await _executions(app, created.id)
        assert [row.status for row in before] == ["success", "running"]

        reports = await campaigns.resume_stalled(app, stale_after_s=0)

        (report,) = [r for r in reports if r.campaign_id == created.id]
        assert report.status == "success"
        assert report.completed == report.total == 3
        after = await _executions(app, created.id)
        assert len(after) == 3
        assert [r.id for r in after[:2]] == [r.id for r in before]  # no step ran twice
        assert after[1].n8n_execution_id == before[1].n8n_execution_id
        conn = await provisioning.connect(app, tenant_id=local.tenant_id)
        runs_of_slow = await client_for(app, conn).list_executions(workflow_id=after[1].n8n_workflow_id)
        assert len(runs_of_slow) == 1
    finally:
        if runner.poll() is None:
            runner.kill()
        await provisioning.stop(app, tenant_id=local.tenant_id)
