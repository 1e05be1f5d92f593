"""Credential data for n8n, checked against the schemas the real pinned n8n serves, then created there."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from spreaders.accounts.schemas import Principal
from spreaders.bootstrap import AppContext
from spreaders.errors import Invalid
from spreaders.orchestrator.n8n_client import N8nClient
from spreaders.provisioning import service as provisioning
from spreaders.vault.n8n_data import TOKEN_DATA_FIELD, OAuthClient, credential_data

pytestmark = pytest.mark.e2e

CLIENT = OAuthClient(
    authorization_url="http://127.0.0.1:9/auth",
    token_url="http://127.0.0.1:9/token",
    client_id="spreaders-client",
    scope="openid offline_access",
)


@pytest.fixture
async def n8n(app: AppContext, e2e_principal: Principal) -> AsyncIterator[N8nClient]:
    conn = await provisioning.connect(app, tenant_id=e2e_principal.tenant_id)
    yield N8nClient(app.http, base_url=conn.base_url, api_key=conn.api_key)


async def _accepted_by_n8n(n8n: N8nClient, n8n_type: str, data: dict[str, Any]) -> None:
    credential_id = await n8n.create_credential(name=f"check {n8n_type}", credential_type=n8n_type, data=data)
    await n8n.delete_credential(credential_id)


async def test_smtp_fields_are_typed_by_the_schema_and_completed(n8n: N8nClient) -> None:
    schema = await n8n.credential_schema("smtp")
    values = {"host": "smtp.example.test", "port": "465", "user": "ada", "password": "pw-123"}

    data = credential_data("smtp", schema, kind="basic", values=values)

    assert data["port"] == 465
    assert data["password"] == "pw-123"
    assert "disableStartTls" in data  # required by n8n's conditional schema, not by the account
    await _accepted_by_n8n(n8n, "smtp", data)


async def test_generic_oauth2_gets_endpoints_and_an_access_token_but_no_refresh_token(n8n: N8nClient) -> None:
    schema = await n8n.credential_schema("oAuth2Api")
    values = {"access_token": "at-1", "refresh_token": "rt-1", "token_type": "Bearer"}

    data = credential_data("oAuth2Api", schema, kind="oauth2", values=values, oauth_client=CLIENT)

    assert data[TOKEN_DATA_FIELD] == {"access_token": "at-1", "token_type": "Bearer"}
    assert data["accessTokenUrl"] == CLIENT.token_url and data["clientId"] == CLIENT.client_id
    assert "rt-1" not in repr(data)
    await _accepted_by_n8n(n8n, "oAuth2Api", data)


@pytest.mark.parametrize("n8n_type", ["linkedInOAuth2Api", "googleSheetsOAuth2Api", "twitterOAuth2Api"])
async def test_platform_oauth2_types_take_the_token_alone(n8n: N8nClient, n8n_type: str) -> None:
    schema = await n8n.credential_schema(n8n_type)

    data = credential_data(n8n_type, schema, kind="oauth2", values={"access_token": "at-2"})

    assert data[TOKEN_DATA_FIELD]["access_token"] == "at-2"
    await _accepted_by_n8n(n8n, n8n_type, data)


async def test_access_token_types_get_the_token_as_their_field(n8n: N8nClient) -> None:
    schema = await n8n.credential_schema("facebookGraphApi")

    data = credential_data("facebookGraphApi", schema, kind="oauth2", values={"access_token": "at-3"})

    assert data == {"accessToken": "at-3"}
    await _accepted_by_n8n(n8n, "facebookGraphApi", data)


async def test_values_the_type_does_not_know_are_left_out(n8n: N8nClient) -> None:
    schema = await n8n.credential_schema("httpHeaderAuth")

    data = credential_data(
        "httpHeaderAuth", schema, kind="api_key", values={"name": "X-Key", "value": "v", "extra": "x"}
    )

    assert data == {"name": "X-Key", "value": "v"}


async def test_a_connection_without_a_token_or_with_a_bad_number_is_refused_without_echoing_it(
    n8n: N8nClient,
) -> None:
    with pytest.raises(Invalid, match="no access token"):
        credential_data("oAuth2Api", await n8n.credential_schema("oAuth2Api"), kind="oauth2", values={})
    with pytest.raises(Invalid) as refused:
        credential_data(
            "smtp",
            await n8n.credential_schema("smtp"),
            kind="basic",
            values={"host": "h", "port": "SECRET-not-a-port", "user": "u", "password": "p"},
        )
    assert "SECRET" not in refused.value.message


def test_a_schema_that_cannot_be_met_names_what_is_missing_without_values() -> None:
    schema = {
        "type": "object",
        "properties": {"token": {"type": "string"}},
        "required": ["token", "tenantUrl"],
        "additionalProperties": False,
    }
    with pytest.raises(Invalid) as refused:
        credential_data("customApi", schema, kind="api_key", values={"token": "SECRET-value"})
    assert "tenantUrl" in refused.value.message
    assert "SECRET" not in refused.value.message
