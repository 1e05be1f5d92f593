"""Local n8n processes: one Node.js process per instance, its own folder, ports and encryption key.

The processes run in their own session so they outlive the command that started them (the next
command re-adopts them by pid) and are stopped as a whole process group (n8n forks a task runner).
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from spreaders.errors import Unavailable

# Environment measured to keep an instance on loopback with no outbound traffic (docs/n8n.md).
QUIET_ENV = {
    "N8N_PROTOCOL": "http",
    "N8N_DIAGNOSTICS_ENABLED": "false",
    "N8N_VERSION_NOTIFICATIONS_ENABLED": "false",
    "N8N_TEMPLATES_ENABLED": "false",
    "N8N_PERSONALIZATION_ENABLED": "false",
    "N8N_HIRING_BANNER_ENABLED": "false",
    "N8N_DYNAMIC_BANNERS_ENABLED": "false",
    "N8N_AI_ENABLED": "false",
    "N8N_LICENSE_AUTO_RENEW_ENABLED": "false",
    "N8N_COMMUNITY_PACKAGES_ENABLED": "false",
    "N8N_SECURE_COOKIE": "false",
    "SCARF_ANALYTICS": "false",
    "DO_NOT_TRACK": "1",
    "GENERIC_TIMEZONE": "UTC",
    "NODE_ENV": "production",
    "N8N_RUNNERS_ENABLED": "true",
    "DB_SQLITE_POOL_SIZE": "3",
    "N8N_ENFORCE_SETTINGS_FILE_PERMISSIONS": "true",
    "N8N_BLOCK_ENV_ACCESS_IN_NODE": "true",
    "EXECUTIONS_DATA_SAVE_ON_SUCCESS": "all",
    "EXECUTIONS_DATA_SAVE_ON_ERROR": "all",
}

# Nodes that reach the host (shell, files) would let one tenant of a shared instance (a local process
# or a pod) read its database and so every other tenant's data: a shared instance does not load them.
SHARED_EXCLUDED_NODES = (
    "n8n-nodes-base.executeCommand",
    "n8n-nodes-base.readWriteFile",
    "n8n-nodes-base.readBinaryFile",
    "n8n-nodes-base.readBinaryFiles",
    "n8n-nodes-base.writeBinaryFile",
    "n8n-nodes-base.localFileTrigger",
)


@dataclass(frozen=True)
class ProcessSpec:
    binary: Path
    data_dir: Path
    host: str
    port: int
    broker_port: int
    encryption_key: str
    expression_engine: str
    memory_limit_mb: int
    # Settings only some instances get (a shared process's excluded nodes).
    extra_env: Mapping[str, str] = field(default_factory=dict)

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def port_is_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((host, port))
        except OSError:
            return False
        return True


def instance_env(spec: ProcessSpec, base: Mapping[str, str]) -> dict[str, str]:
    env = {key: value for key, value in base.items() if not key.startswith(("N8N_", "SPREADERS_"))}
    env.update(QUIET_ENV)
    env.update(
        {
            "N8N_USER_FOLDER": str(spec.data_dir),
            "N8N_PORT": str(spec.port),
            "N8N_LISTEN_ADDRESS": spec.host,
            "N8N_HOST": spec.host,
            "WEBHOOK_URL": f"{spec.base_url}/",
            "N8N_EDITOR_BASE_URL": f"{spec.base_url}/",
            "N8N_RUNNERS_BROKER_PORT": str(spec.broker_port),
            "N8N_ENCRYPTION_KEY": spec.encryption_key,
            "N8N_EXPRESSION_ENGINE": spec.expression_engine,
            "NODE_OPTIONS": f"--max-old-space-size={spec.memory_limit_mb}",
        }
    )
    env.update(spec.extra_env)
    return env


# Handles of the processes this process spawned: kept so they are reaped (no zombies) and not
# reported as leaked when garbage-collected; processes spawned by an earlier command are known by pid.
_children: dict[int, subprocess.Popen[bytes]] = {}


def pid_alive(pid: int | None) -> bool:
    if not pid:
        return False
    child = _children.get(pid)
    if child is not None:
        return child.poll() is None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie child counts as dead
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split()[2] != "Z"
    except OSError:
        return True


def spawn(spec: ProcessSpec) -> int:
    """Start n8n in its own session; return its pid. Output goes to `<data_dir>/n8n.log`."""
    spec.data_dir.mkdir(parents=True, exist_ok=True)
    log = (spec.data_dir / "n8n.log").open("ab")
    try:
        process = subprocess.Popen(
            ["node", str(spec.binary), "start"],
            cwd=spec.data_dir,
            env=instance_env(spec, os.environ),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            start_new_session=True,
        )
    finally:
        log.close()
    _children[process.pid] = process
    return process.pid


def log_tail(data_dir: Path, lines: int = 8) -> str:
    path = data_dir / "n8n.log"
    if not path.exists():
        return ""
    return " | ".join(path.read_text(errors="replace").strip().splitlines()[-lines:])[-800:]


async def answers_rest(http: httpx.AsyncClient, base_url: str) -> bool:
    """Tell whether n8n's REST routes are up: during start-up `/rest/settings` already answers 200,
    but with a plain-text "n8n is starting up" page, so JSON is the signal."""
    try:
        response = await http.get(f"{base_url}/rest/settings", timeout=2.0)
    except httpx.TransportError:
        return False
    content_type = response.headers.get("content-type", "")
    return response.status_code == 200 and content_type.startswith("application/json")


async def wait_until_ready(http: httpx.AsyncClient, spec: ProcessSpec, pid: int, timeout_s: float) -> float:
    """Poll until the REST routes answer (healthz does long before); return seconds waited."""
    started = time.monotonic()
    while True:
        if not pid_alive(pid):
            raise Unavailable(
                f"n8n exited while starting: {log_tail(spec.data_dir)}",
                hint=f"See {spec.data_dir / 'n8n.log'}.",
            )
        if await answers_rest(http, spec.base_url):
            return time.monotonic() - started
        if time.monotonic() - started > timeout_s:
            raise Unavailable(
                f"n8n did not become ready within {timeout_s:.0f}s.",
                hint=f"See {spec.data_dir / 'n8n.log'}; raise SPREADERS_N8N__START_TIMEOUT_S if slow.",
            )
        await asyncio.sleep(0.25)


async def terminate(pid: int | None, *, grace_s: float = 10.0) -> None:
    """Stop the process group of `pid`: SIGTERM, then SIGKILL after the grace period."""
    if not pid or not pid_alive(pid):
        return
    try:
        os.killpg(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + grace_s
    # Another process's exit has no event to await: poll it.
    while pid_alive(pid) and time.monotonic() < deadline:  # noqa: ASYNC110
        await asyncio.sleep(0.1)
    if pid_alive(pid):
        try:
            os.killpg(pid, signal.SIGKILL)
        except ProcessLookupError:
            return
    _reap(pid)


def _reap(pid: int) -> None:
    child = _children.pop(pid, None)
    if child is not None:
        child.wait(timeout=5)
