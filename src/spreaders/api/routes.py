"""Every REST router under /api/v1, gathered in one place (no registration by import side effects)."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from spreaders import __version__
from spreaders.campaigns.routes import router as campaigns_router
from spreaders.monitor.routes import router as executions_router
from spreaders.orchestrator.routes import router as execute_router
from spreaders.planner.routes import router as planner_router
from spreaders.provisioning.routes import router as instances_router
from spreaders.registry.routes import router as workflows_router
from spreaders.vault.routes import router as credentials_router

router = APIRouter()
for sub in (
    planner_router,
    campaigns_router,
    workflows_router,
    execute_router,
    executions_router,
    credentials_router,
    instances_router,
):
    router.include_router(sub)


class Health(BaseModel):
    status: str
    version: str


@router.get("/health", tags=["meta"])
async def health() -> Health:
    return Health(status="ok", version=__version__)
