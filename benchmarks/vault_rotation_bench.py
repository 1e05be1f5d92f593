"""Master-key rotation time for 10,000 sealed credentials, on SQLite and PostgreSQL.

Run with `.venv/bin/python -m benchmarks.vault_rotation_bench`; PostgreSQL too when
SPREADERS_BENCH_DATABASE_URL names a server (a throw-away database is created there and dropped).
Each database gets 10,000 credentials sealed under the current key; then `rotation.rotate` (what
`spreaders vault rotate` runs: a new key version, batches of 500 re-wrapped with conditional updates,
one audit event per credential, the final count that nothing is left under an old key) runs 3 times,
the databases interleaved round by round so load on the shared machine falls on both alike. The
baseline is the cryptography alone: re-wrapping the same 10,000 values in memory. Last line: JSON.
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path

from sqlalchemy import insert

from benchmarks.search_bench import _postgres
from spreaders.bootstrap import AppContext, open_app
from spreaders.db.base import new_id, utcnow
from spreaders.settings import Settings
from spreaders.vault import rotation
from spreaders.vault.models import Credential
from spreaders.vault.service import credential_aad

RECORDS = 10_000
ROUNDS = 3
BATCH = 500


async def _seed(ctx: AppContext) -> list[tuple[bytes, str]]:
    """Insert RECORDS sealed credentials; return (sealed value, associated data) of each."""
    tenant_id = ctx.local_principal.tenant_id
    rows, sealed = [], []
    for n in range(RECORDS):
        credential_id = new_id("crd")
        aad = credential_aad(tenant_id, credential_id)
        secret = ctx.cipher.seal(json.dumps({"apiKey": f"SG.bench-{n:05d}-" + "x" * 40}).encode(), aad=aad)
        sealed.append((secret, aad))
        rows.append(
            {
                "id": credential_id,
                "tenant_id": tenant_id,
                "platform": "sendgrid",
                "kind": "api_key",
                "label": f"bench {n}",
                "status": "connected",
                "secret": secret,
                "created_at": utcnow(),
            }
        )
    async with ctx.unit_of_work() as session:
        await session.execute(insert(Credential), rows)
    return sealed


@asynccontextmanager
async def _database(name: str, folder: Path) -> AsyncIterator[str]:
    if name == "sqlite":
        yield f"sqlite+aiosqlite:///{folder}/bench.db"
        return
    async with _postgres(os.environ["SPREADERS_BENCH_DATABASE_URL"]) as url:
        yield url


async def main() -> None:
    databases = ["sqlite"] + (["postgresql"] if os.environ.get("SPREADERS_BENCH_DATABASE_URL") else [])
    samples: dict[str, list[float]] = {name: [] for name in databases}
    crypto: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        async with AsyncExitStack() as stack:
            apps: dict[str, AppContext] = {}
            for name in databases:
                folder = Path(tmp) / name
                url = await stack.enter_async_context(_database(name, folder))
                apps[name] = await stack.enter_async_context(
                    open_app(Settings(data_dir=folder, database_url=url))
                )
            sealed = {name: await _seed(ctx) for name, ctx in apps.items()}
            for round_no in range(1, ROUNDS + 1):
                for name, ctx in apps.items():
                    report = await rotation.rotate(ctx.engine, ctx.cipher, batch_size=BATCH)
                    assert report.rewrapped == RECORDS and report.remaining == 0, report
                    samples[name].append(report.seconds)
                    print(f"round {round_no} {name}: {RECORDS} re-wrapped in {report.seconds:.2f} s")
                cipher = apps["sqlite"].cipher
                started = time.perf_counter()
                for blob, aad in sealed["sqlite"]:
                    cipher.rewrap(blob, aad=aad)
                crypto.append(time.perf_counter() - started)
    result: dict[str, float | int] = {"records": RECORDS, "batch_size": BATCH, "rounds": ROUNDS}
    for name, values in samples.items():
        result[f"{name}_s"] = round(statistics.median(values), 2)
        result[f"{name}_records_per_s"] = round(RECORDS / statistics.median(values))
    result["crypto_only_s"] = round(statistics.median(crypto), 2)
    for name in databases:
        print(f"{name}: rotation of {RECORDS} values, median of {ROUNDS}: {result[f'{name}_s']} s")
    print(f"baseline, re-wrapping in memory only: {result['crypto_only_s']} s")
    print(json.dumps(result))


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
