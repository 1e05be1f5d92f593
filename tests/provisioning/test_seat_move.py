"""Scale free -> pro on real n8n 1.123.81: a tenant moves from its seat on a shared process to a
dedicated instance with its workflows (active again) and credentials (the vault's and one made in
n8n directly), survives failures injected before and after the commit, and leaves the shared process
holding nothing of its own while a neighbour's data stays."""

from __future__ import annotations

import json
import sqlite3
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from spreaders.accounts import service as accounts
from spreaders.accounts.schemas import Principal
from spreaders.bootstrap import AppContext
from spreaders.db.base import utcnow
from spreaders.errors import Conflict, Invalid, NotFound
from spreaders.monitor import logs
from spreaders.orchestrator import service as orchestrator
from spreaders.provisioning import lifecycle, n8n_cipher, process, seat_move
from spreaders.provisioning import service as provisioning
from spreaders.provisioning.models import N8nInstance
from spreaders.provisioning.schemas import InstanceConnection

from ..vault.test_n8n_credentials import _KeyServer, key_server
from .test_lifecycle import connected_template
from .test_shared_pool import SET_NODE, _api, _row, _webhook_workflow, pooled

pytestmark = pytest.mark.e2e
__all__ = ["key_server", "pooled"]


class Injected(Exception):
    """The failure a test injects at a step of the move."""


async def _scale_failing_at(app: AppContext, tenant_id: str, seat_id: str, marker: str) -> list[str]:
    """Scale the seat to pro with a failure injected when the move reports `marker`; the steps seen."""
    steps: list[str] = []

    def say(message: str) -> None:
        steps.append(message)
        if message == marker:
            raise Injected(marker)

    with pytest.raises(Injected):
        await lifecycle.scale(app, tenant_id=tenant_id, instance_id=seat_id, tier_name="pro", progress=say)
    return steps


async def _free_principal(app: AppContext, name: str) -> Principal:
    async with app.unit_of_work() as session:
        tenant = await accounts.create_tenant(session, name=name)
        user = await accounts.create_user(session, tenant_id=tenant.id, email=f"{uuid.uuid4().hex}@x.test")
    return Principal(tenant_id=tenant.id, user_id=user.id)


async def _seated_together(app: AppContext) -> tuple[Principal, InstanceConnection, InstanceConnection]:
    """A free tenant (with a user) and a neighbour seated on the same shared process."""
    neighbour = await _free_principal(app, "neighbour")
    theirs = await provisioning.ensure_running(app, tenant_id=neighbour.tenant_id)
    for _ in range(3):
        mover = await _free_principal(app, "mover")
        mine = await provisioning.ensure_running(app, tenant_id=mover.tenant_id)
        if mine.base_url == theirs.base_url:
            return mover, mine, theirs
    raise AssertionError("could not seat two tenants on one shared process")


def _rows(data_dir: str, query: str, *args: str) -> list[tuple[Any, ...]]:
    db = sqlite3.connect(f"file:{Path(data_dir) / '.n8n' / 'database.sqlite'}?mode=ro", uri=True)
    try:
        return db.execute(query, args).fetchall()
    finally:
        db.close()


async def test_free_tenant_moves_to_pro_with_its_data_resuming_after_failures_and_leaving_the_seat_empty(
    pooled: AppContext, key_server: _KeyServer
) -> None:
    app = pooled
    principal, seat_conn, neighbour_conn = await _seated_together(app)
    tenant_id, seat_id = principal.tenant_id, seat_conn.instance_id
    secret, direct_secret = f"key-{uuid.uuid4().hex}", f"direct-{uuid.uuid4().hex}"
    template = await connected_template(app, principal, key_server, secret)
    neighbour_path = f"neighbour-{uuid.uuid4().hex}"
    async with _api(seat_conn) as mine, _api(neighbour_conn) as theirs:
        direct = await mine.post(
            "/credentials",
            json={
                "name": "made in n8n",
                "type": "httpHeaderAuth",
                "data": {"name": "X", "value": direct_secret},
            },
        )
        direct_id = direct.json()["id"]
        neighbour_wf = (
            await theirs.post("/workflows", json=_webhook_workflow("n", neighbour_path, SET_NODE))
        ).json()
        assert (await theirs.post(f"/workflows/{neighbour_wf['id']}/activate")).status_code == 200
        neighbour_cred = await theirs.post(
            "/credentials", json={"name": "n", "type": "httpHeaderAuth", "data": {"name": "X", "value": "n"}}
        )
    first = await orchestrator.execute(app, principal=principal, template_id=template.id, timeout_s=60)
    assert first.status == "success", first.error
    assert first.instance_id == seat_id
    target_id = ""
    try:
        # 1. fails just before the commit: the tenant stays on its seat, which keeps working
        steps = await _scale_failing_at(app, tenant_id, seat_id, seat_move.COMMITTING)
        assert any(step.startswith("importing 1 workflows and 2 credentials") for step in steps), steps
        current = await provisioning.status(app, tenant_id=tenant_id)
        assert current is not None and current.id == seat_id and current.kind == "seat"
        [target_id] = [
            i.instance.id
            for i in await lifecycle.list_instances(app, tenant_id=tenant_id)
            if i.instance.kind == "dedicated"
        ]
        assert not (
            await lifecycle.describe(app, tenant_id=tenant_id, instance_id=target_id)
        ).instance.running
        still = await orchestrator.execute(app, principal=principal, template_id=template.id, timeout_s=60)
        assert still.status == "success", still.error
        assert still.instance_id == seat_id

        # 2. a rerun commits, then fails before the seat is released: the tenant runs on its instance
        steps = await _scale_failing_at(app, tenant_id, seat_id, seat_move.RELEASING)
        assert f"resuming the move into instance {target_id}" in steps
        current = await provisioning.status(app, tenant_id=tenant_id)
        assert current is not None and current.id == target_id and current.kind == "dedicated"
        assert current.tier == "pro" and current.base_url != seat_conn.base_url
        moved = await orchestrator.execute(app, principal=principal, template_id=template.id, timeout_s=60)
        assert moved.status == "success", moved.error
        assert moved.instance_id == target_id and moved.n8n_workflow_id == first.n8n_workflow_id
        assert moved.output["items"] == [{"authorized": True}]  # the vault's credential decrypts there
        seat = await _row(app, seat_id)
        assert seat.status == "moved" and seat.pool_id is not None  # not released yet

        # 3. a rerun finishes the release
        done = await lifecycle.scale(app, tenant_id=tenant_id, instance_id=seat_id, tier_name="pro")
        assert done.instance.id == target_id and done.healthy and done.quota.tier == "pro"
        seat = await _row(app, seat_id)
        assert seat.status == "moved" and seat.pool_id is None and seat.secrets is None
        with pytest.raises(NotFound, match="moved away from"):  # n8n's record of it left with the seat
            await logs.execution_logs(app, principal=principal, execution_id=first.id)
    finally:
        await provisioning.stop(app, tenant_id=tenant_id)

    # history stays readable: the runs made on the seat still name it
    history = await orchestrator.get_status(app, principal=principal, execution_id=first.id)
    assert history.status == "success" and history.instance_id == seat_id
    # the credential made in n8n directly came along, re-encrypted with the new instance's key
    target = await _row(app, target_id)
    [(data,)] = _rows(target.data_dir, "SELECT data FROM credentials_entity WHERE id = ?", direct_id)
    key = process.opened(app, target)["encryption_key"]
    assert json.loads(n8n_cipher.decrypt(data, key))["value"] == direct_secret
    # the shared process holds nothing of the tenant's any more; the neighbour's data is untouched
    shared = await _row(app, str((await _row(app, neighbour_conn.instance_id)).pool_id))
    assert _rows(shared.data_dir, "SELECT id FROM credentials_entity WHERE id = ?", direct_id) == []
    workflow_ids = [r[0] for r in _rows(shared.data_dir, "SELECT id FROM workflow_entity")]
    assert first.n8n_workflow_id not in workflow_ids and neighbour_wf["id"] in workflow_ids
    neighbour_cred_id = neighbour_cred.json()["id"]
    assert _rows(shared.data_dir, "SELECT id FROM credentials_entity WHERE id = ?", neighbour_cred_id)
    async with _api(seat_conn) as old_key, httpx.AsyncClient(timeout=30) as web:
        assert (await old_key.get("/workflows")).status_code == 401
        answered = await web.post(f"{neighbour_conn.base_url}/webhook/{neighbour_path}", json={})
        assert answered.status_code == 200


async def test_scaling_a_seat_to_free_or_a_dedicated_instance_to_free_is_refused_with_what_to_do(
    pooled: AppContext,
) -> None:
    principal = await _free_principal(pooled, "refused")
    conn = await provisioning.ensure_running(pooled, tenant_id=principal.tenant_id)
    with pytest.raises(Invalid, match="free tier already") as on_seat:
        await lifecycle.scale(
            pooled, tenant_id=principal.tenant_id, instance_id=conn.instance_id, tier_name="free"
        )
    assert on_seat.value.hint is not None and "pro" in on_seat.value.hint
    # a move of the workspace under way (its lease is fresh): a second one is refused, nothing is made
    async with pooled.unit_of_work() as session:
        (await session.get_one(N8nInstance, conn.instance_id)).move_started_at = utcnow()
    with pytest.raises(Conflict, match="already being moved"):
        await lifecycle.scale(
            pooled, tenant_id=principal.tenant_id, instance_id=conn.instance_id, tier_name="pro"
        )
    [only] = await lifecycle.list_instances(pooled, tenant_id=principal.tenant_id)
    assert only.instance.id == conn.instance_id and only.instance.tier == "free"

    pro = await _free_principal(pooled, "pro")
    instance = await provisioning.create_dedicated(pooled, pro.tenant_id, "pro")
    with pytest.raises(Invalid, match="cannot move back onto the shared") as back:
        await lifecycle.scale(pooled, tenant_id=pro.tenant_id, instance_id=instance.id, tier_name="free")
    assert back.value.hint is not None and "spreaders instances scale pro" in back.value.hint
    assert (await _row(pooled, instance.id)).tier == "pro"


def test_n8n_credential_data_reencrypted_for_another_key_opens_only_with_that_key() -> None:
    plain = json.dumps({"name": "X-Key", "value": "s3cret"}).encode()
    sealed = n8n_cipher.encrypt(plain, "source-key")
    moved = n8n_cipher.reencrypt(sealed, source_key="source-key", destination_key="destination-key")

    assert n8n_cipher.decrypt(moved, "destination-key") == plain
    assert b"s3cret" not in moved.encode()
    with pytest.raises(Invalid):
        n8n_cipher.decrypt(moved, "source-key")
    with pytest.raises(Invalid):
        n8n_cipher.decrypt("bm90IG44bg==", "destination-key")
