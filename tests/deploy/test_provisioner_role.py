"""The chart's provisioner role grants every call the Kubernetes provisioning backend makes.

The calls are the backend's real ones (the official client against the in-memory API-server stand-in
of tests/provisioning/kube_api.py): provision, status, scale, stop, a command in the pod, deprovision
and the wait for the namespace to go. Each is turned into the (API group, resource, verb) the API
server's RBAC would check, and looked up in the rendered ClusterRole. No cluster enforces it here."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from spreaders.provisioning.backends.kubernetes import targets
from spreaders.provisioning.backends.kubernetes.backend import KubernetesBackend
from spreaders.provisioning.backends.kubernetes.manifests import InstanceSecrets
from spreaders.provisioning.tiers import TIERS
from spreaders.settings import KubernetesSettings, Settings

from ..provisioning.kube_api import KubeApiStandIn, Request
from .test_helm_chart import REQUIRED, by_kind, render

_PATH = re.compile(
    r"^/(?:api/v1|apis/(?P<group>[a-z0-9.]+)/v1)(?:/namespaces/(?P<namespace>[^/]+))?"
    r"(?:/(?P<plural>[a-z]+)(?:/(?P<name>[^/]+)(?:/(?P<sub>[a-z]+))?)?)?$"
)
_VERBS = {"POST": "create", "PATCH": "patch", "DELETE": "delete"}


def _permission(request: Request) -> tuple[str, str, str]:
    """The (API group, resource, verb) RBAC checks for one request."""
    match = _PATH.match(request.path)
    assert match is not None, request.path
    plural, name = match["plural"], match["name"]
    if plural is None:  # /api/v1/namespaces/{name}
        plural, name = "namespaces", match["namespace"]
    if match["sub"] == "exec":
        return "", "pods/exec", "create"
    verb = _VERBS.get(request.method) or ("get" if name else "list")
    return match["group"] or "", plural, verb


@pytest.fixture
def api() -> Iterator[KubeApiStandIn]:
    with KubeApiStandIn() as standin:
        yield standin


async def test_the_provisioner_role_allows_every_call_the_backend_makes(
    api: KubeApiStandIn, tmp_path: Path
) -> None:
    kubeconfig = tmp_path / "kubeconfig.json"
    kubeconfig.write_text(json.dumps(api.kubeconfig()))
    settings = Settings(
        kubernetes=KubernetesSettings(kubeconfig=kubeconfig, poll_interval_s=0.01, ingress_domain="x.test")
    )
    target = targets.dedicated_target(settings, tenant_id="ten_1", instance_id="n8n_1", tier=TIERS["pro"])
    api.run_commands_with(lambda _namespace, _deployment, _command: {"PATH": os.environ["PATH"]})
    backend = await KubernetesBackend.connect(settings.kubernetes)
    try:
        await backend.provision(
            target, InstanceSecrets(encryption_key="k" * 64, owner_password="Pw-12345678")
        )
        await backend.provision(
            target, InstanceSecrets(encryption_key="k" * 64, owner_password="Pw-12345678")
        )
        api.set_ready(target.namespace, target.name)
        await backend.wait_ready(target, timeout_s=5)
        assert (await backend.exec(target, ["true"], timeout_s=10)).exit_code == 0
        await backend.scale(
            targets.dedicated_target(
                settings, tenant_id="ten_1", instance_id="n8n_1", tier=TIERS["enterprise"]
            )
        )
        await backend.stop(target)
        await backend.deprovision(target.namespace)
        await backend.wait_gone(target.namespace, timeout_s=5)
    finally:
        await backend.close()
    [role] = by_kind(render(REQUIRED), "ClusterRole")
    granted = {
        (group, resource, verb)
        for rule in role["rules"]
        for group in rule["apiGroups"]
        for resource in rule["resources"]
        for verb in rule["verbs"]
    }

    needed = {_permission(request) for request in api.store.requests}

    assert needed - granted == set()
    assert {("", "pods/exec", "create"), ("", "pods", "list"), ("apps", "deployments", "patch")} <= needed
