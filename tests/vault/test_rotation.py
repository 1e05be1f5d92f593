"""Online key rotation on a real database: every sealed column moves, concurrent writes win, a stopped
rotation resumes, values that do not open are reported (and keep their key from being retired)."""

from __future__ import annotations

import asyncio
import json
import random

import pytest
from sqlalchemy import func, select, update

from spreaders.accounts.schemas import Principal
from spreaders.bootstrap import AppContext
from spreaders.vault import rotation
from spreaders.vault import service as vault
from spreaders.vault.cipher import Cipher
from spreaders.vault.keyring import KeyId
from spreaders.vault.models import AuditEvent, Credential
from spreaders.vault.sealed import sealed_columns

from .helpers import bulk_credentials, connect, instance_secrets, new_principal, read, sealed_instance

OLD, NEW = KeyId("local", 1), KeyId("local", 2)
CREDENTIALS = sealed_columns()[0]


async def _keys_in_use(app: AppContext) -> dict[str, int]:
    status = await rotation.vault_status(app.engine, app.cipher)
    return {f"{u.column} {u.key}": u.count for u in status.usage}


async def _write(
    app: AppContext, principal: Principal, credential_id: str, value: str, key: KeyId | None
) -> None:
    """What a refresh does: seal a new value for the row (under `key`, default the current one)."""
    aad = vault.credential_aad(principal.tenant_id, credential_id)
    sealed = app.cipher.seal(json.dumps({"apiKey": value}).encode(), aad=aad, key=key)
    async with app.unit_of_work() as session:
        await session.execute(update(Credential).where(Credential.id == credential_id).values(secret=sealed))


async def test_rotation_moves_every_sealed_column_to_a_new_version_and_values_still_open(
    own_app: AppContext,
) -> None:
    tenants = [await new_principal(own_app, "a"), await new_principal(own_app, "b")]
    connected = {p.tenant_id: await connect(own_app, p, f"SG.{p.tenant_id}") for p in tenants}
    bulk = await bulk_credentials(own_app, tenants[0], 30)
    instances = {await sealed_instance(own_app, p, {"api_key": f"n8n-{p.tenant_id}"}): p for p in tenants}
    shared = await sealed_instance(own_app, None, {"owner_password": "shared pool owner"})
    assert await _keys_in_use(own_app) == {
        "credentials.secret local:1": 32,
        "n8n_instances.secrets local:1": 3,
    }
    seen: list[tuple[int, int]] = []

    report = await rotation.rotate(
        own_app.engine, own_app.cipher, batch_size=7, progress=lambda d, t: seen.append((d, t))
    )

    assert (report.target_key, report.added_version, report.rewrapped) == ("local:2", True, 35)
    assert (report.remaining, report.failed, report.retired) == (0, [], ["local:1"])
    assert seen[0] == (0, 35) and seen[-1] == (35, 35)
    assert await _keys_in_use(own_app) == {
        "credentials.secret local:2": 32,
        "n8n_instances.secrets local:2": 3,
    }
    assert await instance_secrets(own_app, shared) == {"owner_password": "shared pool owner"}
    for principal in tenants:
        assert await read(own_app, principal, connected[principal.tenant_id]) == {
            "apiKey": f"SG.{principal.tenant_id}"
        }
    assert await read(own_app, tenants[0], bulk[29]) == {"apiKey": "secret-29"}
    for instance_id, principal in instances.items():
        assert await instance_secrets(own_app, instance_id) == {"api_key": f"n8n-{principal.tenant_id}"}
    async with own_app.sessionmaker() as session:
        rotated = (
            (await session.execute(select(AuditEvent).where(AuditEvent.action == "rotate"))).scalars().all()
        )
    assert len(rotated) == 32
    assert {e.reason for e in rotated} == {"data key re-wrapped from master key local:1 to local:2"}


async def test_rotation_stopped_midway_resumes_toward_the_same_version(own_app: AppContext) -> None:
    principal = await new_principal(own_app)
    ids = await bulk_credentials(own_app, principal, 25)

    def stop_after_first_batch(done: int, total: int) -> None:
        if done:
            raise KeyboardInterrupt  # what Ctrl-C does to a running rotation

    with pytest.raises(KeyboardInterrupt):
        await rotation.rotate(own_app.engine, own_app.cipher, batch_size=10, progress=stop_after_first_batch)
    assert await _keys_in_use(own_app) == {"credentials.secret local:1": 15, "credentials.secret local:2": 10}

    resumed = await rotation.rotate(own_app.engine, own_app.cipher, batch_size=10)

    assert (resumed.target_key, resumed.added_version, resumed.rewrapped, resumed.remaining) == (
        "local:2",
        False,
        15,
        0,
    )
    assert await _keys_in_use(own_app) == {"credentials.secret local:2": 25}
    assert await read(own_app, principal, ids[0]) == {"apiKey": "secret-0"}


async def test_conditional_write_leaves_a_value_a_writer_changed_meanwhile(own_app: AppContext) -> None:
    principal = await new_principal(own_app)
    ids = await bulk_credentials(own_app, principal, 3)
    own_app.cipher.current_backend.add_version()
    async with own_app.engine.connect() as conn:
        batch = await rotation.select_batch(conn, CREDENTIALS, target=NEW, after_id="", limit=10)
    rewrapped, failed = rotation.rewrap_values(own_app.cipher, CREDENTIALS, batch)
    changed = batch[1].row_id
    await _write(own_app, principal, changed, "refreshed-while-rotating", key=OLD)

    async with own_app.engine.begin() as conn:
        written, skipped = await rotation.apply_batch(conn, CREDENTIALS, rewrapped, target=NEW)

    assert (written, skipped, failed) == (2, 1, [])
    assert await read(own_app, principal, changed) == {"apiKey": "refreshed-while-rotating"}
    assert sorted(ids) == sorted(v.row_id for v in batch)


async def test_rotation_with_concurrent_writers_loses_no_write_and_catches_stragglers(
    own_app: AppContext,
) -> None:
    principal = await new_principal(own_app)
    ids = await bulk_credentials(own_app, principal, 200)
    expected = {credential_id: f"secret-{n}" for n, credential_id in enumerate(ids)}
    first_batch_done = asyncio.Event()
    rng = random.Random(7)

    behind_cursor, others = (
        sorted(ids)[:5],
        sorted(ids)[5:],
    )  # each writer owns its rows: no race between them

    async def up_to_date_writer(task: asyncio.Task[object]) -> None:
        n = 0
        while not task.done():
            credential_id = rng.choice(others)
            expected[credential_id] = f"written-{n}"
            await _write(own_app, principal, credential_id, f"written-{n}", key=None)
            n += 1

    async def straggler() -> None:
        # A process that has not seen the new key yet: seals under the old one, behind the rotation's cursor.
        await first_batch_done.wait()
        for n, credential_id in enumerate(behind_cursor):
            expected[credential_id] = f"straggler-{n}"
            await _write(own_app, principal, credential_id, f"straggler-{n}", key=OLD)

    def progress(done: int, total: int) -> None:
        if done:
            first_batch_done.set()

    rotating = asyncio.create_task(
        rotation.rotate(own_app.engine, own_app.cipher, batch_size=10, progress=progress)
    )
    await asyncio.gather(up_to_date_writer(rotating), straggler())
    report = await rotating

    assert report.remaining == 0
    assert report.passes >= 2
    assert await _keys_in_use(own_app) == {"credentials.secret local:2": 200}
    for credential_id, value in expected.items():
        assert await read(own_app, principal, credential_id) == {"apiKey": value}


async def test_value_moved_from_another_row_is_reported_and_keeps_its_key_in_service(
    own_app: AppContext,
) -> None:
    principal = await new_principal(own_app)
    victim, thief = await bulk_credentials(own_app, principal, 2)
    async with own_app.unit_of_work() as session:
        stolen = await session.scalar(select(Credential.secret).where(Credential.id == victim))
        await session.execute(update(Credential).where(Credential.id == thief).values(secret=stolen))

    report = await rotation.rotate(own_app.engine, own_app.cipher)

    assert [(f.column, f.row_id) for f in report.failed] == [("credentials.secret", thief)]
    assert "does not open" in report.failed[0].reason
    assert (report.rewrapped, report.remaining, report.retired) == (1, 1, [])
    status = await rotation.vault_status(own_app.engine, own_app.cipher)
    assert status.pending == 1
    async with own_app.sessionmaker() as session:
        blob = await session.scalar(select(Credential.secret).where(Credential.id == thief))
    assert blob is not None and Cipher.key_of(blob) == OLD


async def test_rotation_writes_no_secret_into_the_audit_log(own_app: AppContext) -> None:
    principal = await new_principal(own_app)
    await connect(own_app, principal, "SG.canary-rotation-7d3a")
    await rotation.rotate(own_app.engine, own_app.cipher)
    async with own_app.sessionmaker() as session:
        rows = (await session.execute(select(AuditEvent))).scalars().all()
        count = await session.scalar(select(func.count()).select_from(AuditEvent))
    assert count == len(rows) == 2  # store + rotate
    assert all("canary" not in f"{r.reason}{r.platform}{r.credential_id}" for r in rows)
