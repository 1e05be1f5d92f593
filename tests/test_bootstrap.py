from __future__ import annotations

from pathlib import Path

import pytest

from spreaders.bootstrap import open_app
from spreaders.db.base import new_id
from spreaders.errors import Unavailable
from spreaders.provisioning.models import N8nInstance
from spreaders.settings import Settings


async def test_missing_master_key_with_sealed_secrets_refuses_to_start(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    async with open_app(settings) as ctx, ctx.unit_of_work() as session:
        instance = N8nInstance(id=new_id("n8n"), tenant_id=ctx.local_principal.tenant_id, version="1")
        instance.secrets = ctx.cipher.seal(b"{}", aad="x")
        session.add(instance)
    assert settings.master_key_file is not None
    settings.master_key_file.unlink()

    with pytest.raises(Unavailable, match="master key"):
        async with open_app(settings):
            pass
    assert not settings.master_key_file.exists()


async def test_unreachable_database_is_a_clear_error(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, database_url="postgresql://nobody@127.0.0.1:1/none")
    with pytest.raises(Unavailable, match="Cannot open the database"):
        async with open_app(settings):
            pass
