from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header
from pydantic import BaseModel, Field

from spreaders.api.deps import Ctx, CurrentPrincipal, require
from spreaders.monitor.schemas import ExecutionRead
from spreaders.orchestrator import service as orchestrator

router = APIRouter(tags=["workflows"])


class ExecuteRequest(BaseModel):
    parameters: dict[str, Any] = Field(
        default_factory=dict, description="Handed to the workflow as trigger data."
    )
    wait: bool = Field(default=True, description="Wait for the execution to finish before answering.")
    timeout_s: float = Field(default=120.0, gt=0, le=3600)
    idempotency_key: str | None = Field(default=None, max_length=200)


@router.post("/workflows/{template_id}/execute", dependencies=[require("workflows:execute")])
async def execute_workflow(
    template_id: str,
    ctx: Ctx,
    principal: CurrentPrincipal,
    body: ExecuteRequest,
    idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
) -> ExecutionRead:
    """Deploy the template into your n8n if needed, start it and (by default) wait for the result."""
    return await orchestrator.execute(
        ctx,
        principal=principal,
        template_id=template_id,
        parameters=body.parameters,
        idempotency_key=body.idempotency_key or idempotency_key,
        wait=body.wait,
        timeout_s=body.timeout_s,
    )
