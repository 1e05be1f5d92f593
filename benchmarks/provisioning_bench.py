"""Provisioning by tier: a new free tenant from the warm pool vs a new pro tenant's dedicated n8n, and
how many tenants fit in a GB on each.

- warm: a free tenant is created, `provisioning.ensure_running` gives it a seat from the warm reserve,
  and one public-API call with its own key (list workflows) answers: "usable". Between tenants the
  reserve is refilled (`pool.replenish`, what a background loop does; not timed).
- empty reserve: the same with no warm seat left (a member user is made on the running shared process).
- cold: a new pro tenant's dedicated process (start, owner, key) until the same call answers.
- memory: resident memory of the n8n processes including their task runners (/proc, RSS and PSS:
  the runner shares pages with its parent), each tenant having deployed and run one webhook workflow,
  for one shared process holding all the free tenants and for one dedicated process.

Last line JSON: {"warm_seat_p50_s", "empty_reserve_p50_s", "cold_dedicated_p50_s", "shared_rss_mb",
"dedicated_rss_mb", "tenants_per_gb_shared", "tenants_per_gb_dedicated", ...}.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import tempfile
import time
import uuid
from pathlib import Path

import httpx

from spreaders.accounts import service as accounts
from spreaders.accounts.schemas import Tier
from spreaders.bootstrap import AppContext, open_app
from spreaders.provisioning import pool
from spreaders.provisioning import service as provisioning
from spreaders.provisioning.schemas import InstanceConnection
from spreaders.settings import PoolSettings, Settings

FREE_TENANTS = 8
EMPTY_RESERVE_TENANTS = 2
PRO_TENANTS = 2


def _children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            child = int(stat.parent.name)
            found += [child, *_children(child)]
    return found


def _memory_mb(pid: int) -> tuple[float, float]:
    """RSS and PSS of `pid` and its descendants (n8n and its task runner), in MiB."""
    rss = pss = 0
    for each in [pid, *_children(pid)]:
        for line in Path(f"/proc/{each}/smaps_rollup").read_text().splitlines():
            name, _, value = line.partition(":")
            if name == "Rss":
                rss += int(value.split()[0])
            elif name == "Pss":
                pss += int(value.split()[0])
    return rss / 1024, pss / 1024


async def _tenant(ctx: AppContext, tier: Tier) -> str:
    async with ctx.unit_of_work() as session:
        return (await accounts.create_tenant(session, name=f"bench {tier}", tier=tier)).id


async def _usable(ctx: AppContext, tenant_id: str) -> tuple[float, InstanceConnection]:
    started = time.perf_counter()
    conn = await provisioning.ensure_running(ctx, tenant_id=tenant_id)
    response = await ctx.http.get(
        f"{conn.base_url}/api/v1/workflows", headers={"X-N8N-API-KEY": conn.api_key}
    )
    response.raise_for_status()
    return time.perf_counter() - started, conn


async def _one_workflow_run(http: httpx.AsyncClient, conn: InstanceConnection) -> None:
    path = f"bench-{uuid.uuid4().hex}"
    workflow = {
        "name": "bench",
        "nodes": [
            {
                "id": "w",
                "name": "Webhook",
                "type": "n8n-nodes-base.webhook",
                "typeVersion": 2,
                "position": [0, 0],
                "parameters": {"path": path, "httpMethod": "POST", "responseMode": "lastNode"},
                "webhookId": path,
            },
            {
                "id": "c",
                "name": "Work",
                "type": "n8n-nodes-base.code",
                "typeVersion": 2,
                "position": [200, 0],
                "parameters": {"jsCode": "return [{ json: { n: 42 } }];"},
            },
        ],
        "connections": {"Webhook": {"main": [[{"node": "Work", "type": "main", "index": 0}]]}},
        "settings": {"executionOrder": "v1"},
    }
    headers = {"X-N8N-API-KEY": conn.api_key}
    created = await http.post(f"{conn.base_url}/api/v1/workflows", json=workflow, headers=headers)
    wid = created.json()["id"]
    (await http.post(f"{conn.base_url}/api/v1/workflows/{wid}/activate", headers=headers)).raise_for_status()
    (await http.post(f"{conn.base_url}/webhook/{path}", json={})).raise_for_status()


async def main() -> dict[str, float]:
    pool_settings = PoolSettings(tenants_per_instance=FREE_TENANTS + EMPTY_RESERVE_TENANTS + 2, warm_seats=2)
    with tempfile.TemporaryDirectory(prefix="spreaders-prov-bench-") as tmp:
        async with open_app(Settings(data_dir=Path(tmp), pool=pool_settings)) as ctx:
            try:
                return await _measure(ctx)
            finally:
                await pool.stop_all(ctx)


async def _measure(ctx: AppContext) -> dict[str, float]:
    started = time.perf_counter()
    await pool.replenish(ctx)
    shared_cold = time.perf_counter() - started
    warm: list[float] = []
    conns: list[InstanceConnection] = []
    for _ in range(FREE_TENANTS):
        elapsed, conn = await _usable(ctx, await _tenant(ctx, "free"))
        warm.append(elapsed)
        conns.append(conn)
        await pool.replenish(ctx)
    ctx.settings.pool = PoolSettings(
        tenants_per_instance=ctx.settings.pool.tenants_per_instance, warm_seats=0
    )
    empty: list[float] = []
    for _ in range(EMPTY_RESERVE_TENANTS):
        while await pool.spare_seats(ctx):  # drain the reserve so the claim has to make its seat
            await provisioning.ensure_running(ctx, tenant_id=await _tenant(ctx, "free"))
        elapsed, conn = await _usable(ctx, await _tenant(ctx, "free"))
        empty.append(elapsed)
    async with httpx.AsyncClient(timeout=30) as http:
        for conn in conns:
            await _one_workflow_run(http, conn)
        [shared] = await pool.shared_instances(ctx)
        assert shared.pid is not None
        seats = shared.capacity - await _free_room(ctx)
        shared_rss, shared_pss = _memory_mb(shared.pid)
        cold: list[float] = []
        dedicated: list[tuple[float, float]] = []
        for _ in range(PRO_TENANTS):
            tenant = await _tenant(ctx, "pro")
            elapsed, conn = await _usable(ctx, tenant)
            cold.append(elapsed)
            await _one_workflow_run(http, conn)
            status = await provisioning.status(ctx, tenant_id=tenant)
            assert status is not None and status.pid is not None
            dedicated.append(_memory_mb(status.pid))
            await provisioning.stop(ctx, tenant_id=tenant)  # one dedicated process at a time on this machine
    dedicated_rss = statistics.median(m[0] for m in dedicated)
    dedicated_pss = statistics.median(m[1] for m in dedicated)
    return {
        "warm_seat_p50_s": round(statistics.median(warm), 3),
        "warm_seat_max_s": round(max(warm), 3),
        "empty_reserve_p50_s": round(statistics.median(empty), 3),
        "cold_shared_with_2_seats_s": round(shared_cold, 2),
        "cold_dedicated_p50_s": round(statistics.median(cold), 2),
        "shared_seats": seats,
        "shared_rss_mb": round(shared_rss),
        "shared_pss_mb": round(shared_pss),
        "dedicated_rss_mb": round(dedicated_rss),
        "dedicated_pss_mb": round(dedicated_pss),
        "tenants_per_gb_shared": round(seats * 1024 / shared_rss, 1),
        "tenants_per_gb_dedicated": round(1024 / dedicated_rss, 2),
    }


async def _free_room(ctx: AppContext) -> int:
    [shared] = await pool.shared_instances(ctx)
    async with ctx.sessionmaker() as session:
        return shared.capacity - await pool.seats_used(session, shared.id)


if __name__ == "__main__":
    figures = asyncio.run(main())
    print(
        f"new free tenant from the warm pool: p50 {figures['warm_seat_p50_s']}s "
        f"(max {figures['warm_seat_max_s']}s); "
        f"with an empty reserve {figures['empty_reserve_p50_s']}s; new pro tenant (cold dedicated) "
        f"{figures['cold_dedicated_p50_s']}s"
    )
    print(
        f"memory: shared process with {figures['shared_seats']} tenants {figures['shared_rss_mb']} MB RSS "
        f"({figures['tenants_per_gb_shared']} tenants/GB) vs dedicated {figures['dedicated_rss_mb']} MB "
        f"({figures['tenants_per_gb_dedicated']} tenants/GB)"
    )
    print(json.dumps(figures))
