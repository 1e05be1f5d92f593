"""/api/v1/instances through the real FastAPI app: tenant-scoped status with tier, resources and quota
usage, scaling, errors for another tenant's id and for operations that do not fit the instance's state.
(Deprovision and restore against a real n8n are in tests/provisioning/test_lifecycle.py.)"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import httpx
import pytest_asyncio

from spreaders.accounts import service as accounts
from spreaders.accounts.models import Tenant
from spreaders.accounts.schemas import Principal
from spreaders.api.app import create_app
from spreaders.bootstrap import AppContext
from spreaders.provisioning.tiers import TIERS
from spreaders.settings import Settings

from ..monitor.helpers import seed_execution, seed_stopped_instance


async def _auth(app: AppContext, principal: Principal) -> dict[str, str]:
    async with app.unit_of_work() as session:
        key = (await accounts.create_api_key(session, principal=principal, label="test")).key
    return {"Authorization": f"Bearer {key}"}


@pytest_asyncio.fixture(loop_scope="session")
async def client(app: AppContext, settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    api = create_app(settings)
    api.state.ctx = app
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=api), base_url="http://test") as http:
        yield http


async def _other_tenant(app: AppContext) -> Principal:
    async with app.unit_of_work() as session:
        tenant = await accounts.create_tenant(session, name="other")
        user = await accounts.create_user(session, tenant_id=tenant.id, email=f"{uuid.uuid4().hex}@x.test")
    return Principal(tenant_id=tenant.id, user_id=user.id)


async def test_instances_show_tier_resources_and_usage_and_scale_records_the_tier(
    app: AppContext, principal: Principal, client: httpx.AsyncClient
) -> None:
    auth = await _auth(app, principal)
    assert (await client.get("/api/v1/instances", headers=auth)).json() == []
    deployment = await seed_stopped_instance(app, principal)
    await seed_execution(app, deployment, status="running")

    [listed] = (await client.get("/api/v1/instances", headers=auth)).json()
    one = (await client.get(f"/api/v1/instances/{deployment.instance_id}", headers=auth)).json()

    assert listed == one
    assert one["instance"]["tier"] == "free" and one["healthy"] is False
    assert one["resources"]["memory_limit"] == TIERS["free"].resources.memory_limit
    assert one["quota"]["usage"] == {"workflows": 1, "executions_today": 1, "concurrent_runs": 1}
    assert one["quota"]["quotas"]["concurrent_runs"] == TIERS["free"].quotas.concurrent_runs

    scaled = await client.post(
        f"/api/v1/instances/{deployment.instance_id}/scale", json={"tier": "pro"}, headers=auth
    )
    assert scaled.status_code == 200, scaled.text
    body = scaled.json()
    assert body["instance"]["tier"] == "pro" and body["quota"]["tier"] == "pro"
    assert body["instance"]["heap_mb"] == TIERS["pro"].resources.node_heap_mb
    async with app.sessionmaker() as session:
        assert (await session.get_one(Tenant, principal.tenant_id)).tier == "pro"

    unknown = await client.post(
        f"/api/v1/instances/{deployment.instance_id}/scale", json={"tier": "platinum"}, headers=auth
    )
    assert unknown.status_code == 422
    not_gone = await client.post(f"/api/v1/instances/{deployment.instance_id}/restore", headers=auth)
    assert not_gone.status_code == 409 and "not deprovisioned" in not_gone.json()["message"]


async def test_another_tenants_instance_answers_404_on_every_route(
    app: AppContext, principal: Principal, client: httpx.AsyncClient
) -> None:
    deployment = await seed_stopped_instance(app, principal)
    intruder = await _auth(app, await _other_tenant(app))
    base = f"/api/v1/instances/{deployment.instance_id}"

    assert (await client.get(base, headers=intruder)).status_code == 404
    for action, body in (("scale", {"tier": "pro"}), ("deprovision", None), ("restore", None)):
        response = await client.post(f"{base}/{action}", json=body, headers=intruder)
        assert response.status_code == 404, (action, response.text)
    assert (await client.get("/api/v1/instances", headers=intruder)).json() == []


async def test_a_run_over_the_quota_answers_429_with_the_limit_and_how_to_upgrade(
    app: AppContext, principal: Principal, client: httpx.AsyncClient
) -> None:
    deployment = await seed_stopped_instance(app, principal)
    for _ in range(TIERS["free"].quotas.concurrent_runs):
        await seed_execution(app, deployment, status="running")

    response = await client.post(
        f"/api/v1/workflows/{deployment.template_id}/execute", json={}, headers=await _auth(app, principal)
    )

    assert response.status_code == 429
    assert response.json()["error"] == "quota_exceeded"
    assert "concurrent runs" in response.json()["message"]
    assert "spreaders instances scale pro" in response.json()["hint"]
