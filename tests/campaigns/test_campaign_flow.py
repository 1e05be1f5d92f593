"""A prompt becomes a campaign whose workflows run as a chain in the real n8n."""

from __future__ import annotations

from datetime import datetime

import pytest

from spreaders.accounts.schemas import Principal
from spreaders.bootstrap import AppContext
from spreaders.campaigns import service as campaigns
from spreaders.campaigns.models import Campaign
from spreaders.errors import Invalid, NotFound
from spreaders.monitor.schemas import ExecutionRead
from spreaders.planner.service import analyze_prompt
from spreaders.registry import service as registry

from ..orchestrator.helpers import code_workflow

PROMPT = (
    "Launch our spring sneaker drop on Instagram and TikTok next Monday with an email to our list, "
    "$2k budget, for 18-30 year olds in Berlin"
)
OK_JS = "return [{ json: { ok: true } }];"
FAIL_JS = "throw new Error('step two breaks');"
NOW = datetime.fromisoformat("2026-03-05T10:00:00+01:00")


@pytest.mark.e2e
async def test_prompt_to_campaign_runs_every_chosen_workflow_in_order(
    app: AppContext, e2e_principal: Principal
) -> None:
    async with app.unit_of_work() as session:
        created = await campaigns.create_from_prompt(
            session,
            principal=e2e_principal,
            prompt=PROMPT,
            now=NOW,
            tz="Europe/Berlin",
            self_contained_only=True,
        )
    assert created.plan.platforms == ["instagram", "tiktok", "email"]
    assert len(created.workflows) >= 2
    assert created.missing_credentials == []

    report = await campaigns.launch(app, principal=e2e_principal, campaign_id=created.id, timeout_s=60)

    assert report.status == "success"
    assert report.completed == report.total == len(created.workflows)
    assert [r.template_id for r in report.results] == [w.id for w in created.workflows]
    assert all(r.n8n_execution_id for r in report.results)
    async with app.sessionmaker() as session:
        stored = await campaigns.get_campaign(
            session, tenant_id=e2e_principal.tenant_id, campaign_id=created.id
        )
    assert stored.status == "completed"


async def test_each_chain_step_gets_the_plan_and_the_previous_output() -> None:
    plan = await analyze_prompt(PROMPT, now=NOW, tz="Europe/Berlin")
    previous = ExecutionRead(
        id="exe_1",
        template_id="wft_1",
        campaign_id=None,
        instance_id="n8n_1",
        n8n_workflow_id="w",
        n8n_execution_id="1",
        status="success",
        started_at=None,
        finished_at=None,
        output={"items": [{"a": 1}]},
    )

    first = campaigns.step_parameters(plan, None)
    second = campaigns.step_parameters(plan, previous)

    assert first["_previousOutput"] is None
    assert second["_previousOutput"] == {"items": [{"a": 1}]}
    assert second["start_date"] == "2026-03-09"
    assert second["platforms"] == ["instagram", "tiktok", "email"]
    assert second["audience"] == "18-30 year olds in Berlin; subscribers"


async def test_empty_prompt_creates_no_campaign(app: AppContext, principal: Principal) -> None:
    async with app.unit_of_work() as session:
        with pytest.raises(Invalid):
            await campaigns.create_from_prompt(session, principal=principal, prompt="   ")
    async with app.sessionmaker() as session:
        assert await campaigns.list_campaigns(session, tenant_id=principal.tenant_id) == []


async def test_another_tenants_campaign_is_not_found(app: AppContext, principal: Principal) -> None:
    async with app.unit_of_work() as session:
        created = await campaigns.create_from_prompt(session, principal=principal, prompt=PROMPT, now=NOW)
    async with app.unit_of_work() as session:
        with pytest.raises(NotFound):
            await campaigns.get_campaign(session, tenant_id="ten_other", campaign_id=created.id)


@pytest.mark.e2e
async def test_chain_stops_at_a_failing_step_and_a_relaunch_reruns_only_that_step(
    app: AppContext, e2e_principal: Principal
) -> None:
    async with app.unit_of_work() as session:
        good = await registry.import_workflow(
            session, tenant_id=e2e_principal.tenant_id, document=code_workflow("chain ok", OK_JS)
        )
        bad = await registry.import_workflow(
            session, tenant_id=e2e_principal.tenant_id, document=code_workflow("chain fails", FAIL_JS)
        )
        created = await campaigns.create_from_prompt(session, principal=e2e_principal, prompt=PROMPT, now=NOW)
        row = await session.get_one(Campaign, created.id)
        row.template_ids = [good.id, bad.id, good.id]

    first = await campaigns.launch(app, principal=e2e_principal, campaign_id=created.id, timeout_s=60)
    second = await campaigns.launch(app, principal=e2e_principal, campaign_id=created.id, timeout_s=60)

    assert (first.status, first.completed, first.total, first.failed_step) == ("partial", 1, 3, "chain fails")
    assert [r.status for r in first.results] == ["success", "error"]
    assert second.results[0].id == first.results[0].id  # the finished step did not run again
    assert second.results[1].id != first.results[1].id  # the failed one did
    async with app.sessionmaker() as session:
        stored = await campaigns.get_campaign(
            session, tenant_id=e2e_principal.tenant_id, campaign_id=created.id
        )
    assert stored.status == "failed"
