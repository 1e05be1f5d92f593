"""`spreaders vault ...` as an operator runs it: real processes, one killed in the middle of a rotation."""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys

from spreaders.bootstrap import open_app
from spreaders.settings import Settings

from .helpers import bulk_credentials, connect, read

RECORDS = 3000


def _command(settings: Settings, *args: str) -> list[str]:
    return [sys.executable, "-m", "spreaders.cli.main", "vault", *args]


def _env(settings: Settings) -> dict[str, str]:
    return {
        **os.environ,
        "SPREADERS_DATA_DIR": str(settings.data_dir),
        "SPREADERS_DATABASE_URL": settings.database_url,
        "COLUMNS": "200",
    }


def _vault(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        _command(settings, *args),
        capture_output=True,
        text=True,
        env=_env(settings),
        timeout=300,
        check=False,
    )


async def test_rotation_killed_midway_resumes_on_rerun_and_ends_with_no_old_key(
    own_settings: Settings,
) -> None:
    async with open_app(own_settings) as app:
        ids = await bulk_credentials(app, app.local_principal, RECORDS)

    rotating = await asyncio.create_subprocess_exec(
        *_command(own_settings, "rotate", "--batch-size", "50", "--json"),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
        env=_env(own_settings),
    )
    assert rotating.stderr is not None
    async for line in rotating.stderr:  # progress lines on stderr: "re-wrapped DONE/TOTAL"
        found = re.match(rb"re-wrapped (\d+)/", line)
        if found and int(found.group(1)) > 0:
            rotating.kill()
            break
    assert await asyncio.wait_for(rotating.wait(), timeout=60) == -9

    midway = json.loads(_vault(own_settings, "status", "--json").stdout)
    resumed = _vault(own_settings, "rotate", "--json")
    after = json.loads(_vault(own_settings, "status", "--json").stdout)

    assert midway["current_key"] == "local:2"
    assert 0 < midway["pending"] < RECORDS
    assert resumed.returncode == 0, resumed.stderr
    report = json.loads(resumed.stdout)
    assert (report["target_key"], report["added_version"], report["remaining"]) == ("local:2", False, 0)
    assert report["rewrapped"] == midway["pending"]
    assert after["pending"] == 0
    assert after["usage"] == [{"column": "credentials.secret", "key": "local:2", "count": RECORDS}]
    async with open_app(own_settings) as app:
        assert await read(app, app.local_principal, ids[-1]) == {"apiKey": f"secret-{RECORDS - 1}"}


async def test_status_and_audit_speak_json_and_unknown_ids_fail_with_one_line(own_settings: Settings) -> None:
    async with open_app(own_settings) as app:
        credential_id = await connect(app, app.local_principal, "SG.cli-canary-2b")
        await read(app, app.local_principal, credential_id)

    status = _vault(own_settings, "status", "--json")
    audit = _vault(own_settings, "audit", "--credential", credential_id, "--json")
    table = _vault(own_settings, "audit")
    missing = _vault(own_settings, "audit", "--credential", "crd_nope")

    assert json.loads(status.stdout)["usage"] == [
        {"column": "credentials.secret", "key": "local:1", "count": 1}
    ]
    assert [e["action"] for e in json.loads(audit.stdout)] == ["read", "store"]
    assert "canary" not in audit.stdout + table.stdout
    assert "connected on the connect page" in table.stdout
    assert missing.returncode == 1
    assert missing.stderr.strip().startswith("error: Credential crd_nope not found.")
