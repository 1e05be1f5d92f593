"""The free tier's shared pool on a real n8n 1.123.81 process: warm seats, one member user and key per
tenant, isolation between tenants, idle stop and wake-up.

The module starts one shared n8n process (the pool is sized so every test here fits on it) and
stops it at the end.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from sqlalchemy import select, update

from spreaders.accounts import service as accounts
from spreaders.accounts.schemas import Principal
from spreaders.bootstrap import AppContext
from spreaders.db.base import utcnow
from spreaders.errors import Unavailable
from spreaders.provisioning import pool, process
from spreaders.provisioning import service as provisioning
from spreaders.provisioning.models import N8nInstance
from spreaders.provisioning.schemas import InstanceConnection
from spreaders.settings import PoolSettings
from spreaders.vault.errors import SealedValueInvalid
from spreaders.vault.sealed import row_aad

pytestmark = pytest.mark.e2e


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def pooled(app: AppContext) -> AsyncIterator[AppContext]:
    """The suite's app with a small pool (8 tenants per process, 2 warm seats), warmed up."""
    saved = app.settings.pool
    app.settings.pool = PoolSettings(tenants_per_instance=8, warm_seats=2)
    await pool.replenish(app)
    yield app
    await pool.stop_all(app)
    app.settings.pool = saved


async def _free_tenant(app: AppContext, name: str) -> str:
    async with app.unit_of_work() as session:
        return (await accounts.create_tenant(session, name=name)).id


async def _neighbours(
    app: AppContext, first: str, second: str
) -> tuple[InstanceConnection, InstanceConnection]:
    """Two new free tenants seated on the same shared process (the first one again when it took the
    last seat of a full process and the second spilled into the next)."""
    a = await provisioning.ensure_running(app, tenant_id=await _free_tenant(app, first))
    b = await provisioning.ensure_running(app, tenant_id=await _free_tenant(app, second))
    if a.base_url != b.base_url:
        a = await provisioning.ensure_running(app, tenant_id=await _free_tenant(app, first))
    assert a.base_url == b.base_url
    return a, b


def _api(conn: InstanceConnection) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        base_url=f"{conn.base_url}/api/v1", headers={"X-N8N-API-KEY": conn.api_key}, timeout=30
    )


def _webhook_workflow(name: str, path: str, then: dict[str, Any]) -> dict[str, Any]:
    webhook = {
        "id": "w",
        "name": "Webhook",
        "type": "n8n-nodes-base.webhook",
        "typeVersion": 2,
        "position": [0, 0],
        "parameters": {"path": path, "httpMethod": "POST", "responseMode": "lastNode"},
        "webhookId": path,
    }
    return {
        "name": name,
        "nodes": [webhook, {"id": "n", "name": "Next", "position": [200, 0], **then}],
        "connections": {"Webhook": {"main": [[{"node": "Next", "type": "main", "index": 0}]]}},
        "settings": {"executionOrder": "v1"},
    }


SET_NODE = {"type": "n8n-nodes-base.set", "typeVersion": 3.4, "parameters": {}}


async def test_new_free_tenant_takes_a_warm_seat_without_making_one(pooled: AppContext) -> None:
    """The claim takes a seat made ahead of time on a running process: nothing is invited, keyed or
    started on the tenant's path (how long that takes is measured in benchmarks/provisioning_bench.py)."""
    warm = await _warm_seat_ids(pooled)
    tenant = await _free_tenant(pooled, "warm seat")

    conn = await provisioning.ensure_running(pooled, tenant_id=tenant)
    async with _api(conn) as api:
        listed = await api.get("/workflows")

    assert warm and conn.instance_id in warm
    assert await _warm_seat_ids(pooled) == warm - {conn.instance_id}  # no seat made on the way
    assert listed.status_code == 200 and listed.json()["data"] == []
    status = await provisioning.status(pooled, tenant_id=tenant)
    assert status is not None and status.kind == "seat" and status.running
    assert status.id == conn.instance_id
    assert conn.api_key not in status.model_dump_json()


async def _warm_seat_ids(app: AppContext) -> set[str]:
    async with app.sessionmaker() as session:
        query = select(N8nInstance.id).where(N8nInstance.kind == "seat", N8nInstance.tenant_id.is_(None))
        return set((await session.scalars(query)).all())


async def test_free_tenants_share_a_process_with_their_own_ids_and_keys(
    pooled: AppContext, e2e_principal: Principal
) -> None:
    a, b = await _neighbours(pooled, "share a", "share b")
    pro = await provisioning.ensure_running(pooled, tenant_id=e2e_principal.tenant_id)
    pro_status = await provisioning.status(pooled, tenant_id=e2e_principal.tenant_id)

    assert a.instance_id != b.instance_id and a.api_key != b.api_key
    assert pro.base_url != a.base_url  # a pro tenant keeps its own process
    assert pro_status is not None and pro_status.kind == "dedicated"
    await pool.replenish(pooled)
    assert await pool.spare_seats(pooled) == pooled.settings.pool.warm_seats


async def test_tenants_signing_up_at_once_each_get_their_own_seat(pooled: AppContext) -> None:
    """More sign-ups at once than warm seats: the claims race, each tenant ends with one seat."""
    tenants = [await _free_tenant(pooled, f"rush {i}") for i in range(4)]

    conns = await asyncio.gather(*(provisioning.ensure_running(pooled, tenant_id=t) for t in tenants))

    assert len({c.instance_id for c in conns}) == len({c.api_key for c in conns}) == 4
    for tenant, conn in zip(tenants, conns, strict=True):
        status = await provisioning.status(pooled, tenant_id=tenant)
        assert status is not None and status.id == conn.instance_id
        async with _api(conn) as api:
            assert (await api.get("/workflows")).status_code == 200


async def test_seat_secrets_are_resealed_to_the_claiming_tenant(pooled: AppContext) -> None:
    tenant = await _free_tenant(pooled, "sealed")
    conn = await provisioning.ensure_running(pooled, tenant_id=tenant)
    async with pooled.sessionmaker() as session:
        row = await session.get_one(N8nInstance, conn.instance_id)

    assert row.tenant_id == tenant and row.secrets is not None
    assert conn.api_key.encode() not in row.secrets
    with pytest.raises(SealedValueInvalid):  # no longer opens as the platform's (or another tenant's)
        pooled.cipher.open(row.secrets, aad=row_aad(None, "n8n_instances", row.id))
    assert process.opened(pooled, row)["api_key"] == conn.api_key


async def test_one_tenant_cannot_see_change_or_run_anothers_workflows_executions_or_credentials(
    pooled: AppContext,
) -> None:
    a, b = await _neighbours(pooled, "victim", "intruder")
    async with pooled.sessionmaker() as session:
        tenants = [(await session.get_one(N8nInstance, c.instance_id)).tenant_id for c in (a, b)]
    path = f"spreaders-{uuid.uuid4().hex}"
    async with _api(a) as api_a, _api(b) as api_b, httpx.AsyncClient(timeout=30) as web:
        workflow = _webhook_workflow("victim's", path, SET_NODE)
        wid = (await api_a.post("/workflows", json=workflow)).json()["id"]
        assert (await api_a.post(f"/workflows/{wid}/activate")).status_code == 200
        assert (await web.post(f"{a.base_url}/webhook/{path}", json={})).status_code == 200
        executions = (await api_a.get("/executions", params={"workflowId": wid})).json()["data"]
        eid = executions[0]["id"]
        secret = {"name": "X-Secret", "value": f"secret-{uuid.uuid4().hex}"}
        created = await api_a.post(
            "/credentials", json={"name": "c", "type": "httpHeaderAuth", "data": secret}
        )
        cid = created.json()["id"]

        # workflows: not listed, not readable, not changeable, not (de)activatable, not movable
        assert (await api_b.get("/workflows")).json()["data"] == []
        assert (await api_b.get(f"/workflows/{wid}")).status_code == 403
        assert (await api_b.put(f"/workflows/{wid}", json=workflow)).status_code == 403
        assert (await api_b.post(f"/workflows/{wid}/deactivate")).status_code == 403
        assert (await api_b.post(f"/workflows/{wid}/activate")).status_code == 403
        assert (await api_b.delete(f"/workflows/{wid}")).status_code == 403
        transfer = {"destinationProjectId": "anything"}
        assert (await api_b.put(f"/workflows/{wid}/transfer", json=transfer)).status_code == 403
        # executions: not listed (even asked by workflow), not readable, not retried, not deleted
        assert (await api_b.get("/executions")).json()["data"] == []
        assert (await api_b.get("/executions", params={"workflowId": wid})).json()["data"] == []
        assert (await api_b.get(f"/executions/{eid}")).status_code == 404
        assert (await api_b.post(f"/executions/{eid}/retry")).status_code == 404
        assert (await api_b.delete(f"/executions/{eid}")).status_code == 404
        # credentials: no listing in the public API at all; not deletable, not movable
        assert (await api_b.delete(f"/credentials/{cid}")).status_code == 403
        assert (await api_b.put(f"/credentials/{cid}/transfer", json=transfer)).status_code == 403
        # n8n CE ignores API-key scopes (a licensed feature): a member's key may list the instance's
        # users, but seats are random addresses, so that names no tenant; projects and variables stay shut
        users = (await api_b.get("/users")).json()["data"]
        assert users and all(u["email"].endswith("@pool.spreaders.local") for u in users)
        assert not any(tenant in str(users) for tenant in tenants)
        for listing in ("/variables", "/projects"):
            assert (await api_b.get(listing)).status_code == 403, listing
        # the victim's webhook path cannot be taken over
        theirs = (await api_b.post("/workflows", json=_webhook_workflow("copy", path, SET_NODE))).json()["id"]
        taken = await api_b.post(f"/workflows/{theirs}/activate")
        assert taken.status_code == 400 and "already taken" in taken.text
        # everything of the victim is intact
        assert (await api_a.get(f"/workflows/{wid}")).json()["active"] is True
        assert (await api_a.get(f"/executions/{eid}")).status_code == 200


async def test_a_tenant_cannot_run_its_workflow_with_anothers_credential(pooled: AppContext) -> None:
    """B learns A's credential id (it never could through the API) and wires it into its own
    workflow: n8n refuses to hand the credential to B's execution, so the secret never leaves."""
    a, b = await _neighbours(pooled, "owner of secret", "borrower")
    path = f"spreaders-{uuid.uuid4().hex}"
    async with _api(a) as api_a, _api(b) as api_b, httpx.AsyncClient(timeout=30) as web:
        secret = {"name": "X-Secret", "value": f"secret-{uuid.uuid4().hex}"}
        cid = (
            await api_a.post("/credentials", json={"name": "c", "type": "httpHeaderAuth", "data": secret})
        ).json()["id"]
        http_node = {
            "type": "n8n-nodes-base.httpRequest",
            "typeVersion": 4.2,
            "parameters": {
                # n8n's own REST answers 200 to any header; the run's data would show the header sent
                "url": f"{b.base_url}/rest/settings",
                "authentication": "genericCredentialType",
                "genericAuthType": "httpHeaderAuth",
            },
            "credentials": {"httpHeaderAuth": {"id": cid, "name": "c"}},
        }
        wid = (await api_b.post("/workflows", json=_webhook_workflow("borrow", path, http_node))).json()["id"]
        await api_b.post(f"/workflows/{wid}/activate")
        await web.post(f"{b.base_url}/webhook/{path}", json={})
        runs = (await api_b.get("/executions", params={"workflowId": wid, "includeData": "true"})).json()[
            "data"
        ]

    assert len(runs) == 1
    assert runs[0]["status"] == "error"
    assert secret["value"] not in str(runs[0])
    assert "access to the credential" in str(runs[0]["data"]["resultData"]["error"])


async def test_shared_process_does_not_load_host_access_nodes(pooled: AppContext, tmp_path: Any) -> None:
    conn = await provisioning.ensure_running(pooled, tenant_id=await _free_tenant(pooled, "shell"))
    marker = tmp_path / "ran"
    command = {
        "type": "n8n-nodes-base.executeCommand",
        "typeVersion": 1,
        "parameters": {"command": f"touch {marker}"},
    }
    path = f"spreaders-{uuid.uuid4().hex}"
    async with _api(conn) as api, httpx.AsyncClient(timeout=30) as web:
        wid = (await api.post("/workflows", json=_webhook_workflow("shell", path, command))).json()["id"]
        activated = await api.post(f"/workflows/{wid}/activate")
        await web.post(f"{conn.base_url}/webhook/{path}", json={})

    assert activated.status_code == 400
    assert not marker.exists()


def _environment(pid: int) -> list[bytes]:
    return Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")


async def test_shared_process_evaluates_tenants_expressions_in_isolated_vm(pooled: AppContext) -> None:
    """Tenants' expressions run in one process: the pool's n8n uses the isolated-vm engine, whatever
    the dedicated instances use, and expressions still work there."""
    conn = await provisioning.ensure_running(pooled, tenant_id=await _free_tenant(pooled, "expressions"))
    async with pooled.sessionmaker() as session:
        seat = await session.get_one(N8nInstance, conn.instance_id)
        shared = await session.get_one(N8nInstance, seat.pool_id)
    assert shared.pid is not None
    environment = _environment(shared.pid)
    set_answer = {
        "type": "n8n-nodes-base.set",
        "typeVersion": 3.4,
        "parameters": {"mode": "raw", "jsonOutput": "={{ { answer: 6 * 7, engine: typeof $json } }}"},
    }
    path = f"spreaders-{uuid.uuid4().hex}"
    async with _api(conn) as api, httpx.AsyncClient(timeout=30) as web:
        wid = (await api.post("/workflows", json=_webhook_workflow("expr", path, set_answer))).json()["id"]
        assert (await api.post(f"/workflows/{wid}/activate")).status_code == 200
        answered = await web.post(f"{conn.base_url}/webhook/{path}", json={})

    assert b"N8N_EXPRESSION_ENGINE=vm" in environment
    assert pooled.settings.n8n.expression_engine == "legacy"  # dedicated instances keep the fast one
    assert answered.status_code == 200 and answered.json() == {"answer": 42, "engine": "object"}


async def test_a_full_shared_process_spills_into_a_new_one(pooled: AppContext) -> None:
    async with pooled.sessionmaker() as session:
        used = sum(
            [
                await pool.seats_used(session, row.id)
                for row in await pool.shared_instances(pooled, backend="local")
            ]
        )
    capacity = pooled.settings.pool.tenants_per_instance

    await pool.add_seats(pooled, capacity - used % capacity + 1)  # one more than the room left

    shared = await pool.shared_instances(pooled, backend="local")
    async with pooled.sessionmaker() as session:
        seats = [await pool.seats_used(session, row.id) for row in shared]
    assert len(shared) >= 2 and all(n <= capacity for n in seats)
    assert sum(seats) == used + capacity - used % capacity + 1
    assert all([await _running_and_bootstrapped(pooled, row.id) for row in shared])


async def test_refills_racing_for_the_same_room_never_overfill_a_process(pooled: AppContext) -> None:
    """Two makers (say the monitor's refill and a claim with no warm seat) both see the same room:
    the reservation makes the second count the first's seats, so no process passes its capacity."""
    async with pooled.sessionmaker() as session:
        used = sum(
            [
                await pool.seats_used(session, row.id)
                for row in await pool.shared_instances(pooled, backend="local")
            ]
        )
    capacity = pooled.settings.pool.tenants_per_instance
    room = capacity - used % capacity

    made = await asyncio.gather(pool.add_seats(pooled, room), pool.add_seats(pooled, room))

    assert made == [room, room]
    async with pooled.sessionmaker() as session:
        seats = [
            await pool.seats_used(session, row.id)
            for row in await pool.shared_instances(pooled, backend="local")
        ]
    assert all(n <= capacity for n in seats), seats
    assert sum(seats) == used + 2 * room


@pytest.mark.parametrize("state", ["new", "stopped"])
async def test_concurrent_starts_of_a_shared_process_start_and_bootstrap_it_once(
    pooled: AppContext, state: str
) -> None:
    """Claims racing for seats on a new or stopped process each start it: one n8n is started and
    bootstrapped, not one each (two on one folder and port made one die while starting; two
    bootstraps minted keys in the same second, which n8n refused as duplicates)."""
    if state == "new":
        shared = await pool._create_shared(pooled)
    else:
        shared = (await pool.shared_instances(pooled, backend="local"))[0]
        await process.stop_process(pooled, shared.id)
    views = [await _row(pooled, shared.id) for _ in range(3)]  # each caller with its own stale row

    keys = await asyncio.gather(*(pool.ensure_shared_running(pooled, row) for row in views))

    assert len({row.pid for row in views}) == 1
    stored = await _row(pooled, shared.id)
    assert stored.status == "running" and stored.bootstrapped_at is not None
    if state == "new":
        assert len(set(keys)) == 1  # bootstrapped once: every caller got the key that was sealed
    async with httpx.AsyncClient(base_url=views[0].base_url, timeout=30) as http:
        for key in keys:
            answered = await http.get("/api/v1/workflows", headers={"X-N8N-API-KEY": key})
            assert answered.status_code == 200


async def _row(app: AppContext, instance_id: str) -> N8nInstance:
    async with app.sessionmaker() as session:
        return await session.get_one(N8nInstance, instance_id)


async def _running_and_bootstrapped(app: AppContext, instance_id: str) -> bool:
    row = await _row(app, instance_id)
    return row.status == "running" and row.bootstrapped_at is not None


async def test_idle_shared_process_is_stopped_and_woken_by_its_tenant(pooled: AppContext) -> None:
    tenant = await _free_tenant(pooled, "sleeper")
    before = await provisioning.ensure_running(pooled, tenant_id=tenant)
    shared = await pool.shared_instances(pooled, backend="local")
    async with pooled.unit_of_work() as session:  # as if it had been started an hour ago
        await session.execute(
            update(N8nInstance)
            .where(N8nInstance.id.in_([row.id for row in shared]))
            .values(created_at=utcnow() - timedelta(hours=1))
        )
    pooled.settings.pool = PoolSettings(tenants_per_instance=8, warm_seats=2, idle_stop_minutes=30)
    try:
        stopped = await pool.stop_idle(pooled)
    finally:
        pooled.settings.pool = PoolSettings(tenants_per_instance=8, warm_seats=2)

    assert sorted(stopped) == sorted(row.id for row in shared)
    with pytest.raises(Unavailable, match="not running"):
        await provisioning.connect(pooled, tenant_id=tenant)
    after = await provisioning.ensure_running(pooled, tenant_id=tenant)
    assert after.api_key == before.api_key and after.instance_id == before.instance_id
    async with _api(after) as api:
        assert (await api.get("/workflows")).status_code == 200  # same n8n database: the key still works
