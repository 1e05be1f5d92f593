"""Prometheus metrics: counted on commit only, exposed at /metrics, fed by the lifespan's monitor."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest
import pytest_asyncio
from prometheus_client.parser import text_string_to_metric_families

from spreaders.accounts import service as accounts
from spreaders.accounts.schemas import Principal
from spreaders.api.app import create_app
from spreaders.bootstrap import AppContext
from spreaders.db.base import utcnow
from spreaders.monitor import jobs
from spreaders.monitor import service as monitor
from spreaders.monitor.metrics import MonitorMetrics
from spreaders.settings import MonitorSettings, Settings

from .helpers import (
    ECHO_JS,
    code_workflow,
    import_template,
    instrumented,
    seed_execution,
    seed_stopped_instance,
    stored,
    wait_until,
)


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


@pytest_asyncio.fixture(loop_scope="session")
async def metered(app: AppContext) -> AsyncIterator[MonitorMetrics]:
    metrics, uninstrument = instrumented(app)
    yield metrics
    uninstrument()


async def test_crash_is_counted_when_its_transaction_commits_and_not_when_it_rolls_back(
    app: AppContext, principal: Principal, metered: MonitorMetrics
) -> None:
    deployment = await seed_stopped_instance(app, principal)
    kept = await seed_execution(app, deployment)
    undone = await seed_execution(app, deployment)
    async with app.sessionmaker() as session:
        snapshots = {e.id: e for e in await monitor.active_executions(session)}

    class Undo(Exception):
        pass

    with pytest.raises(Undo):
        async with app.unit_of_work() as session:
            assert await monitor.mark_crashed(session, execution=snapshots[undone], reason="rolled back")
            raise Undo
    async with app.unit_of_work() as session:
        assert await monitor.mark_crashed(session, execution=snapshots[kept], reason="kept")

    assert metered.registry.get_sample_value("spreaders_executions_started_total") == 2
    assert (
        metered.registry.get_sample_value("spreaders_executions_finished_total", {"status": "crashed"}) == 1
    )
    assert (await stored(app, undone)).status == "running"


@pytest.mark.e2e
async def test_metrics_endpoint_shows_a_run_its_n8n_requests_and_instances_up(
    app: AppContext, settings: Settings, e2e_principal: Principal
) -> None:
    api = create_app(settings, monitor=MonitorSettings(enabled=False))
    api.state.ctx = app
    metrics: MonitorMetrics = api.state.metrics
    uninstrument = metrics.instrument(app.engine, app.http, app.streams, app.inline)
    try:
        template_id = await import_template(app, e2e_principal, code_workflow("metered", ECHO_JS))
        async with app.unit_of_work() as session:
            key = (await accounts.create_api_key(session, principal=e2e_principal, label="metrics")).key
        transport = httpx.ASGITransport(app=api)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            run = await http.post(
                f"/api/v1/workflows/{template_id}/execute",
                json={"parameters": {"n": 3}},
                headers={"Authorization": f"Bearer {key}"},
                timeout=120,
            )
            assert run.status_code == 200, run.text
            # The run itself is one webhook request; its per-node logs are read from n8n's API.
            logs = await http.get(
                f"/api/v1/executions/{run.json()['id']}/logs", headers={"Authorization": f"Bearer {key}"}
            )
            assert logs.status_code == 200, logs.text
            await jobs.monitor_pass(
                app, config=MonitorSettings(restart_dead_instances=False), metrics=metrics
            )
            exposed = await http.get("/metrics")
    finally:
        uninstrument()

    assert exposed.status_code == 200
    assert exposed.headers["content-type"].startswith("text/plain")
    samples = _samples(exposed.text)
    assert samples[("spreaders_executions_started_total", ())] >= 1
    assert samples[("spreaders_executions_finished_total", (("status", "success"),))] >= 1
    assert samples[("spreaders_execution_duration_seconds_count", (("status", "success"),))] >= 1
    webhook = (("endpoint", "webhook"), ("method", "POST"))
    assert samples[("spreaders_n8n_request_duration_seconds_count", webhook)] >= 1
    executions = (("endpoint", "api/executions"), ("method", "GET"))
    assert samples[("spreaders_n8n_request_duration_seconds_count", executions)] >= 1
    assert samples[("spreaders_n8n_instances_up", ())] >= 1
    assert ("spreaders_n8n_request_errors_total", ()) not in samples  # labelled only, none yet


async def test_serve_lifespan_runs_the_monitor_and_exposes_its_passes(
    settings: Settings, app: AppContext, principal: Principal
) -> None:
    deployment = await seed_stopped_instance(app, principal)
    config = MonitorSettings(interval_s=0.1, start_grace_s=30, restart_dead_instances=False)
    stale = await seed_execution(
        app,
        deployment,
        status="new",
        n8n_execution_id=None,
        created_at=utcnow() - timedelta(seconds=config.start_grace_s + 5),
    )
    api = create_app(settings, monitor=config)
    transport = httpx.ASGITransport(app=api)
    async with (
        api.router.lifespan_context(api),
        httpx.AsyncClient(transport=transport, base_url="http://test") as http,
    ):

        async def crashed() -> bool:
            return (await stored(app, stale)).status == "crashed"

        await wait_until(crashed, what="the in-process monitor to crash the stale run")

        async def passes_shown() -> bool:
            samples = _samples((await http.get("/metrics")).text)
            return samples.get(("spreaders_monitor_passes_total", (("result", "ok"),)), 0) >= 1

        await wait_until(passes_shown, what="/metrics to show a monitor pass")
        exposed = _samples((await http.get("/metrics")).text)
    assert exposed[("spreaders_executions_finished_total", (("status", "crashed"),))] >= 1
    assert exposed[("spreaders_monitor_last_pass_timestamp_seconds", ())] > 0
