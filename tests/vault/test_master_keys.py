"""Master keys at start: a wrong or missing key is refused with what to do; versions come and go safely."""

from __future__ import annotations

import asyncio
import base64
import os
from pathlib import Path

import pytest
from pydantic import SecretStr
from sqlalchemy import delete, select

from spreaders.accounts.schemas import Principal
from spreaders.bootstrap import open_app
from spreaders.errors import Invalid, Unavailable
from spreaders.settings import Settings
from spreaders.vault import rotation
from spreaders.vault.cipher import Cipher
from spreaders.vault.errors import MasterKeyMissing, WrongMasterKey
from spreaders.vault.keyring import KeyId
from spreaders.vault.keyring.local import LocalKeys, create_key_file, parse_key_lines
from spreaders.vault.models import VaultKey

from .helpers import connect, new_principal, read

SECRET = "SG.master-key-test-secret"


def _key() -> str:
    return base64.urlsafe_b64encode(os.urandom(32)).decode()


def _ring(settings: Settings, ring: str, current: int | None = None) -> Settings:
    vault = settings.vault.model_copy(update={"master_keys": SecretStr(ring), "current_key_version": current})
    return settings.model_copy(update={"vault": vault})


async def _store_one(settings: Settings) -> tuple[str, str]:
    async with open_app(settings) as app:
        principal = await new_principal(app)
        credential_id = await connect(app, principal, SECRET)
    return principal.tenant_id, credential_id


async def test_wrong_key_file_is_refused_at_start_and_says_what_to_do(own_settings: Settings) -> None:
    await _store_one(own_settings)
    assert own_settings.master_key_file is not None
    own_settings.master_key_file.write_text(f"1:{_key()}\n")
    with pytest.raises(WrongMasterKey, match="local:1 is not the key") as caught:
        async with open_app(own_settings):
            pass
    assert "Restore key version 1" in (caught.value.hint or "")


async def test_wrong_key_is_refused_even_before_any_secret_is_stored(own_settings: Settings) -> None:
    async with open_app(own_settings):
        pass
    assert own_settings.master_key_file is not None
    own_settings.master_key_file.write_text(_key() + "\n")  # a bare key is version 1
    with pytest.raises(WrongMasterKey):
        async with open_app(own_settings):
            pass


async def test_key_version_still_in_use_but_not_configured_is_refused(own_settings: Settings) -> None:
    first, second = _key(), _key()
    await _store_one(_ring(own_settings, f"1:{first}"))
    with pytest.raises(MasterKeyMissing, match="local:1 is missing") as caught:
        async with open_app(_ring(own_settings, f"2:{second}")):
            pass
    assert "vault rotate" in (caught.value.hint or "")


async def test_key_version_retired_by_rotation_may_leave_the_ring(own_settings: Settings) -> None:
    first, second = _key(), _key()
    tenant_id, credential_id = await _store_one(_ring(own_settings, f"1:{first}"))
    async with open_app(_ring(own_settings, f"1:{first},2:{second}")) as app:
        report = await rotation.rotate(app.engine, app.cipher)
    assert (report.target_key, report.added_version, report.retired) == ("local:2", False, ["local:1"])
    async with open_app(_ring(own_settings, f"2:{second}")) as app:
        status = await rotation.vault_status(app.engine, app.cipher)
        opened = await read(app, Principal(tenant_id=tenant_id, user_id=""), credential_id)
    assert opened == {"apiKey": SECRET}
    assert status.configured == ["local:2"]
    assert [(k.key, k.retired_at is not None) for k in status.keys] == [("local:1", True), ("local:2", False)]
    assert status.pending == 0


async def test_settings_key_ring_cannot_grow_itself_and_says_how(own_settings: Settings) -> None:
    async with open_app(_ring(own_settings, f"1:{_key()}")) as app:
        with pytest.raises(Invalid, match="come from settings") as caught:
            await rotation.rotate(app.engine, app.cipher)
    assert "SPREADERS_VAULT__MASTER_KEYS" in (caught.value.hint or "")


async def test_pinned_current_version_seals_under_that_version(own_settings: Settings) -> None:
    ring = f"1:{_key()},2:{_key()}"
    async with open_app(_ring(own_settings, ring, current=1)) as app:
        assert app.cipher.current_key() == KeyId("local", 1)
        principal = await new_principal(app)
        await connect(app, principal, SECRET)
        status = await rotation.vault_status(app.engine, app.cipher)
    assert [(u.column, u.key, u.count) for u in status.usage] == [("credentials.secret", "local:1", 1)]


async def test_database_sealed_before_key_checks_is_verified_against_its_values(
    own_settings: Settings,
) -> None:
    await _store_one(own_settings)
    async with open_app(own_settings) as app, app.unit_of_work() as session:
        await session.execute(delete(VaultKey))  # as a database from before key checks
    assert own_settings.master_key_file is not None
    right = own_settings.master_key_file.read_text()
    own_settings.master_key_file.write_text(f"1:{_key()}\n")
    with pytest.raises(WrongMasterKey, match=r"credentials\.secret"):
        async with open_app(own_settings):
            pass
    own_settings.master_key_file.write_text(right)
    async with open_app(own_settings) as app, app.sessionmaker() as session:
        assert (await session.execute(select(VaultKey.version))).scalars().all() == [1]


async def test_lost_key_file_is_replaced_only_while_nothing_is_sealed(own_settings: Settings) -> None:
    async with open_app(own_settings):
        pass
    assert own_settings.master_key_file is not None
    own_settings.master_key_file.unlink()
    async with open_app(own_settings) as app:  # nothing sealed: a new key, the stale check replaced
        principal = await new_principal(app)
        await connect(app, principal, SECRET)
    own_settings.master_key_file.unlink()
    with pytest.raises(MasterKeyMissing, match="is missing but the database holds sealed secrets"):
        async with open_app(own_settings):
            pass
    assert not own_settings.master_key_file.exists()


def test_a_version_added_to_the_key_file_reaches_a_running_process_at_once(tmp_path: Path) -> None:
    path = tmp_path / "master.key"
    create_key_file(path)
    serving, rotating = Cipher([LocalKeys.from_file(path)]), LocalKeys.from_file(path)
    assert rotating.add_version() == 2
    assert serving.current_key() == KeyId("local", 2)
    sealed_by_rotation = Cipher([rotating]).seal(b"value", aad="a")
    assert serving.open(sealed_by_rotation, aad="a") == b"value"
    assert oct(path.stat().st_mode & 0o777) == "0o600"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "holds no key"),
        ("1:not-base64!!", "not valid urlsafe base64"),
        (f"1:{base64.urlsafe_b64encode(b'short').decode()}", "32 bytes"),
        (f"x:{_key()}", "not a key version number"),
        (f"1:{_key()}\n1:{_key()}", "listed twice"),
    ],
)
def test_bad_key_lines_are_refused_clearly(text: str, message: str) -> None:
    with pytest.raises(Unavailable, match=message):
        parse_key_lines(text, source="test")


async def test_two_rotations_adding_a_version_at_once_never_lose_a_key(tmp_path: Path) -> None:
    path = tmp_path / "master.key"
    create_key_file(path)
    first, second = LocalKeys.from_file(path), LocalKeys.from_file(path)
    added = await asyncio.gather(asyncio.to_thread(first.add_version), asyncio.to_thread(second.add_version))
    on_disk = parse_key_lines(path.read_text(), source="test")
    assert sorted(added) == [2, 3]
    assert sorted(on_disk) == [1, 2, 3]
    for ring in (first, second):
        for version in ring.versions():
            sealed = Cipher([LocalKeys(on_disk, current=version)]).seal(b"v", aad="a")
            assert Cipher([ring]).open(sealed, aad="a") == b"v"
