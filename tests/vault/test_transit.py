"""The HashiCorp Vault Transit backend through the real `hvac` client, against a local HTTP stand-in of
the Transit endpoints (no Vault server can run here; see transit_standin.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pydantic import SecretStr

from spreaders.bootstrap import open_app
from spreaders.errors import Unavailable
from spreaders.settings import Settings, VaultSettings
from spreaders.vault import rotation
from spreaders.vault.cipher import Cipher
from spreaders.vault.errors import MasterKeyMissing, SealedValueInvalid, WrongMasterKey
from spreaders.vault.keyring import KeyId
from spreaders.vault.keyring.transit import TransitKeys
from spreaders.vault.sealed import row_aad

from .helpers import connect, new_principal, read
from .transit_standin import TOKEN, TransitStandIn

SECRET = "SG.transit-secret-5e1f"
AAD = row_aad("ten_a", "credentials", "crd_1")


@pytest.fixture
def vault_server() -> Iterator[TransitStandIn]:
    with TransitStandIn() as server:
        yield server


def _on_transit(settings: Settings, server: TransitStandIn, transit_key: str = "spreaders") -> Settings:
    vault = VaultSettings(
        backend="transit", transit_url=server.url, transit_token=SecretStr(TOKEN), transit_key=transit_key
    )
    return settings.model_copy(update={"vault": vault})


def test_transit_wraps_data_keys_in_vault_bound_to_the_row(vault_server: TransitStandIn) -> None:
    cipher = Cipher([TransitKeys(url=vault_server.url, token=TOKEN)])
    sealed = cipher.seal(SECRET.encode(), aad=AAD)

    assert cipher.open(sealed, aad=AAD) == SECRET.encode()
    assert Cipher.key_of(sealed) == KeyId("transit", 1)
    assert SECRET.encode() not in sealed
    assert {"POST encrypt", "POST decrypt"} <= set(vault_server.calls)
    with pytest.raises(SealedValueInvalid):
        cipher.open(sealed, aad=row_aad("ten_b", "credentials", "crd_1"))
    header_says_v2 = sealed[:3] + (2).to_bytes(4, "big") + sealed[7:]
    with pytest.raises(SealedValueInvalid, match="disagree"):
        cipher.open(header_says_v2, aad=AAD)


def test_transit_version_vault_no_longer_decrypts_is_a_missing_key(vault_server: TransitStandIn) -> None:
    cipher = Cipher([TransitKeys(url=vault_server.url, token=TOKEN)])
    sealed = cipher.seal(SECRET.encode(), aad=AAD)
    cipher.current_backend.add_version()
    vault_server.min_decryption_version["spreaders"] = 2
    with pytest.raises(MasterKeyMissing, match="no longer decrypts"):
        cipher.open(sealed, aad=AAD)


async def test_app_on_transit_stores_rotates_and_reads_through_vault(
    own_settings: Settings, vault_server: TransitStandIn
) -> None:
    settings = _on_transit(own_settings, vault_server)
    async with open_app(settings) as app:
        principal = await new_principal(app)
        credential_id = await connect(app, principal, SECRET)
        report = await rotation.rotate(app.engine, app.cipher)
        status = await rotation.vault_status(app.engine, app.cipher)
        assert await read(app, principal, credential_id) == {"apiKey": SECRET}
    assert (report.target_key, report.added_version, report.rewrapped, report.remaining) == (
        "transit:2",
        True,
        1,
        0,
    )
    assert "POST keys/rotate" in vault_server.calls
    assert (status.backend, status.current_key, status.pending) == ("transit", "transit:2", 0)
    assert settings.master_key_file is not None and not settings.master_key_file.exists()


async def test_rotation_moves_local_values_into_transit(
    own_settings: Settings, vault_server: TransitStandIn
) -> None:
    async with open_app(own_settings) as app:
        principal = await new_principal(app)
        credential_id = await connect(app, principal, SECRET)
    async with open_app(_on_transit(own_settings, vault_server)) as app:
        report = await rotation.rotate(app.engine, app.cipher)
        assert await read(app, principal, credential_id) == {"apiKey": SECRET}
    assert (report.target_key, report.added_version, report.retired) == ("transit:1", False, ["local:1"])


async def test_another_transit_key_than_the_one_that_sealed_is_refused_at_start(
    own_settings: Settings, vault_server: TransitStandIn
) -> None:
    async with open_app(_on_transit(own_settings, vault_server)) as app:
        await connect(app, await new_principal(app), SECRET)
    with pytest.raises(WrongMasterKey, match="transit:1 is not the key") as caught:
        async with open_app(_on_transit(own_settings, vault_server, transit_key="other")):
            pass
    assert "SPREADERS_VAULT__TRANSIT_" in (caught.value.hint or "")


async def test_wrong_vault_token_refuses_start_with_a_hint(
    own_settings: Settings, vault_server: TransitStandIn
) -> None:
    settings = _on_transit(own_settings, vault_server)
    settings.vault.transit_token = SecretStr("hvs.wrong")
    with pytest.raises(Unavailable, match="refused") as caught:
        async with open_app(settings):
            pass
    assert "TRANSIT_TOKEN" in (caught.value.hint or "")
    assert "hvs.wrong" not in str(caught.value)


async def test_unreachable_vault_refuses_start_with_a_hint(own_settings: Settings) -> None:
    vault = VaultSettings(backend="transit", transit_url="http://127.0.0.1:1", transit_token=SecretStr(TOKEN))
    with pytest.raises(Unavailable, match="could not") as caught:
        async with open_app(own_settings.model_copy(update={"vault": vault})):
            pass
    assert "TRANSIT_URL" in (caught.value.hint or "")


def test_transit_backend_needs_a_url_and_token() -> None:
    with pytest.raises(ValueError, match="TRANSIT_URL"):
        VaultSettings(backend="transit")
