"""The Kubernetes backend's manifests: every object it can build validates against the official schemas
(kubernetes-validate --strict, Kubernetes 1.30 and 1.37), and carries the tier's resources, n8n's
environment and the security settings. Only schema-checked: no cluster runs them here."""

from __future__ import annotations

import base64
import json
from typing import Any

import kubernetes_validate
import pytest

from spreaders.errors import Invalid
from spreaders.provisioning.backends.kubernetes import manifests, targets
from spreaders.provisioning.backends.kubernetes.manifests import InstanceSecrets, InstanceTarget
from spreaders.provisioning.backends.local import QUIET_ENV, SHARED_EXCLUDED_NODES
from spreaders.provisioning.tiers import TIERS
from spreaders.settings import Settings

from .kube_schemas import validate_strict

SECRETS = InstanceSecrets(encryption_key="e" * 64, owner_password="SpOwnerPassword7")
PUBLIC = {"ingress_domain": "n8n.example.com", "ingress_class": "nginx", "cluster_issuer": "letsencrypt"}


def _settings(**kube: Any) -> Settings:
    return Settings(kubernetes=kube)


def _every_target() -> list[tuple[str, InstanceTarget]]:
    found = []
    for label, kube in (("internal", {}), ("public", PUBLIC), ("plain-http", {"ingress_domain": "x.test"})):
        settings = _settings(**kube, storage_class="fast-ssd")
        for tier in ("pro", "enterprise"):
            found.append((f"{label}-{tier}", targets.dedicated_target(
                settings, tenant_id="ten_0123456789abcdef", instance_id="n8n_42", tier=TIERS[tier]
            )))  # fmt: skip
        for capacity in (1, 8):
            pool = targets.pool_target(settings, instance_id="n8n_0123456789abcdef0123", capacity=capacity)
            found.append((f"{label}-pool-{capacity}", pool))
    return found


def _objects(target: InstanceTarget) -> list[dict[str, Any]]:
    namespace = manifests.namespace(target.namespace, tenant_id=target.tenant_id, tier=target.tier.name)
    return [namespace, *manifests.instance_objects(target, SECRETS)]


@pytest.mark.parametrize(("label", "target"), _every_target(), ids=lambda v: v if isinstance(v, str) else "")
def test_every_manifest_validates_strictly_against_the_official_schemas(
    label: str, target: InstanceTarget
) -> None:
    objects = _objects(target)

    for manifest in objects:
        validate_strict(manifest)
    kinds = [m["kind"] for m in objects]
    expected = ["Namespace", "Secret", "ConfigMap", "PersistentVolumeClaim", "Deployment", "Service"]
    assert kinds == expected + (["Ingress"] if label.startswith(("public", "plain-http")) else [])


def test_strict_validation_rejects_a_field_kubernetes_does_not_know() -> None:
    target = _every_target()[0][1]
    deployment = manifests.deployment(target)
    deployment["spec"]["template"]["spec"]["containers"][0]["memoryLimit"] = "2Gi"

    with pytest.raises(kubernetes_validate.ValidationError, match="memoryLimit"):
        validate_strict(deployment)


def test_dedicated_tenant_gets_its_own_restricted_namespace_with_tier_resources() -> None:
    target = targets.dedicated_target(
        _settings(), tenant_id="ten_ABC", instance_id="n8n_1", tier=TIERS["enterprise"]
    )
    namespace = manifests.namespace(target.namespace, tenant_id=target.tenant_id, tier="enterprise")
    deployment = manifests.deployment(target)
    container = deployment["spec"]["template"]["spec"]["containers"][0]

    assert target.namespace == "spreaders-ten-abc"
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    assert container["resources"] == {
        "requests": {"cpu": "1000m", "memory": "2Gi"},
        "limits": {"cpu": "4000m", "memory": "8Gi"},
    }
    assert manifests.persistent_volume_claim(target)["spec"]["resources"]["requests"]["storage"] == "100Gi"
    assert manifests.n8n_env(target)["NODE_OPTIONS"] == "--max-old-space-size=6144"
    assert deployment["metadata"]["labels"]["spreaders.io/tenant"] == "ten_ABC"
    assert deployment["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "spreaders"


def test_free_tier_has_no_dedicated_instance() -> None:
    with pytest.raises(Invalid, match="no dedicated instance"):
        targets.dedicated_target(_settings(), tenant_id="ten_1", instance_id="n8n_1", tier=TIERS["free"])


def test_pool_instances_share_one_namespace_each_sized_for_its_tenants() -> None:
    settings = _settings()
    pool = [targets.pool_target(settings, instance_id=f"n8n_{i}abc", capacity=4) for i in range(3)]

    assert {t.namespace for t in pool} == {"spreaders-pool"}
    assert [t.name for t in pool] == ["n8n-pool-0abc", "n8n-pool-1abc", "n8n-pool-2abc"]
    assert pool[0].resources.memory_limit == "2048Mi"  # 4 x the free tier's 512Mi
    assert pool[0].resources.cpu_limit == "1000m" and pool[0].resources.storage == "20Gi"
    assert (
        manifests.n8n_env(pool[0])["NODE_OPTIONS"] == f"--max-old-space-size={pool[0].resources.node_heap_mb}"
    )
    assert "spreaders.io/tenant" not in manifests.labels(pool[0])


def test_a_shared_pool_instance_does_not_load_the_nodes_that_reach_the_pods_files() -> None:
    pool = targets.pool_target(_settings(), instance_id="n8n_1", capacity=8)
    dedicated = targets.dedicated_target(
        _settings(), tenant_id="ten_1", instance_id="n8n_2", tier=TIERS["pro"]
    )

    excluded = json.loads(manifests.config_map(pool)["data"]["NODES_EXCLUDE"])

    assert set(excluded) == set(SHARED_EXCLUDED_NODES) and "n8n-nodes-base.executeCommand" in excluded
    assert "NODES_EXCLUDE" not in manifests.config_map(dedicated)["data"]


def test_n8n_environment_matches_the_local_backend_addressed_for_the_cluster() -> None:
    target = targets.dedicated_target(
        _settings(**PUBLIC), tenant_id="ten_1", instance_id="n8n_1", tier=TIERS["pro"]
    )
    env = manifests.config_map(target)["data"]

    kept = {
        key: value for key, value in QUIET_ENV.items() if key not in ("N8N_PROTOCOL", "N8N_SECURE_COOKIE")
    }
    assert kept.items() <= env.items()
    assert env["N8N_PROTOCOL"] == "https" and env["N8N_SECURE_COOKIE"] == "true"
    assert env["WEBHOOK_URL"] == "https://spreaders-ten-1.n8n.example.com/"
    assert env["N8N_LISTEN_ADDRESS"] == "0.0.0.0"
    assert "N8N_ENCRYPTION_KEY" not in env


def test_secrets_live_only_in_the_secret_and_reach_the_pod_by_reference() -> None:
    target = _every_target()[0][1]
    objects = _objects(target)
    secret = next(m for m in objects if m["kind"] == "Secret")
    others = json.dumps([m for m in objects if m["kind"] != "Secret"])
    container = manifests.deployment(target)["spec"]["template"]["spec"]["containers"][0]

    assert base64.b64decode(secret["data"]["encryption-key"]).decode() == SECRETS.encryption_key
    assert SECRETS.encryption_key not in others and SECRETS.owner_password not in others
    assert container["env"] == [
        {"name": "N8N_ENCRYPTION_KEY",
         "valueFrom": {"secretKeyRef": {"name": "n8n-secrets", "key": "encryption-key"}}}
    ]  # fmt: skip
    assert SECRETS.encryption_key not in repr(SECRETS)


def test_pod_runs_non_root_read_only_without_service_links_or_token() -> None:
    pod = manifests.deployment(_every_target()[0][1])["spec"]["template"]["spec"]
    container = pod["containers"][0]

    assert pod["securityContext"]["runAsNonRoot"] is True and pod["securityContext"]["runAsUser"] == 1000
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["securityContext"]["capabilities"] == {"drop": ["ALL"]}
    assert pod["enableServiceLinks"] is False  # else Kubernetes sets N8N_PORT=tcp://... for Service n8n
    assert pod["automountServiceAccountToken"] is False


def test_probes_wait_for_migrations_then_ask_the_rest_api() -> None:
    container = manifests.deployment(_every_target()[0][1])["spec"]["template"]["spec"]["containers"][0]

    assert container["startupProbe"]["httpGet"]["path"] == "/healthz/readiness"
    assert container["readinessProbe"]["httpGet"]["path"] == "/rest/settings"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"


def test_config_change_rolls_the_pod_and_an_unchanged_one_does_not() -> None:
    settings = _settings()
    pro = targets.dedicated_target(settings, tenant_id="ten_1", instance_id="n8n_1", tier=TIERS["pro"])
    again = targets.dedicated_target(settings, tenant_id="ten_1", instance_id="n8n_1", tier=TIERS["pro"])
    bigger = targets.dedicated_target(
        settings, tenant_id="ten_1", instance_id="n8n_1", tier=TIERS["enterprise"]
    )

    assert manifests.config_hash(pro) == manifests.config_hash(again)
    assert manifests.config_hash(pro) != manifests.config_hash(bigger)  # the heap size changed
    assert manifests.selector_labels(pro) == manifests.selector_labels(bigger)  # selectors are immutable
