"""The HTTP front door: REST under /api/v1, MCP (Streamable HTTP) at /mcp, web pages at /."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from spreaders import __version__
from spreaders.api.errors import install_error_handlers
from spreaders.api.routes import router as api_router
from spreaders.bootstrap import open_app
from spreaders.settings import Settings
from spreaders.web.routes import router as web_router


def create_app(settings: Settings) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with open_app(settings) as ctx:
            app.state.ctx = ctx
            yield

    app = FastAPI(
        title="Spreaders",
        version=__version__,
        description="Turn one marketing sentence into running n8n workflows.",
        lifespan=lifespan,
    )
    install_error_handlers(app)
    app.include_router(api_router, prefix="/api/v1")
    app.include_router(web_router)
    return app
