"""Execute-and-wait through Spreaders against calling the same n8n webhook directly.

Same n8n, same machine, one run at a time and 8 in flight, three sides:
- **through Spreaders**: `orchestrator.execute(wait=True)` on a template (manual trigger -> Code). It
  admits and records the run (commit), runs it through the deployed workflow's wait entry on one
  request (answered when the run ends, with the output and the n8n execution id) and records the
  outcome (commit); on SQLite both commits run on the loop's thread (`spreaders.db.inline`).
- **same webhook**: that deployed workflow's wait entry called directly, with no platform at all: the
  same n8n webhook and the same workflow the platform runs. This is the issue's baseline, so
  `added_p50_ms` and `throughput_ratio` are measured against it: what the platform itself adds.
- **own webhook**: the template rebuilt with its own webhook trigger (webhook -> Code, `lastNode`),
  in a workflow without the platform's nodes: the fastest way to run this work and get its result
  from n8n alone. `own_webhook_*` figures are measured against it; they include what n8n spends on the
  nodes that make any template startable (the trigger's stand-in and the result node), which
  `n8n_entry_ratio` isolates (same webhook's rate over own webhook's, no platform involved).
Every side uses the HTTP client the platform uses for runs (aiohttp; with httpx the direct side spent
0.8 ms more CPU a run, which would flatter the ratio). See docs/execution.md.

Prints p50/p99 latency for one run at a time, the CPU time this process spends per run (every side
runs in it; `time.process_time`, which the machine's load does not inflate the way it does wall time),
and throughput with 8 runs in flight. It measures `ROUNDS` rounds on one n8n and reports each and their
medians; last line JSON: {"added_p50_ms", "throughput_ratio", "own_webhook_added_p50_ms",
"own_webhook_throughput_ratio", "n8n_entry_ratio", ..., "rounds": [...]}.
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
from typing import Any, NamedTuple

from sqlalchemy import select

from spreaders.accounts import service as accounts
from spreaders.accounts.schemas import Principal
from spreaders.bootstrap import AppContext, open_app
from spreaders.orchestrator import service as orchestrator
from spreaders.orchestrator.models import Deployment
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


class Sides(NamedTuple):
    """One run each way (see the module's docstring)."""

    spreaders: Run
    same_webhook: Run
    own_webhook: Run


async def _sides(ctx: AppContext, principal: Principal) -> Sides:
    """Deploy the template through the platform and its webhook twin straight into n8n."""
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
    own_workflow = await client.create_workflow(_workflow(hook))
    await client.activate_workflow(str(own_workflow["id"]))

    async def post(url: str) -> dict[str, Any]:
        # The same HTTP client as the platform's runs (aiohttp), so no side gains by its client.
        async with ctx.streams.session.post(url, json={"name": "bench"}) as response:
            assert response.status == 200, response.status
            answer: dict[str, Any] = await response.json()
            return answer

    async def own_webhook() -> None:
        assert (await post(f"{conn.base_url}/webhook/{path}"))["n"] == 42

    async def through_spreaders() -> None:
        result = await orchestrator.execute(
            ctx, principal=principal, template_id=template.id, parameters={"name": "bench"}, timeout_s=30
        )
        assert result.status == "success" and result.output["items"][0]["n"] == 42

    await through_spreaders()  # deploys the template
    async with ctx.unit_of_work() as session:
        deployment = await session.scalar(select(Deployment).where(Deployment.template_id == template.id))
    assert deployment is not None and deployment.wait_path is not None
    wait_entry_url = f"{conn.base_url}/webhook/{deployment.wait_path}"

    async def same_webhook() -> None:
        # The wait entry answers with the result node's summary, as it does for the platform.
        assert (await post(wait_entry_url))["items"][0]["n"] == 42

    sides = Sides(through_spreaders, same_webhook, own_webhook)
    for _ in range(10):  # warm every side (JIT, connection pools)
        for run in sides:
            await run()
    return sides


async def measure(sides: Sides) -> dict[str, float]:
    """One round: single runs interleaved (wall and CPU time each), then throughput."""
    wall: dict[Run, list[float]] = {run: [] for run in sides}
    cpu: dict[Run, list[float]] = {run: [] for run in sides}
    for _ in range(SEQUENTIAL_RUNS):  # interleaved, so drift hits every side alike
        for run in sides:
            started, cpu_started = time.perf_counter(), time.process_time()
            await run()
            cpu[run].append((time.process_time() - cpu_started) * 1000)
            wall[run].append((time.perf_counter() - started) * 1000)
    rates: dict[Run, list[float]] = {run: [] for run in sides}
    for _ in range(2):  # alternated, so drift hits every side alike
        for run in sides:
            rates[run].append(await _throughput(run, CONCURRENT_RUNS))
    p50 = {run: statistics.median(wall[run]) for run in sides}
    cpu_ms = {run: statistics.median(cpu[run]) for run in sides}
    tps = {run: statistics.mean(rates[run]) for run in sides}
    spreaders, same, own = sides
    figures = {
        "added_p50_ms": round(p50[spreaders] - p50[same], 2),
        "throughput_ratio": round(tps[spreaders] / tps[same], 3),
        "own_webhook_added_p50_ms": round(p50[spreaders] - p50[own], 2),
        "own_webhook_throughput_ratio": round(tps[spreaders] / tps[own], 3),
        "n8n_entry_ratio": round(tps[same] / tps[own], 3),
        "added_cpu_ms": round(cpu_ms[spreaders] - cpu_ms[same], 2),
    }
    for label, run in zip(Sides._fields, sides, strict=True):
        figures |= {
            f"{label}_p50_ms": round(p50[run], 2),
            f"{label}_p99_ms": round(_percentile(wall[run], 0.99), 2),
            f"{label}_cpu_ms": round(cpu_ms[run], 2),
            f"{label}_runs_per_s": round(tps[run], 1),
        }
    return figures | {"load_average": round(os.getloadavg()[0], 2)}


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
                sides = await _sides(ctx, principal)
                if PIN:
                    await _pin_sides(ctx, principal)
                rounds = []
                for _ in range(ROUNDS):
                    rounds.append(await measure(sides))
                    _print_round(rounds[-1])
                return _medians(rounds)
            finally:
                await provisioning.stop(ctx, tenant_id=tenant.id)


def _print_round(f: dict[str, float]) -> None:
    print(
        f"one at a time, p50: {f['spreaders_p50_ms']} ms through Spreaders, {f['same_webhook_p50_ms']} ms "
        f"calling the same webhook (+{f['added_p50_ms']} ms), {f['own_webhook_p50_ms']} ms the template's "
        f"own webhook (+{f['own_webhook_added_p50_ms']} ms); CPU {f['spreaders_cpu_ms']} / "
        f"{f['same_webhook_cpu_ms']} / {f['own_webhook_cpu_ms']} ms a run; {IN_FLIGHT} in flight: "
        f"{f['spreaders_runs_per_s']} / {f['same_webhook_runs_per_s']} / {f['own_webhook_runs_per_s']} "
        f"runs/s (x{f['throughput_ratio']} of the same webhook, x{f['own_webhook_throughput_ratio']} of "
        f"the own webhook; n8n alone x{f['n8n_entry_ratio']}); load average {f['load_average']}",
        flush=True,
    )


if __name__ == "__main__":
    figures = asyncio.run(main())
    print("median of the rounds:", end=" ")
    _print_round(figures)
    print(json.dumps(figures))
