"""Find the n8n execution of a platform run whose n8n id was never recorded.

Every run is started with its Spreaders id in a request header (`entry.RUN_HEADER`), which n8n keeps
in the entry node's item: in the execution's run data once the entry ran, and in its start stack
before that. A caller that died mid-run, a retried call with the same idempotency key, or the
execution monitor can therefore find the execution among the workflow's latest ones, whatever its
status, and follow it up instead of guessing.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from spreaders.orchestrator.entry import ENTRY_NODES, RUN_HEADER
from spreaders.orchestrator.n8n_client import N8nClient

# Executions looked at per status: runs of one workflow started since the lost one, plus margin.
SEARCH_DEPTH = 100


def _entry_items(n8n_execution: dict[str, Any]) -> list[dict[str, Any]]:
    """Items the entry emitted (run data) or was about to emit (start stack)."""
    data = n8n_execution.get("data") or {}
    run_data = (data.get("resultData") or {}).get("runData") or {}
    outputs: list[Any] = [run.get("data") for name in ENTRY_NODES for run in run_data.get(name) or []]
    stack = (data.get("executionData") or {}).get("nodeExecutionStack") or []
    outputs += [entry.get("data") for entry in stack if (entry.get("node") or {}).get("name") in ENTRY_NODES]
    items: list[dict[str, Any]] = []
    for output in outputs:
        for branch in (output or {}).get("main") or []:
            items += [item for item in branch or [] if isinstance(item, dict)]
    return items


def carries_run(n8n_execution: dict[str, Any], run_id: str) -> bool:
    """True when this n8n execution was started by the platform run `run_id`."""
    for item in _entry_items(n8n_execution):
        headers = (item.get("json") or {}).get("headers") or {}
        if isinstance(headers, dict) and headers.get(RUN_HEADER) == run_id:
            return True
    return False


async def find_execution(
    client: N8nClient, *, workflow_id: str, run_id: str, depth: int = SEARCH_DEPTH
) -> dict[str, Any] | None:
    """The n8n execution (with its data) that the platform run `run_id` started, or None.

    `depth` executions per status are looked at, newest first.
    """
    # n8n lists running executions only when asked for them by status; the rest come unfiltered.
    for status in ("running", None):
        params: dict[str, Any] = {"workflow_id": workflow_id, "limit": depth, "status": status}
        for execution in await client.recent_executions(**params):
            if carries_run(execution, run_id):
                return execution
    return None


def _started_at(n8n_execution: dict[str, Any]) -> datetime | None:
    value = n8n_execution.get("startedAt") or n8n_execution.get("createdAt")
    if not isinstance(value, str) or not value:
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


async def find_refused(
    client: N8nClient, *, workflow_id: str, since: datetime, known: set[str]
) -> dict[str, Any] | None:
    """A run of the workflow n8n refused to start since `since`, not among `known` n8n ids, or None.

    n8n records such a run (`error`, e.g. "The workflow has issues and cannot be executed") without
    any trigger data, so it cannot be matched by run id; it is attributed by workflow and time. Two
    refused runs of one workflow at the same moment fail for the same reason, so taking either is
    harmless.
    """
    for execution in await client.recent_executions(workflow_id=workflow_id, status="error", limit=20):
        started = _started_at(execution)
        if (
            str(execution.get("id")) not in known
            and started is not None
            and started >= since
            and not _entry_items(execution)
        ):
            return execution
    return None
