"""Where a template runs: its deployment and the instance connection, remembered for a moment.

Looking both up costs two database round trips per run, as much as the rest of the platform's work
on a short run. They are remembered for `TTL_S`, as long as provisioning trusts a health check, so
a stale entry fails no more often than that check does; a run whose start fails forgets it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from spreaders.bootstrap import AppContext
from spreaders.orchestrator.models import Deployment
from spreaders.provisioning.schemas import InstanceConnection

TTL_S = 2.0


@dataclass(frozen=True)
class RunTarget:
    deployment: Deployment
    conn: InstanceConnection


def recalled(ctx: AppContext, *, tenant_id: str, template_id: str) -> RunTarget | None:
    seen = ctx.run_targets.get((tenant_id, template_id))
    if seen is None or seen[0] < time.monotonic():
        return None
    return seen[1]


def remember(ctx: AppContext, *, tenant_id: str, template_id: str, target: RunTarget) -> None:
    if target.deployment.credential_refs:
        return  # its credentials may change at any moment (a connect in another process): never cached
    ctx.run_targets[(tenant_id, template_id)] = (time.monotonic() + TTL_S, target)


def forget(ctx: AppContext, *, tenant_id: str, template_id: str) -> None:
    ctx.run_targets.pop((tenant_id, template_id), None)


def forget_tenant(ctx: AppContext, *, tenant_id: str) -> None:
    """Forget every remembered target of the tenant (its instance changed)."""
    for key in [key for key in ctx.run_targets if key[0] == tenant_id]:
        ctx.run_targets.pop(key, None)
