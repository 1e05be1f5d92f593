"""Vault fixtures: the real OAuth provider (oidc-provider) and a connected credential of it; an app on a
database and data folder of the test's own."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest_asyncio

from spreaders.bootstrap import AppContext, open_app
from spreaders.settings import Settings

from ..support.oauth_provider import connected_oauth_credential, oauth_ctx, oauth_provider
from .helpers import own_database

__all__ = ["connected_oauth_credential", "oauth_ctx", "oauth_provider"]


@pytest_asyncio.fixture(loop_scope="session")
async def own_settings(tmp_path: Path) -> AsyncIterator[Settings]:
    async with own_database(tmp_path) as url:
        yield Settings(data_dir=tmp_path / "data", database_url=url)


@pytest_asyncio.fixture(loop_scope="session")
async def own_app(own_settings: Settings) -> AsyncIterator[AppContext]:
    async with open_app(own_settings) as ctx:
        yield ctx
