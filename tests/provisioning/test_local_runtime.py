"""The local n8n runtime: records, sealed secrets, re-adoption and restart after a crash."""

from __future__ import annotations

import os
import signal

import pytest
from sqlalchemy import select

from spreaders.accounts.schemas import Principal
from spreaders.bootstrap import AppContext
from spreaders.errors import Unavailable
from spreaders.orchestrator.service import client_for
from spreaders.provisioning import service as provisioning
from spreaders.provisioning.backends import local
from spreaders.provisioning.models import N8nInstance

pytestmark = pytest.mark.e2e


async def test_running_instance_is_recorded_and_its_secrets_are_sealed(
    app: AppContext, e2e_principal: Principal
) -> None:
    conn = await provisioning.ensure_running(app, tenant_id=e2e_principal.tenant_id)
    status = await provisioning.status(app, tenant_id=e2e_principal.tenant_id)

    assert status is not None
    assert status.running and status.bootstrapped
    assert conn.api_key not in status.model_dump_json()
    assert conn.api_key not in repr(conn)
    async with app.sessionmaker() as session:
        row = (
            await session.execute(select(N8nInstance).where(N8nInstance.id == conn.instance_id))
        ).scalar_one()
    assert row.secrets is not None
    assert conn.api_key.encode() not in row.secrets


async def test_second_call_adopts_the_running_process_instead_of_starting_another(
    app: AppContext, e2e_principal: Principal
) -> None:
    before = await provisioning.status(app, tenant_id=e2e_principal.tenant_id)
    await provisioning.ensure_running(app, tenant_id=e2e_principal.tenant_id)
    after = await provisioning.status(app, tenant_id=e2e_principal.tenant_id)

    assert before is not None and after is not None
    assert after.pid == before.pid


async def test_killed_n8n_is_restarted_with_its_data_and_key(
    app: AppContext, e2e_principal: Principal
) -> None:
    before = await provisioning.ensure_running(app, tenant_id=e2e_principal.tenant_id)
    status = await provisioning.status(app, tenant_id=e2e_principal.tenant_id)
    assert status is not None and status.pid is not None
    os.killpg(status.pid, signal.SIGKILL)
    await local.terminate(status.pid)  # reaps it
    with pytest.raises(Unavailable, match="not running"):
        await provisioning.connect(app, tenant_id=e2e_principal.tenant_id)

    after = await provisioning.ensure_running(app, tenant_id=e2e_principal.tenant_id)
    restarted = await provisioning.status(app, tenant_id=e2e_principal.tenant_id)

    assert restarted is not None and restarted.running
    assert restarted.pid != status.pid
    assert after.api_key == before.api_key  # same n8n database: no second bootstrap
    assert after.instance_id == before.instance_id
    assert isinstance(await client_for(app, after).list_workflows(limit=5), list)  # the key still works
