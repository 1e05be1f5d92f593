"""Export and import an instance's workflows and credentials with n8n's own CLI.

The CLI opens the instance's database directly, so it runs with the instance's environment (data
folder, encryption key) while its server is stopped: one writer on the SQLite file, and a snapshot
nothing changes under. Credentials are exported as stored: still encrypted with the instance's key.
"""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path

from spreaders.errors import Unavailable
from spreaders.provisioning.backends import local

WORKFLOWS_FILE = "workflows.json"
CREDENTIALS_FILE = "credentials.json"
# What `export:*` says (exit code 1) when there is nothing to export: an empty backup, not a failure.
NOTHING_FOUND = ("No workflows found", "No credentials found")
CLI_TIMEOUT_S = 180.0


async def _run(spec: local.ProcessSpec, *args: str) -> str:
    process = await asyncio.create_subprocess_exec(
        "node",
        str(spec.binary),
        *args,
        cwd=spec.data_dir,
        env=local.instance_env(spec, os.environ),
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        output, _ = await asyncio.wait_for(process.communicate(), timeout=CLI_TIMEOUT_S)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise Unavailable(f"`n8n {args[0]}` did not finish within {CLI_TIMEOUT_S:.0f}s.") from None
    text = output.decode(errors="replace")
    if process.returncode != 0 and not any(marker in text for marker in NOTHING_FOUND):
        tail = " | ".join(text.strip().splitlines()[-5:])[-600:]
        raise Unavailable(f"`n8n {args[0]}` failed: {tail}", hint=f"See the instance folder {spec.data_dir}.")
    return text


def _count(path: Path) -> int:
    if not path.exists():
        path.write_text("[]")
        return 0
    items = json.loads(path.read_text())
    return len(items) if isinstance(items, list) else 1


async def export_all(spec: local.ProcessSpec, folder: Path) -> tuple[int, int]:
    """Write every workflow and (encrypted) credential to `folder`; return how many of each."""
    await asyncio.to_thread(folder.mkdir, parents=True, exist_ok=True)
    workflows, credentials = folder / WORKFLOWS_FILE, folder / CREDENTIALS_FILE
    await _run(spec, "export:workflow", "--all", f"--output={workflows}")
    await _run(spec, "export:credentials", "--all", f"--output={credentials}")
    return _count(workflows), _count(credentials)


async def import_all(spec: local.ProcessSpec, folder: Path) -> None:
    """Import a backup made by `export_all` (n8n creates its database first if the folder is new).

    Credentials go first: workflows refer to them by id, and both keep the ids they had.
    """
    spec.data_dir.mkdir(parents=True, exist_ok=True)
    for command, name in (("import:credentials", CREDENTIALS_FILE), ("import:workflow", WORKFLOWS_FILE)):
        if _count(folder / name):
            await _run(spec, command, f"--input={folder / name}")
