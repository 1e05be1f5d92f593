"""Kubernetes objects for one n8n instance, built as plain dicts (no cluster, no client, no I/O).

One instance is a Secret (encryption key, owner password), a ConfigMap (n8n's environment), a
PersistentVolumeClaim (its SQLite database and files), a Deployment, a Service and, with a public
domain, an Ingress. A dedicated tenant gets them in a namespace of its own; the free pool's instances
sit side by side in one shared namespace. The same builders serve both.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from dataclasses import dataclass, field
from typing import Any

from spreaders.provisioning.backends.local import QUIET_ENV, SHARED_EXCLUDED_NODES
from spreaders.provisioning.tiers import Resources, Tier

Manifest = dict[str, Any]

N8N_PORT = 5678
# n8n appends `.n8n` to its user folder; the volume is mounted there (as in the n8n image's docs).
USER_FOLDER = "/home/node"
DATA_MOUNT = "/home/node/.n8n"
NODE_UID = 1000  # the `node` user of the n8n image
MANAGER = "spreaders"
# Probes, from n8n 1.123.81's start sequence (measured, see docs/kubernetes.md): `/healthz/readiness`
# turns 200 once the database is connected and migrated; `/rest/settings` answers 200 with a plain
# "starting up" page *during* migrations and 404 after them until the REST routes exist. So the startup
# probe waits for the migrations and only then does the readiness probe ask the REST API.
STARTUP_PATH = "/healthz/readiness"
READINESS_PATH = "/rest/settings"
LIVENESS_PATH = "/healthz"


@dataclass(frozen=True)
class InstanceTarget:
    """Where and how one n8n instance runs in the cluster."""

    namespace: str
    name: str  # base name of its objects: "n8n" for a dedicated tenant, "n8n-pool-0" in the pool
    instance_id: str
    tier: Tier
    resources: Resources
    image: str  # repository; tagged with `n8n_version`
    n8n_version: str
    expression_engine: str
    public_host: str = ""  # empty: no Ingress
    ingress_class: str = ""
    cluster_issuer: str = ""
    storage_class: str = ""
    tenant_id: str | None = None  # None: a shared pool instance

    @property
    def service_host(self) -> str:
        return f"{self.name}.{self.namespace}.svc.cluster.local"

    @property
    def service_url(self) -> str:
        """How the platform, inside the cluster, reaches n8n (bootstrap, API calls)."""
        return f"http://{self.service_host}"

    @property
    def tls(self) -> bool:
        return bool(self.public_host and self.cluster_issuer)

    @property
    def public_url(self) -> str:
        if not self.public_host:
            return f"{self.service_url}/"
        return f"{'https' if self.tls else 'http'}://{self.public_host}/"


@dataclass(frozen=True)
class InstanceSecrets:
    encryption_key: str = field(repr=False)
    owner_password: str = field(repr=False)


def dns_label(*parts: str, limit: int = 63) -> str:
    """Join `parts` into a valid DNS-1123 label (lower case, digits, dashes)."""
    label = re.sub(r"[^a-z0-9-]+", "-", "-".join(parts).lower()).strip("-")
    return label[:limit].rstrip("-")


def tenant_namespace(prefix: str, tenant_id: str) -> str:
    return dns_label(prefix.rstrip("-"), tenant_id)


def selector_labels(target: InstanceTarget) -> dict[str, str]:
    """The labels a Deployment selects its pods by: never changed after creation."""
    return {"app.kubernetes.io/name": "n8n", "app.kubernetes.io/instance": target.name}


def labels(target: InstanceTarget) -> dict[str, str]:
    found = {
        **selector_labels(target),
        "app.kubernetes.io/version": target.n8n_version,
        "app.kubernetes.io/component": "workflow-engine",
        "app.kubernetes.io/part-of": "spreaders",
        "app.kubernetes.io/managed-by": MANAGER,
        "spreaders.io/instance": target.instance_id,
        "spreaders.io/tier": target.tier.name,
    }
    if target.tenant_id is not None:
        found["spreaders.io/tenant"] = target.tenant_id
    return found


def _meta(target: InstanceTarget, name: str, **extra: Any) -> dict[str, Any]:
    return {"name": name, "namespace": target.namespace, "labels": labels(target), **extra}


def namespace(name: str, *, tenant_id: str | None, tier: str) -> Manifest:
    """A namespace whose pods must meet the `restricted` Pod Security Standard."""
    found = {
        "app.kubernetes.io/part-of": "spreaders",
        "app.kubernetes.io/managed-by": MANAGER,
        "spreaders.io/tier": tier,
        "pod-security.kubernetes.io/enforce": "restricted",
        "pod-security.kubernetes.io/enforce-version": "latest",
    }
    if tenant_id is not None:
        found["spreaders.io/tenant"] = tenant_id
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": found}}


def secret_name(target: InstanceTarget) -> str:
    return f"{target.name}-secrets"


def secret(target: InstanceTarget, values: InstanceSecrets) -> Manifest:
    def b64(text: str) -> str:
        return base64.b64encode(text.encode()).decode()

    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": _meta(target, secret_name(target)),
        "type": "Opaque",
        "data": {"encryption-key": b64(values.encryption_key), "owner-password": b64(values.owner_password)},
    }


def n8n_env(target: InstanceTarget) -> dict[str, str]:
    """n8n's environment in the pod: the local backend's quiet settings, addressed for the cluster."""
    https = target.tls
    env = dict(QUIET_ENV)
    env.update(
        {
            "N8N_USER_FOLDER": USER_FOLDER,
            "N8N_PORT": str(N8N_PORT),
            "N8N_LISTEN_ADDRESS": "0.0.0.0",
            "N8N_HOST": target.public_host or target.service_host,
            "N8N_PROTOCOL": "https" if https else "http",
            "N8N_SECURE_COOKIE": "true" if https else "false",
            "WEBHOOK_URL": target.public_url,
            "N8N_EDITOR_BASE_URL": target.public_url,
            "N8N_RUNNERS_BROKER_PORT": str(N8N_PORT + 1),
            "N8N_EXPRESSION_ENGINE": target.expression_engine,
            "NODE_OPTIONS": f"--max-old-space-size={target.resources.node_heap_mb}",
        }
    )
    if target.tenant_id is None:  # a shared pool instance: its tenants must not reach the pod's files
        env["NODES_EXCLUDE"] = json.dumps(list(SHARED_EXCLUDED_NODES))
    if target.public_host:
        env["N8N_PROXY_HOPS"] = "1"  # behind the ingress controller: trust one X-Forwarded-For hop
    return env


def config_map(target: InstanceTarget) -> Manifest:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": _meta(target, f"{target.name}-config"),
        "data": n8n_env(target),
    }


def persistent_volume_claim(target: InstanceTarget) -> Manifest:
    spec: dict[str, Any] = {
        "accessModes": ["ReadWriteOnce"],
        "resources": {"requests": {"storage": target.resources.storage}},
    }
    if target.storage_class:
        spec["storageClassName"] = target.storage_class
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": _meta(target, f"{target.name}-data"),
        "spec": spec,
    }


def _probe(path: str, *, period_s: int, failures: int, timeout_s: int) -> dict[str, Any]:
    return {
        "httpGet": {"path": path, "port": "http"},
        "periodSeconds": period_s,
        "failureThreshold": failures,
        "timeoutSeconds": timeout_s,
    }


def _container(target: InstanceTarget) -> dict[str, Any]:
    return {
        "name": "n8n",
        "image": f"{target.image}:{target.n8n_version}",
        "imagePullPolicy": "IfNotPresent",
        "ports": [{"name": "http", "containerPort": N8N_PORT, "protocol": "TCP"}],
        "envFrom": [{"configMapRef": {"name": f"{target.name}-config"}}],
        "env": [
            {
                "name": "N8N_ENCRYPTION_KEY",
                "valueFrom": {"secretKeyRef": {"name": secret_name(target), "key": "encryption-key"}},
            }
        ],
        "resources": target.resources.as_kubernetes(),
        # First start runs every migration: allow 5 minutes before the kubelet gives up.
        "startupProbe": _probe(STARTUP_PATH, period_s=5, failures=60, timeout_s=3),
        "readinessProbe": _probe(READINESS_PATH, period_s=10, failures=3, timeout_s=3),
        "livenessProbe": _probe(LIVENESS_PATH, period_s=20, failures=6, timeout_s=5),
        "securityContext": {
            "runAsNonRoot": True,
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "capabilities": {"drop": ["ALL"]},
        },
        "volumeMounts": [
            {"name": "data", "mountPath": DATA_MOUNT},
            # The only other places n8n writes to: temporary files and caches.
            {"name": "tmp", "mountPath": "/tmp"},
            {"name": "cache", "mountPath": f"{USER_FOLDER}/.cache"},
        ],
    }


def config_hash(target: InstanceTarget) -> str:
    """A digest of n8n's environment: a change rolls the pod, an unchanged apply leaves it alone."""
    return hashlib.sha256(json.dumps(n8n_env(target), sort_keys=True).encode()).hexdigest()[:16]


def deployment(target: InstanceTarget) -> Manifest:
    pod_spec = {
        "automountServiceAccountToken": False,
        # Otherwise Kubernetes injects N8N_PORT=tcp://... for a Service named n8n, which n8n reads.
        "enableServiceLinks": False,
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": NODE_UID,
            "runAsGroup": NODE_UID,
            "fsGroup": NODE_UID,
            "fsGroupChangePolicy": "OnRootMismatch",
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "terminationGracePeriodSeconds": 30,
        "containers": [_container(target)],
        "volumes": [
            {"name": "data", "persistentVolumeClaim": {"claimName": f"{target.name}-data"}},
            {"name": "tmp", "emptyDir": {"sizeLimit": "256Mi"}},
            {"name": "cache", "emptyDir": {"sizeLimit": "128Mi"}},
        ],
    }
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": _meta(target, target.name),
        "spec": {
            "replicas": 1,
            # One pod at a time: the volume is ReadWriteOnce and SQLite has a single writer.
            "strategy": {"type": "Recreate"},
            "selector": {"matchLabels": selector_labels(target)},
            "template": {
                "metadata": {
                    "labels": labels(target),
                    "annotations": {"spreaders.io/config-hash": config_hash(target)},
                },
                "spec": pod_spec,
            },
        },
    }


def service(target: InstanceTarget) -> Manifest:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": _meta(target, target.name),
        "spec": {
            "type": "ClusterIP",
            "selector": selector_labels(target),
            "ports": [{"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"}],
        },
    }


def ingress(target: InstanceTarget) -> Manifest:
    annotations = {"cert-manager.io/cluster-issuer": target.cluster_issuer} if target.tls else {}
    spec: dict[str, Any] = {
        "rules": [
            {
                "host": target.public_host,
                "http": {
                    "paths": [
                        {
                            "path": "/",
                            "pathType": "Prefix",
                            "backend": {"service": {"name": target.name, "port": {"name": "http"}}},
                        }
                    ]
                },
            }
        ]
    }
    if target.ingress_class:
        spec["ingressClassName"] = target.ingress_class
    if target.tls:
        spec["tls"] = [{"hosts": [target.public_host], "secretName": f"{target.name}-tls"}]
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": _meta(target, target.name, annotations=annotations),
        "spec": spec,
    }


def instance_objects(target: InstanceTarget, values: InstanceSecrets) -> list[Manifest]:
    """Every object of one instance except its namespace, in the order they are applied."""
    objects = [
        secret(target, values),
        config_map(target),
        persistent_volume_claim(target),
        deployment(target),
        service(target),
    ]
    if target.public_host:
        objects.append(ingress(target))
    return objects
