"""The parts of the Kubernetes backend that can run for real here, against a fresh n8n 1.123.81 started
by this module (a local process standing in for the pod, since no cluster runs here):
- the Deployment's probes, replayed the way the kubelet runs them (startup probe until it passes, then
  the readiness probe), declare n8n ready only once its REST API answers JSON;
- the headless bootstrap through the backend's Service URL gives a working public-API key."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
from kubernetes.aio import client

from spreaders.bootstrap import AppContext
from spreaders.provisioning import installer
from spreaders.provisioning.backends import local
from spreaders.provisioning.backends.kubernetes import manifests, targets
from spreaders.provisioning.backends.kubernetes.backend import KubernetesBackend
from spreaders.provisioning.backends.kubernetes.manifests import InstanceSecrets
from spreaders.provisioning.bootstrap_n8n import new_owner_password
from spreaders.provisioning.tiers import TIERS

from .kube_api import KubeApiStandIn

pytestmark = pytest.mark.e2e


async def _passes(http: httpx.AsyncClient, url: str, timeout_s: float) -> bool:
    """An httpGet probe: any status from 200 to 399 passes, anything else or no answer fails."""
    try:
        response = await http.get(url, timeout=timeout_s)
    except httpx.TransportError:
        return False
    return 200 <= response.status_code < 400


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def replayed(
    app: AppContext, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[dict[str, object]]:
    """Start a fresh n8n, replay the Deployment's probes while it starts; yield what they saw."""
    settings = app.settings
    binary = await installer.ensure_installed(settings.n8n.install_dir, settings.n8n.version, None)
    target = targets.dedicated_target(
        settings, tenant_id="ten_probe", instance_id="n8n_probe", tier=TIERS["pro"]
    )
    container = manifests.deployment(target)["spec"]["template"]["spec"]["containers"][0]
    spec = local.ProcessSpec(
        binary=binary,
        data_dir=Path(tmp_path_factory.mktemp("n8n-probes")),
        host="127.0.0.1",
        port=local.free_port(),
        broker_port=local.free_port(),
        encryption_key="p" * 64,
        expression_engine="legacy",
        memory_limit_mb=TIERS["pro"].resources.node_heap_mb,
    )
    pid = local.spawn(spec)
    seen: dict[str, object] = {"spec": spec, "target": target}
    try:
        async with httpx.AsyncClient() as http:
            deadline = time.monotonic() + settings.n8n.start_timeout_s
            for probe in ("startupProbe", "readinessProbe"):
                url = f"{spec.base_url}{container[probe]['httpGet']['path']}"
                while not await _passes(http, url, container[probe]["timeoutSeconds"]):
                    assert local.pid_alive(pid), local.log_tail(spec.data_dir)
                    assert time.monotonic() < deadline, f"{probe} never passed"
                    await asyncio.sleep(0.05)  # the kubelet's period, shortened
                seen[probe] = await local.answers_rest(http, spec.base_url)
        yield seen
    finally:
        await local.terminate(pid)


async def test_probes_declare_n8n_ready_only_when_its_rest_api_answers(replayed: dict[str, object]) -> None:
    assert replayed["readinessProbe"] is True


async def test_bootstrap_through_the_service_url_mints_a_working_api_key(replayed: dict[str, object]) -> None:
    spec = replayed["spec"]
    target = replayed["target"]
    assert isinstance(spec, local.ProcessSpec) and isinstance(target, manifests.InstanceTarget)
    values = InstanceSecrets(encryption_key="p" * 64, owner_password=new_owner_password())
    with KubeApiStandIn() as api:
        configuration = client.Configuration(host=api.url)
        # The Service's cluster DNS name does not resolve here: route it to the local n8n instead.
        backend = KubernetesBackend(client.ApiClient(configuration), service_url=lambda _t: spec.base_url)
        try:
            key = await backend.bootstrap(target, values, timeout_s=15)
        finally:
            await backend.close()

    async with httpx.AsyncClient() as http:
        answer = await http.get(f"{spec.base_url}/api/v1/workflows", headers={"X-N8N-API-KEY": key})
    assert answer.status_code == 200 and answer.json()["data"] == []
