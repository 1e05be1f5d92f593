"""A tenant's usage against its tier's quotas: measured from the platform's own records, enforced
before a workflow is deployed and before a run starts.

Usage comes from the database, not from n8n: deployments the platform made and executions it
recorded. A run is admitted by the statement that records it (`admit_run`), so two runs racing for
the last slot cannot both take it. The workflow quota is checked before the deployment it guards:
two deployments racing for the last slot can both pass (a fair-use limit; one workflow over is
tolerable).
"""

from __future__ import annotations

from datetime import datetime, time
from typing import Any, cast

from pydantic import BaseModel
from sqlalchemy import (
    ColumnElement,
    CursorResult,
    Insert,
    ScalarSelect,
    Select,
    Table,
    bindparam,
    case,
    func,
    select,
)
from sqlalchemy.ext.asyncio import AsyncSession

from spreaders.accounts.models import Tenant
from spreaders.bootstrap import AppContext
from spreaders.db.base import UTCDateTime, inline_strings, utcnow
from spreaders.db.inline import InlineWriter
from spreaders.errors import Conflict
from spreaders.monitor.models import WorkflowExecution
from spreaders.orchestrator.models import Deployment
from spreaders.provisioning.tiers import TIERS, Quotas, Tier, get_tier

# Runs that hold a slot: started or about to start. "waiting" runs sleep in n8n and hold none.
RUNNING = ("new", "running")


class QuotaExceeded(Conflict):
    status_code = 429
    code = "quota_exceeded"


class Usage(BaseModel):
    workflows: int  # active deployments
    executions_today: int  # runs started since 00:00 UTC
    concurrent_runs: int


class QuotaReport(BaseModel):
    tier: str
    quotas: Quotas
    usage: Usage


def _run_counts() -> tuple[ScalarSelect[int], ScalarSelect[int]]:
    """The tenant's runs started since `b_day`, and its runs holding a slot."""
    runs = select(func.count()).where(WorkflowExecution.tenant_id == bindparam("b_tenant_id"))
    today = runs.where(WorkflowExecution.created_at >= bindparam("b_day", type_=UTCDateTime()))
    running = runs.where(WorkflowExecution.status.in_(inline_strings(RUNNING)))
    return today.scalar_subquery(), running.scalar_subquery()


_RUNS_TODAY, _RUNS_RUNNING = _run_counts()
_RUN_USAGE: Select[str, int, int] = select(Tenant.tier, _RUNS_TODAY, _RUNS_RUNNING).where(
    Tenant.id == bindparam("b_tenant_id")
)


def _tier_limit(quota: str) -> ColumnElement[int]:
    """The tenant's limit on `quota`, from its tier (a tier not in the table admits nothing)."""
    limits = {name: getattr(tier.quotas, quota) for name, tier in TIERS.items()}
    return case(limits, value=Tenant.tier, else_=0)


def _admitting_insert() -> Insert:
    """Record a run (its columns bound as `b_<column>`) only if the tenant's quotas admit one more."""
    executions = cast(Table, WorkflowExecution.__table__)
    columns = [column for column in executions.columns if column.key not in ("started_at", "finished_at")]
    values = [bindparam(f"b_{column.key}", type_=column.type) for column in columns]
    source = select(*values).where(
        Tenant.id == bindparam("b_tenant_id"),
        _tier_limit("executions_per_day") > _RUNS_TODAY,
        _tier_limit("concurrent_runs") > _RUNS_RUNNING,
    )
    return executions.insert().from_select(columns, source)


# Built once: it runs before every execution.
_ADMIT_RUN = _admitting_insert()
_LOCK_TENANT = select(Tenant.id).where(Tenant.id == bindparam("b_tenant_id")).with_for_update()


async def admit_run(session: AsyncSession, values: dict[str, Any]) -> bool:
    """Insert the execution record `values` (every column but the run's times) if the tenant's tier
    admits one more run now (daily and concurrent quotas); False when it does not.

    On PostgreSQL the tenant's row is locked first, so the counts are read after any concurrent
    admission committed (SQLite takes its write lock when the statement starts).
    """
    parameters = _admission_parameters(values)
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(_LOCK_TENANT, parameters)
    result = cast(CursorResult[Any], await session.execute(_ADMIT_RUN, parameters))
    return result.rowcount == 1


def admit_run_inline(writer: InlineWriter, values: dict[str, Any]) -> bool | None:
    """`admit_run` in a transaction of its own on the loop's thread (SQLite); None when the database
    was locked and nothing was written (then use `admit_run`)."""
    count = writer.write(_ADMIT_RUN, _admission_parameters(values))
    return None if count is None else count == 1


def _admission_parameters(values: dict[str, Any]) -> dict[str, Any]:
    return {f"b_{key}": value for key, value in values.items()} | {"b_day": _start_of_day()}


def _start_of_day() -> datetime:
    now = utcnow()
    return datetime.combine(now.date(), time.min, tzinfo=now.tzinfo)


async def tenant_tier(session: AsyncSession, tenant_id: str) -> Tier:
    return get_tier((await session.get_one(Tenant, tenant_id)).tier)


async def usage(session: AsyncSession, tenant_id: str) -> Usage:
    workflows = select(func.count()).where(Deployment.tenant_id == tenant_id, Deployment.active.is_(True))
    runs = select(func.count()).where(WorkflowExecution.tenant_id == tenant_id)
    today = runs.where(WorkflowExecution.created_at >= _start_of_day())
    running = runs.where(WorkflowExecution.status.in_(RUNNING))
    return Usage(
        workflows=(await session.execute(workflows)).scalar_one(),
        executions_today=(await session.execute(today)).scalar_one(),
        concurrent_runs=(await session.execute(running)).scalar_one(),
    )


async def report(ctx: AppContext, *, tenant_id: str) -> QuotaReport:
    async with ctx.sessionmaker() as session:
        tier = await tenant_tier(session, tenant_id)
        return QuotaReport(tier=tier.name, quotas=tier.quotas, usage=await usage(session, tenant_id))


def _refuse(tier: Tier, what: str, used: int, limit: int, later: str) -> QuotaExceeded:
    bigger = [name for name, other in TIERS.items() if getattr(other.quotas, what) > limit]
    upgrade = f"move to the {bigger[0]} tier (`spreaders instances scale {bigger[0]}`)" if bigger else ""
    hint = f"{later}, or {upgrade}." if upgrade else f"{later}."
    label = what.replace("_", " ")
    return QuotaExceeded(
        f"The {tier.name} tier allows {limit} {label}; this workspace is at {used}.",
        hint=hint[0].upper() + hint[1:],
    )


async def check_deploy(ctx: AppContext, *, tenant_id: str) -> None:
    """Refuse a new workflow in the tenant's n8n when its tier's workflow quota is used up."""
    async with ctx.sessionmaker() as session:
        tier = await tenant_tier(session, tenant_id)
        used = await usage(session, tenant_id)
    if used.workflows >= tier.quotas.workflows:
        raise _refuse(
            tier,
            "workflows",
            used.workflows,
            tier.quotas.workflows,
            "run the workflows already deployed instead",
        )


async def check_run(ctx: AppContext, *, tenant_id: str) -> None:
    """Refuse a run over the tier's daily executions or concurrent runs.

    One statement, built once (the tier and both counts): it runs before every execution, where each
    database round trip and statement build is a visible share of the platform's cost.
    """
    parameters = {"b_tenant_id": tenant_id, "b_day": _start_of_day()}
    async with ctx.sessionmaker() as session:
        tier_name, executions_today, concurrent_runs = (await session.execute(_RUN_USAGE, parameters)).one()
    tier = get_tier(tier_name)
    quotas = tier.quotas
    if executions_today >= quotas.executions_per_day:
        raise _refuse(
            tier,
            "executions_per_day",
            executions_today,
            quotas.executions_per_day,
            "wait until 00:00 UTC",
        )
    if concurrent_runs >= quotas.concurrent_runs:
        raise _refuse(
            tier,
            "concurrent_runs",
            concurrent_runs,
            quotas.concurrent_runs,
            "wait for a running execution to finish",
        )
