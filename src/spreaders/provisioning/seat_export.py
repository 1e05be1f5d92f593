"""Read one seat's workflows and credentials out of its shared n8n process, ready to import into an
instance of the tenant's own.

A member's public API cannot read credential data (n8n never returns secrets), and the n8n CLI's
`export:*` commands take the whole instance (and want the server stopped). So the shared process's
SQLite database is read directly, read-only and in one transaction (a consistent snapshot while n8n
keeps serving the other tenants), and only rows owned by the seat's personal project are taken: the
project is found from the seat's member user, the same ownership n8n itself enforces between
members. Credential data is opened with the shared process's key and sealed at once with the
destination's (`n8n_cipher`), so the files written here hold no plaintext secret and no other
tenant's row.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from spreaders.errors import NotFound
from spreaders.provisioning import n8n_cipher
from spreaders.provisioning.n8n_cli import CREDENTIALS_FILE, WORKFLOWS_FILE

# n8n's database inside an instance's folder (N8N_USER_FOLDER).
DATABASE = Path(".n8n") / "database.sqlite"
# Columns of `workflow_entity` stored as JSON text that the importer wants as objects.
_JSON_COLUMNS = ("nodes", "connections", "settings", "staticData", "pinData", "meta")
_WORKFLOW_COLUMNS = ("id", "name", "active", *_JSON_COLUMNS, "createdAt", "updatedAt")


@dataclass(frozen=True)
class SeatExport:
    workflow_ids: list[str]
    credential_ids: list[str]
    active_workflow_ids: list[str]  # active on the seat: activated again after the import


def _personal_project(db: sqlite3.Connection, user_id: str) -> str:
    found = db.execute(
        "SELECT projectId FROM project_relation WHERE userId = ? AND role = 'project:personalOwner'",
        (user_id,),
    ).fetchone()
    if found is None:
        raise NotFound(
            f"The shared n8n has no personal project for member {user_id}.",
            hint="The seat's member user is gone; its data cannot be moved.",
        )
    return str(found[0])


def _workflows(db: sqlite3.Connection, project_id: str) -> list[dict[str, Any]]:
    columns = ", ".join(f'w."{name}"' for name in _WORKFLOW_COLUMNS)
    rows = db.execute(
        f"SELECT {columns} FROM workflow_entity w JOIN shared_workflow s ON s.workflowId = w.id "
        "WHERE s.projectId = ? AND s.role = 'workflow:owner' ORDER BY w.createdAt, w.id",
        (project_id,),
    ).fetchall()
    workflows = []
    for row in rows:
        item = dict(zip(_WORKFLOW_COLUMNS, row, strict=True))
        for name in _JSON_COLUMNS:
            item[name] = json.loads(item[name]) if item[name] else None
        item["active"] = bool(item["active"])
        workflows.append(item)
    return workflows


def _credentials(
    db: sqlite3.Connection, project_id: str, *, source_key: str, destination_key: str
) -> list[dict[str, Any]]:
    rows = db.execute(
        "SELECT c.id, c.name, c.type, c.data, c.createdAt, c.updatedAt FROM credentials_entity c "
        "JOIN shared_credentials s ON s.credentialsId = c.id "
        "WHERE s.projectId = ? AND s.role = 'credential:owner' ORDER BY c.createdAt, c.id",
        (project_id,),
    ).fetchall()
    return [
        {
            "id": cid,
            "name": name,
            "type": cred_type,
            # A string is imported as already encrypted (with the destination's key, as here).
            "data": n8n_cipher.reencrypt(data, source_key=source_key, destination_key=destination_key),
            "createdAt": created,
            "updatedAt": updated,
        }
        for cid, name, cred_type, data, created, updated in rows
    ]


def _export(
    shared_dir: Path, user_id: str, folder: Path, *, source_key: str, destination_key: str
) -> SeatExport:
    uri = f"file:{shared_dir / DATABASE}?mode=ro"
    db = sqlite3.connect(uri, uri=True, timeout=30.0)
    try:
        db.execute("BEGIN")  # one snapshot for the project, its workflows and credentials
        project_id = _personal_project(db, user_id)
        workflows = _workflows(db, project_id)
        credentials = _credentials(db, project_id, source_key=source_key, destination_key=destination_key)
        db.rollback()
    finally:
        db.close()
    folder.mkdir(parents=True, exist_ok=True)
    (folder / WORKFLOWS_FILE).write_text(json.dumps(workflows))
    (folder / CREDENTIALS_FILE).write_text(json.dumps(credentials))
    return SeatExport(
        workflow_ids=[str(w["id"]) for w in workflows],
        credential_ids=[str(c["id"]) for c in credentials],
        active_workflow_ids=[str(w["id"]) for w in workflows if w["active"]],
    )


async def export_seat(
    shared_dir: Path, user_id: str, folder: Path, *, source_key: str, destination_key: str
) -> SeatExport:
    """Write the workflows and credentials owned by member `user_id` to `folder` in the n8n CLI's
    import format, credentials encrypted with `destination_key`."""
    return await asyncio.to_thread(
        _export, shared_dir, user_id, folder, source_key=source_key, destination_key=destination_key
    )
