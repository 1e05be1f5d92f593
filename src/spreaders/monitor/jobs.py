"""The execution monitor: jobs over the app context that keep executions and n8n instances honest.

`monitor_pass` is one round; `run_monitor` repeats it until told to stop (in `spreaders serve`'s
lifespan and in `spreaders worker`). Each pass:

1. follows up runs that have no n8n id past the grace period (their starter died mid-run): the run
   is found in n8n by the platform id it carries (`orchestrator.recovery`) and its n8n id recorded,
   or, when n8n has no such execution (or cannot be asked), it is marked `crashed` with the reason;
2. health-checks the n8n instance of every tenant that has run something (process alive + REST
   answers); a dead one gets its running executions marked `crashed`, is logged and counted, and is
   restarted (with a back-off when restarts fail);
3. syncs every unfinished execution on a live instance: one list call per status per instance tells
   which are still running or waiting; the rest are read one by one (404 -> `crashed`).

Two processes may run passes at once: every status change is an UPDATE guarded by the status the
pass read, and a restart is claimed with a lock file beside the instance's folder (local backend:
the processes and the folder are on this machine).
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import timedelta

from spreaders.accounts.schemas import Principal
from spreaders.bootstrap import AppContext
from spreaders.campaigns import service as campaigns
from spreaders.db.base import utcnow
from spreaders.errors import NotFound, SpreadersError, Unavailable
from spreaders.monitor import service as monitor
from spreaders.monitor.metrics import MonitorMetrics
from spreaders.monitor.schemas import FINISHED_STATUSES, MonitorPassReport
from spreaders.monitor.service import ActiveExecution
from spreaders.orchestrator import service as orchestrator
from spreaders.orchestrator.n8n_client import N8nClient
from spreaders.provisioning import lifecycle, pool
from spreaders.provisioning import service as provisioning
from spreaders.provisioning.backends import local
from spreaders.provisioning.schemas import InstanceRead
from spreaders.settings import MonitorSettings, Settings
from spreaders.vault import n8n_sync

logger = logging.getLogger(__name__)

INSTANCE_DOWN = "n8n instance stopped/crashed while running"
NOT_CONFIRMED = "the platform stopped before n8n confirmed the start"
NOT_IN_N8N = (
    "the platform stopped before it learnt the run's n8n id, and n8n has no execution carrying "
    "this run's id (it never started)"
)
NO_N8N_ID = "n8n started the run without reporting its execution id, so it cannot be followed"
TENANT_CONCURRENCY = 4


def monitor_settings(settings: Settings) -> MonitorSettings:
    """The monitor's settings (`SPREADERS_MONITOR__*`)."""
    return settings.monitor


def _principal(tenant_id: str) -> Principal:
    # The monitor acts for the platform inside one tenant; services only scope by tenant_id.
    return Principal(tenant_id=tenant_id, user_id="system:monitor", scopes=frozenset({"executions:read"}))


@dataclass
class MonitorState:
    """What a monitor remembers between passes (in memory: a restarted monitor starts afresh)."""

    unresponsive: dict[str, int] = field(default_factory=dict)
    restart_failures: dict[str, int] = field(default_factory=dict)
    restart_not_before: dict[str, float] = field(default_factory=dict)
    reported_down: set[tuple[str, int | None]] = field(default_factory=set)


@contextlib.contextmanager
def _restart_claim(instance: InstanceRead) -> Iterator[bool]:
    """Try to claim the right to restart `instance`; yields False when another process holds it."""
    path = f"{instance.data_dir.rstrip('/')}.restart.lock"
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        yield True
    finally:
        os.close(fd)


async def _crash(
    ctx: AppContext, executions: list[ActiveExecution], reason: str, report: MonitorPassReport
) -> None:
    if not executions:
        return
    async with ctx.unit_of_work() as session:
        for execution in executions:
            if await monitor.mark_crashed(session, execution=execution, reason=reason):
                report.crashed.append(execution.id)


@dataclass
class _TenantRuns:
    """One tenant's unfinished runs: with an n8n id, stale ones without, and dropped ones without.

    A run without an n8n id is left alone for `start_grace_s` (its caller may be about to start or
    name it) and then found in n8n by its run id. A dropped run is one n8n took and then lost the
    connection of before naming it (`running` without an id): if its instance is down, it is
    crashed with that reason at once, like the runs the instance was known to run.
    """

    followed: list[ActiveExecution] = field(default_factory=list)
    stale: list[ActiveExecution] = field(default_factory=list)
    dropped: list[ActiveExecution] = field(default_factory=list)


def _runs_by_tenant(active: list[ActiveExecution], config: MonitorSettings) -> dict[str, _TenantRuns]:
    cutoff = utcnow() - timedelta(seconds=config.start_grace_s)
    by_tenant: dict[str, _TenantRuns] = {}
    for execution in active:
        runs = by_tenant.setdefault(execution.tenant_id, _TenantRuns())
        if execution.n8n_execution_id is not None:
            runs.followed.append(execution)
        elif execution.created_at <= cutoff:
            runs.stale.append(execution)
        elif execution.status == "running":
            runs.dropped.append(execution)
    return by_tenant


async def _crash_unconfirmed(
    ctx: AppContext, stale: list[ActiveExecution], report: MonitorPassReport
) -> None:
    """Crash stale runs without an n8n id whose n8n cannot be asked."""
    await _crash(ctx, [e for e in stale if e.status == "new"], NOT_CONFIRMED, report)
    await _crash(ctx, [e for e in stale if e.status != "new"], NO_N8N_ID, report)


async def _recover(
    ctx: AppContext, tenant_id: str, stale: list[ActiveExecution], report: MonitorPassReport
) -> list[ActiveExecution]:
    """Find stale runs without an n8n id in the live n8n: record their ids, crash those it lacks."""
    if not stale:
        return []
    conn = await provisioning.connect(ctx, tenant_id=tenant_id)
    found: list[ActiveExecution] = []
    for execution in stale:
        async with ctx.sessionmaker() as session:
            row = await monitor.get_execution_row(session, tenant_id=tenant_id, execution_id=execution.id)
        n8n_id = await orchestrator.recover_n8n_id(ctx, conn, row)
        if n8n_id is None:
            await _crash(ctx, [execution], NOT_IN_N8N, report)
            continue
        logger.info("execution %s found in n8n as %s after its starter stopped", execution.id, n8n_id)
        report.recovered.append(execution.id)
        found.append(replace(execution, n8n_execution_id=n8n_id, status="running"))
    return found


async def _is_up(
    ctx: AppContext, instance: InstanceRead, config: MonitorSettings, state: MonitorState
) -> bool:
    """Alive process and answering REST routes; a live but silent process gets a few passes' grace."""
    if not instance.running:
        return False
    if instance.status == "starting" or await local.answers_rest(ctx.http, instance.base_url):
        state.unresponsive.pop(instance.id, None)
        return True
    misses = state.unresponsive.get(instance.id, 0) + 1
    state.unresponsive[instance.id] = misses
    logger.warning("n8n instance %s did not answer its REST check (%d in a row)", instance.id, misses)
    return misses < config.unresponsive_passes


async def _restart(
    ctx: AppContext,
    tenant_id: str,
    instance: InstanceRead,
    config: MonitorSettings,
    state: MonitorState,
    metrics: MonitorMetrics | None,
    report: MonitorPassReport,
) -> None:
    if time.monotonic() < state.restart_not_before.get(instance.id, 0.0):
        return
    with _restart_claim(instance) as claimed:
        if not claimed:
            logger.info("n8n instance %s is being restarted by another process", instance.id)
            return
        try:
            await provisioning.ensure_running(ctx, tenant_id=tenant_id)
        except SpreadersError as exc:
            failures = state.restart_failures.get(instance.id, 0) + 1
            state.restart_failures[instance.id] = failures
            wait = min(config.restart_backoff_s * 2 ** (failures - 1), config.restart_backoff_max_s)
            state.restart_not_before[instance.id] = time.monotonic() + wait
            logger.error("restarting n8n instance %s failed (%s); next try in %.0fs", instance.id, exc, wait)
            report.restart_failed.append(instance.id)
            if metrics is not None:
                metrics.instance_restarts.labels(result="failed").inc()
            return
    state.restart_failures.pop(instance.id, None)
    state.restart_not_before.pop(instance.id, None)
    state.unresponsive.pop(instance.id, None)
    logger.warning("n8n instance %s (tenant %s) restarted", instance.id, tenant_id)
    report.restarted.append(instance.id)
    if metrics is not None:
        metrics.instance_restarts.labels(result="ok").inc()


async def _handle_down(
    ctx: AppContext,
    tenant_id: str,
    instance: InstanceRead,
    executions: list[ActiveExecution],
    config: MonitorSettings,
    state: MonitorState,
    metrics: MonitorMetrics | None,
    report: MonitorPassReport,
) -> None:
    """Crash the runs the instance was running; count the death once; restart unless stopped on purpose."""
    lost = [e for e in executions if e.instance_id == instance.id and e.status in ("running", "new")]
    before = len(report.crashed)
    await _crash(ctx, lost, f"{INSTANCE_DOWN} (instance {instance.id}, status {instance.status})", report)
    should_run = instance.status not in ("stopped", "new", "deprovisioned")
    if should_run:
        report.instances_down.append(instance.id)
        key = (instance.id, instance.pid)
        if key not in state.reported_down:
            state.reported_down.add(key)
            logger.warning(
                "n8n instance %s (tenant %s) is down (status %s); %d running executions marked crashed",
                instance.id,
                tenant_id,
                instance.status,
                len(report.crashed) - before,
            )
            if metrics is not None:
                metrics.instance_crashes.inc()
        # A start that failed (last_error set) is left to the next caller to retry and report, unless
        # it was this monitor's own restart: those are retried with a back-off.
        ours = instance.id in state.restart_failures
        if config.restart_dead_instances and (not instance.last_error or ours):
            await _restart(ctx, tenant_id, instance, config, state, metrics, report)


async def _sync_live(
    ctx: AppContext, tenant_id: str, executions: list[ActiveExecution], report: MonitorPassReport
) -> None:
    """Bring the executions of a live instance in step with n8n."""
    if not executions:
        return
    conn = await provisioning.connect(ctx, tenant_id=tenant_id)
    client = N8nClient(ctx.http, base_url=conn.base_url, api_key=conn.api_key)
    still = {status: await client.execution_ids(status=status) for status in ("running", "waiting")}
    for execution in executions:
        assert execution.n8n_execution_id is not None
        current = next((s for s, ids in still.items() if execution.n8n_execution_id in ids), None)
        if current is not None:
            if current != execution.status:
                async with ctx.unit_of_work() as session:
                    await monitor.set_if_status(
                        session,
                        execution_id=execution.id,
                        expected=execution.status,
                        values={"status": current},
                    )
            continue
        try:
            synced = await orchestrator.sync(ctx, principal=_principal(tenant_id), execution_id=execution.id)
        except NotFound:
            reason = f"n8n no longer knows execution {execution.n8n_execution_id} (deleted or pruned in n8n)"
            await _crash(ctx, [execution], reason, report)
            continue
        report.synced += 1
        if synced.status in FINISHED_STATUSES:
            report.finished.append(execution.id)


async def _check_tenant(
    ctx: AppContext,
    tenant_id: str,
    runs: _TenantRuns,
    config: MonitorSettings,
    state: MonitorState,
    metrics: MonitorMetrics | None,
    report: MonitorPassReport,
) -> None:
    executions = runs.followed
    instance = await provisioning.status(ctx, tenant_id=tenant_id)
    if instance is None:
        await _crash_unconfirmed(ctx, runs.stale, report)
        running = [e for e in executions + runs.dropped if e.status == "running"]
        await _crash(ctx, running, INSTANCE_DOWN, report)
        return
    await _crash_unconfirmed(ctx, [e for e in runs.stale if e.instance_id != instance.id], report)
    stale = [e for e in runs.stale if e.instance_id == instance.id]
    orphans = [e for e in executions if e.instance_id != instance.id and e.status == "running"]
    await _crash(ctx, orphans, f"{INSTANCE_DOWN} (its instance no longer exists)", report)
    executions = [e for e in executions if e.instance_id == instance.id]
    if instance.status in ("new", "stopped") and not executions and not stale:
        return  # nothing runs and nobody wants it running
    report.instances_checked += 1
    if not await _is_up(ctx, instance, config, state):
        await _crash_unconfirmed(ctx, stale, report)
        dropped = [e for e in runs.dropped if e.instance_id == instance.id]
        await _handle_down(ctx, tenant_id, instance, executions + dropped, config, state, metrics, report)
        return
    report.instances_up += 1
    state.reported_down = {key for key in state.reported_down if key[0] != instance.id}
    try:
        executions += await _recover(ctx, tenant_id, stale, report)
        await _sync_live(ctx, tenant_id, executions, report)
    except Unavailable as exc:  # went away between the check and the sync: the next pass handles it
        logger.info("syncing tenant %s skipped: %s", tenant_id, exc)


async def monitor_pass(
    ctx: AppContext,
    *,
    config: MonitorSettings | None = None,
    metrics: MonitorMetrics | None = None,
    state: MonitorState | None = None,
) -> MonitorPassReport:
    """Run one round: follow up runs without n8n ids, health-check instances, sync unfinished runs."""
    config = config or monitor_settings(ctx.settings)
    state = state if state is not None else MonitorState()
    report = MonitorPassReport()
    async with ctx.sessionmaker() as session:
        active = await monitor.active_executions(session)
        tenants = await monitor.tenants_with_executions(session)
    report.active = len(active)
    by_tenant = {tenant: _TenantRuns() for tenant in tenants} | _runs_by_tenant(active, config)
    limit = asyncio.Semaphore(TENANT_CONCURRENCY)

    async def check(tenant_id: str) -> None:
        async with limit:
            try:
                await _check_tenant(ctx, tenant_id, by_tenant[tenant_id], config, state, metrics, report)
            except SpreadersError as exc:
                logger.warning("monitoring tenant %s failed: %s", tenant_id, exc)

    await asyncio.gather(*(check(tenant_id) for tenant_id in by_tenant))
    if metrics is not None:
        metrics.instances_up.set(report.instances_up)
        metrics.instances_down.set(len(report.instances_down))
    return report


async def run_monitor(
    ctx: AppContext,
    *,
    stop: asyncio.Event,
    config: MonitorSettings | None = None,
    metrics: MonitorMetrics | None = None,
) -> None:
    """Run passes every `config.interval_s` seconds until `stop` is set; a failed pass is logged."""
    config = config or monitor_settings(ctx.settings)
    state = MonitorState()
    resumer: asyncio.Task[object] | None = None
    refresher: asyncio.Task[None] | None = None
    pool_keeper: asyncio.Task[None] | None = None
    while not stop.is_set():
        # Chains whose process died are finished in the background, one resume round at a time.
        if config.resume_chains and (resumer is None or resumer.done()):
            resumer = asyncio.create_task(
                campaigns.resume_stalled(ctx, stale_after_s=config.chain_stale_after_s)
            )
        # OAuth tokens about to expire are refreshed and pushed to n8n in the background too.
        if refresher is None or refresher.done():
            refresher = asyncio.create_task(n8n_sync.keep_in_step(ctx))
        # The free tier's shared pool: idle processes stopped, warm seats refilled.
        if pool_keeper is None or pool_keeper.done():
            pool_keeper = asyncio.create_task(_keep_pool(ctx))
        result = "ok"
        try:
            report = await monitor_pass(ctx, config=config, metrics=metrics, state=state)
            if ctx.settings.provisioning.idle_stop_minutes:
                await lifecycle.stop_idle(ctx, idle_minutes=ctx.settings.provisioning.idle_stop_minutes)
            if report.crashed or report.instances_down:
                logger.warning("monitor pass: %s", report.model_dump_json())
        except Exception:  # the outermost wrapper of a job: log it, keep monitoring
            result = "failed"
            logger.exception("monitor pass failed")
        if metrics is not None:
            metrics.monitor_passes.labels(result=result).inc()
            metrics.monitor_last_pass.set(time.time())
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=config.interval_s)
    for task in (resumer, refresher, pool_keeper):
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


async def _keep_pool(ctx: AppContext) -> None:
    try:
        stopped, made = await pool.maintain(ctx)
    except Exception:  # the outermost wrapper of a job: log it, the next round tries again
        logger.exception("keeping the shared pool failed")
        return
    if stopped or made:
        logger.info("shared pool: stopped %s, made %d warm seats", stopped, made)


async def stop_monitor(task: asyncio.Task[None], *, grace_s: float = 10.0) -> None:
    """Wait for a monitor task whose stop event is set; cancel it if a pass outlasts `grace_s`."""
    try:
        await asyncio.wait_for(task, timeout=grace_s)
    except TimeoutError:
        logger.warning("the monitor pass did not end within %.0fs; cancelled", grace_s)
