from __future__ import annotations

from fastapi import APIRouter

from spreaders.api.deps import Ctx, CurrentPrincipal, require
from spreaders.provisioning import service as provisioning
from spreaders.provisioning.schemas import InstanceRead

router = APIRouter(prefix="/instances", tags=["instances"])


@router.get("", dependencies=[require("instances:read")])
async def list_instances(ctx: Ctx, principal: CurrentPrincipal) -> list[InstanceRead]:
    """Your workspace's n8n instances (none until the first run provisions one)."""
    found = await provisioning.status(ctx, tenant_id=principal.tenant_id)
    return [found] if found else []
