"""Build the key ring from settings and prove it against the database before any secret is touched.

Each master key version the database has seen gets a row in `vault_keys` with a check value sealed under
it. At start every configured version must open its check value (a wrong key is refused, never used), and
every version still in use must be configured (a missing key is refused). Databases sealed before key
checks existed are verified by opening one of their sealed values instead, then get their check rows.
"""

from __future__ import annotations

from typing import cast

from sqlalchemy import ColumnElement, LargeBinary, Table, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from spreaders.db.base import utcnow
from spreaders.settings import Settings
from spreaders.vault.cipher import PREFIX_SIZE, Cipher, key_prefix, legacy_prefix
from spreaders.vault.errors import MasterKeyMissing, SealedValueInvalid, WrongMasterKey
from spreaders.vault.keyring import KeyBackend, KeyId
from spreaders.vault.keyring.local import LocalKeys, create_key_file, decode_master_key, parse_key_lines
from spreaders.vault.keyring.transit import TransitKeys
from spreaders.vault.models import VaultKey
from spreaders.vault.schemas import VaultKeyRead
from spreaders.vault.sealed import SealedColumn, sealed_columns

CHECK_PLAINTEXT = b"spreaders master key check"
_KEYS = cast(Table, VaultKey.__table__)


def _is_key(key: KeyId) -> tuple[ColumnElement[bool], ColumnElement[bool]]:
    return _KEYS.c.backend == key.backend, _KEYS.c.version == key.version


def check_aad(key: KeyId) -> str:
    return f"vault_keys:{key}"


def _restore_hint(key: KeyId) -> str:
    if key.backend == "transit":
        return "Point SPREADERS_VAULT__TRANSIT_* at the Vault and Transit key that sealed these secrets."
    return (
        f"Restore key version {key.version} in the key file (SPREADERS_MASTER_KEY_FILE, lines VERSION:KEY) "
        "or SPREADERS_VAULT__MASTER_KEYS / SPREADERS_MASTER_KEY; without it those secrets cannot be read. "
        "A version may be dropped only after `spreaders vault rotate` has moved every value off it."
    )


async def holds_secrets(engine: AsyncEngine) -> bool:
    """Whether any sealed column holds a value (then a lost key must never be silently replaced)."""
    async with engine.connect() as conn:
        for sealed in sealed_columns():
            blob = sealed.column(sealed.blob)
            found = await conn.execute(select(sealed.column("id")).where(blob.is_not(None)).limit(1))
            if found.first() is not None:
                return True
    return False


def _local_keys(settings: Settings, *, allow_create: bool) -> tuple[LocalKeys | None, bool]:
    """The local key ring and whether its key file was created just now."""
    vault = settings.vault
    current = vault.current_key_version
    if vault.master_keys is not None:
        keys = parse_key_lines(vault.master_keys.get_secret_value(), source="SPREADERS_VAULT__MASTER_KEYS")
        return LocalKeys(keys, current=current), False
    if settings.master_key is not None:
        key = decode_master_key(settings.master_key.get_secret_value())
        return LocalKeys({1: key}, current=current), False
    path = settings.master_key_file
    assert path is not None  # filled in by Settings
    if path.exists():
        return LocalKeys.from_file(path, current=current), False
    if vault.backend == "transit":
        return None, False
    if not allow_create:
        raise MasterKeyMissing(
            f"The master key file {path} is missing but the database holds sealed secrets.",
            hint=_restore_hint(KeyId("local", 1)),
        )
    create_key_file(path)
    return LocalKeys.from_file(path, current=current), True


def _transit(settings: Settings) -> TransitKeys:
    vault = settings.vault
    assert vault.transit_token is not None  # checked by VaultSettings
    return TransitKeys(
        url=vault.transit_url,
        token=vault.transit_token.get_secret_value(),
        key_name=vault.transit_key,
        mount_point=vault.transit_mount,
        namespace=vault.transit_namespace,
        timeout_s=vault.transit_timeout_s,
    )


async def build_cipher(settings: Settings, engine: AsyncEngine) -> Cipher:
    """The cipher over the configured backends (Transit first when chosen), verified against the database."""
    local, created = _local_keys(settings, allow_create=not await holds_secrets(engine))
    backends: list[KeyBackend] = []
    if settings.vault.backend == "transit":
        backends.append(_transit(settings))
    if local is not None:
        backends.append(local)
    cipher = Cipher(backends)
    if created:
        # A new key file is made only when nothing is sealed, so older local checks guard nothing.
        async with engine.begin() as conn:
            await conn.execute(_KEYS.delete().where(_KEYS.c.backend == "local"))
    await verify_key_ring(engine, cipher)
    return cipher


def _open_check(cipher: Cipher, key: KeyId, check_value: bytes) -> None:
    try:
        opened = cipher.open(check_value, aad=check_aad(key))
    except SealedValueInvalid as exc:
        raise WrongMasterKey(
            f"Master key {key} is not the key this database's secrets were sealed with.",
            hint=_restore_hint(key) + " To start using a new key, add it as a new version instead.",
        ) from exc
    if opened != CHECK_PLAINTEXT:
        raise WrongMasterKey(f"Master key {key} opened a wrong check value.", hint=_restore_hint(key))


def _prefix_matches(sealed: SealedColumn, key: KeyId) -> list[ColumnElement[bool]]:
    blob = sealed.column(sealed.blob)
    clauses: list[ColumnElement[bool]] = [
        func.substr(blob, 1, PREFIX_SIZE, type_=LargeBinary) == key_prefix(key)
    ]
    if key.backend == "local":
        legacy = legacy_prefix(key.version)
        clauses.append(func.substr(blob, 1, len(legacy), type_=LargeBinary) == legacy)
    return clauses


async def _check_against_records(conn: AsyncConnection, cipher: Cipher, key: KeyId) -> None:
    """For a version without a check row yet, open one value sealed under it, if there is one."""
    for sealed in sealed_columns():
        query = (
            select(sealed.column("tenant_id"), sealed.column("id"), sealed.column(sealed.blob))
            .where(or_(*_prefix_matches(sealed, key)))
            .limit(1)
        )
        row = (await conn.execute(query)).first()
        if row is None:
            continue
        try:
            cipher.open(row[2], aad=sealed.aad(row[0], row[1]))
        except SealedValueInvalid as exc:
            raise WrongMasterKey(
                f"Master key {key} does not open the values sealed under it (tried {sealed.name} {row[1]}).",
                hint=_restore_hint(key),
            ) from exc


def configured_keys(cipher: Cipher) -> list[KeyId]:
    """Every key version this process can unwrap with."""
    return [KeyId(backend.name, version) for backend in cipher.backends for version in backend.versions()]


async def register_key(engine: AsyncEngine, cipher: Cipher, key: KeyId) -> None:
    """Give `key` its check row (sealed under it); a row another process wrote first must open too."""
    try:
        async with engine.begin() as conn:
            await conn.execute(
                insert(_KEYS).values(
                    backend=key.backend,
                    version=key.version,
                    check_value=cipher.seal(CHECK_PLAINTEXT, aad=check_aad(key), key=key),
                    created_at=utcnow(),
                )
            )
    except IntegrityError:
        async with engine.connect() as conn:
            check = await conn.scalar(select(_KEYS.c.check_value).where(*_is_key(key)))
        assert check is not None  # the row whose insert clashed with ours
        _open_check(cipher, key, check)


async def verify_key_ring(engine: AsyncEngine, cipher: Cipher) -> None:
    """Refuse a wrong or missing master key; record check values for versions seen the first time."""
    async with engine.connect() as conn:
        rows = (await conn.execute(select(_KEYS))).all()
        known: set[KeyId] = set()
        for row in rows:
            key = KeyId(row.backend, row.version)
            known.add(key)
            if cipher.has_key(key):
                _open_check(cipher, key, row.check_value)
            elif row.retired_at is None:
                raise MasterKeyMissing(
                    f"Master key {key} is missing, but this database may hold secrets sealed under it.",
                    hint=_restore_hint(key),
                )
        new_keys = [key for key in configured_keys(cipher) if key not in known]
        for key in new_keys:
            await _check_against_records(conn, cipher, key)
    for key in new_keys:
        await register_key(engine, cipher, key)


async def key_rows(conn: AsyncConnection) -> list[VaultKeyRead]:
    rows = (await conn.execute(select(_KEYS).order_by(_KEYS.c.backend, _KEYS.c.version))).all()
    return [
        VaultKeyRead(key=str(KeyId(r.backend, r.version)), created_at=r.created_at, retired_at=r.retired_at)
        for r in rows
    ]


async def retire_keys(conn: AsyncConnection, keys: list[KeyId]) -> None:
    """Mark versions no sealed value uses any more, so their keys may leave the key ring."""
    for key in keys:
        await conn.execute(
            update(_KEYS).where(*_is_key(key), _KEYS.c.retired_at.is_(None)).values(retired_at=utcnow())
        )
