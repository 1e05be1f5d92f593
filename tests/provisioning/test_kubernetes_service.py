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
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
from sqlalchemy import select

from spreaders.accounts import service as accounts
from spreaders.bootstrap import AppContext
from spreaders.errors import Invalid, Unavailable
from spreaders.provisioning import installer, lifecycle, process
from spreaders.provisioning import service as provisioning
from spreaders.provisioning.backends import local
from spreaders.provisioning.models import N8nInstance
from spreaders.provisioning.tiers import TIERS
from spreaders.settings import KubernetesSettings, ProvisioningSettings

from .kube_api import KubeApiStandIn

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def api() -> Iterator[KubeApiStandIn]:
    with KubeApiStandIn() as standin:
        yield standin


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def pod(app: AppContext, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[local.ProcessSpec]:
    """A fresh n8n (no owner yet), standing in for the instance's pod."""
    binary = await installer.ensure_installed(app.settings.n8n.install_dir, app.settings.n8n.version, None)
    spec = local.ProcessSpec(
        binary=binary,
        data_dir=Path(tmp_path_factory.mktemp("n8n-k8s-pod")),
        host="127.0.0.1",
        port=local.free_port(),
        broker_port=local.free_port(),
        encryption_key="s" * 64,
        expression_engine=app.settings.n8n.expression_engine,
        memory_limit_mb=TIERS["pro"].resources.node_heap_mb,
    )
    pid = local.spawn(spec)
    try:
        await local.wait_until_ready(app.http, spec, pid, app.settings.n8n.start_timeout_s)
        yield spec
    finally:
        await local.terminate(pid)


@pytest.fixture(scope="module")
def kube_app(
    app: AppContext, api: KubeApiStandIn, pod: local.ProcessSpec, tmp_path_factory: pytest.TempPathFactory
) -> AppContext:
    kubeconfig = tmp_path_factory.mktemp("kube") / "kubeconfig.json"
    kubeconfig.write_text(json.dumps(api.kubeconfig()))
    settings = app.settings.model_copy(
        update={
            "provisioning": ProvisioningSettings(backend="kubernetes"),
            "kubernetes": KubernetesSettings(
                kubeconfig=kubeconfig, poll_interval_s=0.01, ready_timeout_s=10, service_url=pod.base_url
            ),
        }
    )
    return dataclasses.replace(app, settings=settings)


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


async def test_a_pro_tenant_gets_a_recorded_bootstrapped_instance_that_stops_restarts_and_scales(
    kube_app: AppContext, api: KubeApiStandIn, pod: local.ProcessSpec, kubelet: None
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

    with pytest.raises(Invalid, match="runs on Kubernetes") as caught:
        await lifecycle.deprovision(kube_app, tenant_id=tenant_id, instance_id=row.id)
    assert namespace in (caught.value.hint or "")
    assert (await _row(kube_app, tenant_id)).status == "running"


async def test_a_free_tenant_is_refused_with_what_to_do_and_nothing_is_recorded_or_applied(
    kube_app: AppContext, api: KubeApiStandIn
) -> None:
    tenant_id = await _tenant(kube_app, "free")
    before = len(api.store.requests)

    with pytest.raises(Unavailable, match="free-tier pool runs on the local backend only") as caught:
        await provisioning.ensure_running(kube_app, tenant_id=tenant_id)

    assert "pro or enterprise" in (caught.value.hint or "")
    assert await provisioning.status(kube_app, tenant_id=tenant_id) is None
    assert len(api.store.requests) == before


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
