"""Back up an n8n instance on Kubernetes before it is deprovisioned, and restore it into a new one.

Both go through the running pod, since the platform has no access to its volume (the backup itself is
kept sealed in the platform's database, provisioning/lifecycle.py):
- workflows through n8n's public API with the platform's key (paged; the JSON the platform deploys);
- credentials through `n8n export:credentials` run inside the pod (pods/exec, what `kubectl exec`
  does): the public API never returns credential data. They stay encrypted with the instance's key,
  exactly as the local backend's backup (provisioning/n8n_cli.py), and the key is kept sealed with the
  backup record.
Restore provisions a new instance (same namespace name, same sealed key) and imports with the CLI in
its pod, credentials first: `import:*` keeps ids, which the platform's deployment records name (the
public API would mint new ones).

The CLI runs next to the serving process on the same SQLite file, as n8n documents `docker exec n8n
n8n export:workflow` for a running container: SQLite serialises the writers.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from spreaders.bootstrap import AppContext
from spreaders.errors import Unavailable
from spreaders.orchestrator.n8n_client import N8nClient
from spreaders.provisioning import k8s_instances, n8n_cli
from spreaders.provisioning.backends.kubernetes.backend import ExecResult
from spreaders.provisioning.installer import ProgressFn
from spreaders.provisioning.models import N8nInstance

# What n8n's own `export:workflow` writes for a workflow: the fields `import:workflow` reads back.
WORKFLOW_FIELDS = (
    "id",
    "name",
    "nodes",
    "connections",
    "settings",
    "staticData",
    "pinData",
    "meta",
    "versionId",
    "tags",
    "createdAt",
    "updatedAt",
)
CLI_TIMEOUT_S = n8n_cli.CLI_TIMEOUT_S
# The CLI's output goes to stderr so that stdout carries only the exported file.
EXPORT_CREDENTIALS = (
    'f=$(mktemp) || exit 1; n8n export:credentials --all --output="$f" >&2; rc=$?; '
    '[ "$rc" -eq 0 ] && cat "$f"; rm -f "$f"; exit "$rc"'
)


def _import_script(command: str, size: int) -> str:
    # The exec protocol cannot signal the end of stdin: read exactly the bytes sent.
    return (
        f'f=$(mktemp) || exit 1; head -c {size} > "$f" && n8n {command} --input="$f" >&2; '
        'rc=$?; rm -f "$f"; exit "$rc"'
    )


def _failed(what: str, result: ExecResult, where: str) -> Unavailable:
    tail = " | ".join(result.stderr.decode(errors="replace").strip().splitlines()[-5:])[-600:]
    return Unavailable(
        f"`n8n {what}` in the pod failed (exit {result.exit_code}): {tail}",
        hint=f"kubectl -n {where} logs deployment/n8n; the instance was left as it was.",
    )


def _workflow(found: dict[str, Any]) -> dict[str, Any]:
    # Imported inactive (as n8n's import does anyway); restore re-activates the deployed ones.
    return {key: found[key] for key in WORKFLOW_FIELDS if key in found} | {"active": False}


@dataclass(frozen=True)
class Backup:
    """An instance's workflows (as n8n's `export:workflow` writes them) and credentials (encrypted)."""

    workflows: list[dict[str, Any]]
    credentials: list[dict[str, Any]]


async def export(ctx: AppContext, row: N8nInstance, progress: ProgressFn | None = None) -> Backup:
    """Read the instance's workflows and (encrypted) credentials. A stopped instance is scaled back up
    first: only a running pod can be asked."""
    say = progress or (lambda _message: None)
    connection = await k8s_instances.ensure_running(ctx, row, say)
    where = k8s_instances.target(ctx, row)
    say("exporting workflows through n8n's public API")
    client = N8nClient(ctx.http, base_url=connection.base_url, api_key=connection.api_key)
    workflows = [_workflow(found) for found in await client.all_workflows()]
    say(f"exporting credentials with the n8n CLI in a pod of {where.namespace}")
    async with k8s_instances.cluster(ctx) as backend:
        result = await backend.exec(where, ["sh", "-c", EXPORT_CREDENTIALS], timeout_s=CLI_TIMEOUT_S)
    nothing = any(marker in result.stderr.decode(errors="replace") for marker in n8n_cli.NOTHING_FOUND)
    if result.exit_code != 0 and not nothing:
        raise _failed("export:credentials", result, where.namespace)
    credentials = json.loads(result.stdout) if result.exit_code == 0 else []
    return Backup(workflows=workflows, credentials=credentials)


async def import_into(
    ctx: AppContext, row: N8nInstance, backup: Backup, progress: ProgressFn | None = None
) -> None:
    """Import a backup made by `export` into the instance's running pod (credentials first)."""
    say = progress or (lambda _message: None)
    where = k8s_instances.target(ctx, row)
    async with k8s_instances.cluster(ctx) as backend:
        for command, items in (
            ("import:credentials", backup.credentials),
            ("import:workflow", backup.workflows),
        ):
            if not items:
                continue
            data = json.dumps(items).encode()
            say(f"n8n {command} in a pod of {where.namespace}")
            script = _import_script(command, len(data))
            result = await backend.exec(where, ["sh", "-c", script], stdin=data, timeout_s=CLI_TIMEOUT_S)
            if result.exit_code != 0:
                raise _failed(command, result, where.namespace)
