from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from spreaders.api.deps import Ctx, CurrentPrincipal, require
from spreaders.provisioning import lifecycle
from spreaders.provisioning.lifecycle import BackupRead, InstanceStatus
from spreaders.provisioning.tiers import TierName

router = APIRouter(prefix="/instances", tags=["instances"])


class ScaleRequest(BaseModel):
    tier: TierName


@router.get("", dependencies=[require("instances:read")])
async def list_instances(ctx: Ctx, principal: CurrentPrincipal) -> list[InstanceStatus]:
    """Your workspace's n8n instances with tier, resources, health and usage against the tier's quotas
    (none until the first run provisions one)."""
    return await lifecycle.list_instances(ctx, tenant_id=principal.tenant_id)


@router.get("/{instance_id}", dependencies=[require("instances:read")])
async def get_instance(instance_id: str, ctx: Ctx, principal: CurrentPrincipal) -> InstanceStatus:
    return await lifecycle.describe(ctx, tenant_id=principal.tenant_id, instance_id=instance_id)


@router.post("/{instance_id}/scale", dependencies=[require("instances:write")])
async def scale_instance(
    instance_id: str, body: ScaleRequest, ctx: Ctx, principal: CurrentPrincipal
) -> InstanceStatus:
    """Move the workspace to another tier; a running instance restarts with the tier's limits."""
    return await lifecycle.scale(
        ctx, tenant_id=principal.tenant_id, instance_id=instance_id, tier_name=body.tier
    )


@router.post("/{instance_id}/deprovision", dependencies=[require("instances:write")])
async def deprovision_instance(instance_id: str, ctx: Ctx, principal: CurrentPrincipal) -> BackupRead:
    """Back up the instance's workflows and (still encrypted) credentials, then stop and remove it."""
    return await lifecycle.deprovision(ctx, tenant_id=principal.tenant_id, instance_id=instance_id)


@router.post("/{instance_id}/restore", dependencies=[require("instances:write")])
async def restore_instance(instance_id: str, ctx: Ctx, principal: CurrentPrincipal) -> InstanceStatus:
    """Bring a deprovisioned instance back from its latest backup."""
    return await lifecycle.restore(ctx, tenant_id=principal.tenant_id, instance_id=instance_id)
