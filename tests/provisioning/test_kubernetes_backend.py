"""The Kubernetes backend's calls, made by the real `kubernetes` client (its asyncio flavour, configured
from a kubeconfig) against an in-memory API-server stand-in (tests/provisioning/kube_api.py), because no
Kubernetes API server can run on these machines. What this checks: which objects are created, patched,
read and deleted, in which order, with which bodies (each body validated against the official schemas)
and how the answers are handled. What it cannot check: scheduling, image pulls, volume provisioning and
expansion, the kubelet's probes (readiness is flipped by the test)."""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import pytest_asyncio

from spreaders.errors import Unavailable, UpstreamError
from spreaders.provisioning.backends.kubernetes import targets
from spreaders.provisioning.backends.kubernetes.backend import KubernetesBackend
from spreaders.provisioning.backends.kubernetes.manifests import InstanceSecrets, InstanceTarget
from spreaders.provisioning.tiers import TIERS
from spreaders.settings import KubernetesSettings, Settings

from .kube_api import KubeApiStandIn
from .kube_schemas import validate_strict

SECRETS = InstanceSecrets(encryption_key="k" * 64, owner_password="SpOwnerPassword7")


@pytest.fixture
def api() -> Iterator[KubeApiStandIn]:
    with KubeApiStandIn() as standin:
        yield standin


@pytest.fixture
def settings(api: KubeApiStandIn, tmp_path: Path) -> Settings:
    kubeconfig = tmp_path / "kubeconfig.json"
    kubeconfig.write_text(json.dumps(api.kubeconfig()))
    return Settings(
        data_dir=tmp_path,
        kubernetes=KubernetesSettings(kubeconfig=kubeconfig, poll_interval_s=0.01, ingress_domain="n8n.test"),
    )


@pytest_asyncio.fixture(loop_scope="session")
async def backend(settings: Settings) -> AsyncIterator[KubernetesBackend]:
    found = await KubernetesBackend.connect(settings.kubernetes)
    yield found
    await found.close()


def _target(settings: Settings, tier: str = "pro") -> InstanceTarget:
    return targets.dedicated_target(settings, tenant_id="ten_1", instance_id="n8n_1", tier=TIERS[tier])


async def test_provision_creates_every_object_in_order_and_each_body_is_schema_valid(
    api: KubeApiStandIn, backend: KubernetesBackend, settings: Settings
) -> None:
    await backend.provision(_target(settings), SECRETS)

    created = api.sent("POST")
    assert [r.path for r in created] == [
        "/api/v1/namespaces",
        "/api/v1/namespaces/spreaders-ten-1/secrets",
        "/api/v1/namespaces/spreaders-ten-1/configmaps",
        "/api/v1/namespaces/spreaders-ten-1/persistentvolumeclaims",
        "/apis/apps/v1/namespaces/spreaders-ten-1/deployments",
        "/api/v1/namespaces/spreaders-ten-1/services",
        "/apis/networking.k8s.io/v1/namespaces/spreaders-ten-1/ingresses",
    ]
    for request in created:
        assert request.body is not None
        validate_strict(request.body)


async def test_second_provision_patches_in_place_and_does_not_roll_the_pod(
    api: KubeApiStandIn, backend: KubernetesBackend, settings: Settings
) -> None:
    target = _target(settings)
    await backend.provision(target, SECRETS)
    first = api.get("deployments", target.namespace, "n8n")

    await backend.provision(target, SECRETS)

    again = api.get("deployments", target.namespace, "n8n")
    assert first is not None and again is not None
    assert again["metadata"]["uid"] == first["metadata"]["uid"]
    assert again["metadata"]["generation"] == first["metadata"]["generation"] == 1
    patches = api.sent("PATCH")
    assert len(patches) == 7 and {r.content_type for r in patches} == {"application/merge-patch+json"}
    for request in patches:
        assert request.body is not None
        validate_strict(request.body)


async def test_wait_ready_returns_once_the_pod_is_ready_and_times_out_with_a_hint_before(
    api: KubeApiStandIn, backend: KubernetesBackend, settings: Settings
) -> None:
    target = _target(settings)
    with pytest.raises(Unavailable, match="spreaders-ten-1 has no Deployment") as caught:
        await backend.wait_ready(target, timeout_s=0.05)  # nothing provisioned: no Deployment yet
    assert "Provision" in (caught.value.hint or "")
    await backend.provision(target, SECRETS)
    with pytest.raises(Unavailable, match="not ready within"):
        await backend.wait_ready(target, timeout_s=0.05)

    api.set_ready(target.namespace, target.name)

    assert await backend.wait_ready(target, timeout_s=5) < 5
    status = await backend.status(target)
    assert status is not None and status.ready and status.tier == "pro" and status.storage == "20Gi"
    assert status.image == "docker.n8n.io/n8nio/n8n:1.123.81"


async def test_scale_to_enterprise_resizes_pod_heap_and_volume_and_needs_a_new_ready_pod(
    api: KubeApiStandIn, backend: KubernetesBackend, settings: Settings
) -> None:
    target = _target(settings)
    await backend.provision(target, SECRETS)
    api.set_ready(target.namespace, target.name)

    await backend.scale(_target(settings, "enterprise"))

    deployment = api.get("deployments", target.namespace, "n8n")
    config = api.get("configmaps", target.namespace, "n8n-config")
    claim = api.get("persistentvolumeclaims", target.namespace, "n8n-data")
    assert deployment is not None and config is not None and claim is not None
    assert deployment["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"]["memory"] == "8Gi"
    assert config["data"]["NODE_OPTIONS"] == "--max-old-space-size=6144"
    assert claim["spec"]["resources"]["requests"]["storage"] == "100Gi"
    status = await backend.status(target)
    assert status is not None and not status.ready and status.tier == "enterprise"  # a new revision rolls


async def test_scale_down_keeps_the_larger_volume_since_claims_cannot_shrink(
    api: KubeApiStandIn, backend: KubernetesBackend, settings: Settings
) -> None:
    await backend.provision(_target(settings, "enterprise"), SECRETS)

    await backend.scale(_target(settings, "pro"))

    claim = api.get("persistentvolumeclaims", "spreaders-ten-1", "n8n-data")
    deployment = api.get("deployments", "spreaders-ten-1", "n8n")
    assert claim is not None and deployment is not None
    assert claim["spec"]["resources"]["requests"]["storage"] == "100Gi"
    assert deployment["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"]["memory"] == "2Gi"


async def test_deprovision_deletes_the_namespace_which_terminates_before_it_can_be_made_again(
    api: KubeApiStandIn, backend: KubernetesBackend, settings: Settings
) -> None:
    target = _target(settings)
    await backend.provision(target, SECRETS)

    assert await backend.deprovision(target.namespace) is True

    assert api.get("deployments", target.namespace, "n8n") is None
    assert await backend.status(target) is None
    namespace = api.get("namespaces", "", target.namespace)
    assert namespace is not None and namespace["status"]["phase"] == "Terminating"
    with pytest.raises(UpstreamError, match="403"):  # no new content in a terminating namespace
        await backend.provision(target, SECRETS)
    await backend.wait_gone(target.namespace, timeout_s=5)
    assert await backend.deprovision(target.namespace) is False
    await backend.provision(target, SECRETS)  # a new instance in a new namespace of the same name
    assert api.get("deployments", target.namespace, "n8n") is not None


async def test_a_command_runs_in_the_ready_pod_with_its_stdin_output_and_exit_code(
    api: KubeApiStandIn, backend: KubernetesBackend, settings: Settings, tmp_path: Path
) -> None:
    target = _target(settings)
    ran: list[tuple[str, str, list[str]]] = []

    def runner(namespace: str, deployment: str, command: list[str]) -> dict[str, str]:
        ran.append((namespace, deployment, command))
        return {"PATH": os.environ["PATH"], "WHERE": str(tmp_path)}

    api.run_commands_with(runner)
    await backend.provision(target, SECRETS)
    with pytest.raises(Unavailable, match="no ready pod"):
        await backend.exec(target, ["true"], timeout_s=5)
    api.set_ready(target.namespace, target.name)
    script = 'head -c 11 > "$WHERE/in" && cat "$WHERE/in" && echo "to stderr" >&2 && exit 3'

    result = await backend.exec(target, ["sh", "-c", script], stdin=b"hello world and more", timeout_s=10)

    assert (result.exit_code, result.stdout, result.stderr) == (3, b"hello world", b"to stderr\n")
    assert ran == [(target.namespace, "n8n", ["sh", "-c", script])]
    [request] = [r for r in api.sent("GET") if r.path.endswith("/exec")]
    assert request.path == f"/api/v1/namespaces/{target.namespace}/pods/n8n-1x7f9c/exec"
    assert request.params["container"] == ["n8n"] and request.params["stdin"] == ["true"]
    big = b"x" * 300_000  # past one websocket frame's 16-bit length
    done = await backend.exec(target, ["sh", "-c", "head -c 300000 | wc -c"], stdin=big, timeout_s=10)
    assert (done.exit_code, done.stdout.strip()) == (0, b"300000")


async def test_pool_instances_are_applied_into_the_shared_namespace(
    api: KubeApiStandIn, backend: KubernetesBackend, settings: Settings
) -> None:
    pool = [targets.pool_target(settings, instance_id=f"n8n_{i}", capacity=8) for i in range(2)]
    for target in pool:
        await backend.provision(target, SECRETS)

    assert api.get("deployments", "spreaders-pool", "n8n-pool-0") is not None
    assert api.get("deployments", "spreaders-pool", "n8n-pool-1") is not None
    assert [r.path for r in api.sent("POST")].count("/api/v1/namespaces") == 2  # the second one: 409, kept


async def test_refusals_become_upstream_errors_without_the_secret_in_them(
    api: KubeApiStandIn, settings: Settings, tmp_path: Path
) -> None:
    config = api.kubeconfig()
    config["users"][0]["user"]["token"] = "wrong-token"
    kubeconfig = tmp_path / "bad.json"
    kubeconfig.write_text(json.dumps(config))
    backend = await KubernetesBackend.connect(KubernetesSettings(kubeconfig=kubeconfig))
    try:
        with pytest.raises(UpstreamError, match="401") as caught:
            await backend.provision(_target(settings), SECRETS)
    finally:
        await backend.close()

    assert SECRETS.encryption_key not in str(caught.value) and "RBAC" in (caught.value.hint or "")


async def test_stop_scales_the_deployment_to_no_pod_and_provision_brings_one_back(
    api: KubeApiStandIn, backend: KubernetesBackend, settings: Settings
) -> None:
    target = _target(settings)
    assert await backend.stop(target) is False  # never provisioned
    await backend.provision(target, SECRETS)
    api.set_ready(target.namespace, target.name)

    assert await backend.stop(target) is True

    deployment = api.get("deployments", target.namespace, "n8n")
    assert deployment is not None and deployment["spec"]["replicas"] == 0
    assert api.get("persistentvolumeclaims", target.namespace, "n8n-data") is not None  # the data stays
    status = await backend.status(target)
    assert status is not None and not status.ready
    await backend.provision(target, SECRETS)
    deployment = api.get("deployments", target.namespace, "n8n")
    assert deployment is not None and deployment["spec"]["replicas"] == 1


def test_the_platform_reaches_an_instance_by_cluster_dns_unless_a_service_url_is_set(
    settings: Settings,
) -> None:
    target = _target(settings)
    assert targets.reach_url(settings.kubernetes, target) == "http://n8n.spreaders-ten-1.svc.cluster.local"
    proxy = settings.kubernetes.model_copy(
        update={
            "service_url": "http://127.0.0.1:8001/api/v1/namespaces/{namespace}/services/{name}:80/proxy/"
        }
    )
    assert (
        targets.reach_url(proxy, target)
        == "http://127.0.0.1:8001/api/v1/namespaces/spreaders-ten-1/services/n8n:80/proxy"
    )
