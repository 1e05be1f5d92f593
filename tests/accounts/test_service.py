from __future__ import annotations

import pytest
from sqlalchemy import select

from spreaders.accounts import service as accounts
from spreaders.accounts.models import ApiKey
from spreaders.accounts.schemas import Principal
from spreaders.bootstrap import AppContext
from spreaders.errors import Unauthorized


async def test_api_key_is_shown_once_and_authenticates_to_its_tenant(
    app: AppContext, principal: Principal
) -> None:
    async with app.unit_of_work() as session:
        created = await accounts.create_api_key(session, principal=principal, label="ci")
    async with app.unit_of_work() as session:
        resolved = await accounts.authenticate_api_key(session, key=created.key)
    assert resolved.tenant_id == principal.tenant_id
    assert resolved.user_id == principal.user_id


async def test_database_keeps_only_a_hash_of_the_api_key(app: AppContext, principal: Principal) -> None:
    async with app.unit_of_work() as session:
        created = await accounts.create_api_key(session, principal=principal)
    async with app.sessionmaker() as session:
        row = (await session.execute(select(ApiKey).where(ApiKey.id == created.id))).scalar_one()
    assert created.key not in (row.key_hash, row.prefix)
    assert len(row.key_hash) == 64


@pytest.mark.parametrize("bad_key", ["", "nope", "spr_" + "x" * 43])
async def test_wrong_api_key_is_refused(app: AppContext, bad_key: str) -> None:
    async with app.unit_of_work() as session:
        with pytest.raises(Unauthorized):
            await accounts.authenticate_api_key(session, key=bad_key)


async def test_embedded_mode_creates_one_local_tenant(app: AppContext) -> None:
    async with app.unit_of_work() as session:
        again = await accounts.ensure_local_principal(session)
    assert again == app.local_principal
