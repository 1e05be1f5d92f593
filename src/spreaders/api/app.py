"""The HTTP front door: REST under /api/v1, MCP (Streamable HTTP) at /mcp, web pages at /, /metrics."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from starlette.routing import Route

from spreaders import __version__
from spreaders.api.errors import install_error_handlers
from spreaders.api.metrics import router as metrics_router
from spreaders.api.routes import router as api_router
from spreaders.bootstrap import AppContext, open_app
from spreaders.errors import Unavailable
from spreaders.mcp.http import MCP_PATH, build_http
from spreaders.monitor.jobs import monitor_settings, run_monitor, stop_monitor
from spreaders.monitor.metrics import MonitorMetrics
from spreaders.settings import MonitorSettings, Settings
from spreaders.web.routes import router as web_router


def create_app(settings: Settings, *, monitor: MonitorSettings | None = None) -> FastAPI:
    """Build the app; the lifespan opens the context, instruments it and runs the execution monitor."""
    monitor = monitor or monitor_settings(settings)
    metrics = MonitorMetrics()

    def current_ctx() -> AppContext:
        ctx = getattr(app.state, "ctx", None)
        if not isinstance(ctx, AppContext):
            raise Unavailable("The application is not started yet.", hint="Retry once startup has finished.")
        return ctx

    mcp = build_http(settings, current_ctx)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with open_app(settings) as ctx, mcp.session_manager.run():
            app.state.ctx = ctx
            uninstrument = metrics.instrument(ctx.engine, ctx.http, ctx.streams, ctx.inline)
            stop = asyncio.Event()
            loop = (
                asyncio.create_task(run_monitor(ctx, stop=stop, config=monitor, metrics=metrics))
                if monitor.enabled
                else None
            )
            try:
                yield
            finally:
                stop.set()
                if loop is not None:
                    await stop_monitor(loop)
                uninstrument()

    app = FastAPI(
        title="Spreaders",
        version=__version__,
        description="Turn one marketing sentence into running n8n workflows.",
        lifespan=lifespan,
    )
    app.state.metrics = metrics
    install_error_handlers(app)
    app.include_router(api_router, prefix="/api/v1")
    app.include_router(metrics_router)
    app.include_router(web_router)
    # The MCP app answers exactly at /mcp (a Mount would redirect /mcp to /mcp/); it brings its own
    # bearer-auth middleware, so REST routes keep their own dependencies.
    app.router.routes.append(Route(MCP_PATH, endpoint=mcp.app))
    return app
