"""Install a pinned n8n release from the npm registry into a shared cache directory.

The install is ~1.8 GB and takes minutes, so it happens once per version per machine: a marker file
records success, a lock file keeps two processes from installing at the same time.
"""

from __future__ import annotations

import asyncio
import fcntl
import json
import re
import shutil
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from spreaders.errors import Unavailable

# Both overrides are needed on Node 20 (see docs/n8n.md): n8n's xlsx dependency points outside the
# registry, and isolated-vm 6.x needs Node 22.
NPM_OVERRIDES = {"xlsx": "0.18.5", "isolated-vm": "5.0.4"}
MARKER = ".installed-ok"
MIN_NODE_MAJOR = 20

ProgressFn = Callable[[str], None]


def n8n_binary(install_root: Path, version: str) -> Path:
    return install_root / version / "node_modules" / "n8n" / "bin" / "n8n"


def is_installed(install_root: Path, version: str) -> bool:
    marker = install_root / version / MARKER
    return (
        marker.exists()
        and marker.read_text().strip() == version
        and n8n_binary(install_root, version).exists()
    )


def check_node() -> str:
    """Return the path of a usable `node`, or say what to install."""
    node = shutil.which("node")
    npm = shutil.which("npm")
    if node is None or npm is None:
        raise Unavailable(
            "Node.js and npm are needed to run n8n, and were not found on PATH.",
            hint=f"Install Node.js {MIN_NODE_MAJOR}+ (it ships npm), then run the command again.",
        )
    out = subprocess.run([node, "--version"], capture_output=True, text=True, check=False).stdout.strip()
    match = re.match(r"v(\d+)", out)
    if not match or int(match.group(1)) < MIN_NODE_MAJOR:
        raise Unavailable(
            f"n8n needs Node.js {MIN_NODE_MAJOR}+, found {out or 'an unknown version'}.",
            hint=f"Install Node.js {MIN_NODE_MAJOR} or newer.",
        )
    return node


def _package_json(version: str) -> str:
    return json.dumps(
        {
            "name": "spreaders-n8n-runtime",
            "private": True,
            "version": "1.0.0",
            "dependencies": {"n8n": version},
            "overrides": NPM_OVERRIDES,
        },
        indent=2,
    )


async def ensure_installed(install_root: Path, version: str, progress: ProgressFn | None = None) -> Path:
    """Install n8n `version` under `install_root` unless it is already there; return the n8n binary."""
    if is_installed(install_root, version):
        return n8n_binary(install_root, version)
    check_node()
    target = install_root / version
    target.mkdir(parents=True, exist_ok=True)
    lock_path = install_root / f".{version}.lock"
    with lock_path.open("w") as lock:
        await asyncio.to_thread(fcntl.flock, lock, fcntl.LOCK_EX)
        try:
            if not is_installed(install_root, version):
                await _npm_install(target, version, progress)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    return n8n_binary(install_root, version)


async def _npm_install(target: Path, version: str, progress: ProgressFn | None) -> None:
    (target / MARKER).unlink(missing_ok=True)
    (target / "package.json").write_text(_package_json(version))
    log_path = target / "install.log"
    npm = shutil.which("npm") or "npm"
    started = time.monotonic()
    with log_path.open("wb") as log:
        process = await asyncio.create_subprocess_exec(
            npm, "install", "--no-audit", "--no-fund", "--loglevel=http", cwd=target, stdout=log, stderr=log
        )
        while True:
            try:
                await asyncio.wait_for(process.wait(), timeout=1.0)
                break
            except TimeoutError:
                if progress is not None:
                    progress(f"installing n8n {version} from npm ({time.monotonic() - started:.0f}s)")
    if process.returncode != 0:
        tail = log_path.read_text(errors="replace").strip().splitlines()[-5:]
        raise Unavailable(
            f"Installing n8n {version} with npm failed (exit {process.returncode}): "
            + " | ".join(tail)[-600:],
            hint=f"See {log_path}. n8n needs the npm registry, gcc, make and python3 for its native modules.",
        )
    (target / MARKER).write_text(version)
