"""A dead n8n is found, its running executions are crashed with the reason, and it is restarted."""

from __future__ import annotations

import asyncio
import os
import signal

import pytest

from spreaders.accounts.schemas import Principal
from spreaders.bootstrap import AppContext
from spreaders.monitor import jobs
from spreaders.monitor.metrics import MonitorMetrics
from spreaders.orchestrator import service as orchestrator
from spreaders.provisioning import service as provisioning
from spreaders.provisioning.backends import local
from spreaders.settings import MonitorSettings

from .helpers import ECHO_JS, code_workflow, import_template, stored, wait_until, wait_workflow

pytestmark = pytest.mark.e2e


def _sample(metrics: MonitorMetrics, name: str, **labels: str) -> float:
    return metrics.registry.get_sample_value(name, labels) or 0.0


async def test_killed_n8n_crashes_its_running_execution_and_is_restarted_and_works(
    app: AppContext, e2e_principal: Principal
) -> None:
    tenant_id = e2e_principal.tenant_id
    slow = await import_template(app, e2e_principal, wait_workflow("long wait", seconds=30))
    echo = await import_template(app, e2e_principal, code_workflow("echo", ECHO_JS))
    started = await orchestrator.execute(app, principal=e2e_principal, template_id=slow, wait=False)
    assert started.status == "running"
    # A caller waiting on its run's answer when n8n dies: the call returns, and the run is left to the
    # monitor rather than reported as refused (n8n had it).
    waiting = asyncio.create_task(
        orchestrator.execute(app, principal=e2e_principal, template_id=slow, timeout_s=60)
    )

    async def both_running() -> bool:
        runs = await orchestrator.client_for(
            app, await provisioning.connect(app, tenant_id=tenant_id)
        ).list_executions(workflow_id=started.n8n_workflow_id)
        return len(runs) == 2

    await wait_until(both_running, timeout_s=30, what="n8n to run the waited-on execution")
    before = await provisioning.status(app, tenant_id=tenant_id)
    assert before is not None and before.pid is not None

    os.killpg(before.pid, signal.SIGKILL)
    cut = await asyncio.wait_for(waiting, timeout=20)
    assert cut.status == "running"

    async def gone() -> bool:
        return not local.pid_alive(before.pid)

    await wait_until(gone, timeout_s=10, what="the killed n8n to exit")
    metrics = MonitorMetrics()
    uninstrument = metrics.instrument(app.engine, app.http, app.streams, app.inline)
    try:
        report = await jobs.monitor_pass(app, config=MonitorSettings(), metrics=metrics)
    finally:
        uninstrument()

    for run in (started, cut):
        row = await stored(app, run.id)
        assert row.status == "crashed"
        assert row.error.startswith(jobs.INSTANCE_DOWN)
        assert row.finished_at is not None
        assert run.id in report.crashed
    assert before.id in report.instances_down
    assert report.restarted == [before.id]
    after = await provisioning.status(app, tenant_id=tenant_id)
    assert after is not None and after.running and after.status == "running"
    assert after.pid != before.pid
    assert _sample(metrics, "spreaders_n8n_instance_crashes_total") == 1
    assert _sample(metrics, "spreaders_n8n_instance_restarts_total", result="ok") == 1
    assert _sample(metrics, "spreaders_executions_finished_total", status="crashed") >= 1
    again = await orchestrator.execute(
        app, principal=e2e_principal, template_id=echo, parameters={"n": 4}, timeout_s=60
    )
    assert again.status == "success"
    assert again.output["items"][0]["doubled"] == 8
    # The next pass finds it healthy and counts no second death.
    healthy = await jobs.monitor_pass(app, config=MonitorSettings(), metrics=metrics)
    assert before.id not in healthy.instances_down
    assert _sample(metrics, "spreaders_n8n_instance_crashes_total") == 1
