"""Prometheus metrics of the execution monitor, in a registry owned by the app (not the global one).

Execution transitions are counted where they are committed, whichever code path made them: an ORM
listener notes new rows and status changes of `WorkflowExecution` at flush time, the monitor notes its
guarded updates with `note_finished`, and the notes are counted only after the transaction commits
(dropped on rollback). Writes SQLite takes on the loop's thread (`db.inline`) are reported by their
callers after they commit, through the writer's commit hooks. n8n request latency comes from event
hooks on the app's HTTP client.
"""

from __future__ import annotations

import time
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import httpx
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from sqlalchemy import event, inspect
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlalchemy.orm import Session, UOWTransaction

from spreaders.db.inline import InlineWriter
from spreaders.monitor.models import WorkflowExecution
from spreaders.monitor.schemas import FINISHED_STATUSES
from spreaders.streaming_http import StreamingHttp

_NOTES_KEY = "spreaders.monitor.execution_events"
_DURATION_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600)
_REQUEST_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)

Undo = Callable[[], None]


@dataclass(frozen=True)
class ExecutionEvent:
    kind: str  # "started" or "finished"
    status: str = ""
    duration_s: float | None = None


def note_started(session: AsyncSession | Session) -> None:
    """Note that this transaction records a new execution (written without the ORM, so no flush
    shows it); it is counted if the transaction commits."""
    session.info.setdefault(_NOTES_KEY, []).append(ExecutionEvent("started"))


def note_finished(session: AsyncSession | Session, *, status: str, duration_s: float | None) -> None:
    """Note that this transaction finishes an execution; it is counted if the transaction commits."""
    session.info.setdefault(_NOTES_KEY, []).append(
        ExecutionEvent("finished", status=status, duration_s=duration_s)
    )


def _finish_event(row: WorkflowExecution) -> ExecutionEvent:
    duration = None
    if row.started_at is not None and row.finished_at is not None:
        duration = max((row.finished_at - row.started_at).total_seconds(), 0.0)
    return ExecutionEvent("finished", status=row.status, duration_s=duration)


def _events_in_flush(session: Session) -> list[ExecutionEvent]:
    events: list[ExecutionEvent] = []
    for obj in session.new:
        if isinstance(obj, WorkflowExecution):
            events.append(ExecutionEvent("started"))
            if obj.status in FINISHED_STATUSES:
                events.append(_finish_event(obj))
    for obj in session.dirty:
        if not isinstance(obj, WorkflowExecution):
            continue
        history = inspect(obj).attrs.status.history
        added, deleted = list(history.added or ()), list(history.deleted or ())
        was_finished = bool(deleted) and deleted[0] in FINISHED_STATUSES
        if added and added[0] in FINISHED_STATUSES and not was_finished:
            events.append(_finish_event(obj))
    return events


def _endpoint(path: str) -> str | None:
    """A bounded label for an n8n URL path, or None when the request is not one to n8n."""
    if path.startswith("/api/v1/"):
        return "api/" + path.removeprefix("/api/v1/").split("/", 1)[0]
    if path.startswith("/webhook/"):
        return "webhook"
    if path.startswith("/rest/"):
        return "rest/" + path.removeprefix("/rest/").split("/", 1)[0]
    return None


class MonitorMetrics:
    """The platform's metrics; `registry` is what `/metrics` (or the worker's port) exposes."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.executions_started = Counter(
            "spreaders_executions_started", "Executions the platform asked n8n to start.", registry=r
        )
        self.executions_finished = Counter(
            "spreaders_executions_finished", "Executions that ended, by final status.", ["status"], registry=r
        )
        self.execution_duration = Histogram(
            "spreaders_execution_duration_seconds",
            "Run time of finished executions (n8n start to stop), by final status.",
            ["status"],
            buckets=_DURATION_BUCKETS,
            registry=r,
        )
        self.n8n_request_duration = Histogram(
            "spreaders_n8n_request_duration_seconds",
            "Latency of HTTP requests to n8n (until the response headers), by endpoint and method.",
            ["endpoint", "method"],
            buckets=_REQUEST_BUCKETS,
            registry=r,
        )
        self.n8n_request_errors = Counter(
            "spreaders_n8n_request_errors",
            "HTTP requests to n8n answered with an error status, by endpoint and status.",
            ["endpoint", "reason"],
            registry=r,
        )
        self.instances_up = Gauge(
            "spreaders_n8n_instances_up", "n8n instances that passed the last health check.", registry=r
        )
        self.instances_down = Gauge(
            "spreaders_n8n_instances_down",
            "n8n instances that should run but failed the last health check.",
            registry=r,
        )
        self.instance_crashes = Counter(
            "spreaders_n8n_instance_crashes", "n8n instances found dead or unresponsive.", registry=r
        )
        self.instance_restarts = Counter(
            "spreaders_n8n_instance_restarts",
            "Restarts of dead n8n instances, by result.",
            ["result"],
            registry=r,
        )
        self.monitor_passes = Counter(
            "spreaders_monitor_passes", "Monitor passes, by result (ok or failed).", ["result"], registry=r
        )
        self.monitor_last_pass = Gauge(
            "spreaders_monitor_last_pass_timestamp_seconds",
            "Unix time the last monitor pass ended.",
            registry=r,
        )

    def record(self, events: list[ExecutionEvent]) -> None:
        for item in events:
            if item.kind == "started":
                self.executions_started.inc()
                continue
            self.executions_finished.labels(status=item.status).inc()
            if item.duration_s is not None:
                self.execution_duration.labels(status=item.status).observe(item.duration_s)

    def instrument(
        self,
        engine: AsyncEngine,
        http: httpx.AsyncClient,
        streams: StreamingHttp,
        inline: InlineWriter | None,
    ) -> Undo:
        """Count execution transitions committed through `engine` (and `inline`, the loop-thread
        writer of SQLite) and requests `http` and `streams` (runs) make to n8n.

        Returns the function that removes the instrumentation again (call it on shutdown).
        """
        undo_db = self._watch_executions(engine)
        undo_http = self._watch_requests(http)
        streams.observers.append(self._observe_request)
        if inline is not None:
            inline.commit_hooks.append(self._record_notes)

        def undo() -> None:
            if inline is not None:
                inline.commit_hooks.remove(self._record_notes)
            streams.observers.remove(self._observe_request)
            undo_http()
            undo_db()

        return undo

    def _record_notes(self, notes: Sequence[object]) -> None:
        self.record([note for note in notes if isinstance(note, ExecutionEvent)])

    def _watch_executions(self, engine: AsyncEngine) -> Undo:
        bind = engine.sync_engine

        # Session events are class-wide; the bind check keeps this registry to this app's engine.
        def after_flush(session: Session, _flush: UOWTransaction) -> None:
            if session.bind is bind:
                session.info.setdefault(_NOTES_KEY, []).extend(_events_in_flush(session))

        def after_commit(session: Session) -> None:
            if session.bind is bind:
                self.record(session.info.pop(_NOTES_KEY, []))

        def after_rollback(session: Session) -> None:
            if session.bind is bind:
                session.info.pop(_NOTES_KEY, None)

        listeners: list[tuple[str, Callable[..., None]]] = [
            ("after_flush", after_flush),
            ("after_commit", after_commit),
            ("after_rollback", after_rollback),
        ]
        for name, fn in listeners:
            event.listen(Session, name, fn)

        def undo() -> None:
            for name, fn in listeners:
                event.remove(Session, name, fn)

        return undo

    def _observe_request(self, method: str, path: str, seconds: float, status: int) -> None:
        endpoint = _endpoint(path)
        if endpoint is None:
            return
        self.n8n_request_duration.labels(endpoint=endpoint, method=method).observe(seconds)
        if status >= 400:
            self.n8n_request_errors.labels(endpoint=endpoint, reason=f"http_{status}").inc()

    def _watch_requests(self, http: httpx.AsyncClient) -> Undo:
        started: weakref.WeakKeyDictionary[httpx.Request, float] = weakref.WeakKeyDictionary()

        async def on_request(request: httpx.Request) -> None:
            started[request] = time.perf_counter()

        async def on_response(response: httpx.Response) -> None:
            request = response.request
            began = started.pop(request, None)
            if began is not None:
                seconds = time.perf_counter() - began
                self._observe_request(request.method, request.url.path, seconds, response.status_code)

        hooks: dict[str, list[Callable[..., Any]]] = http.event_hooks
        http.event_hooks = {
            "request": [*hooks.get("request", []), on_request],
            "response": [*hooks.get("response", []), on_response],
        }

        def undo() -> None:
            current = http.event_hooks
            http.event_hooks = {
                "request": [hook for hook in current.get("request", []) if hook is not on_request],
                "response": [hook for hook in current.get("response", []) if hook is not on_response],
            }

        return undo
