from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from pydantic import BaseModel


@dataclass(frozen=True)
class InstanceConnection:
    """What the orchestrator needs to talk to a running instance; the key stays out of reprs."""

    instance_id: str
    base_url: str
    api_key: str = field(repr=False)


class InstanceRead(BaseModel):
    id: str
    kind: str  # dedicated | seat (a member of a shared process: pid, port and folder are the shared ones)
    backend: str
    status: str
    version: str
    base_url: str
    pid: int | None
    running: bool
    bootstrapped: bool
    data_dir: str
    created_at: datetime
    last_error: str
    tier: str
    heap_mb: int  # V8 heap of the n8n process (`--max-old-space-size`), derived from the tier
