"""Execute-and-wait through Spreaders against calling the same workflow's n8n webhook directly.

Same n8n, same workflow (manual trigger -> Code), same machine. The direct side is the fastest way to
run it and get its result from n8n alone: a webhook in `lastNode` mode, answered when the run ends,
called with the HTTP client the platform uses for runs (aiohttp; with httpx the direct side spent
0.8 ms more CPU a run, which would flatter the ratio).
The Spreaders side is `orchestrator.execute(wait=True)`: admits and records the run (commit), runs it
through the platform's wait entry on one request (answered when the run ends, with the output and the
n8n execution id) and records the outcome (commit); on SQLite both commits run on the loop's thread
(`spreaders.db.inline`). See docs/execution.md.

Prints p50/p99 latency for one run at a time, the CPU time this process spends per run (both sides
run in it; `time.process_time`, which the machine's load does not inflate the way it does wall time),
and throughput with 8 runs in flight. It measures `ROUNDS` rounds on one n8n and reports each and their
medians; last line JSON: {"added_p50_ms", "throughput_ratio", "added_cpu_ms", ..., "rounds": [...]}.
Targets: added p50 <= 5 ms, throughput ratio >= 0.9.

The tenant is on the pro tier: its quotas (10 concurrent runs, 20,000 a day) admit the 8 runs in
flight and every round; the free tier's 2 concurrent runs would refuse the throughput part. The quota
check itself runs on every run as it does for any tenant.
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from spreaders.accounts import service as accounts
from spreaders.accounts.schemas import Principal
from spreaders.bootstrap import AppContext, open_app
from spreaders.orchestrator import service as orchestrator
from spreaders.provisioning import service as provisioning
from spreaders.registry import service as registry
from spreaders.settings import Settings

ROUNDS = int(os.environ.get("SPREADERS_BENCH_ROUNDS", "3"))
# "1": n8n (with its task runner) on CPU 0, this process (platform and client alike) on CPU 1, as when
# the platform and n8n run on hosts of their own; otherwise both sides share every core.
PIN = os.environ.get("SPREADERS_BENCH_PIN", "") == "1"
SEQUENTIAL_RUNS = 150
CONCURRENT_RUNS = 240
IN_FLIGHT = 8
JS = "return [{ json: { greeting: 'hello ' + ($json.body?.name ?? $json.name ?? 'you'), n: 42 } }];"


def _workflow(trigger: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": f"bench {uuid.uuid4().hex[:6]}",
        "nodes": [
            trigger,
            {
                "id": str(uuid.uuid4()),
                "name": "Work",
                "type": "n8n-nodes-base.code",
                "typeVersion": 2,
                "position": [220, 0],
                "parameters": {"jsCode": JS},
            },
        ],
        "connections": {trigger["name"]: {"main": [[{"node": "Work", "type": "main", "index": 0}]]}},
        "settings": {"executionOrder": "v1"},
    }


def _percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def _throughput(run: Callable[[], Awaitable[None]], total: int) -> float:
    semaphore = asyncio.Semaphore(IN_FLIGHT)

    async def one() -> None:
        async with semaphore:
            await run()

    started = time.perf_counter()
    await asyncio.gather(*(one() for _ in range(total)))
    return total / (time.perf_counter() - started)


Run = Callable[[], Awaitable[None]]


async def _paths(ctx: AppContext, principal: Principal) -> tuple[Run, Run]:
    """Deploy the workflow both ways; return (direct, through Spreaders), each one run."""
    conn = await provisioning.ensure_running(ctx, tenant_id=principal.tenant_id)
    manual = {
        "id": str(uuid.uuid4()),
        "name": "Start",
        "type": "n8n-nodes-base.manualTrigger",
        "typeVersion": 1,
        "position": [0, 0],
        "parameters": {},
    }
    async with ctx.unit_of_work() as session:
        template = await registry.import_workflow(
            session, tenant_id=principal.tenant_id, document=_workflow(manual)
        )
    path = f"bench-direct-{uuid.uuid4().hex}"
    hook = {
        "id": str(uuid.uuid4()),
        "name": "Hook",
        "type": "n8n-nodes-base.webhook",
        "typeVersion": 2,
        "position": [0, 0],
        "webhookId": str(uuid.uuid4()),
        "parameters": {"httpMethod": "POST", "path": path, "responseMode": "lastNode", "options": {}},
    }
    client = orchestrator.client_for(ctx, conn)
    direct_workflow = await client.create_workflow(_workflow(hook))
    await client.activate_workflow(str(direct_workflow["id"]))
    url = f"{conn.base_url}/webhook/{path}"

    async def direct() -> None:
        # The same HTTP client as the platform's runs (aiohttp), so neither side gains by its client.
        async with ctx.streams.session.post(url, json={"name": "bench"}) as response:
            assert response.status == 200 and (await response.json())["n"] == 42

    async def through_spreaders() -> None:
        result = await orchestrator.execute(
            ctx, principal=principal, template_id=template.id, parameters={"name": "bench"}, timeout_s=30
        )
        assert result.status == "success" and result.output["items"][0]["n"] == 42

    for _ in range(10):  # warm both paths (deploy, JIT, connection pools)
        await direct()
        await through_spreaders()
    return direct, through_spreaders


async def measure(direct: Run, through_spreaders: Run) -> dict[str, float]:
    """One round: single runs interleaved (wall and CPU time each), then throughput."""
    wall: dict[Run, list[float]] = {direct: [], through_spreaders: []}
    cpu: dict[Run, list[float]] = {direct: [], through_spreaders: []}
    for _ in range(SEQUENTIAL_RUNS):  # interleaved, so drift hits both alike
        for run in (direct, through_spreaders):
            started, cpu_started = time.perf_counter(), time.process_time()
            await run()
            cpu[run].append((time.process_time() - cpu_started) * 1000)
            wall[run].append((time.perf_counter() - started) * 1000)
    direct_tps = await _throughput(direct, CONCURRENT_RUNS)
    spreaders_tps = await _throughput(through_spreaders, CONCURRENT_RUNS)
    direct_tps = (direct_tps + await _throughput(direct, CONCURRENT_RUNS)) / 2
    spreaders_tps = (spreaders_tps + await _throughput(through_spreaders, CONCURRENT_RUNS)) / 2
    direct_ms, spreaders_ms = wall[direct], wall[through_spreaders]
    direct_cpu, spreaders_cpu = statistics.median(cpu[direct]), statistics.median(cpu[through_spreaders])
    return {
        "direct_p50_ms": round(statistics.median(direct_ms), 2),
        "direct_p99_ms": round(_percentile(direct_ms, 0.99), 2),
        "spreaders_p50_ms": round(statistics.median(spreaders_ms), 2),
        "spreaders_p99_ms": round(_percentile(spreaders_ms, 0.99), 2),
        "added_p50_ms": round(statistics.median(spreaders_ms) - statistics.median(direct_ms), 2),
        "direct_cpu_ms": round(direct_cpu, 2),
        "spreaders_cpu_ms": round(spreaders_cpu, 2),
        "added_cpu_ms": round(spreaders_cpu - direct_cpu, 2),
        "direct_runs_per_s": round(direct_tps, 1),
        "spreaders_runs_per_s": round(spreaders_tps, 1),
        "throughput_ratio": round(spreaders_tps / direct_tps, 3),
        "load_average": round(os.getloadavg()[0], 2),
    }


def _descendants(pid: int) -> list[int]:
    parents: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # the process ended while the table was read
            continue
        parents.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(parents.get(current, []))
    return found


def _pin(pid: int, cpu: int) -> None:
    """Every thread of `pid` (threads started later inherit it from theirs)."""
    for task in Path(f"/proc/{pid}/task").iterdir():
        os.sched_setaffinity(int(task.name), {cpu})


async def _pin_sides(ctx: AppContext, principal: Principal) -> None:
    status = await provisioning.status(ctx, tenant_id=principal.tenant_id)
    assert status is not None and status.pid is not None
    for pid in _descendants(status.pid):
        _pin(pid, 0)
    _pin(os.getpid(), 1)


def _medians(rounds: list[dict[str, float]]) -> dict[str, Any]:
    keys = rounds[0].keys()
    return {key: round(statistics.median(r[key] for r in rounds), 3) for key in keys} | {"rounds": rounds}


async def main() -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="spreaders-exec-bench-") as tmp:
        async with open_app(Settings(data_dir=Path(tmp))) as ctx:
            async with ctx.unit_of_work() as session:
                tenant = await accounts.create_tenant(session, name="bench", tier="pro")
                user = await accounts.create_user(
                    session, tenant_id=tenant.id, email="exec-bench@example.test"
                )
            principal = Principal(tenant_id=tenant.id, user_id=user.id)
            try:
                direct, through_spreaders = await _paths(ctx, principal)
                if PIN:
                    await _pin_sides(ctx, principal)
                rounds = []
                for _ in range(ROUNDS):
                    rounds.append(await measure(direct, through_spreaders))
                    _print_round(rounds[-1])
                return _medians(rounds)
            finally:
                await provisioning.stop(ctx, tenant_id=tenant.id)


def _print_round(f: dict[str, float]) -> None:
    print(
        f"one at a time: p50 {f['spreaders_p50_ms']} ms through Spreaders vs {f['direct_p50_ms']} ms direct "
        f"(+{f['added_p50_ms']} ms), CPU {f['spreaders_cpu_ms']} vs {f['direct_cpu_ms']} ms a run; "
        f"{IN_FLIGHT} in flight: {f['spreaders_runs_per_s']} vs {f['direct_runs_per_s']} runs/s "
        f"(x{f['throughput_ratio']}); load average {f['load_average']}",
        flush=True,
    )


if __name__ == "__main__":
    figures = asyncio.run(main())
    print("median of the rounds:", end=" ")
    _print_round(figures)
    print(json.dumps(figures))
