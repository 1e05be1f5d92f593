from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

ExecutionStatus = Literal["new", "running", "success", "error", "waiting", "canceled", "crashed", "unknown"]
FINISHED_STATUSES: frozenset[str] = frozenset({"success", "error", "canceled", "crashed"})


class ExecutionRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str = Field(description="Spreaders execution id (exe_...).")
    template_id: str
    campaign_id: str | None
    instance_id: str
    n8n_workflow_id: str
    n8n_execution_id: str | None
    status: ExecutionStatus
    started_at: datetime | None
    finished_at: datetime | None
    duration_ms: int | None = None
    output: dict[str, Any] = Field(default_factory=dict, description="Compact, size-capped output summary.")
    error: str = ""
    error_node: str = ""
