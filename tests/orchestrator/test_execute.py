"""End to end against the real n8n the suite starts: deploy, start on demand, poll, record."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable

import pytest
from sqlalchemy import func, select

from spreaders.accounts.schemas import Principal
from spreaders.bootstrap import AppContext
from spreaders.errors import Conflict, NotFound
from spreaders.monitor.models import WorkflowExecution
from spreaders.monitor.schemas import ExecutionRead
from spreaders.orchestrator import service as orchestrator
from spreaders.registry import service as registry

from .helpers import code_workflow

pytestmark = pytest.mark.e2e

ECHO_JS = "return [{ json: { received: $json.body, doubled: ($json.body.n || 0) * 2 } }];"
FAIL_JS = "throw new Error('the copywriter is on strike');"


async def _import(app: AppContext, principal: Principal, js: str) -> str:
    async with app.unit_of_work() as session:
        row = await registry.import_workflow(
            session,
            tenant_id=principal.tenant_id,
            document=code_workflow(f"e2e {uuid.uuid4().hex[:8]}", js),
        )
        return row.id


async def test_template_runs_in_n8n_and_parameters_reach_its_first_node(
    app: AppContext, e2e_principal: Principal
) -> None:
    template_id = await _import(app, e2e_principal, ECHO_JS)

    result = await orchestrator.execute(
        app, principal=e2e_principal, template_id=template_id, parameters={"n": 21}, timeout_s=60
    )

    assert result.status == "success"
    assert result.n8n_execution_id
    assert result.n8n_workflow_id
    assert result.output["node"] == "Work"
    assert result.output["items"] == [{"received": {"n": 21}, "doubled": 42}]
    assert result.duration_ms is not None and result.duration_ms >= 0


async def test_failing_workflow_reports_the_node_and_its_message(
    app: AppContext, e2e_principal: Principal
) -> None:
    template_id = await _import(app, e2e_principal, FAIL_JS)

    result = await orchestrator.execute(app, principal=e2e_principal, template_id=template_id, timeout_s=60)

    assert result.status == "error"
    assert result.error_node == "Work"
    assert "on strike" in result.error


async def test_same_idempotency_key_returns_the_same_execution(
    app: AppContext, e2e_principal: Principal
) -> None:
    template_id = await _import(app, e2e_principal, ECHO_JS)
    key = uuid.uuid4().hex

    first = await orchestrator.execute(
        app, principal=e2e_principal, template_id=template_id, parameters={"n": 1}, idempotency_key=key
    )
    again = await orchestrator.execute(
        app, principal=e2e_principal, template_id=template_id, parameters={"n": 1}, idempotency_key=key
    )

    assert again.id == first.id
    assert again.n8n_execution_id == first.n8n_execution_id


async def test_concurrent_calls_with_one_idempotency_key_start_one_run(
    app: AppContext, e2e_principal: Principal
) -> None:
    template_id = await _import(app, e2e_principal, ECHO_JS)
    await orchestrator.execute(app, principal=e2e_principal, template_id=template_id)  # deployed
    key = uuid.uuid4().hex

    def call() -> Awaitable[ExecutionRead]:
        return orchestrator.execute(
            app, principal=e2e_principal, template_id=template_id, parameters={"n": 3}, idempotency_key=key
        )

    results = await asyncio.gather(call(), call(), call())

    assert {result.id for result in results} == {results[0].id}
    assert {result.n8n_execution_id for result in results} == {results[0].n8n_execution_id}
    assert all(result.status == "success" for result in results)
    async with app.sessionmaker() as session:
        same_key = WorkflowExecution.idempotency_key == key
        runs = await session.scalar(
            select(func.count()).where(WorkflowExecution.tenant_id == e2e_principal.tenant_id, same_key)
        )
    assert runs == 1


async def test_same_idempotency_key_with_other_parameters_is_refused(
    app: AppContext, e2e_principal: Principal
) -> None:
    template_id = await _import(app, e2e_principal, ECHO_JS)
    key = uuid.uuid4().hex
    await orchestrator.execute(
        app, principal=e2e_principal, template_id=template_id, parameters={"n": 1}, idempotency_key=key
    )

    with pytest.raises(Conflict, match="already used"):
        await orchestrator.execute(
            app, principal=e2e_principal, template_id=template_id, parameters={"n": 2}, idempotency_key=key
        )


async def test_second_run_reuses_the_deployment(app: AppContext, e2e_principal: Principal) -> None:
    template_id = await _import(app, e2e_principal, ECHO_JS)

    first = await orchestrator.execute(app, principal=e2e_principal, template_id=template_id)
    second = await orchestrator.execute(app, principal=e2e_principal, template_id=template_id)

    assert second.n8n_workflow_id == first.n8n_workflow_id
    assert second.n8n_execution_id != first.n8n_execution_id


async def test_unknown_template_is_not_found(app: AppContext, e2e_principal: Principal) -> None:
    with pytest.raises(NotFound, match="wft_missing"):
        await orchestrator.execute(app, principal=e2e_principal, template_id="wft_missing")


async def test_another_tenants_template_and_execution_are_not_found(
    app: AppContext, e2e_principal: Principal, principal: Principal
) -> None:
    template_id = await _import(app, e2e_principal, ECHO_JS)
    result = await orchestrator.execute(app, principal=e2e_principal, template_id=template_id)

    with pytest.raises(NotFound):
        await orchestrator.execute(app, principal=principal, template_id=template_id)
    with pytest.raises(NotFound):
        await orchestrator.get_status(app, principal=principal, execution_id=result.id)


async def test_started_without_waiting_then_polled_to_completion(
    app: AppContext, e2e_principal: Principal
) -> None:
    template_id = await _import(app, e2e_principal, ECHO_JS)

    started = await orchestrator.execute(
        app, principal=e2e_principal, template_id=template_id, parameters={"n": 5}, wait=False
    )
    assert started.n8n_execution_id
    assert started.status in {"new", "running", "success"}

    finished = await orchestrator.wait_for(
        app, principal=e2e_principal, execution_id=started.id, timeout_s=60
    )
    assert finished.status == "success"
    assert finished.output["items"][0]["doubled"] == 10


async def test_workflow_deleted_in_n8n_is_deployed_again(app: AppContext, e2e_principal: Principal) -> None:
    template_id = await _import(app, e2e_principal, ECHO_JS)
    first = await orchestrator.execute(app, principal=e2e_principal, template_id=template_id)
    conn = await orchestrator.provisioning.connect(app, tenant_id=e2e_principal.tenant_id)
    await orchestrator.client_for(app, conn).delete_workflow(first.n8n_workflow_id)

    again = await orchestrator.execute(app, principal=e2e_principal, template_id=template_id)

    assert again.status == "success"
    assert again.n8n_workflow_id != first.n8n_workflow_id


async def test_runs_are_counted_in_the_templates_usage_and_success(
    app: AppContext, e2e_principal: Principal
) -> None:
    good = await _import(app, e2e_principal, ECHO_JS)
    bad = await _import(app, e2e_principal, FAIL_JS)

    await orchestrator.execute(app, principal=e2e_principal, template_id=good)
    await orchestrator.execute(app, principal=e2e_principal, template_id=good)
    await orchestrator.execute(app, principal=e2e_principal, template_id=bad)

    async with app.sessionmaker() as session:
        good_row = await registry.get_template(session, tenant_id=e2e_principal.tenant_id, template_id=good)
        bad_row = await registry.get_template(session, tenant_id=e2e_principal.tenant_id, template_id=bad)
    assert (good_row.usage_count, good_row.success_count) == (2, 2)
    assert (bad_row.usage_count, bad_row.success_count) == (1, 0)


async def test_webhook_template_gets_the_parameters_as_its_webhook_body(
    app: AppContext, e2e_principal: Principal
) -> None:
    document = code_workflow("webhook echo", "return [{ json: { hello: $json.body.name } }];")
    document["nodes"][0] = {
        "id": "hook",
        "name": "When called",
        "type": "n8n-nodes-base.webhook",
        "typeVersion": 2,
        "position": [0, 0],
        "parameters": {"httpMethod": "POST", "path": f"lead-{uuid.uuid4().hex[:8]}", "options": {}},
    }
    document["connections"] = {"When called": {"main": [[{"node": "Work", "type": "main", "index": 0}]]}}
    async with app.unit_of_work() as session:
        template = await registry.import_workflow(
            session, tenant_id=e2e_principal.tenant_id, document=document
        )

    result = await orchestrator.execute(
        app, principal=e2e_principal, template_id=template.id, parameters={"name": "Ada"}
    )

    assert result.status == "success", result.error
    assert result.output["items"] == [{"hello": "Ada"}]
