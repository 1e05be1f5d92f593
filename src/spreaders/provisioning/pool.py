"""The free tier's shared pool: shared n8n processes, their seats (one member user per tenant) and
the warm reserve of unclaimed seats that makes a new free tenant usable at once.

A seat is made ahead of time (member user invited, accepted, keyed: ~0.3 s on a running process) and
sealed as the platform's; a tenant claims it with one conditional UPDATE and its secrets are re-sealed
to the tenant. `replenish` refills the reserve (starting another shared process when every one is
full); call it from a background loop so claims never wait for it.

All of this is the same on both backends: where a shared instance runs (a local process or a
Deployment in the pool's namespace) is its runtime's business (provisioning/shared_runtime.py). New
shared instances and claims go to the configured backend; instances made on another one keep serving
their tenants.
"""

from __future__ import annotations

import logging
from datetime import timedelta

import httpx
from sqlalchemy import case, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from spreaders.bootstrap import AppContext
from spreaders.db.base import new_id, utcnow
from spreaders.errors import Conflict, SpreadersError
from spreaders.monitor.models import WorkflowExecution
from spreaders.provisioning import n8n_members, process
from spreaders.provisioning.installer import ProgressFn
from spreaders.provisioning.models import MOVED, SEAT, SHARED, N8nInstance
from spreaders.provisioning.schemas import InstanceConnection
from spreaders.provisioning.shared_runtime import SharedRuntime, runtime_for

logger = logging.getLogger(__name__)

# Claims lost to concurrent claimers before giving up (each loss means someone else got a seat).
CLAIM_ATTEMPTS = 5
# A seat being made: counted against its process's room, never claimed.
PENDING = "pending"
# Making a batch of seats takes seconds; a reservation this old was left by a maker that died.
STALE_RESERVATION = timedelta(minutes=10)


async def seats_used(session: AsyncSession, pool_id: str) -> int:
    query = select(func.count()).where(N8nInstance.kind == SEAT, N8nInstance.pool_id == pool_id)
    return int(await session.scalar(query) or 0)


def _backend(ctx: AppContext) -> str:
    return ctx.settings.provisioning.backend


async def spare_seats(ctx: AppContext) -> int:
    """Unclaimed seats on the configured backend's shared instances (the warm reserve)."""
    shared = aliased(N8nInstance)
    async with ctx.sessionmaker() as session:
        query = (
            select(func.count())
            .select_from(N8nInstance)
            .join(shared, shared.id == N8nInstance.pool_id)
            .where(N8nInstance.kind == SEAT, N8nInstance.tenant_id.is_(None), shared.backend == _backend(ctx))
        )
        return int(await session.scalar(query) or 0)


async def shared_instances(ctx: AppContext, *, backend: str | None = None) -> list[N8nInstance]:
    """Shared instances, oldest first: every one, or those of `backend`."""
    query = select(N8nInstance).where(N8nInstance.kind == SHARED)
    if backend is not None:
        query = query.where(N8nInstance.backend == backend)
    async with ctx.sessionmaker() as session:
        return list((await session.scalars(query.order_by(N8nInstance.created_at))).all())


async def _create_shared(ctx: AppContext) -> N8nInstance:
    async with ctx.unit_of_work() as session:
        row = N8nInstance(
            id=new_id("n8n"),
            tenant_id=None,
            kind=SHARED,
            capacity=ctx.settings.pool.tenants_per_instance,
            status="new",
            version=ctx.settings.n8n.version,
        )
        runtime_for(_backend(ctx)).place(ctx, row)
        session.add(row)
        await session.flush()
        process.seal_first_secrets(ctx, row)
    return row


def _runtime(row: N8nInstance) -> SharedRuntime:
    return runtime_for(row.backend)


async def ensure_shared_running(ctx: AppContext, row: N8nInstance, progress: ProgressFn | None = None) -> str:
    """Start (or wake, or re-adopt) a shared instance, its owner and owner key made; return that key.
    The owner's key only ever invites members; tenants' work goes through their own keys."""
    return await _runtime(row).start(ctx, row, progress)


async def _reserve_on(ctx: AppContext, row: N8nInstance, count: int) -> list[str]:
    """Record up to `count` pending seats on one shared process, within its room; their ids.

    The no-op UPDATE of the process row comes first so that concurrent reservers queue here (a row
    lock on PostgreSQL, the write lock on SQLite) and each counts the seats the other just made:
    without it two refills both saw the same room and filled a process past its capacity."""
    async with ctx.unit_of_work() as session:
        await session.execute(
            update(N8nInstance)
            .where(N8nInstance.id == row.id)
            .values(capacity=N8nInstance.capacity)
            .execution_options(synchronize_session=False)
        )
        room = row.capacity - await seats_used(session, row.id)
        ids = [new_id("n8n") for _ in range(min(room, count, n8n_members.MAX_BATCH))]
        session.add_all(
            N8nInstance(
                id=seat_id,
                tenant_id=None,
                kind=SEAT,
                pool_id=row.id,
                backend=row.backend,
                status=PENDING,
                version=row.version,
            )
            for seat_id in ids
        )
    return ids


async def _reserve(ctx: AppContext, count: int) -> tuple[N8nInstance, list[str]]:
    """Pending seats on the oldest shared process with room, recording a new process when all are full."""
    while True:
        for row in await shared_instances(ctx, backend=_backend(ctx)):
            ids = await _reserve_on(ctx, row, count)
            if ids:
                return row, ids
        await _create_shared(ctx)


async def _release(ctx: AppContext, seat_ids: list[str]) -> None:
    async with ctx.unit_of_work() as session:
        await session.execute(
            delete(N8nInstance).where(N8nInstance.id.in_(seat_ids), N8nInstance.status == PENDING)
        )


async def add_seats(ctx: AppContext, count: int, progress: ProgressFn | None = None) -> int:
    """Create up to `count` unclaimed seats, starting shared processes as needed; return how many."""
    made = 0
    while made < count:
        row, seat_ids = await _reserve(ctx, count - made)
        try:
            owner_key = await ensure_shared_running(ctx, row, progress)
            members = await n8n_members.create_members(
                base_url=_runtime(row).url(ctx, row),
                owner_api_key=owner_key,
                count=len(seat_ids),
                timeout_s=ctx.settings.n8n.request_timeout_s,
            )
        except BaseException:
            await _release(ctx, seat_ids)
            raise
        async with ctx.unit_of_work() as session:
            for seat_id, member in zip(seat_ids, members, strict=True):
                seat = await session.get_one(N8nInstance, seat_id)
                seat.n8n_user_id, seat.owner_email = member.user_id, member.email
                seat.status, seat.bootstrapped_at = "ready", utcnow()
                process.seal(ctx, seat, {"api_key": member.api_key, "password": member.password})
        made += len(members)
    return made


async def drop_stale_reservations(ctx: AppContext) -> int:
    """Delete pending seats older than STALE_RESERVATION (their maker died mid-way), so they stop
    holding room on their process; return how many."""
    async with ctx.unit_of_work() as session:
        dropped = await session.execute(
            delete(N8nInstance).where(
                N8nInstance.kind == SEAT,
                N8nInstance.status == PENDING,
                N8nInstance.created_at < utcnow() - STALE_RESERVATION,
            )
        )
    return int(dropped.rowcount)  # type: ignore[attr-defined]


async def replenish(ctx: AppContext, progress: ProgressFn | None = None) -> int:
    """Top the warm reserve up to `SPREADERS_POOL__WARM_SEATS`; return the seats made."""
    missing = ctx.settings.pool.warm_seats - await spare_seats(ctx)
    return await add_seats(ctx, missing, progress) if missing > 0 else 0


async def _try_claim(ctx: AppContext, tenant_id: str) -> N8nInstance | None:
    """Give the oldest unclaimed seat to the tenant; None when there is none (or a racer won it)."""
    shared = aliased(N8nInstance)
    async with ctx.unit_of_work() as session:
        # Seats on a running process first: one on a stopped (idle) process would need a cold start.
        seat = await session.scalar(
            select(N8nInstance)
            .join(shared, shared.id == N8nInstance.pool_id)
            .where(
                N8nInstance.kind == SEAT,
                N8nInstance.tenant_id.is_(None),
                N8nInstance.status != PENDING,
                shared.backend == _backend(ctx),
            )
            .order_by(case((shared.status == "running", 0), else_=1), N8nInstance.created_at, N8nInstance.id)
            .limit(1)
        )
        if seat is None:
            return None
        # Opened as the platform's, re-sealed bound to the tenant.
        resealed = process.sealed_for(ctx, tenant_id, seat.id, process.opened(ctx, seat))
        # The condition makes the claim atomic: a concurrent claimer of the same seat updates nothing.
        claimed = await session.execute(
            update(N8nInstance)
            .where(N8nInstance.id == seat.id, N8nInstance.tenant_id.is_(None))
            .values(tenant_id=tenant_id, secrets=resealed, claimed_at=utcnow())
            .execution_options(synchronize_session=False)
        )
        if claimed.rowcount != 1:  # type: ignore[attr-defined]
            return None
        seat_id = seat.id
    async with ctx.sessionmaker() as session:
        return await session.get_one(N8nInstance, seat_id)


async def claim(ctx: AppContext, tenant_id: str, progress: ProgressFn | None = None) -> N8nInstance:
    """A seat for a new free tenant: from the warm reserve, or made now when the reserve is empty."""
    say = progress or (lambda _message: None)
    for _ in range(CLAIM_ATTEMPTS):
        seat = await _try_claim(ctx, tenant_id)
        if seat is not None:
            return seat
        say("no warm seat in the shared pool: making one")
        await add_seats(ctx, 1, progress)
    raise Conflict(
        "Could not claim a seat in the shared n8n pool: other tenants kept taking them.",
        hint="Try again; raise SPREADERS_POOL__WARM_SEATS if many tenants sign up at once.",
    )


async def seat_connection(
    ctx: AppContext, seat: N8nInstance, *, start: bool, progress: ProgressFn | None = None
) -> InstanceConnection | None:
    """The tenant's connection through its seat (its own key, the shared instance's URL); waking the
    instance when `start`, else None when it is not running."""
    assert seat.pool_id is not None
    async with ctx.sessionmaker() as session:
        shared = await session.get_one(N8nInstance, seat.pool_id)
    runtime = _runtime(shared)
    if start:
        await runtime.start(ctx, shared, progress)
    elif not runtime.running(shared):
        return None
    values = process.opened(ctx, seat)
    return InstanceConnection(
        instance_id=seat.id, base_url=runtime.url(ctx, shared), api_key=values["api_key"]
    )


async def stop_idle(ctx: AppContext) -> list[str]:
    """Stop shared instances none of whose tenants started a run within `SPREADERS_POOL__IDLE_STOP_MINUTES`
    (0: never): a local process ends, a Deployment goes to no pod (its volume stays). They wake on the
    next `ensure_running` of any of their tenants. Returns their ids."""
    minutes = ctx.settings.pool.idle_stop_minutes
    if minutes <= 0:
        return []
    since = utcnow() - timedelta(minutes=minutes)
    stopped: list[str] = []
    for row in await shared_instances(ctx, backend=_backend(ctx)):
        runtime = _runtime(row)
        if not runtime.running(row):
            continue
        async with ctx.sessionmaker() as session:
            seats = select(N8nInstance.id).where(N8nInstance.pool_id == row.id)
            recent = await session.scalar(
                select(func.count()).where(
                    WorkflowExecution.instance_id.in_(seats), WorkflowExecution.created_at >= since
                )
            )
        if row.created_at >= since or recent:
            continue
        await runtime.stop(ctx, row)
        stopped.append(row.id)
    return stopped


async def release_moved(ctx: AppContext, *, tenant_id: str | None = None) -> int:
    """Finish leaving the pool for seats whose tenant moved to a dedicated instance (all, or one
    tenant's): delete the seat's member user on its shared process, which takes the tenant's
    workflows, executions and credentials there with it, then free the seat's room. Returns how many.

    The user is deleted rather than the seat wiped and handed to the next tenant: n8n's user deletion
    removes the whole personal project and the old API key in one step, so nothing of one tenant can
    reach another, and a fresh seat costs a fraction of a second when the reserve refills.
    """
    query = select(N8nInstance).where(
        N8nInstance.kind == SEAT, N8nInstance.status == MOVED, N8nInstance.pool_id.is_not(None)
    )
    if tenant_id is not None:
        query = query.where(N8nInstance.tenant_id == tenant_id)
    async with ctx.sessionmaker() as session:
        seats = list((await session.scalars(query)).all())
    for seat in seats:
        assert seat.pool_id is not None
        async with ctx.sessionmaker() as session:
            shared = await session.get_one(N8nInstance, seat.pool_id)
        await ensure_shared_running(ctx, shared)
        await n8n_members.delete_member(
            base_url=shared.base_url,
            owner_api_key=process.opened(ctx, shared)["api_key"],
            user_id=seat.n8n_user_id,
            timeout_s=ctx.settings.n8n.request_timeout_s,
        )
        async with ctx.unit_of_work() as session:
            row = await session.get_one(N8nInstance, seat.id)
            row.pool_id, row.secrets, row.n8n_user_id = None, None, ""
    return len(seats)


async def maintain(ctx: AppContext) -> tuple[list[str], int]:
    """One background pass: stop idle shared processes, then refill the warm reserve. Does nothing
    until the pool is in use (a shared process exists), so the embedded mode never starts one.
    Returns the stopped process ids and the seats made."""
    if not await shared_instances(ctx, backend=_backend(ctx)):
        return [], 0
    await drop_stale_reservations(ctx)
    # A shared process that will not answer must not hold up the refill: the next pass retries.
    try:
        await release_moved(ctx)
    except (SpreadersError, httpx.HTTPError) as exc:
        logger.warning("releasing moved seats failed, retried next pass: %s", exc)
    stopped = await stop_idle(ctx)
    return stopped, await replenish(ctx)


async def stop_all(ctx: AppContext) -> None:
    """Stop every shared instance of the configured backend (their records and seats stay); the
    platform cannot reach another backend's (a cluster it has no configuration for)."""
    for row in await shared_instances(ctx, backend=_backend(ctx)):
        await _runtime(row).stop(ctx, row)
