"""`GET /metrics`: the app's Prometheus registry in the text exposition format (no tenant data in it)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from spreaders.errors import Unavailable
from spreaders.monitor.metrics import MonitorMetrics

router = APIRouter(tags=["meta"])


@router.get("/metrics", include_in_schema=False)
async def metrics(request: Request) -> Response:
    registry = getattr(request.app.state, "metrics", None)
    if not isinstance(registry, MonitorMetrics):
        raise Unavailable("Metrics are not set up on app.state.metrics.")
    return Response(generate_latest(registry.registry), media_type=CONTENT_TYPE_LATEST)
