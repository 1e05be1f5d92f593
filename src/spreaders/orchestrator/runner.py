"""Start a run through the template's streaming entry and, when asked, follow it on the same request.

One HTTP request does the work that used to take a start call, status polls and an output fetch:
n8n streams the execution id first (the entry reply), then a result chunk from each branch end, and
closes the response when the run ends. Reading it to the end is execute-and-wait; stopping after
the id is start-only. When the stream alone cannot prove the outcome (a node failed, several branch
ends, the template answers HTTP itself, the run went to `waiting`), n8n's execution record is read
once, by id, after the stream ends.

While a caller waits, a timer records the n8n execution id after `ID_RECORD_AFTER_S` (so status
queries and the monitor can follow a long run) and reports progress every `PROGRESS_EVERY_S`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from spreaders.bootstrap import AppContext
from spreaders.db.base import utcnow
from spreaders.errors import NotFound, Unavailable, UpstreamError
from spreaders.monitor import service as monitor
from spreaders.monitor.models import WorkflowExecution
from spreaders.monitor.schemas import FINISHED_STATUSES, ExecutionRead
from spreaders.orchestrator import records, recovery
from spreaders.orchestrator.entry import ENTRY_REPLY_NODE, RUN_HEADER, is_result_node
from spreaders.orchestrator.models import Deployment
from spreaders.orchestrator.n8n_client import N8nClient

logger = logging.getLogger(__name__)

ID_RECORD_AFTER_S = 1.0
PROGRESS_EVERY_S = 5.0
# Slack between this machine's clock and n8n's when attributing a refused run by time.
CLOCK_SLACK_S = 2.0
NOT_REPORTED = (
    "n8n ended the run without reporting an execution (it refused to start it, for example because "
    "a node lacks a required parameter)"
)

# Called with (progress, total, message) while a run is awaited; MCP turns it into progress notifications.
RunProgress = Callable[[float, float | None, str], Awaitable[None]]
Redeploy = Callable[[Deployment], Awaitable[Deployment]]


def _content(chunk: dict[str, Any]) -> dict[str, Any]:
    try:
        content = json.loads(str(chunk.get("content") or ""))
    except ValueError:
        return {}
    return content if isinstance(content, dict) else {}


def _at(epoch_ms: float | None) -> datetime | None:
    return datetime.fromtimestamp(epoch_ms / 1000, tz=UTC) if epoch_ms else None


@dataclass
class RunStream:
    """What the entry's response said so far."""

    execution_id: str | None = None
    results: list[dict[str, Any]] = field(default_factory=list)
    node_failed: bool = False
    first_ms: float | None = None
    last_ms: float | None = None
    opened: bool = False
    ended: bool = False
    sent_at: datetime = field(default_factory=utcnow)

    def add(self, chunk: dict[str, Any]) -> None:
        metadata = chunk.get("metadata") or {}
        stamp = metadata.get("timestamp")
        if isinstance(stamp, int | float) and not isinstance(stamp, bool):
            self.first_ms = self.first_ms or stamp
            self.last_ms = stamp
        node = str(metadata.get("nodeName") or "")
        if chunk.get("type") == "error":
            self.node_failed = True  # also sent for nodes that continue on failure: n8n decides
        elif chunk.get("type") == "item" and node == ENTRY_REPLY_NODE:
            execution_id = _content(chunk).get("executionId")
            self.execution_id = str(execution_id) if execution_id is not None else None
        elif chunk.get("type") == "item" and is_result_node(node):
            self.results.append(_content(chunk))

    def proves_success(self) -> bool:
        """The run ended at its only branch end with no node failing: n8n would say `success`."""
        return (
            self.ended
            and self.execution_id is not None
            and not self.node_failed
            and bool(self.results)
            and self.results[-1].get("ends") == 1
        )

    def success_values(self) -> dict[str, Any]:
        result = self.results[-1]
        items = result.get("items")
        count = result.get("item_count")
        return {
            "status": "success",
            "started_at": _at(self.first_ms) or utcnow(),
            "finished_at": _at(self.last_ms) or utcnow(),
            "output": monitor.compact_output(
                str(result.get("node") or ""),
                items if isinstance(items, list) else [],
                count if isinstance(count, int) else 0,
            ),
        }


@dataclass
class RunReport:
    """The record after the request, and whether the run still needs following through n8n's API."""

    execution: ExecutionRead
    follow: bool = False


class _Timer:
    """Record the n8n id of a run that lasts, and report progress, until stopped.

    Nothing runs for a short run: the first step is scheduled with `call_later`, and only a run
    still going at `ID_RECORD_AFTER_S` gets a task.
    """

    def __init__(
        self,
        ctx: AppContext,
        row: WorkflowExecution,
        stream: RunStream,
        timeout_s: float,
        run_progress: RunProgress | None,
    ) -> None:
        self._ctx, self._row, self._stream = ctx, row, stream
        self._timeout_s, self._progress = timeout_s, run_progress
        self._stop = asyncio.Event()
        self._started = time.monotonic()
        self._task: asyncio.Task[None] | None = None
        self._handle = asyncio.get_running_loop().call_later(ID_RECORD_AFTER_S, self._begin)

    def _begin(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        try:
            await self._steps()
        except Exception:  # the outermost wrapper of this background job: the run itself goes on
            logger.exception("recording or reporting progress of execution %s failed", self._row.id)

    async def _steps(self) -> None:
        recorded = False
        while True:
            n8n_id = self._stream.execution_id
            if n8n_id is not None and not recorded:
                started = _at(self._stream.first_ms) or utcnow()
                await records.write_started(self._ctx, self._row, n8n_execution_id=n8n_id, started_at=started)
                recorded = True
            if self._progress is not None:
                elapsed = time.monotonic() - self._started
                await self._progress(elapsed, self._timeout_s, f"execution {self._row.id} is running")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), timeout=PROGRESS_EVERY_S)
                return

    async def stop(self) -> None:
        """Stop after the step in hand (never cut a database write in half)."""
        self._handle.cancel()
        self._stop.set()
        if self._task is not None:
            await self._task


async def _read_stream(
    client: N8nClient,
    deployment: Deployment,
    run_id: str,
    parameters: dict[str, Any],
    stream: RunStream,
    *,
    until_id: bool,
    redeploy: Redeploy,
) -> Deployment:
    """Call the entry and read its chunks into `stream`; if n8n lost the workflow, deploy it again once."""
    for attempt in range(2):
        try:
            headers = {RUN_HEADER: run_id}
            async with client.stream_webhook(deployment.entry_path, parameters, headers=headers) as chunks:
                stream.opened = True
                async for chunk in chunks:
                    stream.add(chunk)
                    if until_id and stream.execution_id is not None:
                        return deployment
                stream.ended = True
                return deployment
        except NotFound:
            if attempt:
                raise
            deployment = await redeploy(deployment)
    raise AssertionError("unreachable")  # pragma: no cover


async def run(
    ctx: AppContext,
    client: N8nClient,
    *,
    deployment: Deployment,
    row: WorkflowExecution,
    parameters: dict[str, Any],
    wait: bool,
    timeout_s: float,
    run_progress: RunProgress | None,
    redeploy: Redeploy,
) -> RunReport:
    """Start the recorded run `row`; with `wait`, follow it on the same request until `timeout_s`."""
    stream = RunStream()
    timer = _Timer(ctx, row, stream, timeout_s, run_progress) if wait else None
    cut = False
    try:
        async with asyncio.timeout(timeout_s):
            deployment = await _read_stream(
                client, deployment, row.id, parameters, stream, until_id=not wait, redeploy=redeploy
            )
    except TimeoutError:
        pass  # still running: recorded as such below, followed by the monitor or a later wait
    except (Unavailable, UpstreamError, NotFound) as exc:
        if stream.opened and type(exc) is Unavailable:
            cut = True  # n8n went away mid-run: the monitor marks the run with the reason
        else:
            await records.write(ctx, row, {"status": "error", "error": exc.message, "finished_at": utcnow()})
            raise
    finally:
        if timer is not None:
            await timer.stop()
    values: dict[str, Any] = {"deployment_id": deployment.id, "n8n_workflow_id": deployment.n8n_workflow_id}
    if stream.proves_success():
        values.update(n8n_execution_id=stream.execution_id, **stream.success_values())
        return RunReport(await records.write(ctx, row, values))
    return await _settle(ctx, client, row, stream, values, cut=cut)


async def _find_unnamed(
    ctx: AppContext, client: N8nClient, row: WorkflowExecution, stream: RunStream, workflow_id: str
) -> dict[str, Any] | None:
    """n8n's record of a run the stream did not name: by its run id, or as a run n8n refused.

    A run n8n refuses to start (`WorkflowHasIssuesError`: a node on its path lacks a required
    parameter) ends the stream at once without a chunk, and n8n records it without trigger data, so
    it is attributed by workflow and time instead.
    """
    found = await recovery.find_execution(client, workflow_id=workflow_id, run_id=row.id)
    if found is not None or not stream.ended:
        return found
    async with ctx.sessionmaker() as session:
        known = await monitor.recorded_n8n_ids(
            session, tenant_id=row.tenant_id, instance_id=row.instance_id, n8n_workflow_id=workflow_id
        )
    since = stream.sent_at - timedelta(seconds=CLOCK_SLACK_S)
    return await recovery.find_refused(client, workflow_id=workflow_id, since=since, known=known)


async def _settle(
    ctx: AppContext,
    client: N8nClient,
    row: WorkflowExecution,
    stream: RunStream,
    values: dict[str, Any],
    *,
    cut: bool,
) -> RunReport:
    """Record a run whose stream did not prove its outcome, asking n8n what it needs to know."""
    n8n_execution: dict[str, Any] | None = None
    n8n_id = stream.execution_id
    if n8n_id is None and not cut:
        n8n_execution = await _find_unnamed(ctx, client, row, stream, str(values["n8n_workflow_id"]))
        n8n_id = str(n8n_execution["id"]) if n8n_execution is not None else None
    if n8n_id is None:
        if stream.ended:
            values.update(status="error", error=NOT_REPORTED, finished_at=utcnow())
        return RunReport(await records.write(ctx, row, values))
    values["n8n_execution_id"] = n8n_id
    if not stream.ended:  # start-only, timed out, or cut: it runs on (or the monitor finds it dead)
        values.update(status="running", started_at=_at(stream.first_ms) or utcnow())
        return RunReport(await records.write(ctx, row, values))
    if n8n_execution is None:
        n8n_execution = await client.get_execution(n8n_id, include_data=True)
    values.update(records.state_values(row, n8n_execution))
    read = await records.write(ctx, row, values)
    return RunReport(read, follow=read.status not in FINISHED_STATUSES)
