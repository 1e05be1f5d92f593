from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

ExecutionStatus = Literal["new", "running", "success", "error", "waiting", "canceled", "crashed", "unknown"]
FINISHED_STATUSES: frozenset[str] = frozenset({"success", "error", "canceled", "crashed"})
# Statuses the monitor keeps asking n8n about until they end ("unknown" included so nothing sticks).
ACTIVE_STATUSES: frozenset[str] = frozenset({"new", "running", "waiting", "unknown"})


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


class NodeRun(BaseModel):
    """One run of one node, from n8n's run data (a node inside a loop has several)."""

    node: str
    run: int = Field(description="0 for the node's first run, 1 for its second, ...")
    status: str = Field(description="n8n's status for this run: success, error, ...")
    items_out: int = Field(description="Items on the node's outputs (all branches).")
    started_at: datetime | None
    duration_ms: int | None
    error: str = ""


class ExecutionLogs(BaseModel):
    execution_id: str
    n8n_execution_id: str | None
    status: ExecutionStatus
    nodes: list[NodeRun] = Field(description="Node runs in the order n8n ran them.")
    error: str = ""
    error_node: str = ""


class MonitorPassReport(BaseModel):
    """What one monitor pass saw and did."""

    active: int = 0
    synced: int = 0
    finished: list[str] = Field(default_factory=list)
    crashed: list[str] = Field(default_factory=list)
    recovered: list[str] = Field(
        default_factory=list, description="Runs without an n8n id that were found in n8n and followed up."
    )
    instances_checked: int = 0
    instances_up: int = 0
    instances_down: list[str] = Field(default_factory=list)
    restarted: list[str] = Field(default_factory=list)
    restart_failed: list[str] = Field(default_factory=list)
