"""Online master-key rotation: re-wrap every sealed value's data key under the current key version.

Which key a value uses is read from its own header (the first PREFIX_SIZE bytes, see vault.cipher), not
from a key_version column: the header cannot drift from the truth, writers have no second column to keep
in step, and a new sealed column needs only its registry entry (vault.sealed). SQL compares those bytes
with substr() to select and count, a scan per column that costs little for an operator command.

How it stays online and safe:
- Batches: rows are read in one short transaction, re-wrapped outside any transaction (in a worker
  thread, so Transit round trips never block the event loop), and written in another with a conditional
  UPDATE ... WHERE blob = <the value read>. A writer that changed the row meanwhile wins; the row is
  counted as skipped and looked at again in the next pass.
- Resumable: progress is the data itself. Killed anywhere, a rerun selects what is still under an old
  key (committed batches stay done) and carries on; a new key version is added only when nothing is
  pending, so a rerun never adds another one.
- Stragglers: a process that has not seen the new key yet may still seal under the old one, so passes
  repeat (up to MAX_PASSES) until none is left; then usage is counted again and every version no value
  uses any more is marked retired.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import ColumnElement, LargeBinary, bindparam, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from spreaders.vault.audit import audit_event, record_audit_many
from spreaders.vault.cipher import PREFIX_SIZE, Cipher, key_of_prefix, key_prefix
from spreaders.vault.errors import MasterKeyMissing, SealedValueInvalid
from spreaders.vault.keyring import KeyId
from spreaders.vault.keys import configured_keys, key_rows, register_key, retire_keys
from spreaders.vault.schemas import ColumnKeyCount, RotationFailure, RotationReport, VaultStatus
from spreaders.vault.sealed import SealedColumn, sealed_columns

MAX_PASSES = 5
ProgressFn = Callable[[int, int], None]  # (values done, values to do)


@dataclass(frozen=True)
class PendingValue:
    tenant_id: str | None  # None: a platform-owned row (a shared n8n process, an unclaimed seat)
    row_id: str
    blob: bytes
    platform: str | None


@dataclass(frozen=True)
class Rewrapped:
    value: PendingValue
    new_blob: bytes
    old_key: KeyId


def _prefix(sealed: SealedColumn) -> ColumnElement[bytes]:
    return func.substr(sealed.column(sealed.blob), 1, PREFIX_SIZE, type_=LargeBinary)


async def key_usage(conn: AsyncConnection) -> list[ColumnKeyCount]:
    """How many values of each sealed column each master key wraps."""
    usage: list[ColumnKeyCount] = []
    for sealed in sealed_columns():
        prefix = _prefix(sealed)
        rows = await conn.execute(
            select(prefix, func.count()).where(sealed.column(sealed.blob).is_not(None)).group_by(prefix)
        )
        counts: Counter[str] = Counter()
        for head, count in rows:
            key = key_of_prefix(bytes(head))
            counts[str(key) if key else "unreadable"] += count
        usage.extend(ColumnKeyCount(column=sealed.name, key=k, count=n) for k, n in sorted(counts.items()))
    return usage


async def count_pending(conn: AsyncConnection, target: KeyId) -> int:
    """Values not yet under `target`."""
    total = 0
    for sealed in sealed_columns():
        blob = sealed.column(sealed.blob)
        total += (
            await conn.scalar(
                select(func.count()).where(blob.is_not(None), _prefix(sealed) != key_prefix(target))
            )
            or 0
        )
    return total


async def select_batch(
    conn: AsyncConnection, sealed: SealedColumn, *, target: KeyId, after_id: str, limit: int
) -> list[PendingValue]:
    """The next `limit` values of `sealed` (by id, after `after_id`) not under `target`."""
    platform = sealed.column(sealed.audit_platform) if sealed.audit_platform else None
    columns = [sealed.column("tenant_id"), sealed.column("id"), sealed.column(sealed.blob)]
    query = (
        select(*columns, *([platform] if platform is not None else []))
        .where(
            sealed.column(sealed.blob).is_not(None),
            _prefix(sealed) != key_prefix(target),
            sealed.column("id") > after_id,
        )
        .order_by(sealed.column("id"))
        .limit(limit)
    )
    return [
        PendingValue(row[0], row[1], bytes(row[2]), row[3] if platform is not None else None)
        for row in await conn.execute(query)
    ]


def rewrap_values(
    cipher: Cipher, sealed: SealedColumn, values: list[PendingValue]
) -> tuple[list[Rewrapped], list[RotationFailure]]:
    """Re-wrap each value's data key under the current key; values that do not open are reported."""
    done: list[Rewrapped] = []
    failed: list[RotationFailure] = []
    for value in values:
        try:
            new_blob = cipher.rewrap(value.blob, aad=sealed.aad(value.tenant_id, value.row_id))
        except (SealedValueInvalid, MasterKeyMissing) as exc:
            failed.append(RotationFailure(column=sealed.name, row_id=value.row_id, reason=exc.message))
            continue
        done.append(Rewrapped(value, new_blob, Cipher.key_of(value.blob)))
    return done, failed


async def apply_batch(
    conn: AsyncConnection, sealed: SealedColumn, rewrapped: list[Rewrapped], *, target: KeyId
) -> tuple[int, int]:
    """Write re-wrapped values where the row still holds what was read; return (written, skipped).

    One conditional UPDATE sent for the whole batch (executemany), then one read of the batch's rows in
    the same transaction to learn which were written: a row holds our new value only if our update
    landed, since every seal draws fresh nonces and keys.
    """
    if not rewrapped:
        return 0, 0
    blob, row_id = sealed.column(sealed.blob), sealed.column("id")
    await conn.execute(
        update(sealed.table)
        .where(row_id == bindparam("b_id"), blob == bindparam("b_old"))
        .values({sealed.blob: bindparam("b_new")}),
        [{"b_id": i.value.row_id, "b_old": i.value.blob, "b_new": i.new_blob} for i in rewrapped],
    )
    ids = [item.value.row_id for item in rewrapped]
    now_held = {
        row[0]: bytes(row[1]) for row in await conn.execute(select(row_id, blob).where(row_id.in_(ids)))
    }
    written = [item for item in rewrapped if now_held.get(item.value.row_id) == item.new_blob]
    if sealed.audit_platform:
        await record_audit_many(
            conn,
            [
                audit_event(
                    # Audited columns hold connected accounts' secrets: always a tenant's.
                    tenant_id=item.value.tenant_id or "",
                    credential_id=item.value.row_id,
                    platform=item.value.platform or "",
                    action="rotate",
                    reason=f"data key re-wrapped from master key {item.old_key} to {target}",
                    user_id=None,
                )
                for item in written
            ],
        )
    return len(written), len(rewrapped) - len(written)


async def _add_version_if_idle(engine: AsyncEngine, cipher: Cipher) -> bool:
    async with engine.connect() as conn:
        pending = await count_pending(conn, cipher.current_key())
    if pending:
        return False
    await asyncio.to_thread(cipher.current_backend.add_version)
    return True


async def rotate(
    engine: AsyncEngine, cipher: Cipher, *, batch_size: int = 500, progress: ProgressFn | None = None
) -> RotationReport:
    """Move every sealed value onto the current master key (a new version when none is pending)."""
    started = time.perf_counter()
    report = progress or (lambda _done, _total: None)
    added = await _add_version_if_idle(engine, cipher)
    target = cipher.current_key()
    await register_key(engine, cipher, target)
    async with engine.connect() as conn:
        total = await count_pending(conn, target)
    done = skipped = passes = remaining = 0
    failures: dict[tuple[str, str], RotationFailure] = {}
    report(0, total)
    for passes in range(1, MAX_PASSES + 1):  # noqa: B007 - the last value is reported
        for sealed in sealed_columns():
            after = ""
            while True:
                async with engine.connect() as conn:
                    batch = await select_batch(conn, sealed, target=target, after_id=after, limit=batch_size)
                if not batch:
                    break
                after = batch[-1].row_id
                batch = [v for v in batch if (sealed.name, v.row_id) not in failures]
                rewrapped, failed = await asyncio.to_thread(rewrap_values, cipher, sealed, batch)
                failures.update({(f.column, f.row_id): f for f in failed})
                async with engine.begin() as conn:
                    written, clashed = await apply_batch(conn, sealed, rewrapped, target=target)
                done, skipped = done + written, skipped + clashed
                report(done, max(total, done + len(failures)))
        async with engine.connect() as conn:
            remaining = await count_pending(conn, target)
        if remaining <= len(failures):
            break
    async with engine.begin() as conn:
        usage = await key_usage(conn)
        in_use = {u.key for u in usage if u.count}
        idle = [
            KeyId.parse(k.key)
            for k in await key_rows(conn)
            if k.retired_at is None and k.key not in in_use and k.key != str(target)
        ]
        await retire_keys(conn, idle)
    return RotationReport(
        target_key=str(target),
        added_version=added,
        rewrapped=done,
        skipped_concurrent=skipped,
        passes=passes,
        failed=list(failures.values()),
        remaining=remaining,
        retired=[str(k) for k in idle],
        seconds=round(time.perf_counter() - started, 3),
        usage_after=usage,
    )


async def vault_status(engine: AsyncEngine, cipher: Cipher) -> VaultStatus:
    """The key ring, the versions the database has seen and how many values each key wraps."""
    current = cipher.current_key()
    async with engine.connect() as conn:
        usage = await key_usage(conn)
        keys = await key_rows(conn)
        pending = await count_pending(conn, current)
    return VaultStatus(
        backend=cipher.current_backend.name,
        current_key=str(current),
        configured=[str(k) for k in configured_keys(cipher)],
        keys=keys,
        usage=usage,
        pending=pending,
    )
