"""Tier quotas: usage measured from the platform's records, each limit refused with what, how much and
how to upgrade, before anything reaches n8n (the instances here are stopped records: no n8n needed)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from spreaders.accounts.models import Tenant
from spreaders.accounts.schemas import Principal
from spreaders.bootstrap import AppContext
from spreaders.db.base import new_id, utcnow
from spreaders.monitor.models import WorkflowExecution
from spreaders.orchestrator import service as orchestrator
from spreaders.orchestrator.models import Deployment
from spreaders.provisioning import quotas
from spreaders.provisioning.schemas import InstanceConnection
from spreaders.provisioning.tiers import TIERS

from ..monitor.helpers import (
    ECHO_JS,
    claim_values,
    code_workflow,
    import_template,
    seed_execution,
    seed_stopped_instance,
)


async def _set_tier(app: AppContext, principal: Principal, tier: str) -> None:
    async with app.unit_of_work() as session:
        (await session.get_one(Tenant, principal.tenant_id)).tier = tier


async def _add_runs(
    app: AppContext, deployment: Deployment, count: int, *, status: str, age: timedelta
) -> None:
    async with app.unit_of_work() as session:
        session.add_all(
            WorkflowExecution(
                id=new_id("exe"),
                tenant_id=deployment.tenant_id,
                template_id=deployment.template_id,
                deployment_id=deployment.id,
                instance_id=deployment.instance_id,
                n8n_workflow_id=deployment.n8n_workflow_id,
                status=status,
                created_at=utcnow() - age,
            )
            for _ in range(count)
        )


async def test_new_workflow_over_the_tier_quota_is_refused_before_n8n_is_called(
    app: AppContext, principal: Principal
) -> None:
    deployment = await seed_stopped_instance(app, principal)
    limit = TIERS["free"].quotas.workflows
    templates = [
        await import_template(app, principal, code_workflow(f"wf {index}", ECHO_JS))
        for index in range(limit - 1)
    ]
    async with app.unit_of_work() as session:
        session.add_all(
            Deployment(
                id=new_id("dep"),
                tenant_id=principal.tenant_id,
                instance_id=deployment.instance_id,
                template_id=template_id,
                n8n_workflow_id=str(index + 2),
                entry_path=f"seeded-{index}",
                active=True,
            )
            for index, template_id in enumerate(templates)
        )
    extra = await import_template(app, principal, code_workflow("one too many", ECHO_JS))
    # Nothing listens here: a refusal that reached n8n would fail differently.
    conn = InstanceConnection(instance_id=deployment.instance_id, base_url="http://127.0.0.1:9", api_key="x")

    with pytest.raises(quotas.QuotaExceeded) as refused:
        await orchestrator.deploy(app, tenant_id=principal.tenant_id, template_id=extra, conn=conn)

    assert refused.value.status_code == 429
    assert f"allows {limit} workflows; this workspace is at {limit}" in refused.value.message
    assert refused.value.hint is not None and "spreaders instances scale pro" in refused.value.hint
    # A workflow already deployed is not a new one: reusing it is not refused.
    again = await orchestrator.deploy(
        app, tenant_id=principal.tenant_id, template_id=deployment.template_id, conn=conn
    )
    assert again.id == deployment.id
    await _set_tier(app, principal, "pro")
    await quotas.check_deploy(app, tenant_id=principal.tenant_id)  # the bigger tier has room


async def test_runs_over_the_daily_quota_are_refused_and_yesterday_does_not_count(
    app: AppContext, principal: Principal
) -> None:
    deployment = await seed_stopped_instance(app, principal)
    limit = TIERS["free"].quotas.executions_per_day
    await _add_runs(app, deployment, 5, status="success", age=timedelta(days=1, hours=1))
    await _add_runs(app, deployment, limit - 1, status="success", age=timedelta(0))
    await quotas.check_run(app, tenant_id=principal.tenant_id)  # one left
    await seed_execution(app, deployment, status="success")

    with pytest.raises(quotas.QuotaExceeded) as refused:
        await orchestrator.execute(app, principal=principal, template_id=deployment.template_id)

    assert f"allows {limit} executions per day; this workspace is at {limit}" in refused.value.message
    assert refused.value.hint is not None and refused.value.hint.startswith("Wait until 00:00 UTC")
    assert "pro" in refused.value.hint
    report = await quotas.report(app, tenant_id=principal.tenant_id)
    assert report.usage.executions_today == limit and report.tier == "free"


async def test_concurrent_runs_over_the_quota_are_refused_until_one_finishes(
    app: AppContext, principal: Principal
) -> None:
    deployment = await seed_stopped_instance(app, principal)
    limit = TIERS["free"].quotas.concurrent_runs
    running = [await seed_execution(app, deployment, status="running") for _ in range(limit)]
    await seed_execution(app, deployment, status="waiting")  # sleeping in n8n: holds no slot

    with pytest.raises(quotas.QuotaExceeded, match=f"allows {limit} concurrent runs") as refused:
        await orchestrator.execute(app, principal=principal, template_id=deployment.template_id)
    assert refused.value.hint is not None and "running execution to finish" in refused.value.hint

    async with app.unit_of_work() as session:
        (await session.get_one(WorkflowExecution, running[0])).status = "success"
    await quotas.check_run(app, tenant_id=principal.tenant_id)
    assert (await quotas.report(app, tenant_id=principal.tenant_id)).usage.concurrent_runs == limit - 1


async def test_the_biggest_tier_hint_names_no_upgrade(app: AppContext, principal: Principal) -> None:
    deployment = await seed_stopped_instance(app, principal)
    await _set_tier(app, principal, "enterprise")
    limit = TIERS["enterprise"].quotas.concurrent_runs
    await _add_runs(app, deployment, limit, status="running", age=timedelta(0))

    with pytest.raises(quotas.QuotaExceeded) as refused:
        await quotas.check_run(app, tenant_id=principal.tenant_id)

    assert refused.value.hint == "Wait for a running execution to finish."


async def test_runs_racing_for_the_last_slots_are_admitted_up_to_the_quota(
    app: AppContext, principal: Principal
) -> None:
    deployment = await seed_stopped_instance(app, principal)
    limit = TIERS["free"].quotas.concurrent_runs

    async def claim() -> bool:
        async with app.unit_of_work() as session:
            return await quotas.admit_run(session, claim_values(deployment))

    admitted = await asyncio.gather(*(claim() for _ in range(4 * limit)))

    assert admitted.count(True) == limit
    assert (await quotas.report(app, tenant_id=principal.tenant_id)).usage.concurrent_runs == limit


async def test_runs_admitted_on_the_loop_thread_and_through_the_pool_share_the_quota(
    app: AppContext, principal: Principal
) -> None:
    """On SQLite the orchestrator admits on the loop's thread (`db.inline`) while other writers go
    through the pool; on PostgreSQL both are the pool. Either way the quota holds."""
    deployment = await seed_stopped_instance(app, principal)
    limit = TIERS["free"].quotas.concurrent_runs

    async def through_pool() -> bool:
        async with app.unit_of_work() as session:
            return await quotas.admit_run(session, claim_values(deployment))

    claims = [orchestrator._admit(app, claim_values(deployment)) for _ in range(2 * limit)]
    admitted = await asyncio.gather(*claims, *(through_pool() for _ in range(2 * limit)))

    assert admitted.count(True) == limit
    assert (await quotas.report(app, tenant_id=principal.tenant_id)).usage.concurrent_runs == limit
