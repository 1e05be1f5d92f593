"""Idle cleanup: a running instance with no run for N minutes is stopped (its record kept for the next
run to wake it); a recently used one keeps running. The processes are `sleep` stand-ins started in
their own session like n8n: only the pid and process group matter to the cleanup, and a real n8n per
case would cost ~650 MB for nothing the test looks at."""

from __future__ import annotations

import subprocess
from datetime import timedelta

from spreaders.accounts import service as accounts
from spreaders.accounts.schemas import Principal
from spreaders.bootstrap import AppContext
from spreaders.db.base import utcnow
from spreaders.provisioning import lifecycle
from spreaders.provisioning.backends import local
from spreaders.provisioning.models import N8nInstance

from ..monitor.helpers import seed_execution, seed_stopped_instance


def _sleeper() -> int:
    process = subprocess.Popen(["sleep", "300"], start_new_session=True)
    local._children[process.pid] = process  # reaped by terminate, like a spawned n8n
    return process.pid


async def _running_stand_in(app: AppContext, instance_id: str, *, age: timedelta) -> int:
    pid = _sleeper()
    async with app.unit_of_work() as session:
        row = await session.get_one(N8nInstance, instance_id)
        row.pid, row.status, row.created_at = pid, "running", utcnow() - age
    return pid


async def test_idle_instances_are_stopped_and_busy_ones_keep_running(
    app: AppContext, principal: Principal
) -> None:
    async with app.unit_of_work() as session:
        tenant = await accounts.create_tenant(session, name="busy tenant")
    other = Principal(tenant_id=tenant.id, user_id=principal.user_id)
    idle = await seed_stopped_instance(app, principal)
    idle_pid = await _running_stand_in(app, idle.instance_id, age=timedelta(hours=2))
    await seed_execution(app, idle, status="success", created_at=utcnow() - timedelta(minutes=45))
    busy = await seed_stopped_instance(app, other)
    busy_pid = await _running_stand_in(app, busy.instance_id, age=timedelta(hours=2))
    await seed_execution(app, busy, status="success", created_at=utcnow() - timedelta(minutes=5))
    try:
        stopped = await lifecycle.stop_idle(app, idle_minutes=30)

        assert idle.instance_id in stopped and busy.instance_id not in stopped
        assert not local.pid_alive(idle_pid) and local.pid_alive(busy_pid)
        async with app.sessionmaker() as session:
            assert (await session.get_one(N8nInstance, idle.instance_id)).status == "stopped"
            assert (await session.get_one(N8nInstance, busy.instance_id)).status == "running"
    finally:  # leave no "running" record of a dead process for the monitor tests to find
        for deployment, pid in ((busy, busy_pid), (idle, idle_pid)):
            await local.terminate(pid)
            async with app.unit_of_work() as session:
                row = await session.get_one(N8nInstance, deployment.instance_id)
                row.pid, row.status = None, "stopped"
