"""Benchmarks: planner, registry import and search, and run latency against a real n8n.

Run with `make bench`. Prints one line per measure and, last, one JSON object with every median.
Baselines: a run through Spreaders (admit and record, run on one request to the workflow's wait
entry, record the outcome) is compared with calling the same deployed workflow's wait entry
directly, so the ratio is the platform's own overhead (benchmarks/execution_bench.py compares with
a plain webhook instead). The tenant is on the free tier: its runs go to a seat on a shared n8n
process, which evaluates expressions in the isolated `vm` engine (docs/provisioning.md), so a run
takes several times longer there than on a dedicated instance.
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from sqlalchemy import select

from spreaders.accounts import service as accounts
from spreaders.accounts.schemas import Principal
from spreaders.bootstrap import AppContext, open_app
from spreaders.orchestrator import service as orchestrator
from spreaders.orchestrator.models import Deployment
from spreaders.planner.service import analyze_prompt
from spreaders.provisioning import pool
from spreaders.provisioning import service as provisioning
from spreaders.registry import service as registry
from spreaders.registry.schemas import TemplateSearch
from spreaders.registry.search import search_templates
from spreaders.settings import Settings

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "n8n-workflows"
PROMPTS = [
    "Launch our spring sneaker drop on Instagram and TikTok next Monday with an email to our list, "
    "$2k budget, for 18-30 year olds in Berlin",
    "Black Friday sale on Facebook and Google Ads, 5k USD, for existing customers",
    "help me market my bakery",
    "Webinar on May 20 for CTOs, LinkedIn and email, 1,500 dollars",
    "Newsletter to our subscribers every Friday for two weeks",
]
QUERIES = ["instagram", "email newsletter", "telegram bot", "google sheets report", "slack alert"]


async def _median_ms(fn: Callable[[], Awaitable[Any]], repeat: int) -> float:
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        await fn()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


async def bench_planner() -> float:
    async def all_prompts() -> None:
        for prompt in PROMPTS:
            await analyze_prompt(prompt, tz="UTC")

    return await _median_ms(all_prompts, 50) / len(PROMPTS)


async def bench_registry(ctx: AppContext, tenant_id: str) -> dict[str, float]:
    started = time.perf_counter()
    async with ctx.unit_of_work() as session:
        report = await registry.import_paths(session, tenant_id=tenant_id, paths=[CORPUS])
    import_s = time.perf_counter() - started

    async def searches() -> None:
        async with ctx.sessionmaker() as session:
            for query in QUERIES:
                await search_templates(
                    session, tenant_id=tenant_id, query=TemplateSearch(query=query, limit=10)
                )

    search_ms = await _median_ms(searches, 20) / len(QUERIES)
    return {
        "corpus_import_s": round(import_s, 2),
        "imported": report.imported,
        "search_ms": round(search_ms, 2),
    }


async def bench_runs(ctx: AppContext, principal: Principal, repeat: int) -> dict[str, float]:
    async with ctx.unit_of_work() as session:
        await registry.load_starter(session, tenant_id=principal.tenant_id)
        page = await search_templates(
            session,
            tenant_id=principal.tenant_id,
            query=TemplateSearch(query="email campaign draft", limit=1),
        )
    template_id = page.items[0].id
    conn = await provisioning.ensure_running(ctx, tenant_id=principal.tenant_id)
    await orchestrator.execute(ctx, principal=principal, template_id=template_id)  # deploys once

    async def via_spreaders() -> None:
        result = await orchestrator.execute(ctx, principal=principal, template_id=template_id)
        assert result.status == "success"

    async with ctx.sessionmaker() as session:
        query = select(Deployment).where(
            Deployment.tenant_id == principal.tenant_id, Deployment.template_id == template_id
        )
        deployment = (await session.execute(query)).scalar_one()
    client = orchestrator.client_for(ctx, conn)

    assert deployment.wait_path is not None

    async def direct() -> None:  # the same entry, called without Spreaders' bookkeeping
        answer = await client.call_webhook(deployment.wait_path, {}, headers={})
        assert answer.status == 200

    # Interleaved, so drift on a shared machine hits both sides alike.
    spreaders_samples, direct_samples = [], []
    for _ in range(repeat):
        spreaders_samples.append(await _median_ms(via_spreaders, 1))
        direct_samples.append(await _median_ms(direct, 1))
    spreaders_ms, direct_ms = statistics.median(spreaders_samples), statistics.median(direct_samples)
    return {
        "run_ms": round(spreaders_ms, 1),
        "direct_n8n_run_ms": round(direct_ms, 1),
        "run_overhead_ratio": round(spreaders_ms / direct_ms, 2),
    }


def bench_demo_warm(data_dir: Path, repeat: int) -> float:
    samples = []
    env = {"SPREADERS_DATA_DIR": str(data_dir), "PATH": os.environ["PATH"]}
    for _ in range(repeat):
        started = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "spreaders.cli.main", "demo", PROMPTS[0], "--json"],
            env=env,
            check=True,
            capture_output=True,
        )
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


async def main() -> dict[str, Any]:
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="spreaders-bench-") as tmp:
        settings = Settings(data_dir=Path(tmp))
        results["planner_ms_per_prompt"] = round(await bench_planner(), 3)
        print(f"planner: {results['planner_ms_per_prompt']} ms per prompt (median)")
        async with open_app(settings) as ctx:
            async with ctx.unit_of_work() as session:
                tenant = await accounts.create_tenant(session, name="bench")
                user = await accounts.create_user(session, tenant_id=tenant.id, email="bench@example.test")
            principal = Principal(tenant_id=tenant.id, user_id=user.id)
            results.update(await bench_registry(ctx, tenant.id))
            print(f"registry: corpus import {results['corpus_import_s']} s, search {results['search_ms']} ms")
            try:
                results.update(await bench_runs(ctx, principal, repeat=50))
                print(
                    f"runs: {results['run_ms']} ms through Spreaders vs {results['direct_n8n_run_ms']} ms "
                    f"calling n8n directly (x{results['run_overhead_ratio']})"
                )
            finally:
                # A free tenant's seat is on a shared process: stopping the tenant leaves it running.
                await provisioning.stop(ctx, tenant_id=principal.tenant_id)
                await pool.stop_all(ctx)
    return results


def measure_demo() -> dict[str, float]:
    """Wall time of the main job with n8n installed and already running (the warm case)."""
    with tempfile.TemporaryDirectory(prefix="spreaders-bench-demo-") as tmp:
        demo_dir = Path(tmp)
        try:
            bench_demo_warm(demo_dir, 1)  # the first run starts n8n; the next ones find it running
            warm = round(bench_demo_warm(demo_dir, 3), 2)
        finally:
            subprocess.run(
                [sys.executable, "-m", "spreaders.cli.main", "n8n", "stop"],
                env={"SPREADERS_DATA_DIR": str(demo_dir), "PATH": os.environ["PATH"]},
                check=False,
                capture_output=True,
            )
    print(f"the main job (spreaders demo) with n8n installed and running: {warm} s (median)")
    return {"demo_warm_s": warm}


if __name__ == "__main__":
    measured = asyncio.run(main())
    measured.update(measure_demo())
    print(json.dumps(measured))
