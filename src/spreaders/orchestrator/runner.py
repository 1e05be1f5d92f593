"""Start a run through one of the template's entries and, when asked, wait for it on the same request.

Execute-and-wait calls the wait entry: one request, one answer when the run ends, which for a run
that ended at its only branch end is the result node's summary with the n8n execution id. Start-only
calls read the execution id from the streaming entry and hang up. When the answer does not prove the
outcome (a node failed, several branch ends, the run went to `waiting`), or the template answers
HTTP itself (no wait entry), n8n's execution record is read once after the run ends; the id of a run
the answer does not name is found by the platform's run id, which every run carries in a header
(see `recovery`).

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
from spreaders.orchestrator.entry import ENTRY_REPLY_NODE, RESULT_MARK, RUN_HEADER
from spreaders.orchestrator.models import Deployment
from spreaders.orchestrator.n8n_client import N8nClient, RunDropped, WebhookAnswer

logger = logging.getLogger(__name__)

ID_RECORD_AFTER_S = 1.0
PROGRESS_EVERY_S = 5.0
# Slack between this machine's clock and n8n's when attributing a refused run by time.
CLOCK_SLACK_S = 2.0
# A run that just ended is among its workflow's latest executions: those are searched first.
JUST_ENDED_DEPTH = 5
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
    """What the platform learnt of the run so far (from the entry's stream or the wait entry's answer)."""

    execution_id: str | None = None
    first_ms: float | None = None
    opened: bool = False
    ended: bool = False
    sent_at: datetime = field(default_factory=utcnow)

    def add(self, chunk: dict[str, Any]) -> None:
        metadata = chunk.get("metadata") or {}
        stamp = metadata.get("timestamp")
        if isinstance(stamp, int | float) and not isinstance(stamp, bool):
            self.first_ms = self.first_ms or stamp
        if chunk.get("type") == "item" and metadata.get("nodeName") == ENTRY_REPLY_NODE:
            execution_id = _content(chunk).get("executionId")
            self.execution_id = str(execution_id) if execution_id is not None else None


def result_summary(answer: WebhookAnswer | None) -> dict[str, Any] | None:
    """The result node's summary when the wait entry answered with one (the run ended at a branch end)."""
    if answer is None or answer.status != 200 or not isinstance(answer.body, dict):
        return None
    body = answer.body
    return body if body.get(RESULT_MARK) is True and body.get("executionId") is not None else None


def proves_success(summary: dict[str, Any]) -> bool:
    """The run ended at its only branch end: n8n answers with the last node only when none failed."""
    return summary.get("ends") == 1


def success_values(summary: dict[str, Any], sent_at: datetime) -> dict[str, Any]:
    items, count = summary.get("items"), summary.get("item_count")
    return {
        "status": "success",
        "n8n_execution_id": str(summary["executionId"]),
        # This machine's clock on both ends: n8n's answer carries no timings.
        "started_at": sent_at,
        "finished_at": utcnow(),
        "output": monitor.compact_output(
            str(summary.get("node") or ""),
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
        find_id: Callable[[], Awaitable[str | None]] | None = None,
    ) -> None:
        self._ctx, self._row, self._stream = ctx, row, stream
        self._timeout_s, self._progress = timeout_s, run_progress
        self._find_id = find_id  # for a run whose request does not name it until it ends
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
            if self._stream.execution_id is None and self._find_id is not None:
                self._stream.execution_id = await self._find_id()
            n8n_id = self._stream.execution_id
            if n8n_id is not None and not recorded:
                started = _at(self._stream.first_ms) or self._stream.sent_at
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


async def _call_wait_entry(
    client: N8nClient, deployment: Deployment, run_id: str, parameters: dict[str, Any], *, redeploy: Redeploy
) -> tuple[WebhookAnswer, Deployment]:
    """Call the wait entry; if n8n lost the workflow, deploy it again once."""
    for attempt in range(2):
        if deployment.wait_path is None:  # redeployed as a template that answers HTTP itself
            raise NotFound(
                f"Template deployment {deployment.id} has no wait entry any more.",
                hint="Run it again: it is started through its streaming entry now.",
            )
        try:
            answer = await client.call_webhook(deployment.wait_path, parameters, headers={RUN_HEADER: run_id})
            return answer, deployment
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
    if wait and deployment.wait_path is not None:
        return await _run_and_wait(
            ctx,
            client,
            deployment=deployment,
            row=row,
            parameters=parameters,
            timeout_s=timeout_s,
            run_progress=run_progress,
            redeploy=redeploy,
        )
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
        if stream.opened and isinstance(exc, RunDropped):
            cut = True  # n8n went away mid-run: the monitor marks the run with the reason
        else:
            await records.write(ctx, row, {"status": "error", "error": exc.message, "finished_at": utcnow()})
            raise
    finally:
        if timer is not None:
            await timer.stop()
    values: dict[str, Any] = {"deployment_id": deployment.id, "n8n_workflow_id": deployment.n8n_workflow_id}
    return await _settle(ctx, client, row, stream, values, cut=cut)


async def _run_and_wait(
    ctx: AppContext,
    client: N8nClient,
    *,
    deployment: Deployment,
    row: WorkflowExecution,
    parameters: dict[str, Any],
    timeout_s: float,
    run_progress: RunProgress | None,
    redeploy: Redeploy,
) -> RunReport:
    """Run through the wait entry: one request, answered when the run ends."""
    stream = RunStream()

    async def find_id() -> str | None:
        try:
            found = await recovery.find_execution(
                client, workflow_id=deployment.n8n_workflow_id, run_id=row.id
            )
        except (Unavailable, NotFound):
            return None  # looked for again at the next progress step; the run's answer names it anyway
        return str(found["id"]) if found is not None else None

    timer = _Timer(ctx, row, stream, timeout_s, run_progress, find_id=find_id)
    answer: WebhookAnswer | None = None
    cut = False
    try:
        async with asyncio.timeout(timeout_s):
            answer, deployment = await _call_wait_entry(
                client, deployment, row.id, parameters, redeploy=redeploy
            )
    except TimeoutError:
        pass  # still running: recorded as such below, followed by the monitor or a later wait
    except RunDropped:
        cut = True  # n8n went away mid-run: the monitor marks the run with the reason
    except (Unavailable, UpstreamError, NotFound) as exc:
        await records.write(ctx, row, {"status": "error", "error": exc.message, "finished_at": utcnow()})
        raise
    finally:
        await timer.stop()
    values: dict[str, Any] = {"deployment_id": deployment.id, "n8n_workflow_id": deployment.n8n_workflow_id}
    summary = result_summary(answer)
    if summary is not None and proves_success(summary):
        values.update(success_values(summary, stream.sent_at))
        return RunReport(await records.write(ctx, row, values))
    if summary is not None:
        stream.execution_id = str(summary["executionId"])
    if cut and stream.execution_id is None:
        # n8n took the run and then went away before naming it: running as far as anyone knows, so
        # the monitor crashes it at once if the instance died, or finds it by its run id if not.
        values.update(status="running", started_at=stream.sent_at)
    stream.ended = answer is not None
    return await _settle(ctx, client, row, stream, values, cut=cut)


async def _find_unnamed(
    ctx: AppContext, client: N8nClient, row: WorkflowExecution, stream: RunStream, workflow_id: str
) -> dict[str, Any] | None:
    """n8n's record of a run the stream did not name: by its run id, or as a run n8n refused.

    A run n8n refuses to start (`WorkflowHasIssuesError`: a node on its path lacks a required
    parameter) ends the stream at once without a chunk, and n8n records it without trigger data, so
    it is attributed by workflow and time instead.
    """
    found = None
    if stream.ended:
        found = await recovery.find_execution(
            client, workflow_id=workflow_id, run_id=row.id, depth=JUST_ENDED_DEPTH
        )
    found = found or await recovery.find_execution(client, workflow_id=workflow_id, run_id=row.id)
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
        values.update(status="running", started_at=_at(stream.first_ms) or stream.sent_at)
        return RunReport(await records.write(ctx, row, values))
    if n8n_execution is None:
        n8n_execution = await client.get_execution(n8n_id, include_data=True)
    values.update(records.state_values(row, n8n_execution))
    read = await records.write(ctx, row, values)
    return RunReport(read, follow=read.status not in FINISHED_STATUSES)
