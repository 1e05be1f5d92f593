"""The provisioning service on the Kubernetes backend (`SPREADERS_PROVISIONING__BACKEND=kubernetes`).

What is stand-in: the Kubernetes API server is the in-memory stand-in (tests/provisioning/kube_api.py),
talked to by the real `kubernetes` client, since no API server can run here; a small loop plays the
kubelet and marks each Deployment revision with a replica ready. What is real: the platform's database
record and sealed secrets, and n8n itself: a fresh n8n 1.123.81 started by this module stands in for the
pod, and `SPREADERS_KUBERNETES__SERVICE_URL` routes the Service URL to it (the way a platform outside
the cluster reaches pods through `kubectl proxy`), so the bootstrap and the minted key are real.
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import json
import os
import sqlite3
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from sqlalchemy import select

from spreaders.accounts import service as accounts
from spreaders.bootstrap import AppContext
from spreaders.db.base import utcnow
from spreaders.errors import Conflict, Unavailable
from spreaders.provisioning import installer, lifecycle, pool, process
from spreaders.provisioning import service as provisioning
from spreaders.provisioning.backends import local
from spreaders.provisioning.backends.kubernetes import targets
from spreaders.provisioning.models import InstanceBackup, N8nInstance
from spreaders.provisioning.tiers import TIERS
from spreaders.settings import KubernetesSettings, PoolSettings, ProvisioningSettings
from spreaders.vault.sealed import row_aad

from .kube_api import ExecRunner, KubeApiStandIn
from .kube_schemas import validate_strict

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def api() -> Iterator[KubeApiStandIn]:
    with KubeApiStandIn() as standin:
        yield standin


@asynccontextmanager
async def _fresh_n8n(app: AppContext, folder: Path, heap_mb: int) -> AsyncIterator[local.ProcessSpec]:
    """A fresh n8n (no owner yet), standing in for a pod."""
    binary = await installer.ensure_installed(app.settings.n8n.install_dir, app.settings.n8n.version, None)
    spec = local.ProcessSpec(
        binary=binary,
        data_dir=folder,
        host="127.0.0.1",
        port=local.free_port(),
        broker_port=local.free_port(),
        encryption_key="s" * 64,
        expression_engine=app.settings.n8n.expression_engine,
        memory_limit_mb=heap_mb,
    )
    pid = local.spawn(spec)
    try:
        await local.wait_until_ready(app.http, spec, pid, app.settings.n8n.start_timeout_s)
        yield spec
    finally:
        await local.terminate(pid)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def pod(app: AppContext, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[local.ProcessSpec]:
    """The dedicated instance's pod."""
    folder = Path(tmp_path_factory.mktemp("n8n-k8s-pod"))
    async with _fresh_n8n(app, folder, TIERS["pro"].resources.node_heap_mb) as spec:
        yield spec


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def pool_pod(
    app: AppContext, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[local.ProcessSpec]:
    """The shared pool instance's pod (an n8n of its own: the pool's owner is not the dedicated one's)."""
    folder = Path(tmp_path_factory.mktemp("n8n-k8s-pool-pod"))
    async with _fresh_n8n(app, folder, app.settings.pool.memory_limit_mb) as spec:
        yield spec


def _on_kubernetes(app: AppContext, api: KubeApiStandIn, folder: Path, pod: local.ProcessSpec) -> AppContext:
    kubeconfig = folder / "kubeconfig.json"
    kubeconfig.write_text(json.dumps(api.kubeconfig()))
    settings = app.settings.model_copy(
        update={
            "provisioning": ProvisioningSettings(backend="kubernetes"),
            "kubernetes": KubernetesSettings(
                kubeconfig=kubeconfig, poll_interval_s=0.01, ready_timeout_s=10, service_url=pod.base_url
            ),
            "pool": PoolSettings(tenants_per_instance=3, warm_seats=1, idle_stop_minutes=30),
        }
    )
    return dataclasses.replace(app, settings=settings)


@pytest.fixture(scope="module")
def kube_app(
    app: AppContext, api: KubeApiStandIn, pod: local.ProcessSpec, tmp_path_factory: pytest.TempPathFactory
) -> AppContext:
    return _on_kubernetes(app, api, tmp_path_factory.mktemp("kube"), pod)


@pytest.fixture(scope="module")
def pool_app(
    app: AppContext,
    api: KubeApiStandIn,
    pool_pod: local.ProcessSpec,
    tmp_path_factory: pytest.TempPathFactory,
) -> AppContext:
    return _on_kubernetes(app, api, tmp_path_factory.mktemp("kube-pool"), pool_pod)


@pytest_asyncio.fixture(loop_scope="session")
async def kubelet(api: KubeApiStandIn) -> AsyncIterator[None]:
    """Mark every Deployment revision that wants a replica as rolled out, as the kubelet would once
    the pod's readiness probe passed (test_kubernetes_real_n8n.py checks the probes on a real n8n)."""

    async def run() -> None:
        while True:
            with api.store.lock:
                keys = [key for key in api.store.objects if key[0] == "deployments"]
            for _plural, namespace, name in keys:
                found = api.get("deployments", namespace, name)
                status = (found or {}).get("status", {})
                if found and found["spec"].get("replicas", 1) and not status.get("readyReplicas"):
                    api.set_ready(namespace, name)
            await asyncio.sleep(0.01)

    task = asyncio.create_task(run())
    yield
    task.cancel()


async def _tenant(app: AppContext, tier: str) -> str:
    async with app.unit_of_work() as session:
        tenant = await accounts.create_tenant(session, name=f"k8s {tier} tenant")
        tenant.tier = tier
        await accounts.create_user(session, tenant_id=tenant.id, email=f"{uuid.uuid4().hex}@example.test")
    return tenant.id


async def _row(app: AppContext, tenant_id: str) -> N8nInstance:
    async with app.sessionmaker() as session:
        return (
            await session.execute(select(N8nInstance).where(N8nInstance.tenant_id == tenant_id))
        ).scalar_one()


def _secret_keys(api: KubeApiStandIn, namespace: str) -> list[str]:
    """The encryption key of every Secret body the platform sent for the namespace."""
    return [
        base64.b64decode(request.body["data"]["encryption-key"]).decode()
        for request in api.sent("POST") + api.sent("PATCH")
        if request.body and request.body.get("kind") == "Secret" and namespace in request.path
    ]


async def test_a_pro_tenant_gets_an_instance_that_stops_scales_idles_and_restores_from_its_backup(
    kube_app: AppContext, api: KubeApiStandIn, pod: local.ProcessSpec, kubelet: None, tmp_path: Path
) -> None:
    tenant_id = await _tenant(kube_app, "pro")
    said: list[str] = []

    conn = await provisioning.ensure_running(kube_app, tenant_id=tenant_id, progress=said.append)

    row = await _row(kube_app, tenant_id)
    namespace = f"spreaders-{tenant_id.replace('_', '-')}"
    assert (row.backend, row.kind, row.port, row.tier) == ("kubernetes", "dedicated", 80, "pro")
    assert row.host == f"n8n.{namespace}.svc.cluster.local" and row.data_dir == f"k8s://{namespace}/n8n"
    assert row.heap_mb == TIERS["pro"].resources.node_heap_mb and row.status == "running"
    assert row.pid is None and row.bootstrapped_at is not None
    values = process.opened(kube_app, row)
    assert values["api_key"] == conn.api_key and conn.base_url == pod.base_url
    assert row.secrets is not None and values["encryption_key"].encode() not in row.secrets
    assert any("bootstrapping" in line for line in said)
    async with httpx.AsyncClient() as http:  # the key minted through the "Service" works on n8n
        answer = await http.get(f"{pod.base_url}/api/v1/workflows", headers={"X-N8N-API-KEY": conn.api_key})
    assert answer.status_code == 200

    again = await provisioning.ensure_running(kube_app, tenant_id=tenant_id)
    assert again == conn and await provisioning.connect(kube_app, tenant_id=tenant_id) == conn
    assert _secret_keys(api, namespace) == [values["encryption_key"]]  # a ready pod is not re-applied
    shown = await provisioning.status(kube_app, tenant_id=tenant_id)
    assert shown is not None and shown.running and shown.status == "running" and shown.backend == "kubernetes"

    stopped = await provisioning.stop(kube_app, tenant_id=tenant_id)
    deployment = api.get("deployments", namespace, "n8n")
    assert deployment is not None and deployment["spec"]["replicas"] == 0
    assert stopped is not None and stopped.status == "stopped" and not stopped.running
    with pytest.raises(Unavailable, match="not running"):
        await provisioning.connect(kube_app, tenant_id=tenant_id)
    assert await provisioning.ensure_running(kube_app, tenant_id=tenant_id) == conn  # scaled back, same key
    deployment = api.get("deployments", namespace, "n8n")
    assert deployment is not None and deployment["spec"]["replicas"] == 1
    # Re-applied: the Secret refused as existing (409), then merge-patched, both with the sealed key.
    assert _secret_keys(api, namespace) == [values["encryption_key"]] * 3

    scaled = await lifecycle.scale(kube_app, tenant_id=tenant_id, instance_id=row.id, tier_name="enterprise")
    deployment = api.get("deployments", namespace, "n8n")
    claim = api.get("persistentvolumeclaims", namespace, "n8n-data")
    assert deployment is not None
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert container["resources"]["limits"]["memory"] == "8Gi"
    assert claim is not None and claim["spec"]["resources"]["requests"]["storage"] == "100Gi"
    assert scaled.instance.tier == "enterprise" and scaled.resources == TIERS["enterprise"].resources
    assert await provisioning.ensure_running(kube_app, tenant_id=tenant_id) == conn

    # Idle cleanup: no run for longer than the limit -> no pod (the claim stays); the next run wakes it.
    await _backdate(kube_app, row.id, timedelta(hours=2))
    assert await lifecycle.stop_idle(kube_app, idle_minutes=30) == [row.id]
    deployment = api.get("deployments", namespace, "n8n")
    assert deployment is not None and deployment["spec"]["replicas"] == 0
    assert api.get("persistentvolumeclaims", namespace, "n8n-data") is not None
    assert (await _row(kube_app, tenant_id)).status == "stopped"
    assert await provisioning.ensure_running(kube_app, tenant_id=tenant_id) == conn
    deployment = api.get("deployments", namespace, "n8n")
    assert deployment is not None and deployment["spec"]["replicas"] == 1

    await _deprovision_then_restore(kube_app, api, pod, tenant_id, row.id, conn.api_key, tmp_path)


def _pod_commands(pod: local.ProcessSpec, shims: Path) -> ExecRunner:
    """Run `kubectl exec`'d commands next to the n8n standing in for the pod, with its environment
    (the pod's container has `n8n` on its PATH; here a shim runs the same n8n release)."""
    shims.mkdir(exist_ok=True)
    shim = shims / "n8n"
    shim.write_text(f'#!/bin/sh\nexec node "{pod.binary}" "$@"\n')
    shim.chmod(0o755)

    def runner(namespace: str, deployment: str, command: list[str]) -> dict[str, str]:
        env = local.instance_env(pod, os.environ)
        return env | {"PATH": f"{shims}{os.pathsep}{env.get('PATH', '')}"}

    return runner


def _stored_credential(pod: local.ProcessSpec, credential_id: str) -> tuple[str, str] | None:
    """The credential's name and encrypted data as the pod's n8n database holds them."""
    with sqlite3.connect(pod.data_dir / ".n8n" / "database.sqlite") as db:
        found = db.execute(
            "SELECT name, data FROM credentials_entity WHERE id = ?", (credential_id,)
        ).fetchone()
    return (str(found[0]), str(found[1])) if found else None


async def _archive(app: AppContext, tenant_id: str, backup_id: str) -> dict[str, Any]:
    """The backup kept in the database, sealed for its tenant (opened the way restore opens it)."""
    async with app.sessionmaker() as session:
        backup = await session.get_one(InstanceBackup, backup_id)
    assert backup.archive is not None and b"shop token" not in backup.archive
    opened: dict[str, Any] = json.loads(
        app.cipher.open(backup.archive, aad=row_aad(tenant_id, "instance_backups", backup_id))
    )
    return opened


async def _deprovision_then_restore(
    app: AppContext,
    api: KubeApiStandIn,
    pod: local.ProcessSpec,
    tenant_id: str,
    instance_id: str,
    api_key: str,
    tmp_path: Path,
) -> None:
    api.run_commands_with(_pod_commands(pod, tmp_path / "shims"))
    namespace = f"spreaders-{tenant_id.replace('_', '-')}"
    async with httpx.AsyncClient(
        base_url=f"{pod.base_url}/api/v1", headers={"X-N8N-API-KEY": api_key}, timeout=30
    ) as http:
        credential = (
            await http.post(
                "/credentials",
                json={
                    "name": "shop token",
                    "type": "httpHeaderAuth",
                    "data": {"name": "X-Token", "value": "s3cr3t"},
                },
            )
        ).json()
        workflow = (
            await http.post(
                "/workflows",
                json={"name": "kept across restore", "nodes": [], "connections": {}, "settings": {}},
            )
        ).json()
        before = _stored_credential(pod, credential["id"])
        said: list[str] = []

        backup = await lifecycle.deprovision(
            app, tenant_id=tenant_id, instance_id=instance_id, progress=said.append
        )

        assert (backup.workflows, backup.credentials) == (1, 1) and not backup.restored
        assert backup.path == f"db://instance_backups/{backup.id}"
        archive = await _archive(app, tenant_id, backup.id)
        assert [c["id"] for c in archive["credentials"]] == [credential["id"]]
        assert [w["id"] for w in archive["workflows"]] == [workflow["id"]]
        assert "s3cr3t" not in json.dumps(archive["credentials"])  # still encrypted with the instance's key
        assert (await _row(app, tenant_id)).status == "deprovisioned"
        assert api.get("deployments", namespace, "n8n") is None  # the namespace went with its objects
        assert any("public API" in line for line in said) and any("n8n CLI" in line for line in said)
        # A new instance starts empty: empty the n8n standing in for the pod.
        assert (await http.delete(f"/workflows/{workflow['id']}")).status_code == 200
        assert (await http.delete(f"/credentials/{credential['id']}")).status_code == 200
        assert _stored_credential(pod, credential["id"]) is None

    restored = await lifecycle.restore(app, tenant_id=tenant_id, instance_id=instance_id)

    assert restored.instance.status == "running" and restored.healthy and restored.backups[0].restored
    assert _stored_credential(pod, credential["id"]) == before  # same id, same ciphertext, same key
    conn = await provisioning.connect(app, tenant_id=tenant_id)
    assert conn.api_key != api_key  # the new instance minted the platform a new key
    async with httpx.AsyncClient(timeout=30) as http:
        back = await http.get(
            f"{conn.base_url}/api/v1/workflows/{workflow['id']}", headers={"X-N8N-API-KEY": conn.api_key}
        )
    assert back.status_code == 200 and back.json()["name"] == "kept across restore"
    namespace_now = api.get("namespaces", "", namespace)
    assert namespace_now is not None and "deletionTimestamp" not in namespace_now["metadata"]
    scripts = [r.params["command"][-1] for r in api.sent("GET") if r.path.endswith("/exec")]
    assert [next(w for w in s.split() if w.startswith(("export:", "import:"))) for s in scripts] == [
        "export:credentials",
        "import:credentials",
        "import:workflow",
    ]
    with pytest.raises(Conflict, match="not deprovisioned"):
        await lifecycle.restore(app, tenant_id=tenant_id, instance_id=instance_id)


async def _backdate(app: AppContext, instance_id: str, by: timedelta) -> None:
    async with app.unit_of_work() as session:
        row = await session.get_one(N8nInstance, instance_id)
        row.created_at = utcnow() - by


async def test_free_tenants_take_seats_on_a_pool_deployment_that_idles_to_no_pod_and_wakes(
    pool_app: AppContext, api: KubeApiStandIn, pool_pod: local.ProcessSpec, kubelet: None
) -> None:
    first, second = await _tenant(pool_app, "free"), await _tenant(pool_app, "free")
    said: list[str] = []

    a = await provisioning.ensure_running(pool_app, tenant_id=first, progress=said.append)
    b = await provisioning.ensure_running(pool_app, tenant_id=second)

    seat_a, seat_b = await _row(pool_app, first), await _row(pool_app, second)
    assert (seat_a.kind, seat_a.backend, seat_b.kind) == ("seat", "kubernetes", "seat")
    assert seat_a.pool_id == seat_b.pool_id and seat_a.n8n_user_id != seat_b.n8n_user_id
    async with pool_app.sessionmaker() as session:
        shared = await session.get_one(N8nInstance, seat_a.pool_id)
    name = targets.pool_name(shared.id)
    assert (shared.kind, shared.backend, shared.capacity, shared.tenant_id) == (
        "shared",
        "kubernetes",
        3,
        None,
    )
    assert shared.host == f"{name}.spreaders-pool.svc.cluster.local" and shared.status == "running"
    assert a.base_url == b.base_url == pool_pod.base_url and a.api_key != b.api_key
    assert any("shared n8n pool" in line for line in said)
    # The pool's own Deployment and objects, sized for its three seats, in the pool's namespace.
    deployment = api.get("deployments", "spreaders-pool", name)
    config = api.get("configmaps", "spreaders-pool", f"{name}-config")
    claim = api.get("persistentvolumeclaims", "spreaders-pool", f"{name}-data")
    assert deployment is not None and config is not None and claim is not None
    assert (
        deployment["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"]["memory"] == "1536Mi"
    )
    assert claim["spec"]["resources"]["requests"]["storage"] == "15Gi"
    assert "n8n-nodes-base.executeCommand" in json.loads(config["data"]["NODES_EXCLUDE"])
    assert config["data"]["N8N_EXPRESSION_ENGINE"] == "vm"  # tenants' expressions share the pod
    assert _secret_keys(api, "spreaders-pool") == [process.opened(pool_app, shared)["encryption_key"]]
    for request in api.sent("POST") + api.sent("PATCH"):
        if request.body and "spreaders-pool" in request.path:
            validate_strict(request.body)
    # Each tenant's own member key: B's workflow is not A's to list.
    async with httpx.AsyncClient(base_url=f"{pool_pod.base_url}/api/v1", timeout=30) as http:
        made = await http.post(
            "/workflows",
            headers={"X-N8N-API-KEY": b.api_key},
            json={"name": "only b's", "nodes": [], "connections": {}, "settings": {}},
        )
        assert made.status_code == 200
        listed = await http.get("/workflows", headers={"X-N8N-API-KEY": a.api_key})
        assert listed.status_code == 200 and made.json()["id"] not in {w["id"] for w in listed.json()["data"]}
    shown = await provisioning.status(pool_app, tenant_id=first)
    assert shown is not None and (shown.id, shown.kind, shown.backend) == (seat_a.id, "seat", "kubernetes")
    assert shown.running and shown.base_url == pool_pod.base_url

    await _backdate(pool_app, shared.id, timedelta(hours=2))
    assert await pool.stop_idle(pool_app) == [shared.id]

    deployment = api.get("deployments", "spreaders-pool", name)
    assert deployment is not None and deployment["spec"]["replicas"] == 0
    assert api.get("persistentvolumeclaims", "spreaders-pool", f"{name}-data") is not None  # data kept
    with pytest.raises(Unavailable, match="not running"):
        await provisioning.connect(pool_app, tenant_id=first)
    assert await provisioning.ensure_running(pool_app, tenant_id=second) == b  # woken: one pod again
    deployment = api.get("deployments", "spreaders-pool", name)
    assert deployment is not None and deployment["spec"]["replicas"] == 1
    assert await provisioning.connect(pool_app, tenant_id=first) == a
    # The move to a dedicated instance copies through a local shared process's files: refused here,
    # before anything changes.
    with pytest.raises(Conflict, match="local backend only"):
        await lifecycle.scale(pool_app, tenant_id=first, instance_id=seat_a.id, tier_name="pro")
    after = await _row(pool_app, first)
    assert (after.id, after.status, after.pool_id) == (seat_a.id, seat_a.status, shared.id)
    assert await provisioning.connect(pool_app, tenant_id=first) == a


async def test_a_pod_that_never_gets_ready_fails_the_record_with_the_reason(
    kube_app: AppContext, api: KubeApiStandIn
) -> None:
    tenant_id = await _tenant(kube_app, "pro")
    quick = dataclasses.replace(
        kube_app,
        settings=kube_app.settings.model_copy(
            update={"kubernetes": kube_app.settings.kubernetes.model_copy(update={"ready_timeout_s": 0.05})}
        ),
    )

    with pytest.raises(Unavailable, match="not ready within") as caught:
        await provisioning.ensure_running(quick, tenant_id=tenant_id)  # no kubelet: the pod never gets ready

    assert "READY_TIMEOUT_S" in (caught.value.hint or "")
    row = await _row(quick, tenant_id)
    assert row.status == "failed" and "not ready within" in row.last_error and row.bootstrapped_at is None
    shown = await provisioning.status(quick, tenant_id=tenant_id)
    assert shown is not None and not shown.running and shown.status == "failed"
