"""Instance operations on a real n8n of its own: sized by tier, scaled, deprovisioned with a backup
(workflows and still-encrypted credentials), restored with its deployments and credentials working."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
from sqlalchemy import select

from spreaders.accounts import service as accounts
from spreaders.accounts.schemas import Principal
from spreaders.bootstrap import AppContext
from spreaders.errors import Conflict, NotFound
from spreaders.orchestrator import service as orchestrator
from spreaders.provisioning import lifecycle
from spreaders.provisioning import service as provisioning
from spreaders.provisioning.models import InstanceBackup, N8nInstance
from spreaders.provisioning.tiers import TIERS
from spreaders.registry import service as registry
from spreaders.registry.models import WorkflowTemplate
from spreaders.vault.sealed import row_aad

from ..vault.test_n8n_credentials import (
    _connect_header_key,
    _header_auth_workflow,
    _KeyServer,
    key_server,
)

pytestmark = pytest.mark.e2e
__all__ = ["key_server"]


def _heap_flag(pid: int) -> str:
    environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    [options] = [item.decode() for item in environ if item.startswith(b"NODE_OPTIONS=")]
    return options


def _exists(path: str) -> bool:
    return Path(path).exists()


def _read(folder: str, name: str) -> str:
    return (Path(folder) / name).read_text()


async def _pro_tenant(app: AppContext) -> Principal:
    async with app.unit_of_work() as session:
        tenant = await accounts.create_tenant(session, name="lifecycle tenant")
        tenant.tier = "pro"
        user = await accounts.create_user(
            session, tenant_id=tenant.id, email=f"{uuid.uuid4().hex}@example.test"
        )
    return Principal(tenant_id=tenant.id, user_id=user.id)


async def connected_template(
    app: AppContext, principal: Principal, key_server: _KeyServer, secret: str
) -> WorkflowTemplate:
    """A template calling `key_server` with a header key the tenant connected through the vault."""
    key_server.expected = secret
    await _connect_header_key(app, principal, secret)
    async with app.unit_of_work() as session:
        return await registry.import_workflow(
            session,
            tenant_id=principal.tenant_id,
            document=_header_auth_workflow(f"http://127.0.0.1:{key_server.server_port}/me"),
        )


async def test_scale_then_deprovision_with_backup_then_restore_keeps_workflows_and_credentials(
    app: AppContext, key_server: _KeyServer
) -> None:
    principal = await _pro_tenant(app)
    tenant_id = principal.tenant_id
    secret = f"key-{uuid.uuid4().hex}"
    template = await connected_template(app, principal, key_server, secret)
    try:
        first = await orchestrator.execute(app, principal=principal, template_id=template.id, timeout_s=60)
        assert first.status == "success", first.error
        [status] = await lifecycle.list_instances(app, tenant_id=tenant_id)
        instance_id = status.instance.id
        pro_heap = TIERS["pro"].resources.node_heap_mb
        assert status.instance.tier == "pro" and status.instance.heap_mb == pro_heap and status.healthy
        assert status.resources == TIERS["pro"].resources
        assert status.instance.pid is not None
        assert _heap_flag(status.instance.pid) == f"NODE_OPTIONS=--max-old-space-size={pro_heap}"
        assert status.quota.usage.workflows == 1 and status.quota.usage.executions_today == 1

        steps: list[str] = []
        scaled = await lifecycle.scale(
            app, tenant_id=tenant_id, instance_id=instance_id, tier_name="enterprise", progress=steps.append
        )
        big_heap = TIERS["enterprise"].resources.node_heap_mb
        assert scaled.instance.tier == "enterprise" and scaled.healthy
        assert scaled.quota.tier == "enterprise" and scaled.quota.quotas == TIERS["enterprise"].quotas
        assert scaled.instance.pid is not None and scaled.instance.pid != status.instance.pid
        assert _heap_flag(scaled.instance.pid) == f"NODE_OPTIONS=--max-old-space-size={big_heap}"
        assert any("restarting" in step for step in steps)

        backup = await lifecycle.deprovision(app, tenant_id=tenant_id, instance_id=instance_id)
        assert backup.workflows == 1 and backup.credentials == 1
        assert not _exists(status.instance.data_dir)
        exported = _read(backup.path, "credentials.json")
        assert secret not in exported and json.loads(exported)[0]["type"] == "httpHeaderAuth"
        async with app.sessionmaker() as session:
            row = await session.get_one(InstanceBackup, backup.id)
            instance_row = await session.get_one(N8nInstance, instance_id)
        key = json.loads(app.cipher.open(row.secrets, aad=row_aad(tenant_id, "instance_backups", backup.id)))
        assert key["encryption_key"].encode() not in row.secrets
        assert key["encryption_key"] not in _read(backup.path, "workflows.json")
        assert instance_row.status == "deprovisioned" and instance_row.pid is None
        with pytest.raises(Conflict, match="deprovisioned"):
            await orchestrator.execute(app, principal=principal, template_id=template.id, timeout_s=60)

        restored = await lifecycle.restore(app, tenant_id=tenant_id, instance_id=instance_id)
        assert restored.healthy and restored.instance.tier == "enterprise"
        assert [b.restored for b in restored.backups] == [True]
        again = await orchestrator.execute(app, principal=principal, template_id=template.id, timeout_s=60)
        assert again.status == "success", again.error
        assert again.output["items"] == [{"authorized": True}]  # the credential decrypts in the new n8n
        assert again.n8n_workflow_id == first.n8n_workflow_id  # the same workflow, activated again
        assert key_server.seen == [secret, secret]
    finally:
        await provisioning.stop(app, tenant_id=tenant_id)


async def test_operations_on_another_tenants_instance_are_not_found(
    app: AppContext, e2e_principal: Principal, principal: Principal
) -> None:
    [theirs] = await lifecycle.list_instances(app, tenant_id=e2e_principal.tenant_id)
    other = principal.tenant_id
    for call in (
        lifecycle.describe(app, tenant_id=other, instance_id=theirs.instance.id),
        lifecycle.scale(app, tenant_id=other, instance_id=theirs.instance.id, tier_name="pro"),
        lifecycle.deprovision(app, tenant_id=other, instance_id=theirs.instance.id),
        lifecycle.restore(app, tenant_id=other, instance_id=theirs.instance.id),
    ):
        with pytest.raises(NotFound):
            await call
    async with app.sessionmaker() as session:
        still = await session.scalar(select(N8nInstance.status).where(N8nInstance.id == theirs.instance.id))
    assert still == "running"
