"""`spreaders worker` and `spreaders executions ...` as a user runs them: real processes, real database."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime, timedelta

import httpx
import pytest

from spreaders.accounts.schemas import Principal
from spreaders.bootstrap import AppContext
from spreaders.db.base import utcnow
from spreaders.settings import Settings

from ..monitor.helpers import seed_execution, seed_stopped_instance, stored, wait_until

GRACE_S = 60.0  # the default start grace period the worker uses


def _env(settings: Settings) -> dict[str, str]:
    return {
        **os.environ,
        "SPREADERS_DATA_DIR": str(settings.data_dir),
        "SPREADERS_DATABASE_URL": settings.database_url,
        "COLUMNS": "160",
    }


def spreaders(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "spreaders.cli.main", *args],
        capture_output=True,
        text=True,
        env=_env(settings),
        timeout=120,
        check=False,
    )


@pytest.fixture
def worker(settings: Settings) -> Iterator[subprocess.Popen[str]]:
    """`spreaders worker` running with a short interval and a metrics port; stopped with SIGTERM."""
    command = [sys.executable, "-m", "spreaders.cli.main", "worker", "--interval", "0.2"]
    command += ["--metrics-port", "0", "--no-restart", "--json"]
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env(settings)
    ) as process:  # leaving the block closes the pipes and reaps the process
        yield process
        if process.poll() is None:
            process.kill()


def _before_grace() -> datetime:
    return utcnow() - timedelta(seconds=GRACE_S + 5)


async def test_worker_once_crashes_a_stale_run_and_reports_it_as_json(
    app: AppContext, settings: Settings, principal: Principal
) -> None:
    deployment = await seed_stopped_instance(app, principal)
    stale = await seed_execution(
        app, deployment, status="new", n8n_execution_id=None, created_at=_before_grace()
    )

    done = spreaders(settings, "worker", "--once", "--no-restart", "--json")

    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert stale in report["crashed"]
    row = await stored(app, stale)
    assert row.status == "crashed"
    assert "n8n confirmed the start" in row.error


async def test_running_worker_syncs_exposes_metrics_and_stops_cleanly_on_sigterm(
    app: AppContext, principal: Principal, worker: subprocess.Popen[str]
) -> None:
    assert worker.stdout is not None
    ready = json.loads(worker.stdout.readline())
    assert ready["worker"] == "running" and ready["interval_s"] == 0.2
    deployment = await seed_stopped_instance(app, principal)
    stale = await seed_execution(
        app, deployment, status="new", n8n_execution_id=None, created_at=_before_grace()
    )

    async def crashed() -> bool:
        return (await stored(app, stale)).status == "crashed"

    await wait_until(crashed, what="the worker to crash the stale run")
    async with httpx.AsyncClient() as http:
        exposed = (await http.get(ready["metrics"])).text
    assert 'spreaders_executions_finished_total{status="crashed"}' in exposed
    assert 'spreaders_monitor_passes_total{result="ok"}' in exposed

    worker.send_signal(signal.SIGTERM)
    assert worker.wait(timeout=30) == 0
    assert worker.stderr is not None
    assert "Traceback" not in worker.stderr.read()


async def test_executions_ls_show_and_logs_from_the_command_line(
    app: AppContext, settings: Settings, principal: Principal
) -> None:
    # Rows of the local workspace (the CLI's), pointing at another tenant's seeded records.
    deployment = await seed_stopped_instance(app, principal)
    local = app.local_principal.tenant_id
    done_id = await seed_execution(
        app,
        deployment,
        tenant_id=local,
        status="success",
        n8n_execution_id="7",
        output={"node": "Work", "item_count": 1, "items": [{"ok": 1}], "truncated": False},
        finished_at=utcnow(),
    )
    lost_id = await seed_execution(
        app, deployment, tenant_id=local, status="crashed", n8n_execution_id=None, error="lost at start"
    )

    listed = spreaders(settings, "executions", "ls", "--template", deployment.template_id, "--json")
    crashed = spreaders(settings, "executions", "ls", "--status", "crashed", "--limit", "100", "--json")
    shown = spreaders(settings, "executions", "show", done_id, "--json")
    table = spreaders(settings, "executions", "ls", "--template", deployment.template_id)
    logs = spreaders(settings, "executions", "logs", lost_id, "--json")
    down = spreaders(settings, "executions", "logs", done_id)
    missing = spreaders(settings, "executions", "show", "exe_nope", "--json")

    assert listed.returncode == 0, listed.stderr
    assert [item["id"] for item in json.loads(listed.stdout)] == [lost_id, done_id]
    assert lost_id in [item["id"] for item in json.loads(crashed.stdout)]
    assert done_id not in [item["id"] for item in json.loads(crashed.stdout)]
    assert json.loads(shown.stdout)["output"]["items"] == [{"ok": 1}]
    assert done_id in table.stdout and "success" in table.stdout
    assert json.loads(logs.stdout) | {"nodes": []} == json.loads(logs.stdout)
    assert json.loads(logs.stdout)["error"] == "lost at start"
    assert down.returncode == 1  # node logs live in n8n, which is not running for this workspace
    assert "not running" in down.stderr and "Traceback" not in down.stderr
    assert missing.returncode == 1
    assert json.loads(missing.stdout)["error"] == "not_found"
