"""Run the local n8n process behind an instance row (dedicated or shared): seal its secrets, start it,
re-adopt it, restart it when it died.

Each step commits its own unit of work: a crash between steps leaves a record the next call picks up
(pid re-adopted, bootstrap resumed) instead of an orphaned process or a half-written row.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import json
import os
import secrets
import time
from collections.abc import AsyncIterator
from pathlib import Path

from spreaders.bootstrap import AppContext
from spreaders.db.base import utcnow
from spreaders.errors import Unavailable
from spreaders.provisioning import installer
from spreaders.provisioning.backends import local
from spreaders.provisioning.bootstrap_n8n import bootstrap_owner_and_key, new_owner_password
from spreaders.provisioning.installer import ProgressFn
from spreaders.provisioning.models import SHARED, N8nInstance
from spreaders.vault.sealed import row_aad

# A live process that answered its REST check this recently is trusted without asking again.
HEALTH_TTL_S = 2.0
# A start waits this much longer than n8n's own start timeout for another start of the same instance.
START_LOCK_SLACK_S = 30.0
START_LOCK_POLL_S = 0.05


def aad(instance: N8nInstance) -> str:
    return row_aad(instance.tenant_id, N8nInstance.__tablename__, instance.id)


def opened(ctx: AppContext, instance: N8nInstance) -> dict[str, str]:
    if instance.secrets is None:
        return {}
    loaded: dict[str, str] = json.loads(ctx.cipher.open(instance.secrets, aad=aad(instance)))
    return loaded


def sealed_for(ctx: AppContext, tenant_id: str | None, instance_id: str, values: dict[str, str]) -> bytes:
    aad = row_aad(tenant_id, N8nInstance.__tablename__, instance_id)
    return ctx.cipher.seal(json.dumps(values).encode(), aad=aad)


def seal(ctx: AppContext, instance: N8nInstance, values: dict[str, str]) -> None:
    """Seal `values` into the row, bound to its current owner (tenant, or the platform when NULL)."""
    instance.secrets = sealed_for(ctx, instance.tenant_id, instance.id, values)


def seal_first_secrets(ctx: AppContext, instance: N8nInstance) -> None:
    """Give a new instance its own n8n encryption key and owner password, sealed (made once, kept)."""
    seal(ctx, instance, {"encryption_key": secrets.token_hex(32), "owner_password": new_owner_password()})


def spec(ctx: AppContext, instance: N8nInstance, binary: Path, encryption_key: str) -> local.ProcessSpec:
    """How to run the instance's n8n process: its folder, ports, key and memory (from its tier)."""
    shared = instance.kind == SHARED
    engine = ctx.settings.pool.expression_engine if shared else ctx.settings.n8n.expression_engine
    extra = {"NODES_EXCLUDE": json.dumps(list(local.SHARED_EXCLUDED_NODES))} if shared else {}
    return local.ProcessSpec(
        binary=binary,
        data_dir=Path(instance.data_dir),
        host=instance.host,
        port=instance.port,
        broker_port=instance.broker_port,
        encryption_key=encryption_key,
        expression_engine=engine,
        memory_limit_mb=(
            ctx.settings.pool.memory_limit_mb
            if shared
            else instance.heap_mb or ctx.settings.n8n.memory_limit_mb
        ),
        extra_env=extra,
    )


async def cli_spec(ctx: AppContext, instance: N8nInstance, encryption_key: str) -> local.ProcessSpec:
    """The instance's environment for the n8n CLI (installing n8n first if needed)."""
    binary = await installer.ensure_installed(ctx.settings.n8n.install_dir, instance.version)
    return spec(ctx, instance, binary, encryption_key)


async def healthy(ctx: AppContext, instance: N8nInstance) -> bool:
    if not local.pid_alive(instance.pid):
        return False
    key = f"n8n-healthy:{instance.id}:{instance.pid}"
    if ctx.recently_checked.get(key, 0.0) > time.monotonic():
        return True
    if not await local.answers_rest(ctx.http, instance.base_url):
        return False
    ctx.recently_checked[key] = time.monotonic() + HEALTH_TTL_S
    return True


async def ensure_process(
    ctx: AppContext, instance: N8nInstance, progress: ProgressFn | None
) -> dict[str, str]:
    """Make the row's process run (install, start or re-adopt); return its opened secrets."""
    say = progress or (lambda _message: None)
    if await healthy(ctx, instance):
        return opened(ctx, instance)
    async with _start_claim(ctx, instance):
        # Whoever held the claim may have started (and bootstrapped) it meanwhile: read it again.
        await _reload(ctx, instance)
        values = opened(ctx, instance)
        if await healthy(ctx, instance):
            return values
        binary = await installer.ensure_installed(ctx.settings.n8n.install_dir, instance.version, progress)
        await local.terminate(instance.pid)
        await _start(ctx, instance, binary, values["encryption_key"], say)
    return values


async def ensure_bootstrapped(
    ctx: AppContext, instance: N8nInstance, progress: ProgressFn | None
) -> dict[str, str]:
    """`ensure_process`, then the owner account and an API key made once (sealed in the row); return
    the opened secrets, `api_key` included. Bootstraps are serialised like starts: two at once minted
    keys in the same second, which n8n refuses as a duplicate."""
    values = await ensure_process(ctx, instance, progress)
    if "api_key" in values:
        return values
    async with _start_claim(ctx, instance):
        await _reload(ctx, instance)
        values = opened(ctx, instance)
        if "api_key" in values:
            return values
        (progress or (lambda _message: None))("bootstrapping n8n (owner account and API key)")
        values["api_key"] = await bootstrap_owner_and_key(
            base_url=instance.base_url,
            email=instance.owner_email,
            password=values["owner_password"],
            timeout_s=ctx.settings.n8n.request_timeout_s,
        )
        async with ctx.unit_of_work() as session:
            row = await session.get_one(N8nInstance, instance.id)
            seal(ctx, row, values)
            row.bootstrapped_at = utcnow()
        instance.secrets, instance.bootstrapped_at = row.secrets, row.bootstrapped_at
    return values


@contextlib.asynccontextmanager
async def _start_claim(ctx: AppContext, instance: N8nInstance) -> AsyncIterator[None]:
    """One starter per instance at a time, across coroutines and processes (a lock file beside its
    folder): two concurrent starts spawned two n8n on one folder and port, and one of them died."""
    path = Path(f"{instance.data_dir.rstrip('/')}.start.lock")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        deadline = time.monotonic() + ctx.settings.n8n.start_timeout_s + START_LOCK_SLACK_S
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise Unavailable(
                        f"Another start of n8n instance {instance.id} has not finished.",
                        hint="Try again in a minute; `spreaders instances show` tells its state.",
                    ) from None
                await asyncio.sleep(START_LOCK_POLL_S)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock


async def _reload(ctx: AppContext, instance: N8nInstance) -> None:
    async with ctx.sessionmaker() as session:
        row = await session.get_one(N8nInstance, instance.id)
    instance.pid, instance.port, instance.broker_port = row.pid, row.port, row.broker_port
    instance.status, instance.secrets, instance.bootstrapped_at = row.status, row.secrets, row.bootstrapped_at


async def _start(
    ctx: AppContext, instance: N8nInstance, binary: Path, encryption_key: str, say: ProgressFn
) -> None:
    async with ctx.unit_of_work() as session:
        row = await session.get_one(N8nInstance, instance.id)
        if not local.port_is_free(row.host, row.port):
            row.port = local.free_port(row.host)
        if not local.port_is_free(row.host, row.broker_port):
            row.broker_port = local.free_port(row.host)
        run_spec = spec(ctx, row, binary, encryption_key)
        say(f"starting n8n {row.version} on {run_spec.base_url}")
        row.pid = local.spawn(run_spec)
        row.status = "starting"
        row.last_error = ""
        instance.pid, instance.port, instance.broker_port = row.pid, row.port, row.broker_port
    try:
        waited = await local.wait_until_ready(
            ctx.http, run_spec, instance.pid, ctx.settings.n8n.start_timeout_s
        )
    except Unavailable as exc:
        await local.terminate(instance.pid)
        async with ctx.unit_of_work() as session:
            row = await session.get_one(N8nInstance, instance.id)
            row.status, row.pid, row.last_error = "failed", None, exc.message[:2000]
        raise
    say(f"n8n ready after {waited:.1f}s")
    async with ctx.unit_of_work() as session:
        row = await session.get_one(N8nInstance, instance.id)
        row.status = "running"
    instance.status = "running"


async def stop_process(ctx: AppContext, instance_id: str) -> N8nInstance | None:
    """Stop the row's process; its data folder and record stay for the next start."""
    async with ctx.unit_of_work() as session:
        row = await session.get(N8nInstance, instance_id)
        if row is None:
            return None
        await local.terminate(row.pid)
        row.pid, row.status = None, "stopped"
        await session.flush()
        return row
