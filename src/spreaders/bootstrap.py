"""Builds the application context once per process: settings, database, cipher, HTTP clients."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import httpx
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from spreaders.accounts import service as accounts
from spreaders.accounts.schemas import Principal
from spreaders.db.inline import InlineWriter, inline_writer_for
from spreaders.db.migrate import upgrade_to_head
from spreaders.db.session import build_engine, build_sessionmaker
from spreaders.errors import Unavailable
from spreaders.registry.node_catalog import NodeCatalog, load_node_catalog
from spreaders.settings import Settings
from spreaders.streaming_http import StreamingHttp, open_streaming_http
from spreaders.vault.cipher import Cipher
from spreaders.vault.keys import build_cipher

if TYPE_CHECKING:
    from spreaders.orchestrator.targets import RunTarget


@dataclass
class AppContext:
    settings: Settings
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    cipher: Cipher
    http: httpx.AsyncClient  # n8n's REST API and everything else
    streams: StreamingHttp  # runs: n8n's streamed webhook answers (see spreaders.streaming_http)
    local_principal: Principal
    # Facts checked recently (key -> time.monotonic() deadline), so hot paths skip repeated checks.
    recently_checked: dict[str, float] = field(default_factory=dict)
    # (tenant, template) -> (deadline, where it runs): see orchestrator.targets.
    run_targets: dict[tuple[str, str], tuple[float, RunTarget]] = field(default_factory=dict)
    # SQLite files only: the runs' hot writes on the loop's thread (see spreaders.db.inline).
    inline: InlineWriter | None = None

    def node_catalog(self) -> NodeCatalog | None:
        """The node types of the pinned n8n (None until it is installed), for validating templates."""
        return load_node_catalog(self.settings.n8n.install_dir, self.settings.n8n.version)

    @asynccontextmanager
    async def unit_of_work(self) -> AsyncIterator[AsyncSession]:
        """One transaction: committed when the block ends cleanly, rolled back otherwise."""
        async with self.sessionmaker() as session:
            try:
                yield session
                await session.commit()
            except BaseException:
                await session.rollback()
                raise


async def _check_database(engine: AsyncEngine, url: str) -> None:
    try:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
    except (OSError, SQLAlchemyError) as exc:
        safe_url = engine.url.render_as_string(hide_password=True)
        raise Unavailable(
            f"Cannot open the database {safe_url}: {exc.__class__.__name__}.",
            hint="Check SPREADERS_DATABASE_URL and that the database server is running.",
        ) from exc


@asynccontextmanager
async def open_app(settings: Settings | None = None) -> AsyncIterator[AppContext]:
    """Open the database (migrated), the cipher and the local principal; close them on exit."""
    settings = settings or Settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = build_engine(settings.database_url)
    inline = inline_writer_for(settings.database_url)
    try:
        await _check_database(engine, settings.database_url)
        await upgrade_to_head(engine)
        cipher = await build_cipher(settings, engine)
        sessionmaker = build_sessionmaker(engine)
        async with sessionmaker() as session:
            principal = await accounts.ensure_local_principal(session)
            await session.commit()
        timeout_s = settings.n8n.request_timeout_s
        async with (
            httpx.AsyncClient(timeout=timeout_s) as http,
            open_streaming_http(connect_timeout_s=timeout_s) as streams,
        ):
            yield AppContext(
                settings=settings,
                engine=engine,
                sessionmaker=sessionmaker,
                cipher=cipher,
                http=http,
                streams=streams,
                local_principal=principal,
                inline=inline,
            )
    finally:
        if inline is not None:
            inline.close()
        await engine.dispose()
