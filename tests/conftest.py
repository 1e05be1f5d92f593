"""Shared fixtures: a real database (SQLite file, or PostgreSQL when SPREADERS_TEST_DATABASE_URL names
one), the app context on it, and a fresh tenant per test so tests never see each other's rows."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import pytest_asyncio
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

from spreaders.accounts import service as accounts
from spreaders.accounts.schemas import Principal
from spreaders.bootstrap import AppContext, open_app
from spreaders.provisioning import service as provisioning
from spreaders.registry import service as registry
from spreaders.settings import Settings

REPO_ROOT = Path(__file__).resolve().parents[1]
CORPUS_DIR = REPO_ROOT.parent / "shared" / "corpus" / "n8n-workflows"


async def _create_pg_database(admin_url: str, name: str) -> str:
    engine = create_async_engine(admin_url, isolation_level="AUTOCOMMIT")
    async with engine.connect() as conn:
        await conn.execute(text(f'CREATE DATABASE "{name}"'))
    await engine.dispose()
    return admin_url.rsplit("/", 1)[0] + "/" + name


async def _drop_pg_database(admin_url: str, name: str) -> None:
    engine = create_async_engine(admin_url, isolation_level="AUTOCOMMIT")
    async with engine.connect() as conn:
        await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    await engine.dispose()


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("spreaders-data")


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def database_url(data_dir: Path) -> AsyncIterator[str]:
    """SQLite file by default; a throw-away PostgreSQL database when the environment names a server."""
    admin_url = os.environ.get("SPREADERS_TEST_DATABASE_URL", "")
    if not admin_url:
        yield f"sqlite+aiosqlite:///{data_dir / 'test.db'}"
        return
    admin_url = admin_url.replace("postgresql://", "postgresql+asyncpg://", 1)
    name = f"spreaders_test_{uuid.uuid4().hex[:10]}"
    url = await _create_pg_database(admin_url, name)
    yield url
    await _drop_pg_database(admin_url, name)


@pytest.fixture(scope="session")
def settings(data_dir: Path, database_url: str) -> Settings:
    return Settings(data_dir=data_dir, database_url=database_url)


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def app(settings: Settings) -> AsyncIterator[AppContext]:
    async with open_app(settings) as ctx:
        yield ctx


@pytest_asyncio.fixture(loop_scope="session")
async def session(app: AppContext) -> AsyncIterator[AsyncSession]:
    async with app.sessionmaker() as db_session:
        yield db_session
        await db_session.rollback()


@pytest_asyncio.fixture(loop_scope="session")
async def principal(app: AppContext) -> Principal:
    """A brand-new tenant and user for one test."""
    async with app.unit_of_work() as db_session:
        tenant = await accounts.create_tenant(db_session, name="test tenant")
        user = await accounts.create_user(
            db_session, tenant_id=tenant.id, email=f"{uuid.uuid4().hex}@example.test"
        )
    return Principal(tenant_id=tenant.id, user_id=user.id)


@pytest.fixture(scope="session")
def corpus_dir() -> Iterator[Path]:
    if not CORPUS_DIR.is_dir():
        pytest.fail(f"The shared corpus is missing at {CORPUS_DIR}; it ships beside the repository.")
    yield CORPUS_DIR


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def e2e_principal(app: AppContext) -> AsyncIterator[Principal]:
    """One tenant with a real, running n8n (the pinned release, started here) for end-to-end tests.

    Starting n8n costs ~7 s and ~650 MB, so the suite shares this one instance; tests that need
    isolation from each other use their own campaigns and executions inside it.
    """
    async with app.unit_of_work() as db_session:
        # enterprise: a dedicated process (which other areas' tests stop and kill), and the biggest
        # tier's quotas stay out of the way of the suite's runs (quotas and the pool have own tests).
        tenant = await accounts.create_tenant(db_session, name="e2e tenant", tier="enterprise")
        user = await accounts.create_user(db_session, tenant_id=tenant.id, email="e2e@example.test")
        await registry.load_starter(db_session, tenant_id=tenant.id, catalog=app.node_catalog())
    e2e = Principal(tenant_id=tenant.id, user_id=user.id)
    await provisioning.ensure_running(app, tenant_id=e2e.tenant_id)
    yield e2e
    await provisioning.stop(app, tenant_id=e2e.tenant_id)
