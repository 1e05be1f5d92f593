from __future__ import annotations

import asyncio
import hashlib
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select, text, update

from spreaders.accounts import service as accounts
from spreaders.accounts.schemas import Principal
from spreaders.bootstrap import AppContext
from spreaders.db.base import utcnow
from spreaders.errors import Conflict, Invalid, NotFound
from spreaders.vault import service as vault
from spreaders.vault.models import ConnectRequest, Credential
from spreaders.vault.schemas import CredentialRead

BASE_URL = "https://spreaders.example"
SECRET = "SG.super-secret-sendgrid-key-1234567890"


async def _new_principal(app: AppContext) -> Principal:
    async with app.unit_of_work() as session:
        tenant = await accounts.create_tenant(session, name="other tenant")
        user = await accounts.create_user(
            session, tenant_id=tenant.id, email=f"{uuid.uuid4().hex}@example.test"
        )
    return Principal(tenant_id=tenant.id, user_id=user.id)


async def _link_token(app: AppContext, principal: Principal, platform: str = "sendgrid") -> str:
    async with app.unit_of_work() as session:
        link = await vault.request_connect(session, principal=principal, platform=platform, base_url=BASE_URL)
    return link.url.rsplit("/connect/", 1)[1]


async def _connect(
    app: AppContext, principal: Principal, platform: str = "sendgrid", values: dict[str, str] | None = None
) -> CredentialRead:
    token = await _link_token(app, principal, platform)
    async with app.unit_of_work() as session:
        return await vault.complete_api_key_connect(
            session, app.cipher, token=token, values=values or {"apiKey": SECRET}
        )


async def test_connect_link_is_single_use_url_whose_token_is_stored_only_as_a_hash(
    app: AppContext, principal: Principal
) -> None:
    async with app.unit_of_work() as session:
        link = await vault.request_connect(
            session, principal=principal, platform="sendgrid", base_url=BASE_URL + "/"
        )
    token = link.url.removeprefix(f"{BASE_URL}/connect/")
    async with app.sessionmaker() as session:
        row = (
            await session.execute(
                select(ConnectRequest).where(ConnectRequest.tenant_id == principal.tenant_id)
            )
        ).scalar_one()
    assert link.kind == "api_key"
    assert len(token) >= 43
    assert link.url in link.instructions
    assert "Never ask the user to paste" in link.instructions
    assert row.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in row.token_hash
    assert row.user_id == principal.user_id
    assert row.expires_at == link.expires_at


async def test_open_connect_request_describes_the_fields_to_fill_in(
    app: AppContext, principal: Principal
) -> None:
    token = await _link_token(app, principal, "http_header")
    async with app.sessionmaker() as session:
        view = await vault.open_connect_request(session, token=token)
    assert view.platform == "http_header"
    assert [(f.name, f.secret) for f in view.fields] == [("name", False), ("value", True)]


async def test_completed_connect_stores_a_connected_credential_whose_values_open_for_deploy(
    app: AppContext, principal: Principal
) -> None:
    created = await _connect(app, principal, values={"apiKey": f"  {SECRET}\n", "ignored": "x"})
    async with app.sessionmaker() as session:
        opened = await vault.read_secret(
            session, app.cipher, tenant_id=principal.tenant_id, credential_id=created.id, reason="test"
        )
    assert created.status == "connected"
    assert created.kind == "api_key"
    assert created.label == "SendGrid"
    assert opened == {"apiKey": SECRET}


async def test_sealed_credential_does_not_open_with_another_tenants_associated_data(
    app: AppContext, principal: Principal
) -> None:
    other = await _new_principal(app)
    created = await _connect(app, principal)
    async with app.sessionmaker() as session:
        row = (await session.execute(select(Credential).where(Credential.id == created.id))).scalar_one()
    with pytest.raises(Invalid):
        app.cipher.open(row.secret, aad=vault.credential_aad(other.tenant_id, created.id))
    with pytest.raises(Invalid):
        app.cipher.open(row.secret, aad=vault.credential_aad(principal.tenant_id, "crd_other_row"))
    assert SECRET.encode() in app.cipher.open(
        row.secret, aad=vault.credential_aad(principal.tenant_id, created.id)
    )


async def test_database_column_holds_no_plaintext_secret(app: AppContext, principal: Principal) -> None:
    created = await _connect(app, principal)
    async with app.sessionmaker() as session:
        raw = (
            await session.execute(text("SELECT secret FROM credentials WHERE id = :id"), {"id": created.id})
        ).scalar_one()
    assert isinstance(raw, bytes)
    assert SECRET.encode() not in raw
    assert b"apiKey" not in raw


async def test_connect_link_cannot_be_used_twice(app: AppContext, principal: Principal) -> None:
    token = await _link_token(app, principal)
    async with app.unit_of_work() as session:
        await vault.complete_api_key_connect(session, app.cipher, token=token, values={"apiKey": SECRET})
    async with app.unit_of_work() as session:
        with pytest.raises(Conflict, match="already used"):
            await vault.complete_api_key_connect(session, app.cipher, token=token, values={"apiKey": "again"})
    async with app.sessionmaker() as session:
        with pytest.raises(Conflict, match="already used"):
            await vault.open_connect_request(session, token=token)
        listed = await vault.list_credentials(session, tenant_id=principal.tenant_id)
    assert len(listed) == 1


async def test_concurrent_duplicate_submits_store_exactly_one_credential(
    app: AppContext, principal: Principal
) -> None:
    token = await _link_token(app, principal)

    async def submit() -> CredentialRead:
        async with app.unit_of_work() as session:
            return await vault.complete_api_key_connect(
                session, app.cipher, token=token, values={"apiKey": SECRET}
            )

    outcomes = await asyncio.gather(submit(), submit(), return_exceptions=True)
    async with app.sessionmaker() as session:
        listed = await vault.list_credentials(session, tenant_id=principal.tenant_id)
    assert sorted(type(o).__name__ for o in outcomes) == ["ConnectLinkUsed", "CredentialRead"]
    assert len(listed) == 1


async def test_expired_connect_link_is_refused_with_a_request_for_a_new_one(
    app: AppContext, principal: Principal
) -> None:
    token = await _link_token(app, principal)
    async with app.unit_of_work() as session:
        await session.execute(
            update(ConnectRequest)
            .where(ConnectRequest.tenant_id == principal.tenant_id)
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
    async with app.unit_of_work() as session:
        with pytest.raises(Invalid, match="expired, ask"):
            await vault.open_connect_request(session, token=token)
        with pytest.raises(Invalid, match="expired"):
            await vault.complete_api_key_connect(session, app.cipher, token=token, values={"apiKey": SECRET})


async def test_unknown_connect_token_is_not_found(app: AppContext) -> None:
    async with app.sessionmaker() as session:
        with pytest.raises(NotFound):
            await vault.open_connect_request(session, token="no-such-token")


async def test_missing_required_field_stores_nothing_and_leaves_the_link_usable(
    app: AppContext, principal: Principal
) -> None:
    token = await _link_token(app, principal, "shopify")
    async with app.unit_of_work() as session:
        with pytest.raises(Invalid, match="Admin API access token, API secret key"):
            await vault.complete_api_key_connect(
                session, app.cipher, token=token, values={"shopSubdomain": "acme", "accessToken": "   "}
            )
    async with app.sessionmaker() as session:
        assert await vault.list_credentials(session, tenant_id=principal.tenant_id) == []
        view = await vault.open_connect_request(session, token=token)
    assert view.platform == "shopify"


async def test_connect_link_lifetime_must_be_positive_and_bounded(
    app: AppContext, principal: Principal
) -> None:
    async with app.unit_of_work() as session:
        for ttl in (0, -5, vault.MAX_TTL_SECONDS + 1):
            with pytest.raises(Invalid, match="ttl_seconds"):
                await vault.request_connect(
                    session, principal=principal, platform="openai", base_url=BASE_URL, ttl_seconds=ttl
                )


async def test_unknown_platform_is_refused_listing_the_known_platforms(
    app: AppContext, principal: Principal
) -> None:
    async with app.unit_of_work() as session:
        with pytest.raises(Invalid, match="myspace") as caught:
            await vault.request_connect(session, principal=principal, platform="myspace", base_url=BASE_URL)
    assert "mailchimp" in str(caught.value)
    assert "instagram" in str(caught.value)


async def test_oauth_platform_without_a_configured_app_tells_the_operator_what_to_set(
    app: AppContext, principal: Principal
) -> None:
    async with app.unit_of_work() as session:
        with pytest.raises(Invalid, match="no OAuth app is configured") as caught:
            await vault.request_connect(session, principal=principal, platform="instagram", base_url=BASE_URL)
    hint = caught.value.hint or ""
    assert "SPREADERS_OAUTH__CLIENTS__INSTAGRAM__CLIENT_ID" in hint
    assert f"{BASE_URL}/connect/oauth/instagram/callback" in hint
    assert "developers.facebook.com" in hint


async def test_credential_list_shows_metadata_and_never_values(app: AppContext, principal: Principal) -> None:
    created = await _connect(app, principal)
    async with app.sessionmaker() as session:
        listed = await vault.list_credentials(session, tenant_id=principal.tenant_id)
    assert [c.id for c in listed] == [created.id]
    assert set(CredentialRead.model_fields) == {
        "id",
        "platform",
        "kind",
        "label",
        "status",
        "status_message",
        "scopes",
        "expires_at",
        "created_at",
        "updated_at",
    }
    assert SECRET not in listed[0].model_dump_json()


async def test_deleted_credential_is_gone_from_the_list(app: AppContext, principal: Principal) -> None:
    created = await _connect(app, principal)
    async with app.unit_of_work() as session:
        await vault.delete_credential(session, tenant_id=principal.tenant_id, credential_id=created.id)
    async with app.sessionmaker() as session:
        assert await vault.list_credentials(session, tenant_id=principal.tenant_id) == []
        with pytest.raises(NotFound):
            await vault.read_secret(
                session, app.cipher, tenant_id=principal.tenant_id, credential_id=created.id, reason="test"
            )


async def test_another_tenant_cannot_see_read_or_delete_a_credential(
    app: AppContext, principal: Principal
) -> None:
    other = await _new_principal(app)
    created = await _connect(app, principal)
    async with app.unit_of_work() as session:
        with pytest.raises(NotFound):
            await vault.delete_credential(session, tenant_id=other.tenant_id, credential_id=created.id)
        with pytest.raises(NotFound):
            await vault.read_secret(
                session, app.cipher, tenant_id=other.tenant_id, credential_id=created.id, reason="test"
            )
        assert await vault.list_credentials(session, tenant_id=other.tenant_id) == []
        assert await vault.find_connected(session, tenant_id=other.tenant_id, platforms=["sendgrid"]) == {}
    async with app.sessionmaker() as session:
        assert [c.id for c in await vault.list_credentials(session, tenant_id=principal.tenant_id)] == [
            created.id
        ]


async def test_find_connected_maps_each_connected_platform_to_its_newest_credential(
    app: AppContext, principal: Principal
) -> None:
    await _connect(app, principal)
    newer = await _connect(app, principal)
    telegram = await _connect(app, principal, "telegram", {"accessToken": "123:abc"})
    async with app.sessionmaker() as session:
        found = await vault.find_connected(
            session, tenant_id=principal.tenant_id, platforms=["sendgrid", "telegram", "mailchimp"]
        )
    assert {p: c.id for p, c in found.items()} == {"sendgrid": newer.id, "telegram": telegram.id}
